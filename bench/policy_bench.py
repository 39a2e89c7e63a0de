"""Policies benchmark: routing decisions/s with capacity never exceeded, and message → assignment delay.

    .venv/bin/python bench/policy_bench.py [--backends sqlite,postgres] [--modes embedded,rabbitmq] [--agents 30] [--messages 600]

For each backend and mode, in a fresh database, `ledgerdesk serve` as shipped: with `embedded`
its child process runs the read models and the policies; with `rabbitmq` (PostgreSQL only) the
child process is the policies' relay to RabbitMQ (a namespace of its own, queues deleted after)
and `--workers` `ledgerdesk worker` processes run them. A shop's agents are registered and set online over HTTP
(half speak zh, half en, capacity 4 each), then `--clients` threads send `--messages` first
messages of new threads (Chinese and English). When the routing policy has caught up, the
tenant's feed (`GET /v1/events`) is read back and the figures come from the log itself:

- routing decisions/s: the routing policy's decisions, assignments (`Ticket.Assigned` by
  `policy:routing`) and queueings (`Ticket.Queued` by `policy:routing`: nobody could take the
  ticket) together, over the time from the first message to the last decision; assignments/s too;
- capacity: each agent's slots replayed from its `Agent.TicketTaken` / `Agent.TicketReleased`
  events in log order; the most any agent held at once, against its capacity (target: never over);
- message → assignment delay p50/p99: each routed ticket's `Ticket.Assigned` time minus its
  first `Ticket.CustomerMessageAdded` time (stamped by the server's and the workers' clocks, one
  machine); message → decision the same for every ticket's first assignment or queueing;
- every message accounted for: assigned, or still waiting because every qualified agent was full.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from http_bench import API_KEY, BrokerWorkers, RawClient, Server, log, percentile, timed  # noqa: E402

TENANT = "bench"
TEXTS = {"zh": "你好，我买的茶叶到现在还没有发货，麻烦帮我看一下订单", "en": "Hello, my parcel has not arrived yet, could you check it?"}


def fresh_database(backend: str, workdir: Path, admin_url: str, made: list[str]) -> str:
    if backend == "sqlite":
        return f"sqlite:///{workdir}/policies.db"
    name = f"ldpolicy_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    made.append(name)
    return f"{admin_url.rsplit('/', 1)[0]}/{name}"


def feed(client: RawClient) -> list[dict]:
    events, after = [], 0
    while True:
        _, page = timed(client, "feed", "GET", f"/v1/events?after={after}&limit=1000")
        if page is None:
            raise RuntimeError("the feed did not answer")
        events.extend(page["items"])
        if page["next_after"] >= page["head"]:
            return events
        after = page["next_after"]


def caught_up(client: RawClient, timeout: float = 300, quiet: float = 3.0) -> None:
    """Every follower at the head (read models, policies or their relay), and the head still for
    `quiet` seconds: the policies' own commands (from workers too) have come and been followed."""
    deadline, head, still_since = time.monotonic() + timeout, None, time.monotonic()
    while time.monotonic() < deadline:
        _, status = timed(client, "status", "GET", "/v1/projections")
        if status is not None and status["items"]:
            now_head = max(m["head"] for m in status["items"])
            if now_head != head:
                head, still_since = now_head, time.monotonic()
            if all(m["lag"] == 0 for m in status["items"]) and time.monotonic() - still_since >= quiet:
                return
        time.sleep(0.2)
    raise RuntimeError("the policies did not catch up")


def bench(backend: str, mode: str, args: argparse.Namespace, workdir: Path, made: list[str]) -> list[str]:
    url = fresh_database(backend, workdir, args.postgres_url, made)
    # Small pools: the PostgreSQL server is shared (max_connections 100), and a worker runs 2 threads.
    env = {**os.environ, "LEDGERDESK_DATABASE_URL": url, "LEDGERDESK_POSTGRES_POOL_SIZE": str(args.pool_size),
           "LEDGERDESK_API_KEYS": json.dumps({API_KEY: {"tenant": TENANT, "actor": "bench", "role": "integrator"}})}
    workers = None
    if mode == "rabbitmq":
        env.update({"LEDGERDESK_BROKER_URL": args.broker_url, "LEDGERDESK_BROKER_NAMESPACE": f"ldbench_{uuid.uuid4().hex[:8]}"})
        workers = BrokerWorkers(str(Path(sys.executable).parent / "ledgerdesk"), env, args.workers, workdir,
                                threads=args.worker_threads, label=f"{backend}-{mode}-worker")
    label = f"{backend}/{mode}"
    exe = str(Path(sys.executable).parent / "ledgerdesk")
    server = Server(f"ledgerdesk-{backend}-{mode}", [exe, "serve", "--host", "127.0.0.1", "--port", "{port}"], env,
                    workdir / f"{backend}-{mode}-serve.log")
    try:
        server.start()
        client = RawClient(server.url)
        capacity = {}
        for i in range(args.agents):
            agent_id, language = f"agent-{i:02d}", ("zh", "en")[i % 2]
            profile = {"name": agent_id, "teams": ["support"], "capacity": args.capacity,
                       "skills": {"languages": [language], "categories": [], "channels": []}}
            timed(client, "agent", "PUT", f"/v1/agents/{agent_id}", profile)
            timed(client, "agent", "POST", f"/v1/agents/{agent_id}/presence", {"status": "online"})
            capacity[agent_id] = args.capacity
        caught_up(client)
        log(f"[{label}] {args.agents} agents online (capacity {args.capacity}); sending {args.messages} messages "
            f"from {args.clients} clients")
        failures: list[str] = []

        def send(n: int) -> None:
            own = RawClient(server.url)
            for i in range(n, args.messages, args.clients):
                language = ("zh", "en")[i % 2]
                body = {"channel": "taobao", "external_thread_id": f"t-{uuid.uuid4().hex[:12]}", "external_user_id": f"u-{i}",
                        "external_message_id": f"m-{uuid.uuid4().hex}", "text": TEXTS[language],
                        "sent_at": "2026-11-11T00:05:00+08:00"}
                sample, answer = timed(own, "intake", "POST", "/v1/inbound-messages", body)
                if answer is None:
                    failures.append(f"{sample.status} {sample.detail[:100]}")
            own.close()

        threads = [threading.Thread(target=send, args=(n,)) for n in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        caught_up(client)
        events = feed(client)
    finally:
        server.stop()
        if workers is not None:
            workers.stop()

    first_message: dict[str, datetime] = {}
    assigned: dict[str, datetime] = {}
    decided: dict[str, datetime] = {}  # the first routing decision: an assignment or a queueing
    decisions = 0
    held: dict[str, set] = defaultdict(set)
    most: dict[str, int] = {}  # agent aggregate -> the most slots it held at once
    over = []
    tickets = set()
    for e in events:
        at = datetime.fromisoformat(e["occurred_at"])
        if e["type"] == "Ticket.Opened":
            tickets.add(e["aggregate_id"])
        elif e["type"] == "Ticket.CustomerMessageAdded":
            first_message.setdefault(e["aggregate_id"], at)
        elif e["type"] in ("Ticket.Assigned", "Ticket.Queued") and e["actor"] == {"kind": "policy", "id": "routing"}:
            decisions += 1
            decided.setdefault(e["aggregate_id"], at)
            if e["type"] == "Ticket.Assigned":
                assigned.setdefault(e["aggregate_id"], at)
        elif e["type"] in ("Agent.TicketTaken", "Agent.TicketReleased"):
            slots = held[e["aggregate_id"]]
            (slots.add if e["type"] == "Agent.TicketTaken" else slots.discard)(e["data"]["ticket_id"])
            most_now = len(slots)
            key = e["aggregate_id"]
            most[key] = max(most.get(key, 0), most_now)
            if most_now > args.capacity:
                over.append((key, most_now, e["id"]))
    delays = sorted((assigned[t] - first_message[t]).total_seconds() for t in assigned if t in first_message)
    decision_delays = sorted((decided[t] - first_message[t]).total_seconds() for t in decided if t in first_message)
    start = min(first_message.values()) if first_message else None
    window = (max(decided.values()) - start).total_seconds() if decided else float("nan")
    assign_window = (max(assigned.values()) - start).total_seconds() if assigned else float("nan")
    waiting = len(tickets) - len(assigned)
    slots_total = args.agents * args.capacity
    return [
        f"  {label:<17} routing assignments           {len(assigned)} of {len(tickets)} tickets ({waiting} waiting: "
        f"{slots_total} slots in all)  {'PASS' if len(assigned) == min(len(tickets), slots_total) else 'MISS'}",
        f"  {label:<17} routing decisions/s           {decisions / window:.0f} ({decisions} assignments and queueings, "
        f"from the first message to the last decision, {window:.1f} s); assignments/s {len(assigned) / assign_window:.0f}",
        f"  {label:<17} tickets without a decision    {len(tickets) - len(decided)}  target 0  "
        f"{'PASS' if len(decided) == len(tickets) else 'MISS'}",
        f"  {label:<17} most slots held by an agent   {max(most.values(), default=0)} of capacity {args.capacity}; "
        f"over capacity {len(over)} times  target never  {'PASS' if not over else 'MISS'}",
        f"  {label:<17} message→assignment p50 / p99  {1000 * percentile(delays, 0.5):.0f} / {1000 * percentile(delays, 0.99):.0f} ms "
        f"(n={len(delays)}; intake failures {len(failures)})",
        f"  {label:<17} message→decision p50 / p99    {1000 * percentile(decision_delays, 0.5):.0f} / "
        f"{1000 * percentile(decision_delays, 0.99):.0f} ms (n={len(decision_delays)})",
    ]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backends", default="sqlite,postgres")
    p.add_argument("--agents", type=int, default=30)
    p.add_argument("--capacity", type=int, default=4)
    p.add_argument("--messages", type=int, default=600)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--modes", default="embedded", help="embedded (policies in serve's child process), rabbitmq "
                   "(serve's child relays to RabbitMQ, --workers run the policies; PostgreSQL only)")
    p.add_argument("--workers", type=int, default=3, help="ledgerdesk worker processes in the rabbitmq mode")
    p.add_argument("--worker-threads", type=int, default=2)
    p.add_argument("--broker-url", default="amqp://guest:guest@127.0.0.1:5672/")
    p.add_argument("--pool-size", type=int, default=4, help="LEDGERDESK_POSTGRES_POOL_SIZE of serve and its child (workers: 2)")
    p.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    args = p.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or set(modes) - {"embedded", "rabbitmq"}:
        p.error("--modes: embedded, rabbitmq or both")
    workdir = Path(tempfile.mkdtemp(prefix="ldpolicy-"))
    made: list[str] = []
    lines = []
    try:
        for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
            for mode in modes:
                if mode == "rabbitmq" and backend != "postgres":
                    log(f"[{backend}/{mode}] skipped: workers on a broker are a PostgreSQL deployment")
                    continue
                lines += bench(backend, mode, args, workdir, made)
    finally:
        if made:
            with psycopg.connect(args.postgres_url, autocommit=True) as conn:
                for name in made:
                    conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    print("\nfigures")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
