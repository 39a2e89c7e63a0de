"""Settings, read once from the environment (LEDGERDESK_*). Nothing else reads os.environ."""
from __future__ import annotations

import json
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote, unquote, urlparse

from pydantic import AfterValidator, AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ledgerdesk.domain.natural_keys import TENANT_NAME_RULE, is_tenant_name


class Role(StrEnum):
    INTEGRATOR = "integrator"
    AGENT = "agent"
    ADMIN = "admin"
    AUDITOR = "auditor"


def _tenant_name(name: str) -> str:
    if not is_tenant_name(name):
        raise ValueError(f"{TENANT_NAME_RULE}, not {name!r}")
    return name


class ApiKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant: Annotated[str, AfterValidator(_tenant_name)]
    actor: str = Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f]+$")
    role: Role = Role.INTEGRATOR


# A key travels as `Authorization: Bearer <key>`: a space or a character outside printable ASCII
# could never arrive intact, so such a key is refused when the keys are loaded, not silently unusable.
KEY_RULE = "a key is 8 to 256 printable ASCII characters without spaces"


def _key(key: str) -> str:
    if not (8 <= len(key) <= 256 and all("!" <= ch <= "~" for ch in key)):
        raise ValueError(f"{KEY_RULE}; the key starting {key[:4]!r} is not")
    return key


KeyText = Annotated[str, AfterValidator(_key)]


def _no_key_twice(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    for key in keys:
        if keys.count(key) > 1:
            raise ValueError(f"the key starting {key[:4]!r} is given twice")
    return dict(pairs)


BROKER_SCHEMES: dict[str, Literal["rabbitmq", "redis"]] = {
    "amqp": "rabbitmq", "amqps": "rabbitmq", "redis": "redis", "rediss": "redis"}


def sqlalchemy_url(url: str) -> str:
    """A database URL in SQLAlchemy's spelling: PostgreSQL through psycopg 3."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain):]
    return url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEDGERDESK_", extra="ignore")

    database_url: str = "sqlite:///./ledgerdesk.db"
    # NoDecode: the JSON is read here (_keys_from_json), so that a key given twice is refused, not
    # silently the last one (which could put a key on another tenant).
    api_keys: Annotated[dict[KeyText, ApiKey], NoDecode] = {}
    default_phone_region: str | None = None
    # LEDGERDESK_READ_MODEL_URL: read models somewhere else than beside the events (a database
    # `ledgerdesk replay` built as of a past moment, say); SQLAlchemy or libpq spelling.
    read_models_at: str | None = Field(default=None, validation_alias=AliasChoices("read_models_at", "LEDGERDESK_READ_MODEL_URL"))
    # LEDGERDESK_READ_ONLY: the API answers reads only (commands get a 405) and projects nothing,
    # whatever LEDGERDESK_PROJECTIONS says: for serving a replayed database as it stands.
    read_only: bool = False
    aggregate_cache_size: int = 20_000
    postgres_pool_size: int = 10
    # Where the read models are projected (they are always read by the API process):
    # "process" (the default): `serve` runs `ledgerdesk project` as a child process of its own,
    #   woken after each command, so projecting takes no time from the request threads' GIL;
    # "inline": a thread of the API process (one process only; the tests' choice);
    # "external": `ledgerdesk project` is run separately (production: beside stateless API processes).
    projections: Literal["process", "inline", "external"] = "process"
    # While commands keep coming, a projector takes a batch at most this often, so a batch's
    # fixed cost is shared by the commands of the interval; after a quiet spell it starts at once.
    projection_interval_seconds: float = Field(default=0.025, ge=0, le=10)
    # The policies that run beside the read models, comma-separated ("" for none).
    # Triage is opt-in for now: it changes a ticket a moment after intake answered, so a client
    # that reads the ticket's history or version right away would see it move under it.
    policies: Annotated[tuple[Literal["triage", "routing", "escalation"], ...], NoDecode] = ("routing", "escalation")
    # The timer sweep looks at the SLA clocks and the offline agents at least this often (and at
    # each warning, due time or end of a grace period it knows of): the safety net under every timer.
    timer_sweep_seconds: float = Field(default=30.0, gt=0, le=3600)
    # How long an agent may be offline before routing gives their unsolved tickets to others.
    offline_grace_seconds: int = Field(default=600, ge=0, le=7 * 24 * 3600)
    # How long a projector sleeps when nothing woke it: a backstop for writers it cannot hear
    # (another process on the same SQLite file); on PostgreSQL NOTIFY wakes it at once.
    # Bounded: an infinite or huge wait (inf, 1e300) overflows the threads' wait and kills every follower.
    projection_fallback_wake_seconds: float = Field(default=2.0, gt=0, le=3600)
    # Threads that run commands. Commands are mostly CPU-bound Python, but each also waits on the
    # database (a round trip per aggregate it loads, its turn at the log's write lock): the
    # commands waiting for the lock are stored as one group (group_commit.py), so more threads
    # than cores make larger groups. 16 beat 8 and 4 on a 2-core machine at 16 clients (bench/).
    worker_threads: int = Field(default_factory=lambda: max(16, 4 * (os.cpu_count() or 2)), ge=1, le=256)
    # Request bodies larger than these are refused (413) before they are read in full or parsed.
    max_json_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_email_body_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    # /readyz answers 503 while a read model lags the log by more than this many positions.
    ready_max_lag: int = Field(default=1000, ge=0)
    # Where policies run. Unset (the default): in-process, each following the log beside the read
    # models. amqp://… (RabbitMQ) or redis://…: `ledgerdesk project` relays their triggers to the
    # broker and `ledgerdesk worker` processes run them (interfaces/broker.py).
    broker_url: str | None = None
    # Prefix of every queue (RabbitMQ) or key (Redis) of this deployment, so that two share a broker.
    broker_namespace: str = Field(default="ledgerdesk", pattern=r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
    # A policy message that fails is tried again after a pause that doubles from the minimum up to
    # the maximum; after this many retries it is dead-lettered (`ledgerdesk policies dead-letters`).
    policy_max_retries: int = Field(default=5, ge=0, le=100)
    policy_min_backoff_seconds: float = Field(default=1.0, ge=0.001, le=3600)
    policy_max_backoff_seconds: float = Field(default=300.0, ge=0.001, le=86400)
    # Redis only: a worker not heard from for this long is dead, and the messages it had taken go
    # back to the queue. Checked on this many of a million broker commands (dramatiq's "maintenance").
    redis_dead_worker_seconds: float = Field(default=60.0, ge=1, le=86400)
    redis_maintenance_per_million: int = Field(default=10_000, ge=1, le=1_000_000)

    # The audit checkpointer (beside the read models) stores the log's running hash every this many
    # events, or after this many seconds when fewer came: an event is covered within about that.
    audit_checkpoint_events: int = Field(default=1000, ge=1, le=1_000_000)
    audit_checkpoint_seconds: float = Field(default=60.0, gt=0, le=86400)

    @model_validator(mode="after")
    def _backoff_in_order(self) -> Settings:
        if self.policy_min_backoff_seconds > self.policy_max_backoff_seconds:
            raise ValueError("LEDGERDESK_POLICY_MIN_BACKOFF_SECONDS is above LEDGERDESK_POLICY_MAX_BACKOFF_SECONDS")
        return self

    @field_validator("policies", mode="before")
    @classmethod
    def _policy_names(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(dict.fromkeys(name.strip() for name in value.split(",") if name.strip()))
        return value

    @field_validator("broker_url")
    @classmethod
    def _broker_scheme(cls, value: str | None) -> str | None:
        if not value:
            return None
        url = urlparse(value)
        if url.scheme not in BROKER_SCHEMES:
            raise ValueError(f"unsupported scheme {url.scheme!r}: amqp://… for RabbitMQ, redis://… for Redis, "
                             "or leave it unset to run the policies in-process")
        # Read the port now: urllib raises on one out of range only when asked, which was a
        # traceback from `worker`, `project` and serve's child projector (in a restart loop).
        try:
            url.port
        except ValueError as error:
            raise ValueError(str(error)) from None
        return value

    def broker_kind(self) -> Literal["rabbitmq", "redis"] | None:
        if self.broker_url is None:
            return None
        return BROKER_SCHEMES[urlparse(self.broker_url).scheme]

    @field_validator("api_keys", mode="before")
    @classmethod
    def _keys_from_json(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            found = json.loads(value, object_pairs_hook=_no_key_twice)
        except json.JSONDecodeError as error:
            raise ValueError(f"is not a JSON object of keys ({error})") from None
        if found == {}:
            raise ValueError("holds no key: leave it unset for a development key, or configure one")
        return found

    def eventsourcing_env(self) -> dict[str, str]:
        """Every setting of the eventsourcing library the Ledger runs on, for the configured database.

        Complete on purpose: the Ledger reads these and nothing else (not os.environ), so the
        library behaves the same in every environment. What the code relies on:
        - the aggregate cache fast-forwards from the store, blocking, and hands out copies:
          several processes may write, and a command mutates what it loaded;
        - no snapshots, compressor or cipher: histories and feeds read the stored JSON directly;
        - the library's own JSON transcoder and mapper, its recorders extended by ours (each event's
          hash stored beside it, application/event_hashes.py), with UUID aggregate ids.
        """
        common = {
            "AGGREGATE_CACHE_MAXSIZE": str(self.aggregate_cache_size),
            "AGGREGATE_CACHE_FASTFORWARD": "y",
            "AGGREGATE_CACHE_FASTFORWARD_SKIPPING": "n",
            "DEEPCOPY_FROM_AGGREGATE_CACHE": "y",
            "IS_SNAPSHOTTING_ENABLED": "n",
            "COMPRESSOR_TOPIC": "",
            "CIPHER_TOPIC": "",
            "CIPHER_KEY": "",
            "TRANSCODER_TOPIC": "",
            "MAPPER_TOPIC": "",
            "APPLICATION_RECORDER_TOPIC": "",
            "TRACKING_RECORDER_TOPIC": "",
            "PROCESS_RECORDER_TOPIC": "",
            "ORIGINATOR_ID_TYPE": "uuid",
            "SINGLE_ROW_TRACKING": "y",
            "CREATE_TABLE": "y",
        }
        url = urlparse(self.database_url)
        if url.scheme == "sqlite":
            path = self.database_url[len("sqlite:///") :]
            if not path or path == ":memory:" or path.startswith("file:"):
                # Other connections and processes open the log by its name: it must be a file.
                raise ValueError("LEDGERDESK_DATABASE_URL: give a file, e.g. sqlite:///./ledgerdesk.db")
            return {**common, "PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": path, "SQLITE_LOCK_TIMEOUT": "30",
                    # The library's recorder, storing each event's hash in the events' transaction.
                    "APPLICATION_RECORDER_TOPIC": "ledgerdesk.application.sqlite_recorder:LedgerSQLiteRecorder"}
        if url.scheme in ("postgresql", "postgres", "postgresql+psycopg"):
            return {
                **common,
                "PERSISTENCE_MODULE": "eventsourcing.postgres",
                "POSTGRES_DBNAME": url.path.lstrip("/") or "postgres",
                "POSTGRES_HOST": url.hostname or "127.0.0.1",
                "POSTGRES_PORT": str(url.port or 5432),
                "POSTGRES_USER": unquote(url.username or "postgres"),
                "POSTGRES_PASSWORD": unquote(url.password or ""),
                "POSTGRES_GET_PASSWORD_TOPIC": "",
                "POSTGRES_SCHEMA": "public",
                "POSTGRES_CONNECT_TIMEOUT": "30",
                "POSTGRES_POOL_SIZE": str(self.postgres_pool_size),
                "POSTGRES_MAX_OVERFLOW": str(self.postgres_pool_size),
                "POSTGRES_MAX_WAITING": "0",
                "POSTGRES_CONN_MAX_AGE": "3600",
                "POSTGRES_PRE_PING": "n",
                "POSTGRES_LOCK_TIMEOUT": "10",
                "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "5",
                "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
                # The library's recorder, storing each event's hash in the events' transaction, and
                # large appends kept out of psycopg's pipeline mode.
                "APPLICATION_RECORDER_TOPIC": "ledgerdesk.application.postgres_recorder:LedgerPostgresRecorder",
            }
        raise ValueError(f"LEDGERDESK_DATABASE_URL: unsupported scheme {url.scheme!r} (sqlite:/// or postgresql://)")

    def read_model_url(self) -> str:
        """Where the read models live, in SQLAlchemy's spelling.

        PostgreSQL: the events' database. SQLite: a file of their own beside the events' file
        (`ledgerdesk.db` -> `ledgerdesk.read.db`), since SQLite has one write lock per file: a
        projector writing there never makes a command wait, nor waits for one.
        """
        if self.read_models_at is not None:
            return sqlalchemy_url(self.read_models_at)
        env = self.eventsourcing_env()
        if env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite":
            events = Path(env["SQLITE_DBNAME"])
            return "sqlite:///" + str(events.with_name(f"{events.stem}.read{events.suffix}"))
        user = quote(env["POSTGRES_USER"], safe="")
        password = (":" + quote(env["POSTGRES_PASSWORD"], safe="")) if env["POSTGRES_PASSWORD"] else ""
        return f"postgresql+psycopg://{user}{password}@{env['POSTGRES_HOST']}:{env['POSTGRES_PORT']}/{env['POSTGRES_DBNAME']}"

    def dev_key_path(self) -> Path:
        """Where `serve` keeps the development key when no key is configured: beside the database."""
        if self.database_url.startswith("sqlite:///"):
            return Path(self.database_url[len("sqlite:///") :] + ".dev-key")
        return Path("ledgerdesk.dev-key")
