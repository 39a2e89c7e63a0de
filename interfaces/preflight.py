"""Before a process starts for real: is the configuration sound and the database there?

Each problem is one line that says what is wrong and how to mend it, within a few seconds,
instead of a hang and a traceback that never names the cause.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
from pydantic import ValidationError

from .settings import Settings

CONNECT_TIMEOUT_SECONDS = 3


class StartupError(Exception):
    """The process cannot start; the message says why in one line."""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        first = error.errors()[0]
        loc = [str(part) for part in first["loc"]]
        if loc[0] == "api_keys" and len(loc) > 1:
            loc[1] = f"{loc[1][:4]}…"  # a key is a secret: its first characters are enough to find it
        place = ".".join(part for part in loc if part != "[key]")
        variable = "LEDGERDESK_" + str(first["loc"][0]).upper()
        message = str(first["msg"]).removeprefix("Value error, ")
        raise StartupError(f"{variable} ({place}): {message}") from None


def check_database(settings: Settings) -> None:
    """Reachable, and there: raises StartupError naming the database and the mend."""
    try:
        env = settings.eventsourcing_env()
    except ValueError as error:
        raise StartupError(str(error)) from None
    if env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite":
        path = Path(env["SQLITE_DBNAME"])
        if not path.parent.is_dir():
            raise StartupError(f"the folder {path.parent} of the SQLite database {path} does not exist: create it, "
                               "or point LEDGERDESK_DATABASE_URL elsewhere")
        files = [("SQLite database", path)]
        if settings.read_model_url().startswith("sqlite:///"):  # else LEDGERDESK_READ_MODEL_URL names another server
            files.append(("read models' SQLite database", Path(settings.read_model_url().removeprefix("sqlite:///"))))
        for what, file in files:
            try:
                with sqlite3.connect(file, timeout=CONNECT_TIMEOUT_SECONDS) as conn:
                    conn.execute("SELECT 1")
            except sqlite3.Error as error:
                raise StartupError(f"cannot open the {what} {file}: {error}") from None
        return
    host, port, user, name = env["POSTGRES_HOST"], env["POSTGRES_PORT"], env["POSTGRES_USER"], env["POSTGRES_DBNAME"]
    try:
        psycopg.connect(dbname=name, host=host, port=port, user=user, password=env["POSTGRES_PASSWORD"],
                        connect_timeout=CONNECT_TIMEOUT_SECONDS).close()
    except psycopg.OperationalError as error:
        text = " ".join(str(error).split())
        if f'database "{name}" does not exist' in text:
            raise StartupError(f'PostgreSQL at {host}:{port} has no database "{name}": create it with '
                               f"`createdb -h {host} -p {port} -U {user} {name}`") from None
        raise StartupError(f"cannot reach PostgreSQL at {host}:{port} as {user}: {text[:300]}") from None


def check_broker(settings: Settings) -> None:
    """The broker LEDGERDESK_BROKER_URL names, reachable: raises StartupError naming it."""
    from .broker import shown_url

    url = settings.broker_url
    if url is None:
        raise StartupError("LEDGERDESK_BROKER_URL is not set: the policies run in-process, in `serve` or "
                           "`ledgerdesk project`; set it (amqp://… or redis://…) to run them on a broker")
    try:
        if settings.broker_kind() == "rabbitmq":
            import pika

            parameters = pika.URLParameters(url)
            parameters.socket_timeout = parameters.blocked_connection_timeout = CONNECT_TIMEOUT_SECONDS
            parameters.connection_attempts = 1
            pika.BlockingConnection(parameters).close()
        else:
            import redis

            client = redis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
                                          socket_timeout=CONNECT_TIMEOUT_SECONDS)
            client.ping()
            client.close()
    except Exception as error:  # noqa: BLE001 - any failure to connect is this one line
        text = " ".join((str(error) or type(error).__name__).split())
        raise StartupError(f"cannot reach the broker at {shown_url(url)} (LEDGERDESK_BROKER_URL): {text[:300]}") from None
