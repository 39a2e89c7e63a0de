"""`ledgerdesk worker`: dramatiq workers that run the policies' messages.

A worker process builds its Ledger and read store on its first message (not at start: a worker
waiting on an empty queue holds no database connection it does not use) and runs each trigger
through `run_policy`, the same path as the embedded runner. A trigger that raises (RetryLater
included) is logged with its policy, event and error, and dramatiq's Retries middleware tries it
again after a pause that doubles; once retries are exhausted it is dead-lettered, where
`ledgerdesk policies dead-letters` lists and replays it.

With several processes, this process supervises them: each is `ledgerdesk worker --processes 1`
with the same settings, started again when it dies (a pause that grows while it keeps dying).
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from typing import Any

import dramatiq
from dramatiq.middleware import CurrentMessage

from ledgerdesk.application.policy import Policy, Trigger, run_policy

from .broker import build_broker, shown_url
from .policy_messages import PolicyMessages
from .settings import Settings

log = logging.getLogger("ledgerdesk.policies")

# How often an idle consumer wakes (dramatiq would read `dramatiq_worker_timeout`).
WORKER_TIMEOUT_MS = 1000
STOP_TIMEOUT_MS = 30_000
FIRST_RESTART_SECONDS = 0.5
MAX_RESTART_SECONDS = 30.0


class PolicyHost:
    """The Ledger, read store and policies a worker process runs messages with, built once, on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._ledger: Any = None
        self._store: Any = None
        self._policies: dict[str, Policy] = {}

    def _policy(self, name: str) -> tuple[Any, Policy]:
        from .bootstrap import POLICIES, build_ledger, build_read_store

        with self._lock:
            if self._ledger is None:
                self._store = build_read_store(self.settings)
                self._ledger = build_ledger(self.settings)
            if name not in self._policies:
                self._policies[name] = POLICIES[name](self._store)
            return self._ledger, self._policies[name]

    def run(self, name: str, trigger: Trigger) -> None:
        message = CurrentMessage.get_current_message()
        attempt = 1 + (message.options.get("retries", 0) if message is not None else 0)
        try:
            ledger, policy = self._policy(name)
            appended = run_policy(policy, trigger, ledger)
        except Exception as error:
            log.warning("policy %s: event %s (%s, tenant %s) failed on attempt %d: %s: %s", name, trigger.event_id,
                        trigger.type, trigger.tenant, attempt, type(error).__name__, error)
            raise
        log.info("policy %s: event %s (%s, tenant %s) handled, %d command(s) appended", name, trigger.event_id,
                 trigger.type, trigger.tenant, appended)

    def close(self) -> None:
        if self._ledger is not None:
            self._ledger.close()
            self._store.close()


def run_worker(settings: Settings, threads: int, stop: threading.Event) -> None:
    """Consumes the configured policies' queues in this process until `stop` is set."""
    broker = build_broker(settings)
    host = PolicyHost(settings)
    messages = PolicyMessages(broker, settings, settings.policies, run=host.run)
    worker = dramatiq.Worker(broker, queues=set(messages.queues()), worker_threads=threads, worker_timeout=WORKER_TIMEOUT_MS)
    # Set here, not from dramatiq's `dramatiq_*_prefetch` environment variables.
    worker.queue_prefetch = threads * 2
    worker.delay_prefetch = min(threads * 1000, 65535)
    worker.start()
    print(f"ledgerdesk: worker {os.getpid()} running {', '.join(settings.policies) or 'no policy'} "
          f"from {', '.join(messages.queues())} on {shown_url(settings.broker_url or '')} "
          f"with {threads} thread(s); events in {shown_url(settings.database_url)}", flush=True)
    stop.wait()
    worker.stop(timeout=STOP_TIMEOUT_MS)
    broker.close()
    host.close()


def worker_command(threads: int) -> list[str]:
    return [sys.executable, "-c", "import sys; from ledgerdesk.interfaces.entry import main; sys.exit(main())",
            "worker", "--processes", "1", "--threads", str(threads)]


def supervise(settings: Settings, processes: int, threads: int, stop: threading.Event) -> None:
    """Runs `processes` worker processes until `stop` is set, restarting any that dies."""
    env = {**os.environ, "LEDGERDESK_DATABASE_URL": settings.database_url}
    children: list[subprocess.Popen[bytes]] = [subprocess.Popen(worker_command(threads), env=env) for _ in range(processes)]
    pause = [FIRST_RESTART_SECONDS] * processes
    started = [time.monotonic()] * processes
    while not stop.wait(0.5):
        for i, child in enumerate(children):
            code = child.poll()
            if code is None:
                continue
            if time.monotonic() - started[i] > MAX_RESTART_SECONDS:
                pause[i] = FIRST_RESTART_SECONDS
            log.error("worker process %d exited with %s; starting it again in %.1f s", child.pid, code, pause[i])
            if stop.wait(pause[i]):
                break
            pause[i] = min(pause[i] * 2, MAX_RESTART_SECONDS)
            children[i], started[i] = subprocess.Popen(worker_command(threads), env=env), time.monotonic()
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=STOP_TIMEOUT_MS / 1000 + 5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
