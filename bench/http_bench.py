"""End-to-end HTTP benchmark of ledgerdesk against references measured in the same run.

    /tmp/ldvenv/bin/python bench/http_bench.py [--backends sqlite,postgres] [--quick]

For each backend, in a fresh database (a temp SQLite file; a scratch PostgreSQL database):

1. Reference B: one-row INSERT transactions straight to the database, no HTTP
   (psycopg, one connection; or stdlib sqlite3 in WAL mode).
2. Start two servers, both `uvicorn.run` with the same settings: `ledgerdesk serve`
   and Reference A (bench/reference_app.py: a `def` FastAPI endpoint doing one INSERT +
   commit per request into the same kind of database).
3. Client ceiling: the load generator against Reference A's trivial GET /ping.
4. Load points at 1 and 16 concurrent clients, alternating Reference A / ledgerdesk:
   ledgerdesk gets a realistic command mix (30% intake, 25% replies, 15% status changes,
   10% priority changes, 20% ticket reads; see TicketMix), Reference A gets its INSERTs.
5. History: one ticket grown to 500 events, then 200 GETs of its history.
6. Soak (SQLite by default): N requests of the mix at 16 clients, sampling the ledgerdesk
   process RSS at 10%, 50% and 100%.

Then a table of the figures with their targets, PASS or MISS. The script asserts nothing.
The load generator runs in this process: one thread per client, each with its own
keep-alive connection (http.client by default; `--client httpx` for httpx.Client, which
costs the client ~3x more CPU per request). Figures are meant to be read as ratios
against the references, since the machine is shared and noisy. See bench/README.md.
"""
from __future__ import annotations

import argparse
import collections
import http.client
import itertools
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, NamedTuple

import psycopg
from tqdm import tqdm

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
API_KEY = "benchkey"
API_KEYS_ENV = json.dumps({API_KEY: {"tenant": "bench", "actor": "bench-integrator", "role": "integrator"}})
HOST = "127.0.0.1"

TARGET_RATIO = 0.5  # our commands/s ÷ Reference A's requests/s
TARGET_TAIL = 4.0  # our p99 ÷ p50
TARGET_HISTORY_P99_MS = 20.0  # a 500-event ticket's history
TARGET_RSS_GROWTH = 0.20  # soak RSS growth from 10% to 100% of the run
TARGET_READ_SIDE_SHARE = 0.8  # commands/s with the read side running ÷ the same build without it
TARGET_CLIENT_HEADROOM = 2.0  # client ceiling (GET /ping) ÷ our commands/s: a bench sanity check


def log(line: str = "") -> None:
    print(line, flush=True)


# -- HTTP clients: one per load-generator thread ---------------------------------------------


class RawClient:
    """One keep-alive HTTP/1.1 connection over http.client: the cheapest client in Python."""

    def __init__(self, base_url: str) -> None:
        host, port = base_url.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=120)
        self.headers = {"Authorization": f"Bearer {API_KEY}"}
        self.json_headers = {**self.headers, "Content-Type": "application/json"}

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        if body is None:
            self.conn.request(method, path, headers=self.headers)
        else:
            self.conn.request(method, path, body=json.dumps(body).encode(), headers=self.json_headers)
        response = self.conn.getresponse()
        return response.status, response.read()

    def close(self) -> None:
        self.conn.close()


class HttpxClient:
    """httpx.Client with keep-alive: more comfortable, but ~3x the client CPU per request."""

    def __init__(self, base_url: str) -> None:
        import httpx

        self.client = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=120)

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        response = self.client.request(method, path, json=body)
        return response.status_code, response.content

    def close(self) -> None:
        self.client.close()


CLIENTS = {"raw": RawClient, "httpx": HttpxClient}


# -- What the clients send -------------------------------------------------------------------


class Sample(NamedTuple):
    kind: str
    status: int  # 0: no HTTP answer (connection error)
    seconds: float
    detail: str  # the answer's body, or the exception, when not 2xx


def timed(client: Any, kind: str, method: str, path: str, body: Any = None) -> tuple[Sample, Any]:
    """One request: its sample, and its parsed JSON answer when 2xx."""
    start = time.perf_counter()
    try:
        status, data = client.request(method, path, body)
    except Exception as e:  # noqa: BLE001 - a failed request is a figure, not a crash
        return Sample(kind, 0, time.perf_counter() - start, repr(e)), None
    seconds = time.perf_counter() - start
    if 200 <= status < 300:
        return Sample(kind, status, seconds, ""), (json.loads(data) if data else None)
    return Sample(kind, status, seconds, data[:300].decode("utf-8", "replace")), None


CUSTOMER_TEXTS = [
    "我的订单还没发货，请尽快处理",
    "Where is my parcel? The tracking has not moved for three days.",
    "收到的商品有破损，要求退款",
    "Can I change the delivery address of order 8812?",
    "尺码不合适，想换一个大一号的",
    "支付成功了但是订单显示未付款",
]
AGENT_TEXTS = [
    "您好，已为您催促仓库发货，预计明天发出。",
    "We have asked the courier for an update and will get back to you today.",
    "非常抱歉，请上传破损照片，我们为您办理退款。",
    "The address has been changed; you will get a new confirmation email.",
]
# Legal next statuses, as the ticket lifecycle allows them (never solved -> pending).
NEXT_STATUS = {
    "new": ("open", "pending"),
    "open": ("pending", "pending", "on_hold", "solved"),
    "pending": ("open", "open", "solved"),
    "on_hold": ("open", "pending"),
    "solved": ("open",),
}
PRIORITIES = ("low", "normal", "high", "urgent")
REOPENED_BY_CUSTOMER = {"pending", "on_hold", "solved"}
CHINA = timezone(timedelta(hours=8))


@dataclass
class TicketState:
    id: str
    status: str = "new"
    priority: str = "normal"


@dataclass
class TicketMix:
    """One client's share of the realistic command mix.

    Each client owns the tickets and customers it made, so it always knows their state
    and only asks for legal status changes: no 409 is expected. It works on its most
    recent WORKING_SET tickets, as an agent works a queue.
    """

    worker: int
    run_tag: str
    rng: random.Random = field(init=False)
    tickets: collections.deque = field(init=False)
    customers: list[tuple[str, str | None]] = field(default_factory=list)
    serial: itertools.count = field(default_factory=itertools.count)

    KINDS = ("intake", "reply", "status", "priority", "read")
    WEIGHTS = (30, 25, 15, 10, 20)
    REPEAT_CUSTOMER = 0.25  # share of intakes from a customer seen before (same buyer, same email)
    WORKING_SET = 50

    def __post_init__(self) -> None:
        self.rng = random.Random(f"{self.run_tag}-{self.worker}")
        self.tickets = collections.deque(maxlen=self.WORKING_SET)

    def step(self, client: Any) -> Sample:
        kind = self.rng.choices(self.KINDS, self.WEIGHTS)[0] if self.tickets else "intake"
        return getattr(self, kind)(client)

    def _ref(self, what: str) -> str:
        return f"{what}-{self.run_tag}-{self.worker}-{next(self.serial)}"

    def intake(self, client: Any) -> Sample:
        if self.customers and self.rng.random() < self.REPEAT_CUSTOMER:
            buyer, email = self.rng.choice(self.customers)
        else:
            buyer = self._ref("buyer")
            email = f"{buyer}@example.com" if self.rng.random() < 0.7 else None
            self.customers.append((buyer, email))
        body: dict[str, Any] = {
            "channel": "taobao",
            "external_thread_id": self._ref("thread"),
            "external_user_id": buyer,
            "external_message_id": self._ref("msg"),
            "text": self.rng.choice(CUSTOMER_TEXTS),
            "sent_at": datetime.now(CHINA).isoformat(),
        }
        if email:
            body["customer"] = {"email": email, "name": f"Buyer {buyer[-6:]}"}
        if self.rng.random() < 0.3:
            body["order_id"] = f"TB{self.rng.randrange(10**11, 10**12)}"
        sample, answer = timed(client, "intake", "POST", "/v1/inbound-messages", body)
        if answer:
            known = next((t for t in self.tickets if t.id == answer["ticket_id"]), None)
            if known is None:
                self.tickets.append(TicketState(answer["ticket_id"]))
            elif known.status in REOPENED_BY_CUSTOMER:
                known.status = "open"
        return sample

    def reply(self, client: Any) -> Sample:
        ticket = self.rng.choice(self.tickets)
        body = {"text": self.rng.choice(AGENT_TEXTS)}
        sample, answer = timed(client, "reply", "POST", f"/v1/tickets/{ticket.id}/replies", body)
        if answer and ticket.status == "new":
            ticket.status = "open"  # a new ticket is open from its first reply on
        return sample

    def status(self, client: Any) -> Sample:
        ticket = self.rng.choice(self.tickets)
        target = self.rng.choice(NEXT_STATUS[ticket.status])
        sample, answer = timed(client, "status", "POST", f"/v1/tickets/{ticket.id}/status", {"status": target})
        if answer:
            ticket.status = target
        return sample

    def priority(self, client: Any) -> Sample:
        ticket = self.rng.choice(self.tickets)
        target = self.rng.choice([p for p in PRIORITIES if p != ticket.priority])
        sample, answer = timed(client, "priority", "POST", f"/v1/tickets/{ticket.id}/priority", {"priority": target})
        if answer:
            ticket.priority = target
        return sample

    def read(self, client: Any) -> Sample:
        ticket = self.rng.choice(self.tickets)
        return timed(client, "read", "GET", f"/v1/tickets/{ticket.id}")[0]


class InsertMix:
    """Reference A's load: one small INSERT per request."""

    def __init__(self, worker: int) -> None:
        self.text = f"hello from client {worker}"

    def step(self, client: Any) -> Sample:
        return timed(client, "insert", "POST", "/v1/items", {"text": self.text})[0]


class HistoryMix:
    """A whole ticket history, again and again (for profiling)."""

    def __init__(self, ticket_id: str) -> None:
        self.path = f"/v1/tickets/{ticket_id}/history?limit=1000"

    def step(self, client: Any) -> Sample:
        return timed(client, "history", "GET", self.path)[0]


class PingMix:
    """The trivial endpoint, to find what the load generator itself can push."""

    def step(self, client: Any) -> Sample:
        return timed(client, "ping", "GET", "/ping")[0]


# -- Figures ---------------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * q // 1))  # ceil(n * q), at least 1
    return sorted_values[int(rank) - 1]


@dataclass
class PhaseResult:
    label: str
    clients: int
    elapsed: float
    samples: list[Sample]
    server_cpu: float = 0.0  # CPU seconds the server process used in the phase
    client_cpu: float = 0.0  # CPU seconds this (load-generator) process used in the phase

    def __post_init__(self) -> None:
        self.latencies = sorted(s.seconds for s in self.samples)

    @classmethod
    def merge(cls, parts: list[PhaseResult]) -> PhaseResult:
        """Several slices of one load point as one result."""
        return cls(
            parts[0].label,
            parts[0].clients,
            sum(p.elapsed for p in parts),
            [s for p in parts for s in p.samples],
            sum(p.server_cpu for p in parts),
            sum(p.client_cpu for p in parts),
        )

    @property
    def server_cpu_ms(self) -> float:
        return 1000 * self.server_cpu / len(self.samples) if self.samples else float("nan")

    @property
    def client_cpu_ms(self) -> float:
        return 1000 * self.client_cpu / len(self.samples) if self.samples else float("nan")

    @property
    def tail(self) -> float:
        return self.p99_ms / self.p50_ms if self.p50_ms else float("nan")

    @property
    def rate(self) -> float:
        return len(self.samples) / self.elapsed if self.elapsed else 0.0

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies, 0.50) * 1000

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies, 0.99) * 1000

    @property
    def errors(self) -> list[Sample]:
        return [s for s in self.samples if not 200 <= s.status < 300]

    def line(self, unit: str) -> str:
        cpu = f"   CPU/req: server {self.server_cpu_ms:.2f} ms, client {self.client_cpu_ms:.2f} ms" if self.server_cpu else ""
        return (
            f"{self.label:<32} @{self.clients:>2}: {self.rate:7.1f} {unit}/s  p50 {self.p50_ms:6.2f} ms  "
            f"p99 {self.p99_ms:7.2f} ms  ({len(self.samples)} in {self.elapsed:.1f} s, {len(self.errors)} errors){cpu}"
        )

    def by_kind(self) -> str:
        kinds: dict[str, list[float]] = collections.defaultdict(list)
        for s in self.samples:
            kinds[s.kind].append(s.seconds)
        parts = []
        for kind in TicketMix.KINDS:
            values = sorted(kinds.get(kind, []))
            if values:
                share = 100 * len(values) / len(self.samples)
                parts.append(
                    f"{kind} {share:.0f}% p50 {percentile(values, .5) * 1000:.1f}/p99 {percentile(values, .99) * 1000:.1f} ms"
                )
        return "      by kind: " + "; ".join(parts)

    def error_report(self) -> list[str]:
        if not self.errors:
            return []
        counts = collections.Counter((s.kind, s.status) for s in self.errors)
        lines = [f"      ERRORS ({len(self.errors)}): " + ", ".join(f"{k} -> {st}: {n}" for (k, st), n in counts.most_common())]
        shown = set()
        for s in self.errors:
            if (s.kind, s.status) not in shown:
                shown.add((s.kind, s.status))
                lines.append(f"        e.g. {s.kind} {s.status}: {s.detail[:240]}")
        return lines


def run_phase(
    label: str,
    base_url: str,
    mixes: list[Any],
    clients: int,
    client_kind: str,
    *,
    duration: float | None = None,
    total: int | None = None,
    on_done: Callable[[int], None] | None = None,
    server: Server | None = None,
    quiet: bool = False,
) -> PhaseResult:
    """Drive `clients` threads, each with its own connection and its own mix, for a time or a count."""
    assert (duration is None) != (total is None)
    stop = threading.Event()
    start_line = threading.Barrier(clients + 1)
    per_worker: list[list[Sample]] = [[] for _ in range(clients)]
    handed_out, completed = itertools.count(), itertools.count(1)  # next() on a count is atomic in CPython

    def worker(i: int) -> None:
        client = CLIENTS[client_kind](base_url)
        mix, out = mixes[i], per_worker[i]
        start_line.wait()
        try:
            while not stop.is_set():
                if total is not None and next(handed_out) >= total:
                    break
                sample = mix.step(client)
                out.append(sample)
                if sample.status == 0 and sum(1 for s in out[-50:] if s.status == 0) == 50:
                    break  # the server is gone: stop rather than spin
                if on_done is not None:
                    on_done(next(completed))
        finally:
            client.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    bar = tqdm(
        total=total if total is not None else round(duration),  # type: ignore[arg-type]
        unit="req" if total is not None else "s",
        desc=f"{label} @{clients}",
        file=sys.stderr,
        leave=False,
        disable=quiet,
        bar_format=None if total is not None else "{desc}: {n}/{total} s |{bar}|{postfix}",
    )
    server_cpu = server.cpu_seconds() if server else 0.0
    client_cpu = process_cpu_seconds()
    start_line.wait()
    started = time.perf_counter()
    while any(t.is_alive() for t in threads):
        time.sleep(0.25)
        elapsed = time.perf_counter() - started
        done = sum(len(out) for out in per_worker)
        bar.n = done if total is not None else min(round(elapsed), bar.total)
        bar.set_postfix_str(f"{done / elapsed:.0f} req/s", refresh=True)
        if duration is not None and elapsed >= duration:
            stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    client_cpu = process_cpu_seconds() - client_cpu
    server_cpu = server.cpu_seconds() - server_cpu if server else 0.0
    bar.close()
    return PhaseResult(label, clients, elapsed, [s for out in per_worker for s in out], server_cpu, client_cpu)


def process_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


# -- Servers and databases -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _process_cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:  # gone meanwhile
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children_of(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class Server:
    """A uvicorn server in its own process (and session), its output in a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name, self.argv, self.env, self.log_path = name, argv, env, log_path
        self.port = free_port()
        self.argv = [a.replace("{port}", str(self.port)) for a in argv]
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 60) -> Server:
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen(
                self.argv, env=self.env, cwd=PROJECT_DIR, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
                conn.request("GET", "/openapi.json")
                if conn.getresponse().status == 200:
                    conn.close()
                    return self
                conn.close()
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer /openapi.json within {timeout:.0f} s:\n{self.log_tail()}")

    def cpu_seconds(self) -> float:
        """utime + stime of the server process and its child processes (a child projector), from /proc."""
        return sum(_process_cpu_seconds(pid) for pid in [self.pid, *_children_of(self.pid)])

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return -1

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)  # uvicorn shuts down gracefully on SIGINT
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@dataclass
class Databases:
    """Fresh databases for one backend: ledgerdesk's, Reference A's and Reference B's."""

    backend: str
    workdir: Path
    admin_url: str
    created: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        tag = self.tag = uuid.uuid4().hex[:8]
        if self.backend == "sqlite":
            self.reference_a = f"sqlite:///{self.workdir}/reference_a.db"
            self.reference_b = f"sqlite:///{self.workdir}/reference_b.db"
            return
        base = self.admin_url.rsplit("/", 1)[0]
        urls = []
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            for role in ("ra", "rb"):
                name = f"ldbench_{tag}_{role}"
                conn.execute(f"CREATE DATABASE {name}")
                self.created.append(name)
                urls.append(f"{base}/{name}")
        self.reference_a, self.reference_b = urls

    def ledgerdesk_for(self, mode: str) -> str:
        """A fresh ledgerdesk database for each way of running it, so each starts from the same empty log."""
        if self.backend == "sqlite":
            return f"sqlite:///{self.workdir}/ledgerdesk-{mode}.db"
        name = f"ldbench_{self.tag}_ld_{mode}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        self.created.append(name)
        return f"{self.admin_url.rsplit('/', 1)[0]}/{name}"

    def drop(self) -> None:
        if not self.created:
            return
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            for name in self.created:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self.created.clear()


def reference_b(databases: Databases, n: int) -> PhaseResult:
    """One-row INSERT transactions with no HTTP: one connection, a loop, a commit each."""
    url = databases.reference_b
    values = [(str(uuid.uuid4()), "hello", datetime.now(timezone.utc).isoformat()) for _ in range(n)]
    samples = []
    create = "CREATE TABLE IF NOT EXISTS bench_items (id TEXT PRIMARY KEY, text TEXT NOT NULL, created_at TEXT NOT NULL)"
    if url.startswith("sqlite:///"):
        conn: Any = sqlite3.connect(url[len("sqlite:///") :], timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        sql = "INSERT INTO bench_items (id, text, created_at) VALUES (?, ?, ?)"
    else:
        conn = psycopg.connect(url)
        sql = "INSERT INTO bench_items (id, text, created_at) VALUES (%s, %s, %s)"
    try:
        conn.execute(create)
        conn.commit()
        started = time.perf_counter()
        for row in tqdm(values, desc="reference B", file=sys.stderr, leave=False):
            t0 = time.perf_counter()
            conn.execute(sql, row)
            conn.commit()
            samples.append(Sample("insert", 200, time.perf_counter() - t0, ""))
        elapsed = time.perf_counter() - started
    finally:
        conn.close()
    return PhaseResult("reference B: INSERT, no HTTP", 1, elapsed, samples)


# -- The 500-event history -------------------------------------------------------------------


def history_phase(server: Server, client_kind: str, events: int = 500, reads: int = 200) -> tuple[PhaseResult, int, str]:
    """Grow one ticket to `events` events with notes, then time `reads` GETs of its whole history."""
    client = CLIENTS[client_kind](server.url)
    try:
        mix = TicketMix(worker=999, run_tag=f"hist{uuid.uuid4().hex[:6]}")
        sample = mix.intake(client)
        if sample.status != 201:
            raise RuntimeError(f"intake failed: {sample.status} {sample.detail}")
        ticket_id = mix.tickets[0].id
        version = json.loads(client.request("GET", f"/v1/tickets/{ticket_id}")[1])["version"]
        with tqdm(total=events, initial=version, desc="history: notes", file=sys.stderr, leave=False) as bar:
            while version < events:
                sample, answer = timed(client, "note", "POST", f"/v1/tickets/{ticket_id}/notes", {"text": f"note {version}"})
                if answer is None:
                    raise RuntimeError(f"note failed: {sample.status} {sample.detail}")
                version = answer["version"]
                bar.update(1)
        samples = []
        path = f"/v1/tickets/{ticket_id}/history?limit=1000"
        items = 0
        server_cpu, client_cpu = server.cpu_seconds(), process_cpu_seconds()
        for _ in tqdm(range(reads), desc="history: reads", file=sys.stderr, leave=False):
            sample, answer = timed(client, "history", "GET", path)
            samples.append(sample)
            if answer is not None:
                items = len(answer["items"])
        server_cpu, client_cpu = server.cpu_seconds() - server_cpu, process_cpu_seconds() - client_cpu
        elapsed = sum(s.seconds for s in samples)  # the reads are back to back
        result = PhaseResult(f"history of a {version}-event ticket", 1, elapsed, samples, server_cpu, client_cpu)
        return result, items, ticket_id
    finally:
        client.close()


# -- Profiling (optional) --------------------------------------------------------------------


PY_SPY_RATE = 200


def start_py_spy(pid: int, seconds: float, out: Path) -> subprocess.Popen | None:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        log("  (py-spy not found: pip install py-spy; no profile)")
        return None
    # --gil: sample only the thread holding the GIL, i.e. where the server's Python CPU time goes.
    argv = [py_spy, "record", "--pid", str(pid), "--duration", str(round(seconds)), "--rate", str(PY_SPY_RATE),
            "--gil", "--format", "raw", "--nonblocking", "--output", str(out)]  # fmt: skip
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


LEDGERDESK_FOLDERS = ("interfaces", "application", "domain", "projections")
# Inclusive time is listed for these packages' functions: where our request handling spends its time.
INCLUSIVE_PACKAGES = {"ledgerdesk", "eventsourcing", "psycopg", "psycopg_pool", "pydantic", "json"}
INCLUSIVE_FASTAPI = ("_run_sync_endpoint", "solve_dependencies", "serialize_response", "request_body_to_args")
INCLUSIVE_SKIP = ("interfaces/cli.py", "ApiKeyAuth.__call__", "<module>")


def counts_inclusive(frame: str) -> bool:
    if any(skip in frame for skip in INCLUSIVE_SKIP):
        return False
    package = package_of(frame)
    return package in INCLUSIVE_PACKAGES or (package == "fastapi" and frame.startswith(INCLUSIVE_FASTAPI))


# Layers of a request, to say where its time goes: a sample belongs to the first layer that a frame
# matches, walking from the innermost frame outwards (so json.loads under the event mapper is "events").
LAYERS = [
    ("aggregate cache copy (deepcopy)", ("copy.py",)),
    ("database: recorder + driver", ("eventsourcing/sqlite.py", "eventsourcing/postgres.py", "psycopg", "sqlite3",
                                     "sqlite_inserter", "postgres_inserter")),  # the last two: reference A's
    ("events: mapper, transcoder", ("eventsourcing/persistence.py",)),
    ("application code (ledgerdesk, eventsourcing)", ("application/", "domain/", "eventsourcing/", "interfaces/http/routes",
                                             "interfaces/http/views", "reference_app.py")),
    ("FastAPI/pydantic: deps, validation, JSON", ("fastapi/", "pydantic", "starlette/", "interfaces/http/")),
    ("thread-pool hand-offs", ("anyio/", "threading.py", "queue.py", "concurrent/")),
    ("uvicorn, asyncio: HTTP I/O, event loop", ("uvicorn/", "asyncio/", "h11", "httptools")),
]  # fmt: skip


def layer_of(frames: list[str]) -> str:
    for frame in reversed(frames):
        for layer, markers in LAYERS:
            if any(m in frame for m in markers):
                return layer
    return "other"


def summarise_profile(path: Path, seconds: float, requests: int = 0, top: int = 15) -> list[str]:
    """Time by layer, own time by package, top functions by own time, and ledgerdesk's and its libraries'
    functions by inclusive time, from py-spy's raw (collapsed stacks) output."""
    own: collections.Counter = collections.Counter()
    inclusive: collections.Counter = collections.Counter()
    packages: collections.Counter = collections.Counter()
    layers: collections.Counter = collections.Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [without_line_number(f) for f in stack.split(";")]
        own[frames[-1]] += n
        packages[package_of(frames[-1])] += n
        layers[layer_of(frames)] += n
        for f in set(frames):
            if counts_inclusive(f):
                inclusive[f] += n
    if not total:
        return ["  (empty profile)"]
    busy = total / (seconds * PY_SPY_RATE)
    per_request = 1000 / PY_SPY_RATE / requests if requests else 0.0  # GIL-held ms per request per sample
    lines = [f"  {total} samples: a thread held the GIL ~{100 * busy:.0f}% of the time"
             + (f", {total * per_request:.2f} ms per request." if requests else ".") + " By layer:"]  # fmt: skip
    for name, n in layers.most_common():
        lines.append(f"    {100 * n / total:5.1f}%  {name}" + (f"  ({n * per_request:.2f} ms/request)" if requests else ""))
    lines.append("  Own time by package:")
    lines += [f"    {100 * n / total:5.1f}%  {name}" for name, n in packages.most_common(top)]
    lines.append("  Top functions by own time:")
    lines += [f"    {100 * n / total:5.1f}%  {name}" for name, n in own.most_common(top)]
    lines.append("  ledgerdesk and library functions by inclusive time:")
    lines += [f"    {100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(top + 10)]
    return lines


def without_line_number(frame: str) -> str:
    """'func (pkg/module.py:123)' -> 'func (pkg/module.py)'."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rstrip(')').rsplit(':', 1)[0]})"


def package_of(frame: str) -> str:
    """The top-level package of a frame's file as py-spy shortens it: 'fastapi', 'json', 'threading'..."""
    where = frame.partition(" (")[2].rstrip(")")
    head = where.split("/")[0] if "/" in where else where.removesuffix(".py")
    return "ledgerdesk" if head in LEDGERDESK_FOLDERS else (head or "?")


# -- One backend -----------------------------------------------------------------------------


@dataclass
class Row:
    backend: str
    figure: str
    value: str
    target: str
    ok: bool | None


# Where `serve`'s read models are projected (LEDGERDESK_PROJECTIONS): as shipped first.
MODE_LABELS = {
    "process": "read side as shipped (child projector)",
    "inline": "read side in the API process (a thread)",
    "external": "no read side (LEDGERDESK_PROJECTIONS=external)",
    # The policies' cost on the command path: `process` runs the default policies (routing,
    # escalation) in its child; these run the same read side without them, or with them on RabbitMQ.
    "nopolicies": "read side as shipped, no policies (LEDGERDESK_POLICIES=)",
    "broker": "read side as shipped, policies on RabbitMQ (child relays; --broker-workers workers)",
}
PROJECTIONS_OF_MODE = {"nopolicies": "process", "broker": "process"}


def bench_backend(backend: str, args: argparse.Namespace, workdir: Path, rows: list[Row]) -> None:
    log(f"\n=== {backend} ===")
    databases = Databases(backend, workdir, args.postgres_url)
    servers: list[Server] = []
    try:
        ref_b = reference_b(databases, args.reference_b_n)
        log(f"  {ref_b.line('tx')}")

        python = sys.executable
        ref = Server("reference A", [python, str(BENCH_DIR / "reference_app.py"), "{port}", databases.reference_a],
                     dict(os.environ), workdir / f"reference_a-{backend}.log")  # fmt: skip
        servers.append(ref.start())
        log(f"  reference A pid {ref.pid} on :{ref.port}")

        # What the load generator can push at all, against a trivial endpoint.
        ceiling = {}
        for n in args.clients:
            ping = run_phase("client ceiling: GET /ping", ref.url, [PingMix() for _ in range(n)], n, args.client,
                             duration=args.ping_duration, server=ref)  # fmt: skip
            ceiling[n] = ping.rate
            log(f"  {ping.line('req')}")
        most = max(args.clients)
        run_phase("warm-up: reference A", ref.url, [InsertMix(i) for i in range(most)], most, args.client,
                  duration=args.warmup / 2)  # fmt: skip

        rates: dict[tuple[str, int], float] = {}
        of_ref: dict[tuple[str, int], float] = {}  # cmd/s ÷ reference A's req/s in the same slices
        for index, mode in enumerate(args.modes):
            shipped = index == 0
            ours = start_ledgerdesk(backend, mode, databases.ledgerdesk_for(mode), workdir, args, servers)
            servers.append(ours)
            log(f"  ledgerdesk ({MODE_LABELS[mode]}) pid {ours.pid} on :{ours.port}")
            register_agents(ours, args.agents)
            # Warm it up (imports, caches, pools) and give every client some tickets.
            mixes = [TicketMix(worker=i, run_tag=uuid.uuid4().hex[:6]) for i in range(most)]
            run_phase("warm-up: ledgerdesk mix", ours.url, mixes, most, args.client, duration=args.warmup)
            for n in args.clients:
                rates[mode, n], of_ref[mode, n] = load_point(backend, mode, n, ref, ours, mixes, ceiling[n], ref_b, args, rows)
            if shipped:
                history, items, ticket_id = history_phase(ours, args.client)
                log(f"  {history.line('read')}  [{items} events per page]")
                for line in history.error_report():
                    log(line)
                rows.append(Row(backend, "history p99, 500 events", f"{history.p99_ms:.1f} ms (p50 {history.p50_ms:.1f})",
                                f"< {TARGET_HISTORY_P99_MS:.0f} ms", history.p99_ms < TARGET_HISTORY_P99_MS and not history.errors))  # fmt: skip
                if args.profile:
                    profile_phases(backend, ours, ref, mixes, most, ticket_id, args)
                if backend in args.soak_backends and args.soak > 0:
                    soak(ours, mixes, backend, args, rows)
            ours.stop()
        if "external" in args.modes:
            for mode in args.modes:
                if mode == "external":
                    continue
                for n in args.clients:
                    share = rates[mode, n] / rates["external", n] if rates["external", n] else float("nan")
                    rows.append(Row(backend, f"cmd/s {mode} ÷ external @{n}", f"{share:.2f}", f">= {TARGET_READ_SIDE_SHARE}",
                                    share >= TARGET_READ_SIDE_SHARE))  # fmt: skip
        if "nopolicies" in args.modes:  # what the policies (or their relay and workers) cost the command path
            for mode in args.modes:
                if mode in ("nopolicies", "external"):
                    continue
                for n in args.clients:
                    share = rates[mode, n] / rates["nopolicies", n] if rates["nopolicies", n] else float("nan")
                    rows.append(Row(backend, f"cmd/s {mode} ÷ nopolicies @{n}",
                                    f"{share:.2f} ({rates[mode, n]:.0f}/{rates['nopolicies', n]:.0f})", "-", None))
                    # The modes run one after another: each against Reference A of its own slices
                    # is steadier when the machine's load changes in between.
                    rows.append(Row(backend, f"(cmd/s ÷ ref A) {mode} ÷ nopolicies @{n}",
                                    f"{of_ref[mode, n] / of_ref['nopolicies', n]:.2f}", "-", None))
    finally:
        for server in servers:
            server.stop()
        databases.drop()


class BrokerWorkers:
    """`ledgerdesk worker` processes of the broker mode, stopped with the servers; their queues deleted."""

    def __init__(self, ledgerdesk_bin: str, env: dict[str, str], count: int, workdir: Path, threads: int = 2,
                 label: str = "worker") -> None:
        self.env = {**env, "LEDGERDESK_POSTGRES_POOL_SIZE": "2"}  # the PostgreSQL server is shared
        self.procs = [subprocess.Popen([ledgerdesk_bin, "worker", "--processes", "1", "--threads", str(threads)], env=self.env,
                                       stdout=(workdir / f"{label}-{i}.log").open("wb"), stderr=subprocess.STDOUT,
                                       start_new_session=True) for i in range(count)]  # fmt: skip

    def stop(self) -> None:
        if not self.procs:
            return
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs = []
        import pika

        conn = pika.BlockingConnection(pika.URLParameters(self.env["LEDGERDESK_BROKER_URL"]))
        channel = conn.channel()
        for policy in ("routing", "escalation", "triage"):
            for suffix in ("", ".DQ", ".XQ"):
                channel.queue_delete(f"{self.env['LEDGERDESK_BROKER_NAMESPACE']}.policy.{policy}{suffix}")
        conn.close()


def register_agents(ours: Server, count: int) -> None:
    """Online agents in the bench's tenant, so that routing has work (a tenant without agents is not routed)."""
    client = RawClient(ours.url)
    for i in range(count):
        profile = {"name": f"agent {i}", "teams": [], "capacity": 10,
                   "skills": {"languages": [("zh", "en")[i % 2]], "categories": [], "channels": []}}
        for method, path, body in (("PUT", f"/v1/agents/agent-{i:02d}", profile),
                                   ("POST", f"/v1/agents/agent-{i:02d}/presence", {"status": "online"})):
            sample, answer = timed(client, "agent", method, path, body)
            if answer is None:
                raise RuntimeError(f"registering agent-{i:02d}: {sample.status} {sample.detail[:200]}")
    client.close()


def start_ledgerdesk(backend: str, mode: str, database_url: str, workdir: Path, args: argparse.Namespace,
                     servers: list[Any]) -> Server:  # fmt: skip
    python = sys.executable
    ledgerdesk_bin = shutil.which("ledgerdesk") or str(Path(python).with_name("ledgerdesk"))
    env = {**os.environ, "LEDGERDESK_API_KEYS": API_KEYS_ENV, "LEDGERDESK_DATABASE_URL": database_url,
           "LEDGERDESK_PROJECTIONS": PROJECTIONS_OF_MODE.get(mode, mode)}  # fmt: skip
    if mode == "nopolicies":
        env["LEDGERDESK_POLICIES"] = ""
    if mode == "broker":
        env.update({"LEDGERDESK_BROKER_URL": args.broker_url, "LEDGERDESK_BROKER_NAMESPACE": f"ldbench_{uuid.uuid4().hex[:8]}"})
        servers.append(BrokerWorkers(ledgerdesk_bin, env, args.broker_workers, workdir))
    ours = Server(f"ledgerdesk ({mode})", [ledgerdesk_bin, "serve", "--host", HOST, "--port", "{port}"],
                  env, workdir / f"ledgerdesk-{backend}-{mode}.log")  # fmt: skip
    return ours.start()


def load_point(backend: str, mode: str, n: int, ref: Server, ours: Server, mixes: list[TicketMix], ceiling: float,
               ref_b: PhaseResult, args: argparse.Namespace, rows: list[Row]) -> tuple[float, float]:  # fmt: skip
    """Slices of Reference A and ledgerdesk alternate, so both see the same background noise."""
    ref_parts, our_parts = [], []
    for _ in range(args.rounds):
        ref_parts.append(run_phase("reference A: INSERT over HTTP", ref.url, [InsertMix(i) for i in range(n)], n,
                                   args.client, duration=args.duration / args.rounds, server=ref))  # fmt: skip
        our_parts.append(run_phase(f"ledgerdesk ({mode}): command mix", ours.url, mixes, n, args.client,
                                   duration=args.duration / args.rounds, server=ours))  # fmt: skip
    ref_a, mix = PhaseResult.merge(ref_parts), PhaseResult.merge(our_parts)
    log(f"  {ref_a.line('req')}")
    for line in ref_a.error_report():
        log(line)
    log(f"  [{mode}] {mix.line('cmd')}")
    log(mix.by_kind())
    for line in mix.error_report():
        log(line)
    label = f"{mode} " if mode != args.modes[0] else ""
    ratio = mix.rate / ref_a.rate if ref_a.rate else float("nan")
    headroom = ceiling / mix.rate if mix.rate else float("nan")
    rows.append(Row(backend, f"{label}cmd/s ÷ ref A req/s @{n} ({MODE_LABELS[mode]})", f"{ratio:.2f} ({mix.rate:.0f}/{ref_a.rate:.0f})",
                    f">= {TARGET_RATIO}" if mode != "external" else "-", ratio >= TARGET_RATIO if mode != "external" else None))  # fmt: skip
    rows.append(Row(backend, f"{label}p99/p50 @{n}", f"{mix.tail:.1f} ({mix.p99_ms:.1f}/{mix.p50_ms:.1f} ms)",
                    f"<= {TARGET_TAIL:.0f}", mix.tail <= TARGET_TAIL))  # fmt: skip
    rows.append(Row(backend, f"{label}non-2xx answers @{n}", str(len(mix.errors)), "0", not mix.errors))
    rows.append(Row(backend, f"{label}client headroom @{n} (ping ÷ cmd/s)", f"{headroom:.1f}",
                    f">= {TARGET_CLIENT_HEADROOM:.0f}", headroom >= TARGET_CLIENT_HEADROOM))  # fmt: skip
    rows.append(Row(backend, f"{label}server CPU/req: ours ÷ ref A @{n}",
                    f"{mix.server_cpu_ms / ref_a.server_cpu_ms:.1f} ({mix.server_cpu_ms:.2f}/{ref_a.server_cpu_ms:.2f} ms)",
                    "-", None))  # fmt: skip
    if not label:
        rows.append(Row(backend, f"ref A p99/p50 @{n}", f"{ref_a.tail:.1f}", "-", None))
        rows.append(Row(backend, f"ref A ÷ ref B (HTTP cost) @{n}", f"{ref_a.rate / ref_b.rate:.2f}", "-", None))
    return mix.rate, ratio


def profile_phases(
    backend: str, ours: Server, ref: Server, mixes: list[TicketMix], clients: int, ticket_id: str, args: argparse.Namespace
) -> None:
    """Extra phases, not counted in the figures: py-spy on ledgerdesk under the mix and under history reads,
    and on Reference A under its INSERTs for comparison."""
    seconds = max(10.0, args.duration)
    phases = [
        ("mix", "ledgerdesk, command mix", ours, mixes, clients),
        ("reference-a", "reference A, INSERT over HTTP", ref, [InsertMix(i) for i in range(clients)], clients),
        ("history", "ledgerdesk, 500-event history reads", ours, [HistoryMix(ticket_id)], 1),
    ]
    for slug, what, server, phase_mixes, n in phases:
        out = Path(args.profile) / f"py-spy-{backend}-{slug}-{n}clients.txt"
        profiler = start_py_spy(server.pid, seconds, out)
        if profiler is None:
            return
        result = run_phase(f"profile: {what}", server.url, phase_mixes, n, args.client, duration=seconds, server=server)
        profiler.wait()
        log(f"  py-spy --gil of {what} @{n} clients, {seconds:.0f} s, {result.rate:.0f} req/s "
            f"(raw stacks: {out}):")  # fmt: skip
        log("\n".join(summarise_profile(out, seconds, len(result.samples))))


def soak(ours: Server, mixes: list[TicketMix], backend: str, args: argparse.Namespace, rows: list[Row]) -> None:
    """N requests of the mix at the most clients; the server's RSS at 10%, 50% and 100% of them."""
    n, clients = args.soak, max(args.clients)
    marks = {max(1, n // 10): "10%", max(1, n // 2): "50%", n: "100%"}
    rss: dict[str, int] = {"start": ours.rss_kib()}

    def on_done(done: int) -> None:
        if done in marks:
            rss[marks[done]] = ours.rss_kib()

    result = run_phase(f"soak: {n} requests of the mix", ours.url, mixes, clients, args.client, total=n, on_done=on_done)
    log(f"  {result.line('cmd')}")
    for line in result.error_report():
        log(line)
    log("  ledgerdesk RSS: " + ", ".join(f"{k} {v / 1024:.1f} MiB" for k, v in rss.items()))
    if "10%" in rss and "100%" in rss:
        growth = rss["100%"] / rss["10%"] - 1
        rows.append(Row(backend, f"soak RSS growth 10%->100% (N={n})",
                        f"{100 * growth:+.1f}% ({rss['10%'] / 1024:.0f}->{rss['100%'] / 1024:.0f} MiB)",
                        f"<= {100 * TARGET_RSS_GROWTH:.0f}%", growth <= TARGET_RSS_GROWTH))  # fmt: skip
    rows.append(Row(backend, "soak non-2xx answers", str(len(result.errors)), "0", not result.errors))


def print_table(rows: list[Row]) -> None:
    log("\n=== summary (ledgerdesk vs references measured in this run) ===")
    widths = [max(len(x) for x in col) for col in zip(*[(r.backend, r.figure, r.value, r.target) for r in rows])]
    header = ("backend", "figure", "value", "target")
    widths = [max(w, len(h)) for w, h in zip(widths, header)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths) + "  {}"
    log(fmt.format(*header, "result"))
    for r in rows:
        verdict = "PASS" if r.ok else ("MISS" if r.ok is not None else "info")
        log(fmt.format(r.backend, r.figure, r.value, r.target, verdict))
    misses = sum(1 for r in rows if r.ok is False)
    log(f"{misses} target(s) missed." if misses else "All targets met.")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backends", default="sqlite,postgres", help="comma-separated: sqlite, postgres (default both)")
    p.add_argument("--quick", action="store_true", help="short phases: the whole run in ~3 minutes")
    p.add_argument("--duration", type=float, help="seconds per load point (default 30; 10 with --quick)")
    p.add_argument("--rounds", type=int, help="alternating Reference A / ledgerdesk slices per load point (default 3; 2 with --quick)")
    p.add_argument("--warmup", type=float, help="seconds of warm-up (default 5; 3 with --quick)")
    p.add_argument("--clients", default="1,16", help="concurrencies of the load points (default 1,16)")
    p.add_argument("--soak", type=int, help="requests in the soak (default 100000; 5000 with --quick; 0 skips it)")
    p.add_argument("--soak-postgres", action="store_true", help="soak on PostgreSQL too (default SQLite only)")
    p.add_argument("--modes", default="process,external",
                   help="LEDGERDESK_PROJECTIONS values to run `serve` with, the shipped one first (process, inline, external); "
                        "nopolicies: process with LEDGERDESK_POLICIES=; broker: process with the policies on RabbitMQ")  # fmt: skip
    p.add_argument("--agents", type=int, default=0, help="online agents registered in the bench's tenant, so routing works (default 0)")
    p.add_argument("--broker-url", default="amqp://guest:guest@127.0.0.1:5672/", help="RabbitMQ of the broker mode")
    p.add_argument("--broker-workers", type=int, default=2, help="ledgerdesk worker processes of the broker mode")
    p.add_argument("--client", choices=sorted(CLIENTS), default="raw", help="load-generator HTTP client (default raw)")
    p.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test",
                   help="an existing database to connect to for CREATE/DROP DATABASE of the scratch databases")  # fmt: skip
    p.add_argument("--profile", metavar="DIR",
                   help="after the figures, py-spy the ledgerdesk server under the mix and under history reads; raw stacks kept in DIR")  # fmt: skip
    args = p.parse_args(argv)
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(args.backends) - {"sqlite", "postgres"}
    if unknown:
        p.error(f"unknown backend(s): {', '.join(sorted(unknown))}")
    args.clients = sorted({int(c) for c in args.clients.split(",")})
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not args.modes or set(args.modes) - set(MODE_LABELS):
        p.error(f"--modes: each of {', '.join(MODE_LABELS)}")
    args.duration = args.duration or (10.0 if args.quick else 30.0)
    args.warmup = args.warmup or (3.0 if args.quick else 5.0)
    args.ping_duration = 3.0 if args.quick else 5.0
    args.reference_b_n = 2000
    args.rounds = max(1, args.rounds or (2 if args.quick else 3))
    args.soak = args.soak if args.soak is not None else (5000 if args.quick else 100_000)
    args.soak_backends = {"sqlite", "postgres"} if args.soak_postgres else {"sqlite"}
    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    log(f"ledgerdesk HTTP bench: backends {', '.join(args.backends)}; clients {args.clients}; {args.duration:.0f} s per load point;"
        f" soak {args.soak} on {', '.join(sorted(args.soak_backends & set(args.backends))) or 'none'}; client {args.client};"
        f" {os.cpu_count()} CPUs")  # fmt: skip
    rows: list[Row] = []
    workdir = Path(tempfile.mkdtemp(prefix="ledgerdesk-bench-"))
    started = time.monotonic()
    try:
        for backend in args.backends:
            try:
                bench_backend(backend, args, workdir, rows)
            except (RuntimeError, OSError, psycopg.Error) as e:
                log(f"  {backend}: bench failed: {e}")
                rows.append(Row(backend, "bench ran", "failed", "ran", False))
    except KeyboardInterrupt:
        log("\ninterrupted")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if rows:
        print_table(rows)
    log(f"(took {time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
