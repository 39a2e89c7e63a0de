"""Random command sequences on a few tickets keep the Ticket aggregate lawful and replayable.

A small model says what each command should do: which ones the lifecycle refuses, and what
state a legal one leaves behind. After every step the live ticket must agree with the model,
with a replay of every event it ever produced, and with a copy loaded back from storage.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable
from uuid import UUID, uuid4

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from ledgerdesk.application.ledger import Ledger
from ledgerdesk.domain.audit import Actor, ActorKind, AuditMeta
from ledgerdesk.domain.channel import Channel
from ledgerdesk.domain.errors import DomainError, IllegalTransition, InvalidValue
from ledgerdesk.domain.ticket import Ticket
from ledgerdesk.domain.ticket_values import Category, Priority, Rating, TicketStatus

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 11, tzinfo=timezone.utc)
META = AuditMeta(
    tenant="shop-1",
    actor=Actor(ActorKind.AGENT, "agent-7"),
    command_id="cmd-lifecycle",
    correlation_id="corr-lifecycle",
)
TICKETS = 3

S = TicketStatus
# The lifecycle as the product describes it, written out independently of the domain's table:
# closed is final; solved only reopens or closes; nothing goes back to new.
LEGAL_NEXT: dict[TicketStatus, set[TicketStatus]] = {
    S.NEW: {S.OPEN, S.PENDING, S.ON_HOLD, S.SOLVED},
    S.OPEN: {S.PENDING, S.ON_HOLD, S.SOLVED},
    S.PENDING: {S.OPEN, S.ON_HOLD, S.SOLVED},
    S.ON_HOLD: {S.OPEN, S.PENDING, S.SOLVED},
    S.SOLVED: {S.OPEN, S.CLOSED},
    S.CLOSED: set(),
}
REOPENED_BY_CUSTOMER = {S.PENDING, S.ON_HOLD, S.SOLVED}

CONVERSATIONS = [UUID(int=0xC0FFEE00 + i) for i in range(3)]

ticket_index = st.integers(0, TICKETS - 1)
texts = st.sampled_from(["Where is my parcel?", "  refund please ", "好的，谢谢", "ok", "", " \n "])
agent_ids = st.sampled_from(["ana", " bo ", "ana ", "a" * 128, None, None, "", "a" * 129])
team_ids = st.sampled_from(["billing", " logistics", "billing ", None, None, "  ", "t" * 129])
good_tags = st.sampled_from(["vip", "VIP ", " refund", "a:b/c.d-e_f", "退货", "x" * 64])
bad_tags = st.sampled_from(["", "   ", "two words", "x" * 65, "bad!", "#tag"])
order_ids = st.sampled_from(["TB-1001", " TB-1001 ", "JD-77", "o" * 128, "PDD-5", "   ", "o" * 129])
scores = st.integers(-1, 7)
comments = st.sampled_from([None, "", "fast and kind", "c" * 2000, None, "c" * 2001])


def legal_tag(raw: str) -> str | None:
    """The tag a raw value normalises to, or None when it is not a tag (spec, not the regex)."""
    tag = raw.strip().lower()
    ok = 1 <= len(tag) <= 64 and all(ch.isalnum() or ch in "_-.:/" for ch in tag)
    return tag if ok else None


def member(raw: str) -> str | None:
    stripped = raw.strip()
    return stripped if 1 <= len(stripped) <= 128 else None


@dataclass
class Expected:
    """What the ticket should look like, kept by hand beside the aggregate."""

    id: UUID
    status: TicketStatus = S.NEW
    priority: Priority = Priority.NORMAL
    category: Category | None = None
    assignee_id: str | None = None
    team_id: str | None = None
    tags: list[str] = field(default_factory=list)
    order_ids: list[str] = field(default_factory=list)
    conversation_ids: list[UUID] = field(default_factory=list)
    last_conversation_id: UUID | None = None
    merged_into: UUID | None = None
    merged_ticket_ids: list[UUID] = field(default_factory=list)
    rating: Rating | None = None
    reply_count: int = 0
    version: int = 1
    was_closed: bool = False

    @property
    def workable(self) -> bool:
        return self.merged_into is None and self.status is not S.CLOSED

    def move_to(self, status: TicketStatus) -> None:
        self.status = status
        self.version += 1
        self.was_closed |= status is S.CLOSED


def state_of(aggregate: Any) -> dict[str, tuple[type, Any]]:
    """An aggregate's attributes with their exact types (a StrEnum equals its plain string)."""
    return {k: (type(v), v) for k, v in aggregate.__dict__.items() if k != "_pending_events"}


class TicketLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.app = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
        self.step = 0
        self.tickets: list[Ticket] = []
        self.expected: list[Expected] = []
        self.history: dict[UUID, list[Any]] = {}

    # -- helpers -----------------------------------------------------------------------

    def _at(self) -> datetime:
        self.step += 1
        return T0 + timedelta(minutes=self.step)

    def _save(self, *tickets: Ticket) -> None:
        for recording in self.app.save(*tickets):
            event = recording.domain_event
            self.history.setdefault(event.originator_id, []).append(event)

    def _refused(self, error: type[DomainError], command: Callable[[], Any], *tickets: Ticket) -> None:
        """The command must raise `error` and leave every ticket exactly as it was."""
        before = [(t.version, copy.deepcopy(state_of(t))) for t in tickets]
        with pytest.raises(error):
            command()
        for t, (version, state) in zip(tickets, before):
            assert t.pending_events == [], "a refused command left events behind"
            assert t.version == version
            assert state_of(t) == state, "a refused command changed the ticket"

    # -- setup ---------------------------------------------------------------------------

    @initialize(
        priorities=st.lists(st.sampled_from(Priority), min_size=TICKETS, max_size=TICKETS),
        categories=st.lists(st.none() | st.sampled_from(Category), min_size=TICKETS, max_size=TICKETS),
        channel=st.sampled_from(Channel),
    )
    def open_a_few_tickets(self, priorities: list[Priority], categories: list[Category | None], channel: Channel) -> None:
        for priority, category in zip(priorities, categories):
            ticket = Ticket.open(META, self._at(), uuid4(), "  Parcel   never arrived ", channel, priority, category)
            assert ticket.subject == "Parcel never arrived"
            self.tickets.append(ticket)
            self.expected.append(Expected(id=ticket.id, priority=priority, category=category))
            self._save(ticket)

    # -- rules ---------------------------------------------------------------------------

    @rule(i=ticket_index, status=st.sampled_from(TicketStatus))
    def agent_changes_status(self, i: int, status: TicketStatus) -> None:
        self._change_status(i, status)

    @rule(i=ticket_index)
    def agent_solves_the_ticket(self, i: int) -> None:
        self._change_status(i, S.SOLVED)

    @rule(i=ticket_index)
    def agent_closes_the_ticket(self, i: int) -> None:
        self._change_status(i, S.CLOSED)

    def _change_status(self, i: int, status: TicketStatus) -> None:
        ticket, exp = self.tickets[i], self.expected[i]
        at = self._at()
        if exp.merged_into is not None or (status is not exp.status and status not in LEGAL_NEXT[exp.status]):
            self._refused(IllegalTransition, lambda: ticket.change_status(META, at, status), ticket)
            return
        ticket.change_status(META, at, status)
        if status is not exp.status:
            exp.move_to(status)
        self._save(ticket)

    @rule(i=ticket_index, text=texts)
    def agent_replies_publicly(self, i: int, text: str) -> None:
        ticket, exp = self.tickets[i], self.expected[i]
        at = self._at()
        if not exp.workable:
            self._refused(IllegalTransition, lambda: ticket.reply(META, at, text), ticket)
            return
        if not text.strip():
            self._refused(InvalidValue, lambda: ticket.reply(META, at, text), ticket)
            return
        ticket.reply(META, at, text)
        exp.reply_count += 1
        exp.version += 1
        if exp.status is S.NEW:
            exp.move_to(S.OPEN)
        self._save(ticket)

    @rule(i=ticket_index, text=texts)
    def agent_adds_internal_note(self, i: int, text: str) -> None:
        ticket, exp = self.tickets[i], self.expected[i]
        at = self._at()
        if exp.merged_into is not None:
            self._refused(IllegalTransition, lambda: ticket.add_note(META, at, text), ticket)
            return
        if not text.strip():
            self._refused(InvalidValue, lambda: ticket.add_note(META, at, text), ticket)
            return
        ticket.add_note(META, at, text)
        exp.version += 1
        self._save(ticket)

    @rule(i=ticket_index, agent=agent_ids, team=team_ids)
    def ticket_is_assigned_to_agent_or_team(self, i: int, agent: str | None, team: str | None) -> None:
        ticket, exp = self.tickets[i], self.expected[i]
        at = self._at()
        if not exp.workable or (agent is None and team is None):
            self._refused(IllegalTransition, lambda: ticket.assign(META, at, agent, team), ticket)
            return
        checked_team = member(team) if team is not None else None
        checked_agent = member(agent) if agent is not None else None
        if (team is not None and checked_team is None) or (agent is not None and checked_agent is None):
            self._refused(InvalidValue, lambda: ticket.assign(META, at, agent, team), ticket)
            return
        ticket.assign(META, at, agent, team)
        if checked_agent is None:  # handed to a team's queue
            if checked_team != exp.team_id or exp.assignee_id is not None:
                exp.team_id, exp.assignee_id = checked_team, None
                exp.version += 1
        elif checked_agent != exp.assignee_id or (checked_team is not None and checked_team != exp.team_id):
            exp.assignee_id = checked_agent
            exp.team_id = checked_team if checked_team is not None else exp.team_id
            exp.version += 1
        self._save(ticket)

    @rule(i=ticket_index)
    def ticket_is_unassigned(self, i: int) -> None:
        ticket, exp = self.tickets[i], self.expected[i]
        at = self._at()
        if not exp.workable:
            self._refused(IllegalTransition, lambda: ticket.unassign(META, at), ticket)
            return
        ticket.unassign(META, at)
        if exp.assignee_id is not None:
            exp.assignee_id = None
            exp.version += 1
        self._save(ticket)

    @rule(i=ticket_index, priority=st.sampled_from(Priority))
    def priority_changes(self, i: int, priority: Priority) -> None:
        ticket, exp = self.tickets[i], self.expected[i]
        at = self._at()
        if not exp.workable:
            self._refused(IllegalTransition, lambda: ticket.change_priority(META, at, priority), ticket)
            return
        ticket.change_priority(META, at, priority)
        if priority is not exp.priority:
            exp.priority = priority
            exp.version += 1
        self._save(ticket)

    @rule(i=ticket_index, category=st.sampled_from(Category))
    def ticket_is_categorised(self, i: int, category: Category) -> None:
        ticket, exp = self.tickets[i], self.expected[i]
        at = self._at()
        if not exp.workable:
            self._refused(IllegalTransition, lambda: ticket.categorise(META, at, category), ticket)
            return
        ticket.categorise(META, at, category)
        if category is not exp.category:
            exp.category = category
            exp.version += 1
        self._save(ticket)

    @rule(i=ticket_index, add=st.lists(good_tags, max_size=3), remove=st.lists(good_tags, max_size=3))
    def tags_are_added_and_removed(self, i: int, add: list[str], remove: list[str]) -> None:
        self._retag(i, add, remove)

    @rule(
        i=ticket_index,
        add=st.lists(good_tags, max_size=2),
        remove=st.lists(good_tags, max_size=2),
        bad=bad_tags,
        into_add=st.booleans(),
        position=st.integers(0, 2),
    )
    def a_malformed_tag_spoils_the_whole_retag(
        self, i: int, add: list[str], remove: list[str], bad: str, into_add: bool, position: int
    ) -> None:
        (add if into_add else remove).insert(position, bad)
        self._retag(i, add, remove)

    def _retag(self, i: int, add: list[str], remove: list[str]) -> None:
        ticket, exp = self.tickets[i], self.expected[i]
        at = self._at()
        if not exp.workable:
            self._refused(IllegalTransition, lambda: ticket.retag(META, at, add, remove), ticket)
            return
        if any(legal_tag(t) is None for t in add + remove):
            self._refused(InvalidValue, lambda: ticket.retag(META, at, add, remove), ticket)
            return
        ticket.retag(META, at, add, remove)
        to_add = [t for t in dict.fromkeys(legal_tag(t) for t in add) if t not in exp.tags]
        to_remove = [t for t in dict.fromkeys(legal_tag(t) for t in remove) if t in exp.tags and t not in to_add]
        exp.tags = [t for t in exp.tags + to_add if t not in to_remove]  # type: ignore[operator]
        exp.version += bool(to_add) + bool(to_remove)
        self._save(ticket)

    @rule(i=ticket_index, order_id=order_ids)
    def order_is_linked(self, i: int, order_id: str) -> None:
        ticket, exp = self.tickets[i], self.expected[i]
        at = self._at()
        if exp.merged_into is not None:
            self._refused(IllegalTransition, lambda: ticket.link_order(META, at, order_id), ticket)
            return
        if not 1 <= len(order_id.strip()) <= 128:
            self._refused(InvalidValue, lambda: ticket.link_order(META, at, order_id), ticket)
            return
        ticket.link_order(META, at, order_id)
        if order_id.strip() not in exp.order_ids:
            exp.order_ids.append(order_id.strip())
            exp.version += 1
        self._save(ticket)

    @rule(i=ticket_index, score=scores, comment=comments)
    def customer_rates_the_ticket(self, i: int, score: int, comment: str | None) -> None:
        ticket, exp = self.tickets[i], self.expected[i]
        at = self._at()
        if exp.status not in (S.SOLVED, S.CLOSED) or exp.merged_into is not None:
            self._refused(IllegalTransition, lambda: ticket.rate(META, at, score, comment), ticket)
            return
        if not 1 <= score <= 5 or (comment is not None and len(comment) > 2000):
            self._refused(InvalidValue, lambda: ticket.rate(META, at, score, comment), ticket)
            return
        ticket.rate(META, at, score, comment)
        exp.rating = Rating(score, comment)
        exp.version += 1
        self._save(ticket)

    @rule(i=ticket_index, conversation=st.sampled_from(CONVERSATIONS), text=st.sampled_from(["hello?", "还没到", "any news"]))
    def customer_writes_again(self, i: int, conversation: UUID, text: str) -> None:
        ticket, exp = self.tickets[i], self.expected[i]
        at = self._at()
        add = lambda: ticket.add_customer_message(META, at, conversation, uuid4(), Channel.WECHAT, text, at)  # noqa: E731
        if not exp.workable:
            self._refused(IllegalTransition, add, ticket)
            return
        add()
        if conversation not in exp.conversation_ids:
            exp.conversation_ids.append(conversation)
        exp.last_conversation_id = conversation
        exp.version += 1
        if exp.status in REOPENED_BY_CUSTOMER:
            exp.move_to(S.OPEN)
        self._save(ticket)

    @rule(i=ticket_index, j=ticket_index)
    def ticket_is_merged_into_another(self, i: int, j: int) -> None:
        source, target = self.tickets[i], self.tickets[j]
        src, tgt = self.expected[i], self.expected[j]
        at = self._at()
        if not src.workable or i == j or not tgt.workable:
            self._refused(IllegalTransition, lambda: source.merge_into(META, at, target), source, target)
            return
        source.merge_into(META, at, target)
        src.merged_into = target.id
        src.move_to(S.CLOSED)
        tgt.merged_ticket_ids.append(source.id)
        tgt.conversation_ids += [c for c in src.conversation_ids if c not in tgt.conversation_ids]
        tgt.order_ids += [o for o in src.order_ids if o not in tgt.order_ids]
        tgt.version += 1
        self._save(source, target)

    # -- invariants ----------------------------------------------------------------------

    @invariant()
    def tickets_match_the_model(self) -> None:
        for ticket, exp in zip(self.tickets, self.expected):
            assert ticket.pending_events == []
            assert isinstance(ticket.status, TicketStatus)
            assert ticket.status is exp.status
            assert ticket.priority is exp.priority
            assert ticket.category == exp.category
            assert (ticket.assignee_id, ticket.team_id) == (exp.assignee_id, exp.team_id)
            assert ticket.tags == exp.tags
            assert ticket.order_ids == exp.order_ids
            assert ticket.conversation_ids == exp.conversation_ids
            assert ticket.last_conversation_id == exp.last_conversation_id
            assert ticket.merged_into == exp.merged_into
            assert ticket.merged_ticket_ids == exp.merged_ticket_ids
            assert ticket.rating == exp.rating
            assert ticket.reply_count == exp.reply_count
            assert ticket.version == exp.version

    @invariant()
    def lifecycle_rules_hold(self) -> None:
        for ticket, exp in zip(self.tickets, self.expected):
            if exp.was_closed:
                assert ticket.status is S.CLOSED, "a closed ticket changed status"
            if ticket.merged_into is not None:
                assert ticket.status is S.CLOSED
                assert ticket.merged_into in {t.id for t in self.tickets} - {ticket.id}
            assert len(set(ticket.tags)) == len(ticket.tags)
            assert len(set(ticket.order_ids)) == len(ticket.order_ids)
            assert len(set(ticket.conversation_ids)) == len(ticket.conversation_ids)
            assert ticket.is_unsolved == (ticket.status not in (S.SOLVED, S.CLOSED))

    @invariant()
    def every_status_change_follows_the_lifecycle(self) -> None:
        """Probe each ticket's current status against every target, on throwaway copies."""
        at = T0 - timedelta(days=1)
        for ticket, exp in zip(self.tickets, self.expected):
            for status in TicketStatus:
                probe = copy.deepcopy(ticket)
                if exp.merged_into is not None or (status is not exp.status and status not in LEGAL_NEXT[exp.status]):
                    self._refused(IllegalTransition, lambda: probe.change_status(META, at, status), probe)
                else:
                    probe.change_status(META, at, status)
                    assert probe.status is status
                    assert len(probe.pending_events) == (status is not exp.status)

    @invariant()
    def closed_tickets_refuse_work(self) -> None:
        at = T0 - timedelta(days=1)
        for ticket, exp in zip(self.tickets, self.expected):
            if ticket.status is not S.CLOSED:
                continue
            for command in (
                lambda: ticket.reply(META, at, "still there?"),
                lambda: ticket.assign(META, at, "ana", "billing"),
                lambda: ticket.unassign(META, at),
                lambda: ticket.change_priority(META, at, Priority.URGENT),
                lambda: ticket.retag(META, at, ["late"], []),
                lambda: ticket.add_customer_message(META, at, CONVERSATIONS[0], uuid4(), Channel.EMAIL, "hi", at),
                lambda: ticket.merge_into(META, at, self.tickets[(self.tickets.index(ticket) + 1) % TICKETS]),
            ):
                self._refused(IllegalTransition, command, ticket)

    @invariant()
    def ratings_come_only_while_solved_or_closed(self) -> None:
        for ticket in self.tickets:
            for event in self.history.get(ticket.id, []):
                if isinstance(event, Ticket.Rated):
                    assert 1 <= event.score <= 5
            statuses = [S.NEW]
            for event in self.history.get(ticket.id, []):
                if isinstance(event, Ticket.StatusChanged):
                    statuses.append(TicketStatus(event.to_status))
                elif isinstance(event, Ticket.MergedInto):
                    statuses.append(S.CLOSED)
                elif isinstance(event, Ticket.Rated):
                    assert statuses[-1] in (S.SOLVED, S.CLOSED), f"rated while {statuses[-1]}"

    @invariant()
    def version_counts_every_event(self) -> None:
        for ticket in self.tickets:
            events = self.history.get(ticket.id, [])
            assert ticket.version == len(events)
            assert [e.originator_version for e in events] == list(range(1, len(events) + 1))

    @invariant()
    def replaying_the_events_rebuilds_the_ticket(self) -> None:
        for ticket in self.tickets:
            events = self.history[ticket.id]
            rebuilt = events[0].mutate(None)
            for event in events[1:]:
                rebuilt = event.mutate(rebuilt)
            assert state_of(rebuilt) == state_of(ticket)

    @invariant()
    def stored_ticket_equals_the_live_one(self) -> None:
        for ticket in self.tickets:
            stored = self.app.repository.get(ticket.id)
            assert state_of(stored) == state_of(ticket)
            stored_events = list(self.app.events.get(ticket.id))
            assert [type(e) for e in stored_events] == [type(e) for e in self.history[ticket.id]]
            assert all(e.meta.tenant == META.tenant for e in stored_events)


TicketLifecycle.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
TestTicketLifecycle = TicketLifecycle.TestCase
