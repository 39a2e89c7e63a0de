"""Shared fixtures: a Ledger on each real backend, an HTTP client, and small helpers.

PostgreSQL tests get one fresh database per session; each test works in its own tenant,
so tests never see each other's data. Under CI=true an unreachable PostgreSQL fails the
run instead of skipping it.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
from fastapi.testclient import TestClient

from ledgerdesk.application.ledger import Ledger
from ledgerdesk.interfaces.bootstrap import Runtime, build_ledger, build_projector, build_read_store
from ledgerdesk.projections.follower import Follower
from ledgerdesk.projections.projector import Projector
from ledgerdesk.projections.store import ReadStore
from ledgerdesk.interfaces.http.app import create_app
from ledgerdesk.interfaces.settings import ApiKey, Role, Settings

POSTGRES_URL = os.environ.get("LEDGERDESK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"


def random_ref(prefix: str = "") -> str:
    return prefix + uuid.uuid4().hex[:10]


class SteppingClock:
    """A clock that moves a second forward at every reading, so event times are distinct and known."""

    def __init__(self, start: datetime = datetime(2026, 11, 11, 0, 0, tzinfo=timezone.utc)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def postgres_available() -> bool:
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@contextmanager
def fresh_postgres_database(prefix: str = "ledgerdesk_test_") -> Iterator[str]:
    """A new empty database on the test server, dropped afterwards; yields its URL."""
    name = prefix + uuid.uuid4().hex[:10]
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def postgres_database_url() -> Iterator[str]:
    if not postgres_available():
        message = f"PostgreSQL is not reachable at {POSTGRES_URL}"
        if IN_CI:
            pytest.fail(message + " (CI=true: PostgreSQL tests must run)")
        pytest.skip(message)
    with fresh_postgres_database() as url:
        yield url


RABBITMQ_URL = os.environ.get("LEDGERDESK_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
REDIS_URL = os.environ.get("LEDGERDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _rabbitmq_available() -> bool:
    import pika

    parameters = pika.URLParameters(RABBITMQ_URL)
    parameters.socket_timeout, parameters.connection_attempts = 3, 1
    try:
        pika.BlockingConnection(parameters).close()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not reachable"
        return False


def _redis_available() -> bool:
    import redis

    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
        client.ping()
        client.close()
        return True
    except redis.RedisError:
        return False


def _service_or_skip(name: str, url: str, available: bool) -> str:
    if not available:
        message = f"{name} is not reachable at {url}"
        if IN_CI:
            pytest.fail(message + f" (CI=true: {name} tests must run)")
        pytest.skip(message)
    return url


@pytest.fixture(scope="session")
def rabbitmq_url() -> str:
    return _service_or_skip("RabbitMQ", RABBITMQ_URL, _rabbitmq_available())


@pytest.fixture(scope="session")
def redis_url() -> str:
    return _service_or_skip("Redis", REDIS_URL, _redis_available())


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/ledgerdesk.db"
    return request.getfixturevalue("postgres_database_url")


@pytest.fixture(params=["sqlite", "postgres"])
def own_database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """A database of the test's own, for tests that read the whole log or use the seeder's fixed tenants."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/ledgerdesk.db"
        return
    request.getfixturevalue("postgres_database_url")  # skips, or fails in CI, when PostgreSQL is away
    with fresh_postgres_database("ledgerdesk_own_") as url:
        yield url


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, api_keys={}, default_phone_region="CN")


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock()


@pytest.fixture
def ledger(settings: Settings, clock: SteppingClock) -> Iterator[Ledger]:
    app = build_ledger(settings, clock)
    yield app
    app.close()


@pytest.fixture
def read_store(settings: Settings) -> Iterator[ReadStore]:
    store = build_read_store(settings)
    yield store
    store.close()


@pytest.fixture
def projector(ledger: Ledger, read_store: ReadStore) -> Projector:
    """Every read model, fed from `ledger`'s log; call `projector.catch_up()` to bring them up to date."""
    return build_projector(ledger, read_store)


class Keys:
    """API keys of one test: a fresh tenant with each role, and a second tenant."""

    def __init__(self) -> None:
        self.tenant = random_ref("tenant-")
        self.other_tenant = random_ref("tenant-")
        self.integrator = random_ref("key-")
        self.agent = random_ref("key-")
        self.auditor = random_ref("key-")
        self.admin = random_ref("key-")
        self.other = random_ref("key-")

    def config(self) -> dict[str, ApiKey]:
        return {
            self.integrator: ApiKey(tenant=self.tenant, actor="shop-connector", role=Role.INTEGRATOR),
            self.agent: ApiKey(tenant=self.tenant, actor="agent-ada", role=Role.AGENT),
            self.auditor: ApiKey(tenant=self.tenant, actor="auditor-ann", role=Role.AUDITOR),
            self.admin: ApiKey(tenant=self.tenant, actor="admin-abe", role=Role.ADMIN),
            self.other: ApiKey(tenant=self.other_tenant, actor="other-shop", role=Role.INTEGRATOR),
        }


@pytest.fixture
def keys() -> Keys:
    return Keys()


def runtime_of(settings: Settings, ledger: Ledger, keys: Keys, read_store: ReadStore | None = None,
               follower: Follower | None = None, clock=None) -> Runtime:  # type: ignore[no-untyped-def]
    """The runtime `serve` builds, from the test's own parts (its stepping clock, its keys)."""
    return Runtime(
        settings.model_copy(update={"api_keys": keys.config()}), ledger, clock or ledger.clock, read_store,
        build_projector(ledger, read_store) if read_store is not None else None, follower,
    )


@pytest.fixture
def client(settings: Settings, ledger: Ledger, keys: Keys, read_store: ReadStore) -> Iterator[TestClient]:
    """The API as `serve` runs it: read models followed in-process (tests may also `projector.catch_up()`)."""
    follower = Follower(build_projector(ledger, read_store))
    app = create_app(runtime_of(settings, ledger, keys, read_store, follower))
    with TestClient(app, raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {keys.integrator}"
        yield c
