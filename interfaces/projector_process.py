"""The embedded default's read side: `ledgerdesk project` as a child process of `serve`.

Projecting is CPU-bound Python. In a thread of the API process it would take turns with the
request threads for one GIL; as a child process it runs on a core of its own, as PostgreSQL's
own processes do, and on SQLite it writes a file of its own (Settings.read_model_url).

The API process wakes it after each command by writing a byte to its stdin (a lost or
coalesced byte is harmless: the child reads the log from its own tracked position, and also
wakes on PostgreSQL's NOTIFY and on a slow fallback timer). When the API process ends, for
any reason, kill -9 included, the pipe closes and the child stops. A child that dies is
started again, after a pause that grows while it keeps dying.
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time

from .settings import Settings

log = logging.getLogger("ledgerdesk.projections")

FIRST_RESTART_SECONDS = 0.5
MAX_RESTART_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0


def project_command() -> list[str]:
    """This interpreter running the `ledgerdesk project` entry point, woken through its stdin."""
    return [sys.executable, "-c", "import sys; from ledgerdesk.interfaces.entry import main; sys.exit(main())",
            "project", "--wake-on-stdin"]


class ProjectorProcess:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._child: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return self._child.pid if self._child is not None else None

    def _environment(self) -> dict[str, str]:
        # The child reads the same LEDGERDESK_* settings; the database and policies as this process resolved them.
        # With a broker, the child is the policies' relay: it sends to the broker this process names.
        env = {**os.environ, "LEDGERDESK_DATABASE_URL": self.settings.database_url,
               "LEDGERDESK_POLICIES": ",".join(self.settings.policies)}
        if self.settings.broker_url is not None:
            env.update({"LEDGERDESK_BROKER_URL": self.settings.broker_url,
                        "LEDGERDESK_BROKER_NAMESPACE": self.settings.broker_namespace})
        return env

    def _spawn(self) -> subprocess.Popen[bytes]:
        child = subprocess.Popen(
            project_command(), stdin=subprocess.PIPE, env=self._environment(),
            # Its own session: a Ctrl-C meant for `serve` reaches this process, which then stops the child.
            start_new_session=True,
        )
        assert child.stdin is not None
        os.set_blocking(child.stdin.fileno(), False)
        return child

    def start(self) -> None:
        self._child = self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="ledgerdesk-projector-process", daemon=True)
        self._watcher.start()

    def wake(self, _position: int | None = None) -> None:
        child = self._child
        if child is None or child.stdin is None:
            return
        try:
            os.write(child.stdin.fileno(), b"\n")
        except (BlockingIOError, BrokenPipeError, OSError):
            pass  # the pipe is full (the child has wakes enough) or the child is being restarted

    def _watch(self) -> None:
        pause = FIRST_RESTART_SECONDS
        while not self._stopping.is_set():
            child = self._child
            assert child is not None
            started = time.monotonic()
            code = child.wait()
            if self._stopping.is_set():
                return
            if time.monotonic() - started > MAX_RESTART_SECONDS:
                pause = FIRST_RESTART_SECONDS  # it had been running well: not one of a series of deaths
            log.error("the projector process exited with %s; starting it again in %.1f s", code, pause)
            if self._stopping.wait(pause):
                return
            pause = min(pause * 2, MAX_RESTART_SECONDS)
            self._child = self._spawn()

    def stop(self) -> None:
        self._stopping.set()
        child = self._child
        if child is None:
            return
        if child.stdin is not None:
            child.stdin.close()  # end of its input: it finishes its batch and exits
        try:
            child.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        if self._watcher is not None:
            self._watcher.join(timeout=STOP_TIMEOUT_SECONDS)
