"""Audit metadata carried by every event: who or what issued the command, and why.

`AuditMeta` is a value object stored inside each event, so the history of any aggregate
answers "who did this, with which command, prompted by which event" without joins.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

EVENT_ID_NAMESPACE = uuid5(NAMESPACE_URL, "https://ledgerdesk.invalid/events")


class ActorKind(StrEnum):
    INTEGRATOR = "integrator"
    AGENT = "agent"
    POLICY = "policy"
    SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    id: str


# Who counts as a person answering the customer: an agent typing here, or an integrator relaying
# an agent's reply from a channel's seller console. Automation (system, policy) answers nobody,
# so its replies fulfil no SLA target and are no first reply in the figures.
HUMAN_ACTOR_KINDS = frozenset({ActorKind.AGENT.value, ActorKind.INTEGRATOR.value})


@dataclass(frozen=True)
class AuditMeta:
    tenant: str
    actor: Actor
    command_id: str
    correlation_id: str
    causation_id: str | None = None
    reason: str | None = None
    # What an automatic decision saw (a policy's inputs: the agents it weighed, the rule that
    # matched, the clock it read), so the history answers "why" with no other lookup. JSON values.
    decision: dict[str, Any] | None = None

    def caused_by(self, event_id: UUID) -> AuditMeta:
        """The same command's metadata for an event that another event of this command caused."""
        return replace(self, causation_id=str(event_id))


def event_id(originator_id: UUID, originator_version: int) -> UUID:
    """A stable id for a stored event, derived from its place in its aggregate's sequence."""
    return uuid5(EVENT_ID_NAMESPACE, f"{originator_id}:{originator_version}")
