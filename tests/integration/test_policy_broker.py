"""Policies over a broker ([policies] delivered over dramatiq), on RabbitMQ and on Redis, with real
`ledgerdesk worker` processes on PostgreSQL: the relay sends what the log holds, workers route,
and duplicates, a killed worker, a relay that forgot its position and dropped connections
append nothing twice and lose nothing (counted in the event log itself)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import datetime, timezone
from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import UUID

import pytest

from ledgerdesk.domain.ticket import Ticket
from ledgerdesk.application import commands as c
from ledgerdesk.interfaces.bootstrap import (
    build_ledger, build_policy_messages, build_projector, build_read_store, build_relay, build_timer_sweep,
)
from ledgerdesk.interfaces.broker import policy_queue
from ledgerdesk.interfaces.settings import Settings
from ledgerdesk.projections.event_record import EventRecord
from ledgerdesk.projections.follower import Follower
from ledgerdesk.projections.policy_consumer import trigger_of
from ledgerdesk.projections.policy_relay import RELAY_NAME
from tests.conftest import fresh_postgres_database, random_ref
from ledgerdesk.projections.sla import queries as sla_queries
from tests.integration.test_concurrency import context, inbound
from tests.integration.test_routing_policy import agent

pytestmark = pytest.mark.integration

WAIT_SECONDS = 30
ENTRY = "import sys; from ledgerdesk.interfaces.entry import main; sys.exit(main())"
# Test hooks, run in the worker process before its main: the policy is slowed or broken there only.
HANG_AFTER_APPENDING = """
import os, time
from ledgerdesk.interfaces import policy_worker
real = policy_worker.run_policy
def run_policy(policy, trigger, ledger):
    appended = real(policy, trigger, ledger)
    if appended:
        open(os.environ["TEST_MARKER"], "w").write(trigger.event_id)
        time.sleep(120)  # killed here: appended, not acknowledged
    return appended
policy_worker.run_policy = run_policy
"""
BROKEN_POLICY = """
from ledgerdesk.interfaces import policy_worker
def run_policy(policy, trigger, ledger):
    raise RuntimeError("the routing directory is unavailable (test)")
policy_worker.run_policy = run_policy
"""


def wait_until(what: str, done: Callable[[], bool], timeout: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting until {what}")
        time.sleep(0.1)


def local_ports(pid: int, remote_port: int) -> list[int]:
    """The local ports of the process's TCP connections to `remote_port` (from /proc: no tool needed)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], fields[9]
            if inode in inodes and int(remote.rsplit(":", 1)[1], 16) == remote_port:
                ports.append(int(local.rsplit(":", 1)[1], 16))
    return ports


class Deployment:
    """One test's deployment: its own events database, its own queues (namespace), its worker processes."""

    def __init__(self, kind: str, broker_url: str, events_url: str, logs: Path) -> None:
        self.kind = kind
        self.logs = logs
        self.settings = Settings(
            database_url=events_url, broker_url=broker_url, broker_namespace=random_ref("t"), policies=("routing",),
            policy_max_retries=2, policy_min_backoff_seconds=0.05, policy_max_backoff_seconds=0.2,
            redis_dead_worker_seconds=2, redis_maintenance_per_million=1_000_000, postgres_pool_size=2,
        )
        self.ledger = build_ledger(self.settings)
        self.store = build_read_store(self.settings)
        self.projector = build_projector(self.ledger, self.store)
        self.messages = build_policy_messages(self.settings)
        self.relay = build_relay(self.ledger, self.store, self.settings)
        self.workers: list[tuple[subprocess.Popen, Path]] = []
        self.tenant = random_ref("shop-")

    def env(self, **extra: str) -> dict[str, str]:
        """The processes' environment, explicit: none of this process's LEDGERDESK_* or dramatiq_* settings leak in."""
        inherited = {k: v for k, v in os.environ.items() if not k.upper().startswith(("LEDGERDESK_", "DRAMATIQ"))}
        s = self.settings
        return {**inherited, "LEDGERDESK_DATABASE_URL": s.database_url, "LEDGERDESK_BROKER_URL": s.broker_url or "",
                "LEDGERDESK_BROKER_NAMESPACE": s.broker_namespace, "LEDGERDESK_POLICIES": "routing",
                "LEDGERDESK_POLICY_MAX_RETRIES": "2", "LEDGERDESK_POLICY_MIN_BACKOFF_SECONDS": "0.05",
                "LEDGERDESK_POLICY_MAX_BACKOFF_SECONDS": "0.2", "LEDGERDESK_REDIS_DEAD_WORKER_SECONDS": "2",
                "LEDGERDESK_REDIS_MAINTENANCE_PER_MILLION": "1000000", "LEDGERDESK_POSTGRES_POOL_SIZE": "2",
                # dramatiq's own variables change nothing: we build the broker and worker explicitly.
                "dramatiq_queue_prefetch": "1000", "dramatiq_dead_message_ttl": "1", **extra}

    def start_worker(self, hook: str = "", threads: int = 2, **env: str) -> subprocess.Popen:
        log = self.logs / f"worker-{len(self.workers)}.log"
        process = subprocess.Popen([sys.executable, "-c", hook + "\n" + ENTRY, "worker", "--threads", str(threads)],
                                   env=self.env(**env), stdout=log.open("w"), stderr=subprocess.STDOUT)
        self.workers.append((process, log))
        wait_until("the worker is consuming", lambda: "ledgerdesk: worker" in log.read_text() or process.poll() is not None)
        assert process.poll() is None, log.read_text()
        return process

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", ENTRY, *args], env=self.env(), capture_output=True, text=True, timeout=60)

    def handled_lines(self, event_id: str) -> int:
        """How many times the workers ran the event's trigger to the end (their log lines)."""
        return sum(sum(1 for line in log.read_text().splitlines() if f"event {event_id} (" in line and " handled, " in line)
                   for _, log in self.workers)

    def open_tickets(self, count: int) -> list[str]:
        return [self.ledger.execute(inbound(self.tenant, text="我的订单在哪里")).result["ticket_id"] for _ in range(count)]

    def events(self) -> list[EventRecord]:
        found, start = [], 0
        while True:
            batch = self.ledger.recorder.select_notifications(start=start, limit=500, inclusive_of_start=False)
            found += [EventRecord.from_notification(n) for n in batch]
            if len(batch) < 500:
                return found
            start = batch[-1].id

    def assigned(self) -> Counter:
        return Counter(e.aggregate_id for e in self.events() if e.type == "Ticket.Assigned")

    def message_trigger(self, ticket: str):  # type: ignore[no-untyped-def]
        event = next(e for e in self.events() if e.type == "Ticket.CustomerMessageAdded" and e.aggregate_id == ticket)
        return trigger_of(event)

    def relay_position(self) -> int:
        with self.store.reading() as conn:
            return self.store.position(conn, RELAY_NAME)[1]

    def close(self) -> None:
        for process, _ in self.workers:
            if process.poll() is None:
                process.terminate()
        for process, _ in self.workers:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        broker = self.messages.broker
        try:
            if self.kind == "rabbitmq":
                for policy in self.settings.policies:
                    queue = policy_queue(self.settings, policy)
                    for name in (queue, queue + ".DQ", queue + ".XQ"):
                        broker.channel.queue_delete(name)
            else:
                keys = list(broker.client.scan_iter(f"{self.settings.broker_namespace}:*"))
                if keys:
                    broker.client.delete(*keys)
        finally:
            broker.close()
            self.relay.send.__self__.broker.close()  # type: ignore[attr-defined]
            self.ledger.close()
            self.store.close()


@pytest.fixture(params=["rabbitmq", "redis"])
def deployment(request: pytest.FixtureRequest, postgres_database_url: str, tmp_path: Path) -> Iterator[Deployment]:
    broker_url = request.getfixturevalue(f"{request.param}_url")
    with fresh_postgres_database("ledgerdesk_broker_") as events_url:
        found = Deployment(request.param, broker_url, events_url, tmp_path)
        try:
            yield found
        finally:
            found.close()


def with_agent(d: Deployment, capacity: int = 50) -> None:
    """An online agent, known to the read models before any ticket comes (routing reads them)."""
    agent(d.ledger, d.tenant, "li.na", "zh", capacity=capacity)
    d.projector.catch_up()


def test_the_relay_sends_what_the_log_holds_and_workers_route_it(deployment: Deployment) -> None:
    d = deployment
    with_agent(d)
    project = subprocess.Popen([sys.executable, "-c", ENTRY, "project"], env=d.env(), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        d.start_worker()
        # The agent's coming online is relayed too (it routes waiting tickets): let it pass first,
        # so that the ticket is routed by its own message.
        online = trigger_of(next(e for e in d.events() if e.type == "Agent.PresenceChanged"))
        wait_until("the agent's presence is handled", lambda: d.handled_lines(online.event_id) == 1)
        (ticket,) = d.open_tickets(1)
        wait_until("the ticket is routed", lambda: d.assigned()[ticket] == 1)
        history = d.ledger.history(d.tenant, Ticket, UUID(ticket), 0, 100)["items"]
        message = next(e for e in history if e["type"] == "Ticket.CustomerMessageAdded")
        assigned = next(e for e in history if e["type"] == "Ticket.Assigned")
        assert assigned["actor"] == {"kind": "policy", "id": "routing"} and assigned["causation_id"] == message["id"]
        wait_until("the relay has saved its position", lambda: d.relay_position() >= next(
            e.position for e in d.events() if e.type == "Ticket.CustomerMessageAdded"))
        status = d.cli("projections", "status", "--json")
        assert RELAY_NAME in [row["name"] for row in json.loads(status.stdout)], status.stderr
    finally:
        project.terminate()
        output, _ = project.communicate(timeout=15)
    assert "relay:policies" in output


def test_a_message_delivered_twice_appends_nothing_the_second_time(deployment: Deployment) -> None:
    d = deployment
    with_agent(d)
    (ticket,) = d.open_tickets(1)
    d.projector.catch_up()
    trigger = d.message_trigger(ticket)
    d.start_worker()
    d.messages.send("routing", trigger)
    wait_until("the first delivery is handled", lambda: d.handled_lines(trigger.event_id) == 1)
    head = d.ledger.recorder.max_notification_id()
    d.messages.send("routing", trigger)
    wait_until("the second delivery is handled", lambda: d.handled_lines(trigger.event_id) == 2)
    assert d.ledger.recorder.max_notification_id() == head
    assert d.assigned() == {ticket: 1}


def test_a_worker_killed_mid_message_loses_nothing_and_doubles_nothing(deployment: Deployment, tmp_path: Path) -> None:
    d = deployment
    with_agent(d)
    tickets = d.open_tickets(5)
    d.projector.catch_up()
    marker = tmp_path / "appended"
    start = d.ledger.recorder.max_notification_id()
    hung = d.start_worker(HANG_AFTER_APPENDING, threads=1, TEST_MARKER=str(marker))
    for ticket in tickets:
        d.messages.send("routing", d.message_trigger(ticket))
    wait_until("the worker has appended and hangs before acknowledging", marker.exists)
    hung.send_signal(signal.SIGKILL)
    hung.wait(timeout=10)
    assert sum(d.assigned().values()) == 1
    head = d.ledger.recorder.max_notification_id()
    one_routing = Counter(e.type for e in d.events() if start < e.position <= head)
    d.start_worker()
    killed_on = marker.read_text()
    wait_until("every ticket is routed", lambda: set(d.assigned()) == set(tickets))
    wait_until("the message the worker died on is delivered again", lambda: d.handled_lines(killed_on) == 1)
    assert d.assigned() == {ticket: 1 for ticket in tickets}
    # What the other tickets' routing appended, and nothing for the one the worker died on.
    after = Counter(e.type for e in d.events() if e.position > head)
    assert after == Counter({kind: count * (len(tickets) - 1) for kind, count in one_routing.items()})


def test_a_relay_restarted_before_saving_its_position_sends_again_and_nothing_doubles(deployment: Deployment) -> None:
    d = deployment
    with_agent(d)
    tickets = d.open_tickets(3)
    d.projector.catch_up()
    d.start_worker()
    before = d.relay_position()
    assert d.relay.catch_up() > 0
    wait_until("every ticket is routed", lambda: set(d.assigned()) == set(tickets))
    triggers = [d.message_trigger(ticket) for ticket in tickets]
    wait_until("each trigger is handled", lambda: all(d.handled_lines(t.event_id) == 1 for t in triggers))
    head = d.ledger.recorder.max_notification_id()
    with d.store.writing() as conn:  # the relay's crash: sent, position not saved
        generation, _position, _held = d.store.position(conn, RELAY_NAME, lock=True)
        d.store.set_position(conn, RELAY_NAME, generation, before)
    d.relay.catch_up()
    wait_until("each trigger is handled again", lambda: all(d.handled_lines(t.event_id) == 2 for t in triggers))
    assert d.ledger.recorder.max_notification_id() == head
    assert d.assigned() == {ticket: 1 for ticket in tickets}


def drop_connections(d: Deployment, pids: list[int]) -> int:
    """Closes, on the broker's side, every connection of these processes to it."""
    port = 5672 if d.kind == "rabbitmq" else 6379
    if d.kind == "redis":
        port = d.messages.broker.client.connection_pool.connection_kwargs.get("port", 6379)
    ports = [p for pid in pids for p in local_ports(pid, port)]
    closed_count = 0
    if d.kind == "rabbitmq":
        rows = subprocess.run(["rabbitmqctl", "-q", "list_connections", "pid", "name"], capture_output=True, text=True,
                              timeout=30, check=True).stdout.splitlines()
        for row in rows:
            connection, _, name = row.partition("\t")
            if any(f":{p} ->" in name for p in ports):
                closed = subprocess.run(["rabbitmqctl", "-q", "close_connection", connection, "test: connection dropped"],
                                        capture_output=True, text=True, timeout=30)
                assert closed.returncode == 0, closed.stdout + closed.stderr
                closed_count += 1
    else:
        for p in ports:
            try:
                d.messages.broker.client.execute_command("CLIENT", "KILL", "ADDR", f"127.0.0.1:{p}")
                closed_count += 1
            except Exception:  # noqa: BLE001 - that one was already gone
                pass
    return closed_count


def test_broker_connections_dropped_mid_run_lose_nothing_and_double_nothing(deployment: Deployment) -> None:
    if deployment.kind == "rabbitmq" and subprocess.run(["which", "rabbitmqctl"], capture_output=True).returncode:
        pytest.skip("rabbitmqctl is not available to drop connections")
    d = deployment
    with_agent(d)
    worker = d.start_worker()
    relay = Follower(d.relay, fallback_wake_seconds=0.2, name="relay")
    relay.start()
    try:
        tickets = d.open_tickets(6)
        d.projector.catch_up()
        wait_until("the first tickets are routed", lambda: len(d.assigned()) >= 1)
        dropped = drop_connections(d, [worker.pid, os.getpid()])
        assert dropped >= 2  # the worker's consumers and the relay's, at least
        tickets += d.open_tickets(6)
        d.projector.catch_up()
        wait_until("every ticket is routed", lambda: set(d.assigned()) == set(tickets), timeout=45)
    finally:
        relay.stop()
    assert d.assigned() == {ticket: 1 for ticket in tickets}
    assert worker.poll() is None


def test_a_message_that_keeps_failing_is_dead_lettered_listed_and_replayed_once_fixed(deployment: Deployment) -> None:
    d = deployment
    with_agent(d)
    (ticket,) = d.open_tickets(1)
    d.projector.catch_up()
    trigger = d.message_trigger(ticket)
    broken = d.start_worker(BROKEN_POLICY)
    sent = d.messages.send("routing", trigger)

    def listed() -> list[dict]:
        answer = d.cli("policies", "dead-letters", "--json")
        assert answer.returncode == 0, answer.stderr
        return json.loads(answer.stdout)

    wait_until("the message is dead-lettered", lambda: len(listed()) == 1)
    (letter,) = listed()
    assert letter["message_id"] == sent.message_id and letter["event_id"] == trigger.event_id
    assert letter["policy"] == "routing" and letter["tenant"] == d.tenant and letter["event_type"] == "Ticket.CustomerMessageAdded"
    assert "routing directory is unavailable" in (letter["error"] or "")
    shown = d.cli("policies", "dead-letters")
    assert sent.message_id in shown.stdout and "routing directory is unavailable" in shown.stdout
    assert d.assigned() == {}

    broken.terminate()
    broken.wait(timeout=15)
    d.start_worker()  # the cause fixed
    assert d.cli("policies", "dead-letters", "--replay", str(uuid.uuid4())).returncode == 1
    replayed = d.cli("policies", "dead-letters", "--replay", sent.message_id)
    assert replayed.returncode == 0 and f"replayed {sent.message_id}" in replayed.stdout, replayed.stderr
    wait_until("the replayed message routes the ticket", lambda: d.assigned() == {ticket: 1})
    assert listed() == []
    assert d.cli("policies", "dead-letters", "--replay", sent.message_id).returncode == 1  # replayed once only


def test_a_malformed_message_is_dead_lettered_and_the_worker_goes_on(deployment: Deployment) -> None:
    from dramatiq import Message

    d = deployment
    with_agent(d)
    (ticket,) = d.open_tickets(1)
    d.projector.catch_up()
    worker = d.start_worker()
    actor = d.messages.actors["routing"]
    actor.send_with_options(kwargs={"policy": "routing", "trigger": {"event_id": 1}})
    actor.send_with_options(kwargs={"policy": "billing", "trigger": {}})
    d.messages.broker.enqueue(Message(queue_name=actor.queue_name, actor_name="policy:nope", args=(), kwargs={}, options={}))
    d.messages.send("routing", d.message_trigger(ticket))
    wait_until("the good message routes the ticket", lambda: d.assigned() == {ticket: 1})
    answer = d.cli("policies", "dead-letters", "--json")
    wait_until("the bad ones are dead-lettered", lambda: len(json.loads(d.cli("policies", "dead-letters", "--json").stdout)) == 3)
    assert answer.returncode == 0
    assert worker.poll() is None
    log = d.workers[0][1].read_text()
    assert "malformed message" in log and "reached the queue of policy 'routing'" in log

    # Hostile run: a body that is no message at all (anything may be published to a queue) made
    # `policies dead-letters` a traceback, so no dead letter could be listed or replayed any more.
    queue = policy_queue(d.settings, "routing")
    if d.kind == "rabbitmq":
        d.messages.broker.channel.basic_publish("", queue + ".XQ", b"not json")
    else:
        client, ns = d.messages.broker.client, d.settings.broker_namespace
        client.hset(f"{ns}:{queue}.XQ.msgs", "raw-1", b"not json")
        client.zadd(f"{ns}:{queue}.XQ", {"raw-1": time.time() * 1000})
    listed = d.cli("policies", "dead-letters", "--json")
    assert listed.returncode == 0, listed.stderr
    letters = json.loads(listed.stdout)
    [raw] = [letter for letter in letters if letter["message_id"].startswith("unreadable-")]
    assert len(letters) == 4 and "not a message the workers can read" in raw["error"]
    replay = d.cli("policies", "dead-letters", "--replay", raw["message_id"])
    assert replay.returncode == 1 and "left where it is" in replay.stderr
    assert len(json.loads(d.cli("policies", "dead-letters", "--json").stdout)) == 4

def test_sla_timers_are_sent_ahead_as_delayed_messages_and_escalate_once(deployment: Deployment) -> None:
    """The fast path of the escalation timers: sent ahead to the broker, which holds them until the
    warning and due times, when a worker escalates; the sweep firing them again adds nothing."""
    d = deployment
    d.settings = d.settings.model_copy(update={"policies": ("routing", "escalation")})
    d.ledger.execute(c.DefineSlaPolicy(
        context(d.tenant), name="blink", rank=1, match={}, targets={"first_reply": 3}, warning_percent=50,
        escalation={"on_warning": {"notify": True}, "on_breach": {"raise_priority_to": "urgent"}}))
    projecting = Follower(d.projector, fallback_wake_seconds=0.05)
    projecting.start()
    try:
        (ticket,) = d.open_tickets(1)
        wait_until("the read models have the ticket's clock", lambda: bool(
            sla_queries.ticket_sla(d.store, d.tenant, ticket, datetime.now(timezone.utc))))
        sweep = build_timer_sweep(d.ledger, d.store, d.settings)
        assert sweep.send_ahead() == 2  # the warning 1.5 s in, the breach 3 s in
        assert sweep.send_ahead() == 0  # each once
        d.start_worker(LEDGERDESK_POLICIES="routing,escalation")

        def escalations() -> list:
            return [e.data["levels"] for e in d.events() if e.type == "Ticket.Escalated" and e.aggregate_id == ticket]

        wait_until("the ticket is escalated for its breach", lambda: escalations() == [["warning"], ["breach"]])
        assert str(d.ledger.aggregate(d.tenant, Ticket, UUID(ticket)).priority) == "urgent"
        time.sleep(0.5)
        sweep.sweep()  # the safety net fires the same timers again
        time.sleep(1.5)
        assert escalations() == [["warning"], ["breach"]]
    finally:
        projecting.stop()

def test_with_a_broker_the_api_lists_no_policy_position_that_nothing_moves(tmp_path: Path) -> None:
    """Found by the policy bench: `serve` with a broker listed policy:routing, followed by nobody
    (the relay follows the log for it), so its lag grew with the log and /readyz turned 503."""
    from ledgerdesk.interfaces.bootstrap import build_runtime

    settings = Settings(database_url=f"sqlite:///{tmp_path}/events.db", broker_url="amqp://guest:guest@127.0.0.1:5672/",
                        projections="external", policies=("routing",))
    runtime = build_runtime(settings)
    try:
        assert runtime.projector is not None and not [m.name for m in runtime.projector.models if m.name.startswith("policy:")]
    finally:
        runtime.ledger.close()
        runtime.read_store.close()
