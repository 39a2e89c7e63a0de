"""The message broker the policies run over, built from the settings: RabbitMQ or Redis.

Built explicitly, never from dramatiq's global broker or its `dramatiq_*` environment variables,
so that every process of a deployment declares the same queues with the same arguments and
retries the same way, whatever else is in its environment:

- RabbitMQ with publisher confirms (`confirm_delivery`, off by default in dramatiq): a send
  returns once RabbitMQ has the message, which is what lets the relay move its position on;
- Redis with this deployment's namespace as its key prefix, and a dead worker's taken messages
  handed back after `redis_dead_worker_seconds`;
- the middleware named one by one: retries with backoff, then the dead-letter queue.
"""
from __future__ import annotations

from urllib.parse import urlparse, urlunparse

from dramatiq import Broker
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AgeLimit, CurrentMessage, Retries, ShutdownNotifications, TimeLimit

from .settings import Settings

# How long RabbitMQ keeps a dead letter (the same in every process: a queue's arguments must match
# wherever it is declared; dramatiq would take it from `dramatiq_dead_message_ttl`).
DEAD_LETTER_TTL_MS = 7 * 24 * 3600 * 1000
# A policy message that runs longer than this is interrupted and retried.
POLICY_TIME_LIMIT_MS = 5 * 60 * 1000


class PolicyError(Exception):
    """A message the worker cannot run as it is (malformed, unknown policy): retrying will not mend it,
    so it goes straight to the dead-letter queue."""


class LedgerdeskRabbitmqBroker(RabbitmqBroker):
    def _declare_xq_queue(self, queue_name):  # type: ignore[no-untyped-def]
        return self.channel.queue_declare(
            queue=queue_name + ".XQ", durable=True, arguments={"x-message-ttl": DEAD_LETTER_TTL_MS}
        )


def _middleware(settings: Settings) -> list:
    min_backoff = max(1, int(settings.policy_min_backoff_seconds * 1000))
    return [
        AgeLimit(),
        TimeLimit(time_limit=POLICY_TIME_LIMIT_MS),
        ShutdownNotifications(),
        CurrentMessage(),
        Retries(
            max_retries=settings.policy_max_retries,
            min_backoff=min_backoff,
            max_backoff=max(min_backoff, int(settings.policy_max_backoff_seconds * 1000)),
        ),
    ]


def build_broker(settings: Settings) -> Broker:
    """The broker LEDGERDESK_BROKER_URL names (it must name one). Connects lazily, on first use."""
    kind = settings.broker_kind()
    if kind == "rabbitmq":
        return LedgerdeskRabbitmqBroker(url=settings.broker_url, confirm_delivery=True, middleware=_middleware(settings))
    if kind == "redis":
        return RedisBroker(
            url=settings.broker_url,
            namespace=settings.broker_namespace,
            middleware=_middleware(settings),
            heartbeat_timeout=int(settings.redis_dead_worker_seconds * 1000),
            maintenance_chance=settings.redis_maintenance_per_million,
            dead_message_ttl=DEAD_LETTER_TTL_MS,
        )
    raise ValueError("LEDGERDESK_BROKER_URL is not set: the policies run in-process")


def policy_queue(settings: Settings, policy: str) -> str:
    """The queue of one policy's messages (each its own: a slow policy never delays another)."""
    return f"{settings.broker_namespace}.policy.{policy}"


def shown_url(url: str) -> str:
    """The URL without its password, for logs and status lines."""
    parts = urlparse(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunparse(parts._replace(netloc=netloc))
