"""The policies' dead letters: messages that kept failing (or could not run at all), as the broker keeps them.

Listed and replayed with the brokers' own structures, as dramatiq lays them out:
- RabbitMQ: the queue `<queue>.XQ`, which the live queue dead-letters into; read with basic_get
  and left there (rejected back) unless replayed; `x-death` says when;
- Redis: the sorted set `<namespace>:<queue>.XQ` (message id by time of death) and the hash
  `<namespace>:<queue>.XQ.msgs` (id to message), as its dispatch.lua writes them.

A replay puts the message back on the live queue with its retries reset, then removes it from the
dead letters (Redis: takes it out first, so that two operators cannot both replay it; puts it back
if the send fails). A replay that ran twice is harmless: the policy's commands replay.
"""
from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from dramatiq import Message
from dramatiq.common import q_name

from .broker import build_broker, policy_queue
from .settings import Settings

# Options a failed run left on the message; a replay starts afresh without them.
RUN_OPTIONS = ("retries", "traceback", "requeue_timestamp", "eta", "redis_message_id")


@dataclass
class DeadLetter:
    message_id: str
    queue: str
    policy: str | None
    event_id: str | None
    event_type: str | None
    tenant: str | None
    error: str | None
    retries: int
    dead_at: datetime | None
    message: Message | None = field(repr=False)  # None: the body is no message dramatiq can decode
    handle: Any = field(default=None, repr=False)  # the broker's own reference to it

    def as_dict(self) -> dict[str, Any]:
        return {"message_id": self.message_id, "queue": self.queue, "policy": self.policy, "event_id": self.event_id,
                "event_type": self.event_type, "tenant": self.tenant, "error": self.error, "retries": self.retries,
                "dead_at": self.dead_at.isoformat() if self.dead_at else None}


def _dead_letter(queue: str, message: Message, dead_at: datetime | None, handle: Any) -> DeadLetter:
    kwargs = message.kwargs if isinstance(message.kwargs, dict) else {}
    trigger = kwargs.get("trigger") if isinstance(kwargs.get("trigger"), dict) else {}
    lines = [line for line in str(message.options.get("traceback") or "").splitlines() if line.strip()]
    return DeadLetter(
        message_id=message.message_id, queue=queue, policy=kwargs.get("policy") if isinstance(kwargs.get("policy"), str) else None,
        event_id=trigger.get("event_id"), event_type=trigger.get("type"), tenant=trigger.get("tenant"),
        error=lines[-1] if lines else None, retries=int(message.options.get("retries") or 0), dead_at=dead_at,
        message=message, handle=handle,
    )


UNREADABLE = "not a message the workers can read"


def _letter(queue: str, body: bytes, dead_at: datetime | None, handle: Any) -> DeadLetter:
    """The dead letter a body is; one that is no readable message (anything may be published to a
    queue, and a malformed one is dead-lettered at once) is listed too, never a traceback."""
    try:
        return _dead_letter(queue, Message.decode(body), dead_at, handle)
    except Exception as error:  # noqa: BLE001 - whatever the broker holds, the others are still listed
        return DeadLetter(
            message_id="unreadable-" + hashlib.sha256(body).hexdigest()[:16], queue=queue, policy=None, event_id=None,
            event_type=None, tenant=None, error=f"{UNREADABLE} ({type(error).__name__})", retries=0, dead_at=dead_at,
            message=None, handle=handle,
        )


def _afresh(message: Message) -> Message:
    options = {k: v for k, v in message.options.items() if k not in RUN_OPTIONS}
    return Message(queue_name=q_name(message.queue_name), actor_name=message.actor_name, args=message.args,
                   kwargs=message.kwargs, options=options, message_id=message.message_id)


class DeadLetters:
    """The dead letters of the configured policies' queues; use as a context manager."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.broker = build_broker(settings)
        self.queues = [policy_queue(settings, name) for name in settings.policies]
        self._held: list[DeadLetter] = []  # RabbitMQ: taken with basic_get, not yet acked or rejected

    def __enter__(self) -> DeadLetters:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.settings.broker_kind() == "rabbitmq":
            try:
                for letter in self._held:  # not replayed: back where they were
                    self.broker.channel.basic_nack(letter.handle, requeue=True)
            except Exception:  # noqa: BLE001 - the connection is gone: RabbitMQ put them back itself
                pass
        self._held = []
        self.broker.close()

    def list(self, limit: int = 1000) -> list[DeadLetter]:
        found: list[DeadLetter] = []
        for queue in self.queues:
            found.extend(self._rabbitmq(queue, limit) if self.settings.broker_kind() == "rabbitmq" else self._redis(queue, limit))
        return found

    def _rabbitmq(self, queue: str, limit: int) -> list[DeadLetter]:
        self.broker.declare_queue(queue, ensure=True)  # the queue, its delay queue and its dead letters
        channel = self.broker.channel
        found = []
        while len(found) < limit:
            method, properties, body = channel.basic_get(queue + ".XQ", auto_ack=False)
            if method is None:
                break
            deaths = (properties.headers or {}).get("x-death") or [{}]
            dead_at = deaths[0].get("time")
            if isinstance(dead_at, datetime) and dead_at.tzinfo is None:
                dead_at = dead_at.replace(tzinfo=timezone.utc)
            letter = _letter(queue, body, dead_at if isinstance(dead_at, datetime) else None, method.delivery_tag)
            self._held.append(letter)
            found.append(letter)
        return found

    def _redis(self, queue: str, limit: int) -> list[DeadLetter]:
        client, ns = self.broker.client, self.settings.broker_namespace
        ids = client.zrange(f"{ns}:{queue}.XQ", 0, limit - 1, withscores=True)
        if not ids:
            return []
        bodies = client.hmget(f"{ns}:{queue}.XQ.msgs", [redis_id for redis_id, _ in ids])
        return [
            _letter(queue, body, datetime.fromtimestamp(score / 1000, timezone.utc), redis_id)
            for (redis_id, score), body in zip(ids, bodies) if body is not None
        ]

    def replay(self, letters: Iterable[DeadLetter]) -> list[DeadLetter]:
        """Puts the letters (from `list`) back on their live queues; answers those replayed."""
        done = []
        for letter in letters:
            if letter.message is None:
                continue  # nothing a worker could run: left where it is
            if self.settings.broker_kind() == "rabbitmq":
                self.broker.enqueue(_afresh(letter.message))  # confirmed before the dead letter goes
                self.broker.channel.basic_ack(letter.handle)
                self._held.remove(letter)
            elif not self._replay_redis(letter):
                continue
            done.append(letter)
        return done

    def _replay_redis(self, letter: DeadLetter) -> bool:
        client, ns = self.broker.client, self.settings.broker_namespace
        dead, bodies = f"{ns}:{letter.queue}.XQ", f"{ns}:{letter.queue}.XQ.msgs"
        body = client.hget(bodies, letter.handle)
        if body is None or not client.zrem(dead, letter.handle):
            return False  # replayed meanwhile by someone else
        client.hdel(bodies, letter.handle)
        assert letter.message is not None
        try:
            self.broker.enqueue(_afresh(letter.message))
        except Exception:
            client.hset(bodies, letter.handle, body)
            client.zadd(dead, {letter.handle: letter.dead_at.timestamp() * 1000 if letter.dead_at else time.time() * 1000})
            raise
        return True
