"""Policy triggers as dramatiq messages: one actor and one queue per policy, on a broker of ours.

A message carries the policy's name and the trigger's fields (JSON), nothing else: the worker
decides on the state of when it runs, and the command ids derive from (policy, trigger), so a
message delivered twice appends nothing the second time.

The actors are declared against the broker built from the settings (never dramatiq's global
one), by whoever needs them: the relay and other senders without a `run`, the workers with one.
"""
from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable
from typing import Any

import dramatiq
from dramatiq import Broker, Message
from dramatiq.middleware import CurrentMessage

from ledgerdesk.application.policy import Trigger

from .broker import PolicyError, policy_queue
from .settings import Settings

log = logging.getLogger("ledgerdesk.policies")

ACTOR_PREFIX = "policy:"
_FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "event_id": str, "type": str, "aggregate_id": str, "version": int, "tenant": str,
    "actor_kind": str, "actor_id": str, "data": dict,
}

Run = Callable[[str, Trigger], None]


def trigger_from_payload(policy: str, args: tuple, kwargs: dict[str, Any]) -> Trigger:
    """The trigger a message carries for `policy`; PolicyError when it carries anything else."""
    if args or set(kwargs) != {"policy", "trigger"}:
        raise PolicyError(f"a policy message has the keyword arguments policy and trigger only, not {sorted(kwargs)!r}"
                          + (f" and {len(args)} positional ones" if args else ""))
    if kwargs["policy"] != policy:
        raise PolicyError(f"a message for policy {kwargs['policy']!r} reached the queue of policy {policy!r}")
    fields = kwargs["trigger"]
    if isinstance(fields, dict) and "position" in fields:  # optional: a timer's trigger has none
        position = fields.get("position")
        if position is not None and (not isinstance(position, int) or isinstance(position, bool) or position < 0):
            raise PolicyError(f"trigger field position is not a log position: {position!r}")
        fields = {k: v for k, v in fields.items() if k != "position"}
    else:
        position = None
    if not isinstance(fields, dict) or set(fields) != set(_FIELD_TYPES):
        raise PolicyError(f"a trigger has the fields {sorted(_FIELD_TYPES)}, not {sorted(fields) if isinstance(fields, dict) else fields!r}")
    for name, kind in _FIELD_TYPES.items():
        if not isinstance(fields[name], kind) or (kind is int and isinstance(fields[name], bool)):
            raise PolicyError(f"trigger field {name} is not a {getattr(kind, '__name__', kind)}: {fields[name]!r}")
    return Trigger(**fields, position=position)


def _not_here(policy: str, trigger: Trigger) -> None:
    raise PolicyError(f"this process only sends policy messages; it cannot run policy {policy}")


class PolicyMessages:
    def __init__(self, broker: Broker, settings: Settings, policies: Iterable[str], run: Run | None = None) -> None:
        self.broker = broker
        self.actors: dict[str, dramatiq.Actor] = {}
        for name in policies:
            self.actors[name] = dramatiq.Actor(
                self._runner(name, run or _not_here), broker=broker, actor_name=ACTOR_PREFIX + name,
                queue_name=policy_queue(settings, name), priority=0,
                # A message that cannot be run as it is goes to the dead letters at once.
                options={"throws": (PolicyError,)},
            )

    @staticmethod
    def _runner(policy: str, run: Run) -> Callable[..., None]:
        def run_message(*args: Any, **kwargs: Any) -> None:
            try:
                trigger = trigger_from_payload(policy, args, kwargs)
            except PolicyError as error:
                log.error("policy %s: malformed message %s dead-lettered: %s", policy, _message_id(), error)
                raise
            run(policy, trigger)

        run_message.__name__ = run_message.__qualname__ = f"run_policy_{policy}"
        return run_message

    def queues(self) -> list[str]:
        return [actor.queue_name for actor in self.actors.values()]

    def send(self, policy: str, trigger: Trigger, delay_ms: int | None = None) -> Message:
        """Enqueues the trigger for the policy, to run at once or after `delay_ms`; returns once the
        broker has it (RabbitMQ: confirmed). Sending the same trigger again is harmless: its
        commands replay. An SLA timer sends a synthetic trigger whose `event_id` is a stable id."""
        actor = self.actors.get(policy)
        if actor is None:
            raise ValueError(f"no policy {policy!r} here; there are: {', '.join(self.actors) or 'none'}")
        return actor.send_with_options(kwargs={"policy": policy, "trigger": dataclasses.asdict(trigger)}, delay=delay_ms)


def _message_id() -> str:
    message = CurrentMessage.get_current_message()
    return message.message_id if message is not None else "?"
