"""A policy as a consumer of the log, fed by the same machinery as the read models.

The projector gives it its own position, its own transaction for that position, and its own
parked events: a trigger whose policy raises (a bug, a command refused for a reason that is
not "the state moved on") is parked with its error, visible in `projections status` and
`projections parked` and retried with `projections retry`, while the read models and the
other policies go on. Its commands are appended through the Ledger before the position that
covers them commits, so a crash in between hands the triggers over again, and their commands,
whose ids derive from (policy, trigger), replay instead of appending twice.

It has no tables: rebuilding or verifying a policy means nothing, so the read-model catalog
that those commands use does not list it.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from ledgerdesk.application.event_views import event_id_text
from ledgerdesk.application.policy import Policy, Trigger, run_policy

from .event_record import EventRecord
from .read_model import Batch, ReadModel

POLICY_PREFIX = "policy:"


class PolicyConsumer(ReadModel):
    tables: ClassVar[tuple] = ()

    def __init__(self, policy: Policy, ledger: Any) -> None:
        self.policy = policy
        self.ledger = ledger
        self.name = POLICY_PREFIX + policy.name  # type: ignore[misc]
        self.event_types = policy.event_types  # type: ignore[misc]

    def apply(self, batch: Batch, event: EventRecord) -> None:
        # In a projector beside the read models, they take this batch in the same pass: the
        # policy cannot wait for them to reach the trigger, so it does not ask to.
        run_policy(self.policy, replace(trigger_of(event), position=None), self.ledger)  # no rows: the batch carries the position

    def handle(self, event: EventRecord) -> None:
        """The trigger as a follower of its own hands it over: the policy may wait for the read
        models it reads to reach it."""
        run_policy(self.policy, trigger_of(event), self.ledger)


def trigger_of(event: EventRecord) -> Trigger:
    """The event as a policy's trigger (also what the broker's relay sends)."""
    return Trigger(
        event_id=event_id_text(event.aggregate_id, event.version),
        type=event.type,
        aggregate_id=event.aggregate_id,
        version=event.version,
        tenant=event.tenant,
        actor_kind=event.actor_kind,
        actor_id=event.actor_id,
        data=event.data,
        position=event.position,
    )
