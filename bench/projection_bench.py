"""Read-side benchmark: rebuild speed and memory, command-to-inbox delay, inbox query latency.

    /tmp/ldvenv/bin/python bench/projection_bench.py [--backends sqlite,postgres] [--quick]

For each backend, in fresh databases:

1. Rebuild vs read. A log made by `seed_traffic` (realistic tickets, merges, ratings), then
   in separate fresh processes: (a) the reference, reading every event from the store in the
   rebuild's batch size through the library's `select_notifications`; (b) `rebuild` of all
   read models together. Figure: rebuild events/s ÷ read events/s (target ≥ 0.25). The same
   two are run on a log a quarter the size; figure: the rebuild process's peak RSS on the full
   log ÷ on the quarter log (target ≤ 1.2: memory does not grow with the number of events).
2. Command to read model. `ledgerdesk serve` (SQLite: as shipped, its child projector; PostgreSQL:
   `LEDGERDESK_PROJECTIONS=external` plus a `ledgerdesk project` process), 16 client threads
   sending 1,000 first messages of new threads (each opens a ticket that enters the inbox).
   A watcher in this process reads the inbox read model's committed position from the
   database every millisecond; a ticket's row commits in the same transaction as that
   position, so the delay of a command is the first moment the position reached the
   command's own (its 2xx answer carries it) minus the moment the 2xx arrived. p50/p99
   (targets p99 < 200 ms embedded, < 1 s PostgreSQL). A sample of tickets is also checked
   on `GET /v1/inbox` itself.
3. Inbox queries with N open tickets in one tenant (full: 100,000; quick: 10,000), opened
   through the application, projected, then served: p50/p99 of `GET /v1/inbox` over a mix
   of views, filters and next pages, against the same server's `GET /v1/projections` as the
   reference for what any authenticated GET costs (target p99 < 50 ms).

It prints figures with targets and PASS/MISS, and asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

from ledgerdesk.interfaces.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from http_bench import API_KEY, API_KEYS_ENV, PROJECT_DIR, RawClient, Server, log, percentile, timed  # noqa: E402

TARGET_REBUILD_RATIO = 0.25
TARGET_RSS_GROWTH = 1.2
TARGET_DELAY_P99 = {"sqlite": 0.200, "postgres": 1.0}
TARGET_INBOX_P99 = 0.050

# Runs in a fresh process: read or rebuild, and report events, seconds and peak RSS.
MEASURE = r"""
import json, resource, sys, time
from ledgerdesk.interfaces.bootstrap import build_ledger, build_projector, build_read_store
from ledgerdesk.interfaces.settings import Settings
from ledgerdesk.projections.rebuild import REBUILD_BATCH_SIZE, rebuild
mode, url = sys.argv[1], sys.argv[2]
settings = Settings(database_url=url)
ledger = build_ledger(settings)
started = time.perf_counter()
events = 0
if mode == "read":
    position = 0
    while True:
        batch = ledger.recorder.select_notifications(start=position, limit=REBUILD_BATCH_SIZE, inclusive_of_start=False)
        if not batch:
            break
        events += len(batch)
        position = batch[-1].id
    seconds = time.perf_counter() - started
else:
    projector = build_projector(ledger, build_read_store(settings))
    started = time.perf_counter()
    report = rebuild(projector, projector.models)
    events, seconds = report.events, report.seconds
print(json.dumps({"events": events, "seconds": seconds, "rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def fresh_database(backend: str, workdir: Path, admin_url: str, name: str, made: list[str]) -> str:
    if backend == "sqlite":
        return f"sqlite:///{workdir}/{name}.db"
    db = f"ldpbench_{uuid.uuid4().hex[:8]}_{name}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {db}")
    made.append(db)
    return admin_url.rsplit("/", 1)[0] + "/" + db


def measure(mode: str, url: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", MEASURE, mode, url], capture_output=True, text=True, cwd=PROJECT_DIR)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def seed(url: str, tickets: int, seed_value: int = 7) -> None:
    subprocess.run(
        [sys.executable, "-m", "ledgerdesk.interfaces.cli", "seed", "--tickets", str(tickets), "--seed", str(seed_value), "--database", url],
        check=True, cwd=PROJECT_DIR, stdout=subprocess.DEVNULL,
    )


def rebuild_figures(backend: str, workdir: Path, admin_url: str, tickets: int, made: list[str]) -> dict[str, Any]:
    full = fresh_database(backend, workdir, admin_url, "rebuild_full", made)
    quarter = fresh_database(backend, workdir, admin_url, "rebuild_quarter", made)
    log(f"[{backend}] seeding {tickets} and {tickets // 4} tickets for the rebuild figures")
    seed(full, tickets)
    seed(quarter, tickets // 4)
    figures: dict[str, Any] = {}
    for name, url in (("quarter", quarter), ("full", full)):
        read = measure("read", url)
        built = measure("rebuild", url)
        figures[name] = {"read": read, "rebuild": built}
        log(f"[{backend}] {name}: read {read['events'] / read['seconds']:,.0f} events/s; "
            f"rebuild {built['events'] / built['seconds']:,.0f} events/s, peak RSS {built['rss_kib'] / 1024:.0f} MiB "
            f"({built['events']} events)")
    return figures


class PositionWatcher(threading.Thread):
    """Reads the inbox read model's committed position from the database every millisecond."""

    def __init__(self, backend: str, url: str) -> None:
        super().__init__(daemon=True)
        self.backend, self.url = backend, url
        self.seen: list[tuple[float, int]] = []  # (time, position) whenever it moved
        self.stopping = threading.Event()

    def run(self) -> None:
        query = ("SELECT t.position FROM projection_tracking t JOIN projection_generations g "
                 "ON g.name = t.name AND g.active_generation = t.generation WHERE t.name = 'inbox'")
        if self.backend == "sqlite":
            conn: Any = sqlite3.connect(self.url.removeprefix("sqlite:///"), isolation_level=None)
        else:
            conn = psycopg.connect(self.url, autocommit=True)
        last = -1
        while not self.stopping.is_set():
            row = conn.execute(query).fetchone()
            now = time.perf_counter()
            if row and row[0] != last:
                last = row[0]
                self.seen.append((now, last))
            time.sleep(0.001)
        conn.close()

    def first_time_at(self, position: int) -> float | None:
        for at, reached in self.seen:
            if reached >= position:
                return at
        return None


def start_server(backend: str, url: str, workdir: Path, tag: str, external: bool) -> list[Server]:
    env = {**os.environ, "LEDGERDESK_API_KEYS": json.dumps({API_KEY: {"tenant": "bench", "actor": "bench-integrator", "role": "admin"}}),
           "LEDGERDESK_DATABASE_URL": url, "LEDGERDESK_PROJECTIONS": "external" if external else "process"}
    exe = str(Path(sys.executable).parent / "ledgerdesk")
    servers = []
    if external:
        # `ledgerdesk project` has no HTTP port: started as a plain process, watched through its log.
        projector_log = open(workdir / f"{tag}-project.log", "wb")
        proc = subprocess.Popen([exe, "project"], env=env, cwd=PROJECT_DIR, stdout=projector_log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        servers.append(proc)  # type: ignore[arg-type]
    api = Server(f"ledgerdesk-{tag}", [exe, "serve", "--host", "127.0.0.1", "--port", "{port}"], env, workdir / f"{tag}-serve.log")
    servers.append(api.start())
    return servers


def stop_all(servers: list[Any]) -> None:
    for s in servers:
        if isinstance(s, Server):
            s.stop()
        else:
            s.terminate()
            s.wait(15)


def delay_figures(backend: str, workdir: Path, admin_url: str, made: list[str], commands: int, clients: int) -> dict[str, Any]:
    url = fresh_database(backend, workdir, admin_url, "delay", made)
    external = backend == "postgres"
    servers = start_server(backend, url, workdir, f"{backend}-delay", external)
    api = servers[-1]
    # On SQLite the read models have a file of their own beside the events' (Settings.read_model_url).
    watcher = PositionWatcher(backend, Settings(database_url=url).read_model_url().replace("postgresql+psycopg", "postgresql"))
    watcher.start()
    results: list[tuple[float, int, str]] = []  # (2xx time, position, ticket id)
    failures: list[str] = []
    lock = threading.Lock()
    def client_loop(n: int) -> None:
        client = RawClient(api.url)
        for i in range(commands // clients + (n < commands % clients)):
            body = {"channel": random.choice(["taobao", "jd", "wechat", "email", "web_chat"]),
                    "external_thread_id": f"t-{uuid.uuid4().hex[:12]}", "external_user_id": f"u-{n}-{i % 7}",
                    "external_message_id": f"m-{uuid.uuid4().hex}", "text": "我的订单还没发货，请尽快处理",
                    "sent_at": "2026-11-11T00:05:00+08:00"}
            sample, answer = timed(client, "intake", "POST", "/v1/inbound-messages", body)
            done = time.perf_counter()
            with lock:
                if answer is None:
                    failures.append(f"{sample.status} {sample.detail[:100]}")
                else:
                    results.append((done, answer["position"], answer["ticket_id"]))
        client.close()

    log(f"[{backend}] command to inbox: {commands} intake commands at {clients} clients"
        + (" (`ledgerdesk project` in its own process)" if external else " (serve as shipped: its child projector)"))
    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    deadline = time.monotonic() + 30
    last_position = max(p for _, p, _ in results)
    while watcher.first_time_at(last_position) is None and time.monotonic() < deadline:
        time.sleep(0.01)
    watcher.stopping.set()
    watcher.join()
    delays = []
    missing = 0
    for done, position, _ in results:
        seen = watcher.first_time_at(position)
        if seen is None:
            missing += 1
        else:
            delays.append(max(0.0, seen - done))
    delays.sort()
    # The position is a proxy for "visible in the inbox": check a sample on the inbox itself.
    client = RawClient(api.url)
    sample_ids = random.sample([tid for _, _, tid in results], k=min(20, len(results)))
    visible = 0
    for tid in sample_ids:
        _, page = timed(client, "inbox", "GET", "/v1/inbox?limit=200&view=unassigned")
        found = False
        cursor = None
        while page is not None:
            if any(item["ticket_id"] == tid for item in page["items"]):
                found = True
                break
            cursor = page.get("next_cursor")
            if not cursor:
                break
            _, page = timed(client, "inbox", "GET", f"/v1/inbox?limit=200&view=unassigned&cursor={cursor}")
        visible += found
    client.close()
    stop_all(servers)
    return {"p50": percentile(delays, 0.5), "p99": percentile(delays, 0.99), "max": delays[-1] if delays else float("nan"),
            "n": len(delays), "missing": missing, "failures": len(failures), "sample_visible": f"{visible}/{len(sample_ids)}"}


def open_tickets(url: str, tickets: int) -> None:
    """N open tickets in tenant `bench`, opened through the application (no HTTP), then projected."""
    code = r"""
import random, sys, uuid
from tqdm import tqdm
from ledgerdesk.application import commands as c
from ledgerdesk.domain.audit import Actor, ActorKind
from ledgerdesk.domain.channel import Channel
from ledgerdesk.domain.ticket_values import Category, Priority
from ledgerdesk.interfaces.bootstrap import build_ledger, build_projector, build_read_store
from ledgerdesk.interfaces.settings import Settings
from ledgerdesk.projections.rebuild import rebuild
url, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(5)
settings = Settings(database_url=url)
ledger = build_ledger(settings)
def ctx():
    ref = str(uuid.uuid4())
    return c.CommandContext("bench", Actor(ActorKind.INTEGRATOR, "bench"), ref, ref)
customers = []
channels = list(Channel)
for i in tqdm(range(n), desc="opening tickets", mininterval=1, file=sys.stderr):
    kw = {"customer_id": rng.choice(customers)} if len(customers) >= 2000 else {"customer": c.CustomerHints(email=f"c{i}@example.com")}
    answer = ledger.execute(c.OpenTicket(ctx(), subject="订单还没发货 where is my order", channel=rng.choice(channels),
        priority=rng.choice(list(Priority)), category=rng.choice(list(Category)),
        tags=tuple(rng.sample(["double-11", "vip", "fragile", "return", "late"], k=rng.randint(0, 2))), **kw)).result
    if len(customers) < 2000:
        customers.append(uuid.UUID(answer["customer_id"]))
    r = rng.random()
    tid = uuid.UUID(answer["ticket_id"])
    if r < 0.5:
        ledger.execute(c.AssignTicket(ctx(), tid, agent_id=f"agent-{rng.randrange(40)}", team_id=f"team-{rng.randrange(5)}"))
    elif r < 0.7:
        ledger.execute(c.AssignTicket(ctx(), tid, agent_id=None, team_id=f"team-{rng.randrange(5)}"))
projector = build_projector(ledger, build_read_store(settings))
report = rebuild(projector, projector.models)
print(f"projected {report.events} events in {report.seconds:.1f} s ({report.events_per_second:,.0f}/s)", file=sys.stderr)
"""
    subprocess.run([sys.executable, "-c", code, url, str(tickets)], check=True, cwd=PROJECT_DIR)


INBOX_QUERIES = [
    "/v1/inbox?limit=50",
    "/v1/inbox?view=unassigned&limit=50",
    "/v1/inbox?view=agent:agent-7&limit=50",
    "/v1/inbox?view=team:team-2&limit=50",
    "/v1/inbox?status=new&priority=urgent&limit=50",
    "/v1/inbox?channel=taobao&limit=50",
    "/v1/inbox?category=refund&priority=high&limit=50",
    "/v1/inbox?tag=vip&limit=50",
    "/v1/inbox?view=team:team-1&tag=fragile&channel=jd&limit=50",
    "/v1/inbox/counts",
]


def inbox_figures(backend: str, workdir: Path, admin_url: str, made: list[str], tickets: int, rounds: int) -> dict[str, Any]:
    url = fresh_database(backend, workdir, admin_url, "inbox", made)
    log(f"[{backend}] inbox queries: opening {tickets} tickets in one tenant")
    open_tickets(url, tickets)
    servers = start_server(backend, url, workdir, f"{backend}-inbox", external=False)
    api = servers[-1]
    client = RawClient(api.url)
    ours: list[float] = []
    reference: list[float] = []
    by_query: dict[str, list[float]] = {}
    errors = 0
    for _ in range(2):  # warm-up
        for q in INBOX_QUERIES:
            timed(client, "inbox", "GET", q)
    for _ in range(rounds):
        for q in INBOX_QUERIES:
            sample, page = timed(client, "inbox", "GET", q)
            errors += sample.status != 200
            ours.append(sample.seconds)
            by_query.setdefault(q, []).append(sample.seconds)
            if page and page.get("next_cursor"):  # the next two pages of the same view
                for _ in range(2):
                    sample, page = timed(client, "inbox", "GET", f"{q}&cursor={page['next_cursor']}")
                    errors += sample.status != 200
                    ours.append(sample.seconds)
                    if not page or not page.get("next_cursor"):
                        break
            ref_sample, _ = timed(client, "ref", "GET", "/v1/projections")
            reference.append(ref_sample.seconds)
    client.close()
    stop_all(servers)
    ours.sort()
    reference.sort()
    slowest = max(by_query, key=lambda q: percentile(sorted(by_query[q]), 0.99))
    return {"p50": percentile(ours, 0.5), "p99": percentile(ours, 0.99), "n": len(ours), "errors": errors,
            "ref_p50": percentile(reference, 0.5), "ref_p99": percentile(reference, 0.99),
            "slowest": slowest, "slowest_p99": percentile(sorted(by_query[slowest]), 0.99)}


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backends", default="sqlite,postgres")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    p.add_argument("--seed-tickets", type=int, help="tickets seeded for the rebuild figures (full 2000, quick 400)")
    p.add_argument("--open-tickets", type=int, help="open tickets for the inbox figures (full 100000, quick 10000)")
    p.add_argument("--commands", type=int, default=1000)
    p.add_argument("--clients", type=int, default=16)
    args = p.parse_args()
    seed_tickets = args.seed_tickets or (400 if args.quick else 2000)
    open_n = args.open_tickets or (10_000 if args.quick else 100_000)
    rows: list[str] = []
    with tempfile.TemporaryDirectory(prefix="ldpbench-") as tmp:
        workdir = Path(tmp)
        for backend in args.backends.split(","):
            made: list[str] = []
            try:
                r = rebuild_figures(backend, workdir, args.postgres_url, seed_tickets, made)
                full, quarter = r["full"], r["quarter"]
                read_rate = full["read"]["events"] / full["read"]["seconds"]
                rebuild_rate = full["rebuild"]["events"] / full["rebuild"]["seconds"]
                ratio = rebuild_rate / read_rate
                growth = full["rebuild"]["rss_kib"] / quarter["rebuild"]["rss_kib"]
                rows.append(f"{backend:8} rebuild ÷ read (events/s)         {ratio:6.3f}  ({rebuild_rate:,.0f} / {read_rate:,.0f}, "
                            f"{full['rebuild']['events']} events)  target ≥ {TARGET_REBUILD_RATIO}  {verdict(ratio >= TARGET_REBUILD_RATIO)}")
                rows.append(f"{backend:8} rebuild peak RSS full ÷ quarter   {growth:6.3f}  ({full['rebuild']['rss_kib'] / 1024:.0f} / "
                            f"{quarter['rebuild']['rss_kib'] / 1024:.0f} MiB)  target ≤ {TARGET_RSS_GROWTH}  {verdict(growth <= TARGET_RSS_GROWTH)}")
                d = delay_figures(backend, workdir, args.postgres_url, made, args.commands, args.clients)
                target = TARGET_DELAY_P99[backend]
                rows.append(f"{backend:8} command→inbox p50 / p99 / max      {d['p50'] * 1000:.1f} / {d['p99'] * 1000:.1f} / {d['max'] * 1000:.1f} ms "
                            f"(n={d['n']}, missing {d['missing']}, non-2xx {d['failures']}, sampled visible in /v1/inbox {d['sample_visible']})"
                            f"  target p99 < {target * 1000:.0f} ms  {verdict(d['p99'] < target and not d['missing'])}")
                q = inbox_figures(backend, workdir, args.postgres_url, made, open_n, rounds=10 if args.quick else 30)
                rows.append(f"{backend:8} inbox query p50 / p99 @{open_n} open   {q['p50'] * 1000:.1f} / {q['p99'] * 1000:.1f} ms "
                            f"(n={q['n']}, non-200 {q['errors']}; reference GET /v1/projections p50/p99 {q['ref_p50'] * 1000:.1f} / "
                            f"{q['ref_p99'] * 1000:.1f} ms; slowest query {q['slowest']} p99 {q['slowest_p99'] * 1000:.1f} ms)"
                            f"  target p99 < 50 ms  {verdict(q['p99'] < TARGET_INBOX_P99)}")
            finally:
                if made:
                    with psycopg.connect(args.postgres_url, autocommit=True) as conn:
                        for name in made:
                            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    log()
    log("figures")
    for row in rows:
        log("  " + row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
