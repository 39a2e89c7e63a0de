"""Commands: what a caller asks the application to do, with who asks and why.

Commands carry plain values already shaped for the domain; the interface layer builds them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from ledgerdesk.domain.audit import Actor, AuditMeta
from ledgerdesk.domain.channel import Channel
from ledgerdesk.domain.escalation import ClockReading, EscalationSettings
from ledgerdesk.domain.message import Attachment
from ledgerdesk.domain.ticket_values import Category, Priority, TicketStatus


@dataclass(frozen=True)
class CommandContext:
    tenant: str
    actor: Actor
    command_id: str
    correlation_id: str
    causation_id: str | None = None
    reason: str | None = None
    decision: dict | None = None  # a policy's decision inputs (AuditMeta.decision)
    # True when the caller chose the command id (Idempotency-Key): a repeat returns the first result.
    idempotent: bool = False

    def meta(self) -> AuditMeta:
        return AuditMeta(
            tenant=self.tenant,
            actor=self.actor,
            command_id=self.command_id,
            correlation_id=self.correlation_id,
            causation_id=self.causation_id,
            reason=self.reason,
            decision=self.decision,
        )


@dataclass(frozen=True)
class CustomerHints:
    email: str | None = None
    phone: str | None = None
    name: str | None = None
    tier: str | None = None


@dataclass(frozen=True)
class ReceiveInboundMessage:
    context: CommandContext
    channel: Channel
    external_thread_id: str
    external_user_id: str
    external_message_id: str
    text: str
    sent_at: datetime
    customer: CustomerHints = CustomerHints()
    order_id: str | None = None
    attachments: tuple[Attachment, ...] = ()
    subject: str | None = None


@dataclass(frozen=True)
class OpenTicket:
    context: CommandContext
    subject: str
    customer_id: UUID | None = None
    customer: CustomerHints | None = None
    channel: Channel = Channel.OTHER
    priority: Priority = Priority.NORMAL
    category: Category | None = None
    tags: tuple[str, ...] = ()
    order_id: str | None = None


@dataclass(frozen=True)
class TicketCommand:
    context: CommandContext
    ticket_id: UUID
    expected_version: int | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class ReplyToTicket(TicketCommand):
    text: str


@dataclass(frozen=True)
class AddInternalNote(TicketCommand):
    text: str


@dataclass(frozen=True)
class AssignTicket(TicketCommand):
    agent_id: str | None = None
    team_id: str | None = None


@dataclass(frozen=True)
class UnassignTicket(TicketCommand):
    pass


@dataclass(frozen=True)
class ChangeTicketStatus(TicketCommand):
    status: TicketStatus


@dataclass(frozen=True)
class ChangeTicketPriority(TicketCommand):
    priority: Priority


@dataclass(frozen=True)
class CategoriseTicket(TicketCommand):
    category: Category


@dataclass(frozen=True)
class TriageTicket(TicketCommand):
    """What triage found: a category for a ticket that has none yet, and a priority that the
    ticket's is raised to if it is lower (triage never lowers one a person set)."""

    category: Category | None
    priority: Priority


@dataclass(frozen=True)
class EscalateTicket(TicketCommand):
    """An SLA clock of the ticket reached a level: escalate it as its policy says, once per level.

    `reading` is the clock as the SLA read model had it at `reading.at`, when the ticket's last
    event was the one at `seen_at`; a ticket that changed since is read again, not escalated.
    """

    reading: ClockReading
    settings: EscalationSettings
    seen_at: datetime


@dataclass(frozen=True)
class RouteTicket(TicketCommand):
    """Give the ticket to the best qualified agent among `candidates` (agent ids), if it has none yet."""

    candidates: tuple[str, ...]


@dataclass(frozen=True)
class QueueTicket(TicketCommand):
    """Record that nobody can take the ticket now; the context's reason and decision say why."""


@dataclass(frozen=True)
class ReclaimTicket(TicketCommand):
    """Take the ticket back from an agent who went offline at `offline_since` and has not come
    back, so that routing gives it to someone who is there; nothing if either moved on."""

    agent_id: str
    offline_since: datetime


@dataclass(frozen=True)
class RetakeTicket(TicketCommand):
    """The reopened ticket's agent holds its slot again; an agent who cannot (not online, or full)
    loses the ticket instead, so that routing gives it to someone who can."""

    agent_id: str


@dataclass(frozen=True)
class RetagTicket(TicketCommand):
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()


@dataclass(frozen=True)
class LinkOrder(TicketCommand):
    order_id: str


@dataclass(frozen=True)
class MergeTicket(TicketCommand):
    into_ticket_id: UUID


@dataclass(frozen=True)
class RateTicket(TicketCommand):
    score: int
    comment: str | None = None


@dataclass(frozen=True)
class CloseConversation:
    context: CommandContext
    conversation_id: UUID
    expected_version: int | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class QuarantineMail:
    """Keep a mail that cannot become a message, as received, with why and the header or part at fault."""

    context: CommandContext
    raw: bytes
    reason: str
    field: str
    received_at: datetime


@dataclass(frozen=True)
class ReleaseQuarantinedMail:
    """A quarantined mail's bytes now read as `message`: take it in and release the mail, in one save."""

    context: CommandContext
    quarantine_id: UUID
    message: ReceiveInboundMessage


Command = ReceiveInboundMessage | OpenTicket | TicketCommand | CloseConversation


@dataclass(frozen=True)
class DefineSlaPolicy:
    """Define an SLA policy; targets are in seconds of business time, None where not measured."""

    context: CommandContext
    name: str
    rank: int
    match: dict[str, list[str]]
    targets: dict[str, int | None]
    warning_percent: int = 75
    calendar: dict[str, object] = field(default_factory=lambda: {"kind": "24x7"})
    escalation: dict[str, object] | None = None  # None: the defaults (domain/escalation.py)


@dataclass(frozen=True)
class ReviseSlaPolicy:
    """Replace every term of a policy at once."""

    context: CommandContext
    policy_id: UUID
    expected_version: int | None
    name: str
    rank: int
    match: dict[str, list[str]]
    targets: dict[str, int | None]
    warning_percent: int = 75
    calendar: dict[str, object] = field(default_factory=lambda: {"kind": "24x7"})
    escalation: dict[str, object] | None = None  # None: the defaults (domain/escalation.py)


@dataclass(frozen=True)
class RetireSlaPolicy:
    context: CommandContext
    policy_id: UUID
    expected_version: int | None = None


SlaPolicyCommand = DefineSlaPolicy | ReviseSlaPolicy | RetireSlaPolicy


@dataclass(frozen=True)
class PutAgent:
    """Register an agent under the tenant's own id, or replace its whole profile; the same
    profile again appends nothing."""

    context: CommandContext
    agent_id: str
    name: str
    teams: tuple[str, ...]
    skills: dict[str, list[str]]
    capacity: int
    # Per channel kind (chat, email, voice), the most tickets held at once; a kind left out: any.
    capacity_by_channel_kind: dict[str, int] | None = field(default=None, kw_only=True)
    expected_version: int | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class PutTeam:
    """Define a team under the tenant's own id, or replace its name and escalation team."""

    context: CommandContext
    team_id: str
    name: str
    escalation_team: str | None = None
    expected_version: int | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class ChangeAgentPresence:
    context: CommandContext
    agent_id: str
    status: str
    expected_version: int | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class TakeTicket:
    """The agent holds a slot for the ticket (refused when offline or at capacity)."""

    context: CommandContext
    agent_id: str
    ticket_id: UUID
    expected_version: int | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class ReleaseTicket:
    context: CommandContext
    agent_id: str
    ticket_id: UUID
    expected_version: int | None = field(default=None, kw_only=True)



@dataclass(frozen=True)
class PutTriageRules:
    """Replace the tenant's triage rules with this list (plain JSON values, checked by the
    domain); the same list again appends nothing. `expected_version` 0 means "the defaults":
    the tenant has never defined its own."""

    context: CommandContext
    rules: list[dict[str, object]]
    expected_version: int | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class RecordAccess:
    """Note that a reader (an auditor) read part of the audit trail: `what` (history, as_of,
    case_export, verify) of `target` ("ticket/<id>"), with what else was asked in `detail`."""

    context: CommandContext
    reader: str
    role: str
    what: str
    target: str
    detail: dict[str, object] | None = None
