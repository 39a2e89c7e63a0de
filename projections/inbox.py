"""The ticket inbox and its SLA clocks: one row per live ticket, shaped for agents' work queues.

`inbox_tickets` holds what a queue shows and filters on (status, priority, channel, language,
category, assignee, team, tags) and the sort keys of every view: the most urgent SLA due time
(`due_sort`), then priority (`priority_rank`), then age (`opened_ms`), then the ticket id. Each
view reads an index in that order, so a page is a LIMIT on an index range (see inbox_queries).
`inbox_ticket_tags` answers the tag filter. Unassigned tickets have assignee '' and tickets of
no team have team '' (not NULL), so the views' equality conditions use their indexes.

SLA: `sla_policies` keeps each policy's latest version, `inbox_customers` each customer's tier
(and who a merged customer became). When a ticket opens, its tenant's first matching active
policy (`domain.sla_policy.select_policy`) sets its terms and `domain.sla.TicketSla` starts its
clocks; customer messages, public replies by people and status changes drive them; a priority or
category change selects the policy again and re-targets the clocks when the choice (policy or
its version) differs. A policy revision alone changes no ticket: a ticket keeps the version it
is measured under until it is re-targeted. `sla_tickets` holds each ticket's whole SLA state
(`TicketSla.to_dict()`), `sla_clocks` one row per clock for reporting, and the inbox row the
most urgent due time. Whether a clock is breached *now* is worked out at query time.

A ticket merged into another leaves the inbox and its SLA rows go with it: a duplicate is not
a case whose targets were met or missed.

Speed: `prefetch` reads the batch's ticket, SLA and customer rows in a few statements and notes
the batch's last event; events then only change the rows in memory (a ticket's TicketSla lives
in its staged `state` and becomes JSON once, when the batch is written), and after the last
event each changed ticket's clocks, inbox row and the views' counters are staged once. Applied
without `prefetch` (a caller that does not announce the batch), rows are staged after every event.

Every row depends only on the events (times are the events' own, never the wall clock), so a
rebuild writes the same rows as following the log did.
"""
from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
    false,
    select,
    text,
)

from ledgerdesk.domain.business_hours import BusinessCalendar
from ledgerdesk.domain.sla import MetricClock, SlaTerms, TicketSla
from ledgerdesk.domain.sla_policy import SlaPolicySnapshot, select_policy

from .event_record import EventRecord
from .read_model import Batch, ReadModel
from .schema import generation_column, metadata

NAME = "inbox"
SUBJECT_EXCERPT = 120
UNASSIGNED = ""  # assignee and team of a ticket without one
# due_sort of a ticket with no running SLA clock: after every real due time (epoch ms).
DUE_NEVER = 2**62
PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
UNSOLVED_STATUSES = ("new", "open", "pending", "on_hold")
# Public replies that answer the customer: people's, whether typed here or relayed by an
# integrator from a channel's seller console. Automation (system, policy) fulfils no target.
HUMAN_REPLY_ACTORS = frozenset({"agent", "integrator"})
# A chain of customer merges longer than this is cut short (it cannot be, but a loop must not hang).
MAX_MERGE_HOPS = 50
_UNREAD: Any = object()


class SlaStateJSON(TypeDecorator):
    """The `TicketSla` of a ticket, stored as its `to_dict()` JSON.

    A batch keeps the live TicketSla object in the staged row and changes it event by event;
    it is turned into JSON once, when the batch is written. Reading gives the plain dict.
    """

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return value.to_dict() if isinstance(value, TicketSla) else value


inbox_tickets = Table(
    "inbox_tickets",
    metadata,
    generation_column(),
    Column("ticket_id", String(36), primary_key=True),
    Column("tenant", String(128), nullable=False),
    Column("customer_id", String(36), nullable=False),
    Column("subject", Text, nullable=False),  # its first SUBJECT_EXCERPT characters
    Column("channel", String(32), nullable=False),
    Column("language", String(35), nullable=True),
    Column("status", String(16), nullable=False),
    Column("priority", String(16), nullable=False),
    Column("priority_rank", SmallInteger, nullable=False),
    Column("category", String(32), nullable=True),
    Column("assignee", String(128), nullable=False),
    Column("team", String(128), nullable=False),
    Column("tags", JSON, nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("last_customer_message_at", DateTime(timezone=True), nullable=True),
    Column("reply_count", Integer, nullable=False),
    Column("sla_policy_id", String(36), nullable=True),
    Column("sla_policy_version", Integer, nullable=True),
    # The most urgent due time among the ticket's running SLA clocks; None when none runs.
    Column("next_due_at", DateTime(timezone=True), nullable=True),
    # Epoch milliseconds of next_due_at, or DUE_NEVER: the first sort key of every view.
    Column("due_sort", BigInteger, nullable=False),
    # When the ticket is (or, unless something happens, will be) in breach: the earliest due time
    # of a running clock or of a paused clock already past its target. breached <=> breach_at <= now.
    Column("breach_at", DateTime(timezone=True), nullable=True),
    # The clocks still counting or paused, as the list shows them at query time (clock_summary).
    Column("sla_clocks", JSON, nullable=True),
    Column("opened_ms", BigInteger, nullable=False),
    Index(None, "generation", "tenant", "due_sort", "priority_rank", "opened_ms", "ticket_id"),
    Index(None, "generation", "tenant", "assignee", "due_sort", "priority_rank", "opened_ms", "ticket_id"),
    Index(None, "generation", "tenant", "team", "due_sort", "priority_rank", "opened_ms", "ticket_id"),
    # counts' "breached": an index range up to now (breach_at is None once a ticket is solved).
    Index(None, "generation", "tenant", "breach_at", "status"),
)

# How many unsolved tickets each (status, assignee, team) holds, so counting a view reads a few
# rows, not every ticket; a bucket that empties is deleted.
inbox_counts = Table(
    "inbox_counts",
    metadata,
    generation_column(),
    Column("tenant", String(128), primary_key=True),
    Column("status", String(16), primary_key=True),
    Column("assignee", String(128), primary_key=True),
    Column("team", String(128), primary_key=True),
    Column("tickets", Integer, nullable=False),
)

inbox_ticket_tags = Table(
    "inbox_ticket_tags",
    metadata,
    generation_column(),
    Column("ticket_id", String(36), primary_key=True),
    Column("tag", String(64), primary_key=True),
    Index(None, "generation", "tag", "ticket_id"),
)

sla_policies = Table(
    "sla_policies",
    metadata,
    generation_column(),
    Column("policy_id", String(36), primary_key=True),
    Column("tenant", String(128), nullable=False),
    Column("version", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("rank", Integer, nullable=False),
    Column("defined_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("retired", Boolean, nullable=False),
    # {"match", "targets", "warning_percent", "calendar"} as the policy's latest event carries them.
    Column("body", JSON, nullable=False),
    Index(None, "generation", "tenant"),
)

inbox_customers = Table(
    "inbox_customers",
    metadata,
    generation_column(),
    Column("customer_id", String(36), primary_key=True),
    Column("tenant", String(128), nullable=False),
    Column("tier", String(40), nullable=True),
    Column("merged_into", String(36), nullable=True),
)

sla_tickets = Table(
    "sla_tickets",
    metadata,
    generation_column(),
    Column("ticket_id", String(36), primary_key=True),
    Column("tenant", String(128), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("priority", String(16), nullable=False),
    Column("category", String(32), nullable=True),
    Column("customer_id", String(36), nullable=False),
    Column("policy_id", String(36), nullable=True),
    Column("policy_version", Integer, nullable=True),
    Column("state", SlaStateJSON, nullable=False),  # TicketSla.to_dict()
)

# One row per clock (metric instance) of a ticket. Reports read it: a clock is met when stopped
# with breached_at null, missed when stopped with breached_at set or running with due_at < now.
sla_clocks = Table(
    "sla_clocks",
    metadata,
    generation_column(),
    Column("ticket_id", String(36), primary_key=True),
    Column("metric", String(32), primary_key=True),
    Column("cycle", Integer, primary_key=True, autoincrement=False),
    Column("tenant", String(128), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("target_seconds", Integer, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=True),
    Column("warning_at", DateTime(timezone=True), nullable=True),
    Column("stopped_at", DateTime(timezone=True), nullable=True),
    Column("breached_at", DateTime(timezone=True), nullable=True),
    # Defaults only for rows written by others (report fixtures): the model always sets both.
    Column("paused", Boolean, nullable=False, server_default=false()),
    Column("elapsed_seconds", Float, nullable=False, server_default=text("0")),
    Column("running_since", DateTime(timezone=True), nullable=True),
    # Reports read the clocks decided in a period: stopped in it, or (running) overdue in it.
    Index(None, "generation", "tenant", "stopped_at"),
    Index(None, "generation", "tenant", "due_at"),
)


def utc(moment: datetime) -> datetime:
    """An instant in UTC; SQLite hands stored instants back naive, and they were stored in UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def epoch_ms(moment: datetime) -> int:
    return int(utc(moment).timestamp() * 1000)


def excerpt(subject: str) -> str:
    return subject if len(subject) <= SUBJECT_EXCERPT else subject[: SUBJECT_EXCERPT - 1] + "…"


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else utc(moment).isoformat()


# -- SLA helpers ------------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _calendar(canonical: bytes) -> BusinessCalendar:
    return BusinessCalendar.from_dict(orjson.loads(canonical))


def policy_snapshot(row: dict[str, Any]) -> SlaPolicySnapshot:
    body = row["body"]
    return SlaPolicySnapshot(
        policy_id=row["policy_id"],
        version=row["version"],
        name=row["name"],
        rank=row["rank"],
        match=body["match"],
        targets=body["targets"],
        warning_percent=body["warning_percent"],
        calendar=body["calendar"],
        defined_at=utc(row["defined_at"]),
        retired=row["retired"],
    )


def policy_terms(policy: SlaPolicySnapshot) -> SlaTerms:
    """What a ticket under this version of the policy is measured on."""
    return SlaTerms(
        policy_id=policy.policy_id,
        policy_version=policy.version,
        targets={metric: seconds for metric, seconds in policy.targets.items() if seconds is not None},
        warning_percent=policy.warning_percent,
        calendar=_calendar(orjson.dumps(policy.calendar, option=orjson.OPT_SORT_KEYS)),
    )


def _warning_reached(clock: MetricClock) -> bool:
    share = timedelta(microseconds=clock.target_seconds * clock.warning_percent * 10_000)  # as MetricClock reckons it
    return timedelta(seconds=clock.elapsed_seconds) >= share


def _target_reached(clock: MetricClock) -> bool:
    return timedelta(seconds=clock.elapsed_seconds) >= timedelta(seconds=clock.target_seconds)


def clock_row(ticket_id: str, tenant: str, channel: str, clock: MetricClock) -> dict[str, Any]:
    return {
        "ticket_id": ticket_id,
        "metric": str(clock.metric),
        "cycle": clock.cycle,
        "tenant": tenant,
        "channel": channel,
        "target_seconds": clock.target_seconds,
        "started_at": clock.started_at,
        "due_at": clock.due_at,
        "warning_at": clock.warning_at,
        "stopped_at": clock.stopped_at,
        "breached_at": clock.breached_at,
        "paused": not clock.is_stopped and not clock.is_running,
        "elapsed_seconds": clock.elapsed_seconds,
        "running_since": clock.running_since,
    }


def inbox_sla_fields(sla: TicketSla, clocks: list[MetricClock]) -> dict[str, Any]:
    """The inbox row's SLA columns from the ticket's clocks; nothing here depends on the wall clock.

    A running clock is breached once now reaches its due_at and warns once now reaches its
    warning_at; a paused clock's elapsed time stands still, so whether it is past its target or
    its warning share is known already. Both are kept for the query to judge at its `now`.
    """
    live = []
    next_due: datetime | None = None
    breach: datetime | None = None
    for clock in clocks:
        if clock.is_stopped:
            continue
        if clock.is_running:
            if clock.due_at is not None:
                next_due = clock.due_at if next_due is None else min(next_due, clock.due_at)
                breach = clock.due_at if breach is None else min(breach, clock.due_at)
            live.append({"metric": str(clock.metric), "cycle": clock.cycle, "running": True,
                         "due_at": _iso(clock.due_at), "warning_at": _iso(clock.warning_at),
                         "breached": False, "warned": False})
        else:
            breached = _target_reached(clock)
            if breached:
                reached = clock.due_at or clock.running_since or clock.started_at
                breach = reached if breach is None else min(breach, reached)
            live.append({"metric": str(clock.metric), "cycle": clock.cycle, "running": False,
                         "due_at": _iso(clock.due_at), "warning_at": _iso(clock.warning_at),
                         "breached": breached, "warned": breached or _warning_reached(clock)})
    terms = sla.terms
    return {
        "sla_policy_id": terms.policy_id if terms is not None else None,
        "sla_policy_version": terms.policy_version if terms is not None else None,
        "next_due_at": next_due,
        "due_sort": epoch_ms(next_due) if next_due is not None else DUE_NEVER,
        "breach_at": breach,
        "sla_clocks": live or None,
    }


def _bucket(row: dict[str, Any]) -> tuple[str, str, str, str] | None:
    """The ticket's inbox_counts key; None when solved or closed (counts are of unsolved tickets)."""
    if row["status"] not in UNSOLVED_STATUSES:
        return None
    return row["tenant"], row["status"], row["assignee"], row["team"]


# -- what one batch works with ------------------------------------------------------------------------


@dataclass
class _TicketWork:
    """A ticket's SLA within one batch: the live TicketSla (also the staged row's `state`)."""

    row: dict[str, Any]  # the sla_tickets row, its `state` being `sla`
    sla: TicketSla
    stored_clocks: set[tuple[str, int]]  # clock keys stored before this batch
    clocks: dict[tuple[str, int], dict[str, Any]]  # each clock's row as last stored or staged


@dataclass
class _BatchState:
    # The position of the batch's last event, when `prefetch` announced the batch: the rows the
    # batch changes are then written once, after that event. Without it, after every event.
    last_position: int | None = None
    tickets: dict[str, _TicketWork] = field(default_factory=dict)
    # inbox_tickets rows as the batch has them (None: deleted), and which to write / re-clock.
    rows: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    changed_rows: set[str] = field(default_factory=set)
    changed_clocks: set[str] = field(default_factory=set)
    count_deltas: dict[tuple[str, str, str, str], int] = field(default_factory=dict)
    # Each tenant's policies (latest versions), loaded once per batch, kept up to date by the
    # batch's policy events; policies staged in this batch, by id (for tenants loaded later).
    policies: dict[str, dict[str, SlaPolicySnapshot]] = field(default_factory=dict)
    staged_policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    terms: dict[tuple[str, int], SlaTerms] = field(default_factory=dict)


_SLA_FIELDS_NONE = {"sla_policy_id": None, "sla_policy_version": None, "next_due_at": None, "due_sort": DUE_NEVER,
                    "breach_at": None, "sla_clocks": None}


class TicketInbox(ReadModel):
    name = NAME
    tables = (inbox_tickets, inbox_ticket_tags, inbox_counts, sla_policies, inbox_customers, sla_tickets, sla_clocks)
    event_types = frozenset(
        {
            "Ticket.Opened",
            "Ticket.CustomerMessageAdded",
            "Ticket.ReplySent",
            "Ticket.NoteAdded",
            "Ticket.StatusChanged",
            "Ticket.PriorityChanged",
            "Ticket.CategoryChanged",
            "Ticket.Assigned",
            "Ticket.Unassigned",
            "Ticket.TransferredToTeam",
            "Ticket.Tagged",
            "Ticket.Untagged",
            "Ticket.OrderLinked",
            "Ticket.MergedInto",
            "Ticket.TicketMergedIn",
            "Ticket.Rated",
            "Customer.Registered",
            "Customer.ProfileUpdated",
            "Customer.MergedInto",
            "SlaPolicy.Defined",
            "SlaPolicy.Revised",
            "SlaPolicy.Retired",
        }
    )

    def __init__(self) -> None:
        # Per batch (a batch is one transaction of one generation); gone with the batch.
        self._batches: weakref.WeakKeyDictionary[Batch, _BatchState] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def _state(self, batch: Batch) -> _BatchState:
        with self._lock:
            state = self._batches.get(batch)
            if state is None:
                state = self._batches[batch] = _BatchState()
            return state

    def prefetch(self, batch: Batch, events: list[EventRecord]) -> None:
        """Reads the batch's ticket, SLA and customer rows in a few statements, and notes its last
        event: the rows the batch changes are written once, after it."""
        if not events:
            return
        state = self._state(batch)
        state.last_position = events[-1].position
        opened = {e.aggregate_id for e in events if e.type == "Ticket.Opened"}
        tickets = {e.aggregate_id for e in events if e.type.startswith("Ticket.")} - opened
        keys = [{"ticket_id": t} for t in tickets]
        batch.table(inbox_tickets).prefetch(keys)
        batch.table(sla_tickets).prefetch(keys)
        registered = {e.aggregate_id for e in events if e.type == "Customer.Registered"}
        customers = {str(e.data["customer_id"]) for e in events if e.type == "Ticket.Opened"}
        customers |= {e.aggregate_id for e in events if e.type.startswith("Customer.")}
        reselected = {e.aggregate_id for e in events if e.type in ("Ticket.PriorityChanged", "Ticket.CategoryChanged")}
        staged = batch.table(sla_tickets)
        for ticket_id in reselected - opened:
            row = staged.get(ticket_id=ticket_id)  # prefetched above
            if row is not None:
                customers.add(row["customer_id"])
        batch.table(inbox_customers).prefetch({"customer_id": c} for c in customers - registered)

    def apply(self, batch: Batch, event: EventRecord) -> None:
        state = self._state(batch)
        kind = event.type
        if kind.startswith("Ticket."):
            self._ticket_event(batch, state, event)
        elif kind.startswith("Customer."):
            self._customer_event(batch, event)
        else:
            self._policy_event(batch, state, event)
        if state.last_position is None or event.position >= state.last_position:
            self._write(batch, state)

    # -- the batch's writes ---------------------------------------------------------------------------

    def _write(self, batch: Batch, state: _BatchState) -> None:
        """Stages what the events so far changed: clocks, inbox rows, counts."""
        for ticket_id in state.changed_clocks:
            work = state.tickets[ticket_id]
            fields = self._sync_clocks(batch, work)
            row = state.rows.get(ticket_id)
            if row is not None:
                row.update(fields)
                state.changed_rows.add(ticket_id)
        tickets = batch.table(inbox_tickets)
        for ticket_id in state.changed_rows:
            row = state.rows.get(ticket_id)
            if row is not None:
                tickets.put(row)
        state.changed_clocks.clear()
        state.changed_rows.clear()
        deltas = {key: n for key, n in state.count_deltas.items() if n}
        state.count_deltas.clear()
        if deltas:
            counters = batch.table(inbox_counts)
            keys = [dict(zip(("tenant", "status", "assignee", "team"), key)) for key in deltas]
            counters.prefetch(keys)
            for key, delta in zip(keys, deltas.values()):
                row = counters.get(**key) or {**key, "tickets": 0}
                row["tickets"] += delta
                if row["tickets"] > 0:
                    counters.put(row)
                else:
                    counters.delete(**key)

    @staticmethod
    def _count(state: _BatchState, key: tuple[str, str, str, str] | None, delta: int) -> None:
        if key is not None:
            state.count_deltas[key] = state.count_deltas.get(key, 0) + delta

    # -- tickets ------------------------------------------------------------------------------------

    def _ticket_event(self, batch: Batch, state: _BatchState, event: EventRecord) -> None:
        if event.type == "Ticket.Opened":
            self._opened(batch, state, event)
            return
        ticket_id = event.aggregate_id
        row = state.rows.get(ticket_id, _UNREAD)
        if row is _UNREAD:
            row = state.rows[ticket_id] = batch.table(inbox_tickets).get(ticket_id=ticket_id)
        if row is None:  # merged away already, or never seen opened
            return
        if event.type == "Ticket.MergedInto":
            self._merged_away(batch, state, row)
            return
        bucket = _bucket(row)
        data = event.data
        at = utc(event.occurred_at)
        row["updated_at"] = at
        kind = event.type
        sla: TicketSla | None = None
        if kind == "Ticket.CustomerMessageAdded":
            row["last_customer_message_at"] = at
            sla = self._work(batch, state, ticket_id).sla
            sla.customer_message(at)
        elif kind == "Ticket.ReplySent":
            row["reply_count"] += 1
            if event.actor_kind in HUMAN_REPLY_ACTORS:
                sla = self._work(batch, state, ticket_id).sla
                sla.agent_reply(at)
        elif kind == "Ticket.StatusChanged":
            row["status"] = str(data["to_status"])
            sla = self._work(batch, state, ticket_id).sla
            sla.status_changed(row["status"], at)
        elif kind == "Ticket.PriorityChanged":
            row["priority"] = str(data["to_priority"])
            row["priority_rank"] = PRIORITY_RANK[row["priority"]]
            sla = self._reselect(batch, state, row, at).sla
        elif kind == "Ticket.CategoryChanged":
            row["category"] = str(data["category"])
            sla = self._reselect(batch, state, row, at).sla
        elif kind == "Ticket.Assigned":
            row["assignee"] = data["agent_id"]
            if data.get("team_id") is not None:
                row["team"] = data["team_id"]
        elif kind == "Ticket.Unassigned":
            row["assignee"] = UNASSIGNED
        elif kind == "Ticket.TransferredToTeam":
            row["team"] = data["team_id"]
            row["assignee"] = UNASSIGNED
        elif kind == "Ticket.Tagged":
            self._tagged(batch, row, data["tags"])
        elif kind == "Ticket.Untagged":
            self._untagged(batch, row, data["tags"])
        if sla is not None:
            state.changed_clocks.add(ticket_id)
        state.changed_rows.add(ticket_id)
        if _bucket(row) != bucket:
            self._count(state, bucket, -1)
            self._count(state, _bucket(row), +1)

    def _opened(self, batch: Batch, state: _BatchState, event: EventRecord) -> None:
        data = event.data
        at = utc(event.occurred_at)
        ticket_id, tenant = event.aggregate_id, event.tenant
        priority, channel = str(data["priority"]), str(data["channel"])
        category = str(data["category"]) if data.get("category") else None
        customer_id = str(data["customer_id"])
        policy = self._select(batch, state, tenant, priority, channel, category, customer_id)
        sla = TicketSla(self._terms(state, policy))
        sla.opened(at)
        sla_row = {
            "ticket_id": ticket_id,
            "tenant": tenant,
            "channel": channel,
            "priority": priority,
            "category": category,
            "customer_id": customer_id,
            "policy_id": policy.policy_id if policy is not None else None,
            "policy_version": policy.version if policy is not None else None,
            "state": sla,
        }
        batch.table(sla_tickets).put(sla_row)
        state.tickets[ticket_id] = _TicketWork(sla_row, sla, set(), {})
        row = state.rows[ticket_id] = {
            "ticket_id": ticket_id,
            "tenant": tenant,
            "customer_id": customer_id,
            "subject": excerpt(data["subject"]),
            "channel": channel,
            "language": data.get("language"),
            "status": "new",
            "priority": priority,
            "priority_rank": PRIORITY_RANK[priority],
            "category": category,
            "assignee": UNASSIGNED,
            "team": UNASSIGNED,
            "tags": [],
            "opened_at": at,
            "updated_at": at,
            "last_customer_message_at": None,
            "reply_count": 0,
            "opened_ms": epoch_ms(at),
            **_SLA_FIELDS_NONE,
        }
        state.changed_clocks.add(ticket_id)
        state.changed_rows.add(ticket_id)
        self._count(state, _bucket(row), +1)

    @staticmethod
    def _tagged(batch: Batch, row: dict[str, Any], tags: list[str]) -> None:
        added = [t for t in tags if t not in row["tags"]]
        if not added:
            return
        row["tags"] = [*row["tags"], *added]
        staged = batch.table(inbox_ticket_tags)
        for tag in added:
            staged.put({"ticket_id": row["ticket_id"], "tag": tag})

    @staticmethod
    def _untagged(batch: Batch, row: dict[str, Any], tags: list[str]) -> None:
        removed = [t for t in row["tags"] if t in tags]
        if not removed:
            return
        row["tags"] = [t for t in row["tags"] if t not in removed]
        staged = batch.table(inbox_ticket_tags)
        for tag in removed:
            staged.delete(ticket_id=row["ticket_id"], tag=tag)

    def _merged_away(self, batch: Batch, state: _BatchState, row: dict[str, Any]) -> None:
        ticket_id = row["ticket_id"]
        staged = batch.table(inbox_ticket_tags)
        for tag in row["tags"]:
            staged.delete(ticket_id=ticket_id, tag=tag)
        batch.table(inbox_tickets).delete(ticket_id=ticket_id)
        state.rows[ticket_id] = None
        state.changed_rows.discard(ticket_id)
        state.changed_clocks.discard(ticket_id)
        self._count(state, _bucket(row), -1)
        work = self._work(batch, state, ticket_id)
        clocks = batch.table(sla_clocks)
        for metric, cycle in work.stored_clocks | set(work.clocks):
            clocks.delete(ticket_id=ticket_id, metric=metric, cycle=cycle)
        batch.table(sla_tickets).delete(ticket_id=ticket_id)
        del state.tickets[ticket_id]

    # -- a ticket's SLA -----------------------------------------------------------------------------

    def _work(self, batch: Batch, state: _BatchState, ticket_id: str) -> _TicketWork:
        """The ticket's SLA for this batch, read from its stored row the first time."""
        work = state.tickets.get(ticket_id)
        if work is None:
            staged = batch.table(sla_tickets)
            row = staged.get(ticket_id=ticket_id)
            if row is None:
                # The inbox row and this one come and go together; should one ever be missing,
                # the ticket is not measured (TicketSla ignores facts before `opened`) rather
                # than the projection stopping. A rebuild measures it.
                inbox_row = state.rows.get(ticket_id) or {}
                row = {"ticket_id": ticket_id, "tenant": inbox_row.get("tenant", ""), "channel": inbox_row.get("channel", ""),
                       "priority": inbox_row.get("priority", "normal"), "category": inbox_row.get("category"),
                       "customer_id": inbox_row.get("customer_id", ""), "policy_id": None, "policy_version": None,
                       "state": TicketSla(None)}
            sla = row["state"] if isinstance(row["state"], TicketSla) else TicketSla.from_dict(row["state"])
            row["state"] = sla
            staged.put(row)
            clocks = {}
            for clock in sla.clocks:
                stored = clock_row(ticket_id, row["tenant"], row["channel"], clock)
                clocks[(stored["metric"], stored["cycle"])] = stored
            work = state.tickets[ticket_id] = _TicketWork(row, sla, set(clocks), clocks)
        return work

    def _reselect(self, batch: Batch, state: _BatchState, row: dict[str, Any], at: datetime) -> _TicketWork:
        """Priority or category changed: the ticket's policy is chosen again and, if it is another
        policy or another version of it, the clocks take its terms from `at` on."""
        work = self._work(batch, state, row["ticket_id"])
        sla_row = work.row
        sla_row["priority"], sla_row["category"] = row["priority"], row["category"]
        policy = self._select(
            batch, state, sla_row["tenant"], sla_row["priority"], sla_row["channel"], sla_row["category"], sla_row["customer_id"]
        )
        chosen = (policy.policy_id, policy.version) if policy is not None else (None, None)
        if chosen != (sla_row["policy_id"], sla_row["policy_version"]):
            work.sla.retarget(self._terms(state, policy), at)
            sla_row["policy_id"], sla_row["policy_version"] = chosen
        batch.table(sla_tickets).put(sla_row)
        return work

    @staticmethod
    def _sync_clocks(batch: Batch, work: _TicketWork) -> dict[str, Any]:
        """Stages the clock rows that changed; answers the inbox row's SLA columns."""
        sla_row = work.row
        ticket_id, tenant, channel = sla_row["ticket_id"], sla_row["tenant"], sla_row["channel"]
        staged = batch.table(sla_clocks)
        clocks = work.sla.clocks
        current = set()
        for clock in clocks:
            fresh = clock_row(ticket_id, tenant, channel, clock)
            key = (fresh["metric"], fresh["cycle"])
            current.add(key)
            if work.clocks.get(key) != fresh:
                staged.put(fresh)
                work.clocks[key] = fresh
        for key in [k for k in work.clocks if k not in current]:  # a metric no longer measured
            staged.delete(ticket_id=ticket_id, metric=key[0], cycle=key[1])
            del work.clocks[key]
        return inbox_sla_fields(work.sla, clocks)

    # -- policies and customers, as a ticket's policy is chosen ---------------------------------------

    def _select(
        self, batch: Batch, state: _BatchState, tenant: str, priority: str, channel: str, category: str | None, customer_id: str
    ) -> SlaPolicySnapshot | None:
        policies = self._policies(batch, state, tenant).values()
        # The customer's tier is looked up only when some active policy matches on tiers.
        uses_tiers = any(p.match.get("customer_tiers") and not p.retired for p in policies)
        tier = self._tier(batch, customer_id) if uses_tiers else None
        return select_policy(policies, priority, channel, category, tier)

    @staticmethod
    def _policies(batch: Batch, state: _BatchState, tenant: str) -> dict[str, SlaPolicySnapshot]:
        """The tenant's policies, read once per batch, with the batch's own policy events applied."""
        policies = state.policies.get(tenant)
        if policies is None:
            p = sla_policies
            rows = batch.conn.execute(
                select(p).where(p.c.generation == batch.generation, p.c.tenant == tenant)
            ).mappings()
            policies = {row["policy_id"]: policy_snapshot(dict(row)) for row in rows}
            for policy_id, row in state.staged_policies.items():
                if row["tenant"] == tenant:
                    policies[policy_id] = policy_snapshot(row)
            state.policies[tenant] = policies
        return policies

    @staticmethod
    def _terms(state: _BatchState, policy: SlaPolicySnapshot | None) -> SlaTerms | None:
        if policy is None:
            return None
        key = (policy.policy_id, policy.version)
        terms = state.terms.get(key)
        if terms is None:
            terms = state.terms[key] = policy_terms(policy)
        return terms

    @staticmethod
    def _tier(batch: Batch, customer_id: str) -> str | None:
        """The customer's tier, or its survivor's when it was merged into another customer."""
        customers = batch.table(inbox_customers)
        row = customers.get(customer_id=customer_id)
        hops = 0
        while row is not None and row["merged_into"] is not None and hops < MAX_MERGE_HOPS:
            survivor = customers.get(customer_id=row["merged_into"])
            if survivor is None:
                break
            row, hops = survivor, hops + 1
        return row["tier"] if row is not None else None

    @staticmethod
    def _customer_event(batch: Batch, event: EventRecord) -> None:
        customers = batch.table(inbox_customers)
        data = event.data
        if event.type == "Customer.Registered":
            customers.put({"customer_id": event.aggregate_id, "tenant": event.tenant, "tier": data.get("tier"), "merged_into": None})
            return
        row = customers.get(customer_id=event.aggregate_id)
        if row is None:
            return
        if event.type == "Customer.ProfileUpdated":
            if data.get("tier") is None:  # None: the tier did not change
                return
            row["tier"] = data["tier"]
        else:  # Customer.MergedInto
            row["merged_into"] = str(data["survivor_id"])
        customers.put(row)

    @staticmethod
    def _policy_event(batch: Batch, state: _BatchState, event: EventRecord) -> None:
        staged = batch.table(sla_policies)
        at = utc(event.occurred_at)
        data = event.data
        if event.type == "SlaPolicy.Defined":
            row: dict[str, Any] | None = {"policy_id": event.aggregate_id, "tenant": event.tenant, "defined_at": at, "retired": False}
        else:
            row = staged.get(policy_id=event.aggregate_id)
            if row is None:
                return
        assert row is not None
        if event.type == "SlaPolicy.Retired":
            row["retired"] = True
        else:
            row["name"], row["rank"] = data["name"], data["rank"]
            row["body"] = {key: data[key] for key in ("match", "targets", "warning_percent", "calendar")}
        row["version"] = event.version
        row["updated_at"] = at
        staged.put(row)
        state.staged_policies[row["policy_id"]] = row
        loaded = state.policies.get(row["tenant"])
        if loaded is not None:
            loaded[row["policy_id"]] = policy_snapshot(row)
