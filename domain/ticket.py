"""The Ticket aggregate: one case to resolve, with its lifecycle and its people.

Public methods check the business rules and then trigger events; the events' `apply`
methods only change state, so replaying stored events never re-runs a rule.
"""
from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from .audit import AuditMeta, event_id
from .channel import Channel
from .errors import IllegalTransition
from .message import checked_text
from .ticket_values import (
    REOPENED_BY_CUSTOMER,
    Category,
    Priority,
    Rating,
    TicketStatus,
    check_transition,
    checked_member_id,
    checked_order_id,
    checked_subject,
    checked_tag,
)


class Ticket(Aggregate):
    class Event(Aggregate.Event):
        meta: AuditMeta

    class Opened(Event, Aggregate.Created):
        customer_id: UUID
        subject: str
        channel: Channel
        priority: Priority
        category: Category | None
        # ISO 639-1, as detected from the customer's first words; None when unsure (and in
        # tickets opened before detection existed).
        language: str | None = None

    class CustomerMessageAdded(Event):
        conversation_id: UUID
        message_id: UUID
        channel: Channel
        text: str
        sent_at: datetime

        def apply(self, ticket: Ticket) -> None:
            if self.conversation_id not in ticket.conversation_ids:
                ticket.conversation_ids.append(self.conversation_id)
            ticket.last_conversation_id = self.conversation_id

    class ReplySent(Event):
        conversation_id: UUID | None
        message_id: UUID
        text: str

        def apply(self, ticket: Ticket) -> None:
            ticket.reply_count += 1

    class NoteAdded(Event):
        note_id: UUID
        text: str

        def apply(self, ticket: Ticket) -> None:
            pass

    class StatusChanged(Event):
        from_status: TicketStatus
        to_status: TicketStatus

        def apply(self, ticket: Ticket) -> None:
            ticket.status = TicketStatus(self.to_status)

    class PriorityChanged(Event):
        from_priority: Priority
        to_priority: Priority

        def apply(self, ticket: Ticket) -> None:
            ticket.priority = Priority(self.to_priority)

    class CategoryChanged(Event):
        category: Category

        def apply(self, ticket: Ticket) -> None:
            ticket.category = Category(self.category)

    class Assigned(Event):
        agent_id: str
        team_id: str | None

        def apply(self, ticket: Ticket) -> None:
            ticket.assignee_id = self.agent_id
            ticket.queued = False
            if self.team_id is not None:
                ticket.team_id = self.team_id

    class Unassigned(Event):
        agent_id: str

        def apply(self, ticket: Ticket) -> None:
            ticket.assignee_id = None
            ticket.queued = False

    class TransferredToTeam(Event):
        team_id: str
        from_team_id: str | None

        def apply(self, ticket: Ticket) -> None:
            ticket.team_id = self.team_id
            ticket.assignee_id = None
            ticket.queued = False

    class Queued(Event):
        """Routing found no agent who could take the ticket now: it waits in its team's queue (the
        tenant's, with no team), and the event's reason says why nobody qualified."""

        team_id: str | None

        def apply(self, ticket: Ticket) -> None:
            ticket.queued = True

    class Tagged(Event):
        tags: list[str]

        def apply(self, ticket: Ticket) -> None:
            ticket.tags.extend(t for t in self.tags if t not in ticket.tags)

    class Untagged(Event):
        tags: list[str]

        def apply(self, ticket: Ticket) -> None:
            ticket.tags = [t for t in ticket.tags if t not in self.tags]

    class OrderLinked(Event):
        order_id: str

        def apply(self, ticket: Ticket) -> None:
            ticket.order_ids.append(self.order_id)

    class ConversationLinked(Event):
        conversation_id: UUID

        def apply(self, ticket: Ticket) -> None:
            if self.conversation_id not in ticket.conversation_ids:
                ticket.conversation_ids.append(self.conversation_id)
            ticket.last_conversation_id = self.conversation_id

    class MergedInto(Event):
        target_ticket_id: UUID

        def apply(self, ticket: Ticket) -> None:
            ticket.merged_into = self.target_ticket_id
            ticket.status = TicketStatus.CLOSED

    class TicketMergedIn(Event):
        source_ticket_id: UUID
        conversation_ids: list[UUID]
        order_ids: list[str]

        def apply(self, ticket: Ticket) -> None:
            ticket.merged_ticket_ids.append(self.source_ticket_id)
            ticket.conversation_ids.extend(c for c in self.conversation_ids if c not in ticket.conversation_ids)
            ticket.order_ids.extend(o for o in self.order_ids if o not in ticket.order_ids)

    class Escalated(Event):
        """An SLA clock reached a level (warning, breach) and the policy's escalation was carried
        out; the priority change or team transfer it asked for are events of their own, caused by
        this one. `notify` asks whoever watches the feed to tell a person."""

        metric: str
        cycle: int
        levels: list[str]
        notify: bool

        def apply(self, ticket: Ticket) -> None:
            ticket.escalations.extend(f"{self.metric}:{self.cycle}:{level}" for level in self.levels)

    class Rated(Event):
        score: int
        comment: str | None

        def apply(self, ticket: Ticket) -> None:
            ticket.rating = Rating(self.score, self.comment)

    def __init__(
        self,
        meta: AuditMeta,
        customer_id: UUID,
        subject: str,
        channel: Channel,
        priority: Priority,
        category: Category | None,
        language: str | None = None,
    ) -> None:
        self.tenant = meta.tenant
        self.language = language
        self.customer_id = customer_id
        self.subject = subject
        self.channel = Channel(channel)
        self.priority = Priority(priority)
        self.category = Category(category) if category else None
        self.status = TicketStatus.NEW
        self.assignee_id: str | None = None
        self.team_id: str | None = None
        self.tags: list[str] = []
        self.order_ids: list[str] = []
        self.conversation_ids: list[UUID] = []
        self.last_conversation_id: UUID | None = None
        self.merged_into: UUID | None = None
        self.merged_ticket_ids: list[UUID] = []
        self.rating: Rating | None = None
        self.reply_count = 0
        self.escalations: list[str] = []  # "metric:cycle:level", each escalated once
        self.queued = False  # waiting for an agent since routing last found none

    @classmethod
    def open(
        cls,
        meta: AuditMeta,
        at: datetime,
        customer_id: UUID,
        subject: str,
        channel: Channel,
        priority: Priority = Priority.NORMAL,
        category: Category | None = None,
        language: str | None = None,
    ) -> Ticket:
        return cls._create(
            cls.Opened,
            id=uuid4(),
            timestamp=at,
            meta=meta,
            customer_id=customer_id,
            subject=checked_subject(subject),
            channel=Channel(channel),
            priority=Priority(priority),
            category=Category(category) if category else None,
            language=language,
        )

    @property
    def last_event_id(self) -> UUID:
        return event_id(self.id, self.version)

    @property
    def is_unsolved(self) -> bool:
        return self.status not in (TicketStatus.SOLVED, TicketStatus.CLOSED)

    def _require_workable(self) -> None:
        if self.merged_into is not None:
            raise IllegalTransition(f"the ticket was merged into ticket {self.merged_into}", field="ticket_id")
        if self.status is TicketStatus.CLOSED:
            raise IllegalTransition("the ticket is closed, and closed is final", field="status")

    def _change_status(self, meta: AuditMeta, at: datetime, target: TicketStatus) -> None:
        self.trigger_event(self.StatusChanged, timestamp=at, meta=meta, from_status=self.status, to_status=target)

    def add_customer_message(
        self, meta: AuditMeta, at: datetime, conversation_id: UUID, message_id: UUID, channel: Channel, text: str, sent_at: datetime
    ) -> None:
        """A customer wrote: a ticket waiting on them, on a third party, or solved goes back to the agents."""
        self._require_workable()
        self.trigger_event(
            self.CustomerMessageAdded,
            timestamp=at,
            meta=meta,
            conversation_id=conversation_id,
            message_id=message_id,
            channel=Channel(channel),
            text=text,
            sent_at=sent_at,
        )
        if self.status in REOPENED_BY_CUSTOMER:
            self._change_status(meta.caused_by(self.last_event_id), at, TicketStatus.OPEN)

    def reply(self, meta: AuditMeta, at: datetime, text: str, message_id: UUID | None = None) -> UUID:
        """A public agent reply; a new ticket is open from its first reply on."""
        self._require_workable()
        message_id = message_id or uuid4()
        self.trigger_event(
            self.ReplySent,
            timestamp=at,
            meta=meta,
            conversation_id=self.last_conversation_id,
            message_id=message_id,
            text=checked_text(text),
        )
        if self.status is TicketStatus.NEW:
            self._change_status(meta.caused_by(self.last_event_id), at, TicketStatus.OPEN)
        return message_id

    def add_note(self, meta: AuditMeta, at: datetime, text: str) -> UUID:
        if self.merged_into is not None:
            raise IllegalTransition(f"the ticket was merged into ticket {self.merged_into}", field="ticket_id")
        note_id = uuid4()
        self.trigger_event(self.NoteAdded, timestamp=at, meta=meta, note_id=note_id, text=checked_text(text))
        return note_id

    def change_status(self, meta: AuditMeta, at: datetime, status: TicketStatus) -> None:
        status = TicketStatus(status)
        if self.merged_into is not None:
            raise IllegalTransition(f"the ticket was merged into ticket {self.merged_into}", field="ticket_id")
        if status is self.status:
            return
        check_transition(self.status, status)
        self._change_status(meta, at, status)

    def change_priority(self, meta: AuditMeta, at: datetime, priority: Priority) -> None:
        self._require_workable()
        priority = Priority(priority)
        if priority is not self.priority:
            self.trigger_event(self.PriorityChanged, timestamp=at, meta=meta, from_priority=self.priority, to_priority=priority)

    def categorise(self, meta: AuditMeta, at: datetime, category: Category) -> None:
        self._require_workable()
        category = Category(category)
        if category is not self.category:
            self.trigger_event(self.CategoryChanged, timestamp=at, meta=meta, category=category)

    def assign(self, meta: AuditMeta, at: datetime, agent_id: str | None, team_id: str | None) -> None:
        """Assign an agent (optionally within a team), or hand the ticket to a team's queue."""
        self._require_workable()
        if agent_id is None and team_id is None:
            raise IllegalTransition("give an agent_id, a team_id, or both", field="agent_id")
        team = checked_member_id(team_id, field="team_id") if team_id is not None else None
        if agent_id is None:
            assert team is not None
            if team != self.team_id or self.assignee_id is not None:
                self.trigger_event(self.TransferredToTeam, timestamp=at, meta=meta, team_id=team, from_team_id=self.team_id)
            return
        agent = checked_member_id(agent_id, field="agent_id")
        if agent != self.assignee_id or (team is not None and team != self.team_id):
            self.trigger_event(self.Assigned, timestamp=at, meta=meta, agent_id=agent, team_id=team)

    def queue(self, meta: AuditMeta, at: datetime) -> None:
        """Record that the ticket waits for an agent; once, until it is assigned or moves on."""
        self._require_workable()
        if not self.queued and self.assignee_id is None:
            self.trigger_event(self.Queued, timestamp=at, meta=meta, team_id=self.team_id)

    def unassign(self, meta: AuditMeta, at: datetime) -> None:
        self._require_workable()
        if self.assignee_id is not None:
            self.trigger_event(self.Unassigned, timestamp=at, meta=meta, agent_id=self.assignee_id)

    def retag(self, meta: AuditMeta, at: datetime, add: list[str], remove: list[str]) -> None:
        self._require_workable()
        to_add = [t for t in dict.fromkeys(checked_tag(t) for t in add) if t not in self.tags]
        to_remove = [t for t in dict.fromkeys(checked_tag(t) for t in remove) if t in self.tags and t not in to_add]
        if to_add:
            self.trigger_event(self.Tagged, timestamp=at, meta=meta, tags=to_add)
        if to_remove:
            self.trigger_event(self.Untagged, timestamp=at, meta=meta, tags=to_remove)

    def link_order(self, meta: AuditMeta, at: datetime, order_id: str) -> None:
        if self.merged_into is not None:
            raise IllegalTransition(f"the ticket was merged into ticket {self.merged_into}", field="ticket_id")
        order_id = checked_order_id(order_id)
        if order_id not in self.order_ids:
            self.trigger_event(self.OrderLinked, timestamp=at, meta=meta, order_id=order_id)

    def link_conversation(self, meta: AuditMeta, at: datetime, conversation_id: UUID) -> None:
        if conversation_id not in self.conversation_ids:
            self.trigger_event(self.ConversationLinked, timestamp=at, meta=meta, conversation_id=conversation_id)

    def merge_into(self, meta: AuditMeta, at: datetime, target: Ticket) -> None:
        """Close this ticket into `target`, which takes over its conversations and orders."""
        self._require_workable()
        if target.id == self.id:
            raise IllegalTransition("a ticket cannot be merged into itself", field="into_ticket_id")
        if target.merged_into is not None or target.status is TicketStatus.CLOSED:
            raise IllegalTransition("the target ticket is closed or merged", field="into_ticket_id")
        self.trigger_event(self.MergedInto, timestamp=at, meta=meta, target_ticket_id=target.id)
        target.trigger_event(
            target.TicketMergedIn,
            timestamp=at,
            meta=meta.caused_by(self.last_event_id),
            source_ticket_id=self.id,
            conversation_ids=list(self.conversation_ids),
            order_ids=list(self.order_ids),
        )

    def escalated_levels(self, metric: str, cycle: int) -> frozenset[str]:
        prefix = f"{metric}:{cycle}:"
        return frozenset(key[len(prefix):] for key in self.escalations if key.startswith(prefix))

    def escalate(self, meta: AuditMeta, at: datetime, metric: str, cycle: int, levels: list[str], notify: bool,
                 raise_priority_to: Priority | None, transfer_to_team: str | None) -> None:
        """Record an SLA escalation and carry out what it asks: a higher priority, a transfer to
        a team (whose queue then holds the ticket). A level escalated before is never again."""
        self._require_workable()
        levels = [level for level in levels if level not in self.escalated_levels(metric, cycle)]
        if not levels:
            return
        self.trigger_event(self.Escalated, timestamp=at, meta=meta, metric=metric, cycle=cycle, levels=levels, notify=notify)
        caused = meta.caused_by(self.last_event_id)
        if raise_priority_to is not None:
            self.change_priority(caused, at, raise_priority_to)
        if transfer_to_team is not None:
            self.assign(caused, at, None, transfer_to_team)

    def rate(self, meta: AuditMeta, at: datetime, score: int, comment: str | None) -> None:
        if self.status not in (TicketStatus.SOLVED, TicketStatus.CLOSED) or self.merged_into is not None:
            raise IllegalTransition(f"only a solved ticket can be rated; this one is {self.status}", field="score")
        rating = Rating(score, comment)
        self.trigger_event(self.Rated, timestamp=at, meta=meta, score=rating.score, comment=rating.comment)
