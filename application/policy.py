"""Policies: reactions to events that decide commands, run through the same write path as HTTP.

A policy names the event types it reacts to and, for one such event (its trigger), the
commands it wants. The decision itself is a pure function in `domain/`; a policy only gathers
its inputs and builds the commands. Every command a policy emits carries:

- actor `policy:<name>`, so the history shows that no person did it;
- the triggering event as causation and the aggregate it happened to as correlation;
- a command id derived from (policy, trigger, the command's place in the decision), sent as an
  idempotency key: a trigger handled twice (a crash before the follower saved its position, a
  redelivered message) replays the first answer and appends nothing.

Whatever runs policies (a follower of the log embedded in a process, or a broker's worker)
hands each trigger to `run_policy`.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import NAMESPACE_URL, uuid5

from ledgerdesk.domain.audit import Actor, ActorKind
from ledgerdesk.domain.errors import IllegalTransition, VersionConflict

from .commands import CommandContext
from .errors import ConcurrencyConflict, NotFound

log = logging.getLogger("ledgerdesk.policies")

POLICY_COMMAND_NAMESPACE = uuid5(NAMESPACE_URL, "https://ledgerdesk.invalid/policy-commands")

# A decision that no longer applies when its command runs (the ticket was solved, merged or
# changed meanwhile): the state moved on, which a policy must expect; nothing to retry.
NO_LONGER_APPLIES: tuple[type[Exception], ...] = (IllegalTransition, VersionConflict, NotFound)


@dataclass(frozen=True)
class Trigger:
    """The event a policy reacts to: what it needs to decide, and to cite as the cause."""

    event_id: str
    type: str  # "Ticket.Opened"
    aggregate_id: str
    version: int
    tenant: str
    actor_kind: str
    actor_id: str
    data: dict[str, Any]
    # The event's log position (None: a timer's): a policy reads read models at least this fresh.
    position: int | None = None

    def caused_by(self, policy: str) -> bool:
        """Whether this event is one of the policy's own doing (it never reacts to those)."""
        return self.actor_kind == ActorKind.POLICY.value and self.actor_id == policy


class Policy(Protocol):
    name: str
    event_types: frozenset[str]
    # Of those, the ones it reacts to even when it caused them itself (a chain it means to
    # follow); any other event of its own doing is no trigger for it, so it cannot loop.
    own_event_types: frozenset[str]

    def commands_for(self, trigger: Trigger, ledger: Any) -> list[Any]:
        """The commands this trigger asks for (built with `policy_context`), in order; often none."""
        ...


def policy_command_id(policy: str, trigger: Trigger, index: int) -> str:
    return str(uuid5(POLICY_COMMAND_NAMESPACE, json.dumps([policy, trigger.event_id, index])))


def policy_context(policy: str, trigger: Trigger, reason: str, index: int = 0,
                   decision: dict[str, Any] | None = None) -> CommandContext:
    """The context of the `index`-th command a policy decided for a trigger, with the decision's
    reason and its inputs (JSON values), which its events carry."""
    return CommandContext(
        tenant=trigger.tenant,
        actor=Actor(ActorKind.POLICY, policy),
        command_id=policy_command_id(policy, trigger, index),
        correlation_id=trigger.aggregate_id,
        causation_id=trigger.event_id,
        reason=reason,
        decision=decision,
        idempotent=True,
    )


class RetryLater(Exception):
    """The trigger could not be handled now for a reason that is not its own (writers kept
    conflicting): the runner tries it again later instead of setting it aside."""


def of_its_own_doing(policy: Policy, trigger: Trigger) -> bool:
    """Whether the event is the policy's own doing and not a chain it follows: no trigger for it
    (checked here and, to send no message for it, by the broker's relay)."""
    return trigger.caused_by(policy.name) and trigger.type not in policy.own_event_types


def run_policy(policy: Policy, trigger: Trigger, ledger: Any) -> int:
    """Decides and executes the trigger's commands; answers how many appended something.

    A command whose decision no longer applies is skipped (logged). Anything else a command
    raises propagates: the runner sets the trigger aside where an operator can see and retry it.
    """
    if of_its_own_doing(policy, trigger):
        return 0
    appended = 0
    for command in policy.commands_for(trigger, ledger):
        try:
            outcome = ledger.execute(command)
        except NO_LONGER_APPLIES as error:
            log.info("policy %s: %s for event %s no longer applies: %s", policy.name, type(command).__name__,
                     trigger.event_id, error)
            continue
        except ConcurrencyConflict as error:
            raise RetryLater(str(error)) from error
        appended += not outcome.replayed and outcome.position is not None
    return appended
