"""Clients that hang up before their answer is written: the server goes on serving.

Found by the acceptance checks on a loaded machine: a client that timed out waiting for
/openapi.json closed its socket, the answer was written to it, and SIGPIPE ended `ledgerdesk
serve` (the entry point lets SIGPIPE end short commands quietly, as `... | head` should).
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

LEDGERDESK = str(Path(sys.executable).with_name("ledgerdesk"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def impatient_ask(base: str, path: str) -> None:
    """Asks and gives up after a moment, as an HTTP client's timeout does: it closes its socket,
    and the answer, still being made, is written to a socket that is gone."""
    try:
        urllib.request.urlopen(base + path, timeout=0.01).read()
    except OSError:
        pass


def test_a_client_that_hangs_up_mid_answer_leaves_the_server_serving(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "LEDGERDESK_DATABASE_URL": f"sqlite:///{tmp_path}/ledgerdesk.db",
           "LEDGERDESK_API_KEYS": json.dumps({"hang-up-key": {"tenant": "t", "actor": "a"}})}
    server = subprocess.Popen([LEDGERDESK, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while server.poll() is None and not answers(base):
            impatient_ask(base, "/openapi.json")  # the first OpenAPI document takes a while to make
            assert time.monotonic() < deadline, "the server did not start"
        for _ in range(20):
            impatient_ask(base, "/openapi.json")
        time.sleep(0.5)
        assert server.poll() is None, f"the server ended with {server.returncode}"
        assert answers(base)
    finally:
        server.terminate()
        server.wait(15)
