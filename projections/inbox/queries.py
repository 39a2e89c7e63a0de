"""Queries of the ticket inbox: a view's page of tickets, and the counts of every view.

Views: `all`, `unassigned` (no agent), `agent:<agent id>`, `team:<team id>`. Filters, each a
list of accepted values (OR within a filter, AND across filters): status (default: the unsolved
statuses new, open, pending, on_hold), priority, channel, language, category, tag.

Tickets come most urgent SLA due time first, then by priority (urgent first), then oldest
first, then by ticket id. Pages are cut by keyset: the cursor is the last row's sort key, so a
page never repeats or skips a ticket because others were opened or closed meanwhile.

SLA states are worked out at `now`, the caller's clock: the read model itself depends on the
events alone.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select, tuple_

from ledgerdesk.domain.channel import Channel
from ledgerdesk.domain.errors import InvalidValue
from ledgerdesk.domain.ticket_values import Category, Priority, TicketStatus, checked_tag

from .. import cursors
from ..instants import iso, utc
from ..store import ReadStore
from .projection import NAME, UNASSIGNED, UNSOLVED_STATUSES
from .tables import inbox_counts, inbox_ticket_tags, inbox_tickets

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_FILTER_VALUES = 50
MAX_LANGUAGE = 35
FILTERS = ("status", "priority", "channel", "language", "category", "tag")
_CURSOR_VERSION = 1


@dataclass(frozen=True)
class View:
    kind: str  # all | unassigned | agent | team
    member: str | None = None

    @classmethod
    def parse(cls, raw: str | None) -> View:
        text = (raw or "all").strip()
        if text in ("all", "unassigned"):
            return cls(text)
        kind, _, member = text.partition(":")
        member = member.strip()
        if kind in ("agent", "team") and member and len(member) <= 128:
            return cls(kind, member)
        raise InvalidValue(
            f"a view is all, unassigned, agent:<agent id> or team:<team id>, not {text[:80]!r}", field="view"
        )


def _enum_values(values: Iterable[str], kind: Any, field: str) -> list[str]:
    checked = []
    for value in values:
        try:
            checked.append(kind(value.strip().lower()).value)
        except ValueError:
            allowed = ", ".join(m.value for m in kind)
            raise InvalidValue(f"{value[:40]!r} is not one of: {allowed}", field=field) from None
    return checked


def _languages(values: Iterable[str]) -> list[str]:
    checked = []
    for value in values:
        language = value.strip()
        if not language or len(language) > MAX_LANGUAGE or not all(ch.isalnum() or ch in "-_" for ch in language):
            raise InvalidValue(f"a language is a tag such as en or zh-Hans, not {value[:40]!r}", field="language")
        checked.append(language)
    return checked


def _tags(values: Iterable[str]) -> list[str]:
    checked = []
    for value in values:
        try:
            checked.append(checked_tag(value))
        except InvalidValue as error:
            raise InvalidValue(error.message, field="tag") from None
    return checked


def checked_filters(raw: Mapping[str, Sequence[str] | str | None] | None) -> dict[str, list[str]]:
    """Each filter's distinct accepted values in canonical form; status defaults to the unsolved ones."""
    raw = dict(raw or {})
    unknown = [name for name in raw if name not in FILTERS]
    if unknown:
        raise InvalidValue(f"the filters are {', '.join(FILTERS)}", field=str(unknown[0]))
    given: dict[str, list[str]] = {}
    for name in FILTERS:
        values = raw.get(name) or []
        if isinstance(values, str):
            values = [values]
        if len(values) > MAX_FILTER_VALUES:
            raise InvalidValue(f"at most {MAX_FILTER_VALUES} values of one filter", field=name)
        given[name] = list(values)
    checked = {
        "status": _enum_values(given["status"], TicketStatus, "status") or list(UNSOLVED_STATUSES),
        "priority": _enum_values(given["priority"], Priority, "priority"),
        "channel": _enum_values(given["channel"], Channel, "channel"),
        "language": _languages(given["language"]),
        "category": _enum_values(given["category"], Category, "category"),
        "tag": _tags(given["tag"]),
    }
    return {name: list(dict.fromkeys(values)) for name, values in checked.items()}


# -- cursors ------------------------------------------------------------------------------------


def encode_cursor(row: Mapping[str, Any]) -> str:
    return cursors.encode([_CURSOR_VERSION, row["due_sort"], row["priority_rank"], row["opened_ms"], row["ticket_id"]])


def decode_cursor(cursor: str) -> tuple[int, int, int, str]:
    version, due_sort, priority_rank, opened_ms, ticket_id = cursors.decode(cursor, (int, int, int, int, str))
    if version != _CURSOR_VERSION:
        raise InvalidValue("not a cursor this API gave out; start again without one", field="cursor")
    return due_sort, priority_rank, opened_ms, ticket_id


# -- SLA at query time ----------------------------------------------------------------------------


def _instant(raw: Any) -> datetime | None:
    if raw is None:
        return None
    return utc(datetime.fromisoformat(raw) if isinstance(raw, str) else raw)


def sla_summary(row: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The ticket's SLA at `now`: state active / paused / breached (None when no clock counts)."""
    breached = warning = running = False
    for clock in row["sla_clocks"] or ():
        if clock["running"]:
            running = True
            due_at, warning_at = _instant(clock["due_at"]), _instant(clock["warning_at"])
            clock_breached = due_at is not None and now >= due_at
            clock_warning = clock_breached or (warning_at is not None and now >= warning_at)
        else:
            clock_breached = bool(clock["breached"])
            clock_warning = clock_breached or bool(clock["warned"])
        breached = breached or clock_breached
        warning = warning or clock_warning
    if breached:
        state = "breached"
    elif running:
        state = "active"
    elif row["sla_clocks"]:
        state = "paused"
    else:
        state = None
    next_due_at = row["next_due_at"]
    return {
        "policy_id": row["sla_policy_id"],
        "policy_version": row["sla_policy_version"],
        "state": state,
        "next_due_at": utc(next_due_at).isoformat() if next_due_at is not None else None,
        "breached": breached,
        "warning": warning,
    }


def item(row: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "ticket_id": row["ticket_id"],
        "customer_id": row["customer_id"],
        "subject": row["subject"],
        "channel": row["channel"],
        "language": row["language"],
        "status": row["status"],
        "priority": row["priority"],
        "category": row["category"],
        "assignee": row["assignee"] or None,
        "team": row["team"] or None,
        "tags": list(row["tags"]),
        "opened_at": iso(row["opened_at"]),
        "updated_at": iso(row["updated_at"]),
        "last_customer_message_at": iso(row["last_customer_message_at"]),
        "reply_count": row["reply_count"],
        "sla": sla_summary(row, now),
    }


# -- queries ------------------------------------------------------------------------------------


def _view_condition(view: View) -> Any:
    t = inbox_tickets
    if view.kind == "unassigned":
        return t.c.assignee == UNASSIGNED
    if view.kind == "agent":
        return t.c.assignee == view.member
    if view.kind == "team":
        return t.c.team == view.member
    return None


def _in(column: Any, values: list[str]) -> Any:
    return column == values[0] if len(values) == 1 else column.in_(values)


def _page_query(generation: int, tenant: str, view: View, filters: dict[str, list[str]], after: tuple | None, limit: int) -> Any:
    t = inbox_tickets
    conditions = [t.c.generation == generation, t.c.tenant == tenant]
    by_view = _view_condition(view)
    if by_view is not None:
        conditions.append(by_view)
    for name in ("status", "priority", "channel", "language", "category"):
        if filters[name]:
            conditions.append(_in(t.c[name], filters[name]))
    if filters["tag"]:
        # Each ticket the index-ordered scan reaches is checked by one probe of the tag table's
        # primary key (generation, ticket_id, tag). OFFSET 0 keeps PostgreSQL from turning the
        # EXISTS into a join, which, on statistics not yet gathered (a fresh generation), it
        # planned as re-reading every ticket with the tag for each ticket scanned.
        g = inbox_ticket_tags
        tagged = (
            select(g.c.ticket_id)
            .where(g.c.generation == generation, g.c.ticket_id == t.c.ticket_id, _in(g.c.tag, filters["tag"]))
            .offset(0)
        )
        conditions.append(tagged.exists())
    sort = (t.c.due_sort, t.c.priority_rank, t.c.opened_ms, t.c.ticket_id)
    if after is not None:
        conditions.append(tuple_(*sort) > tuple_(*after))
    return select(t).where(and_(*conditions)).order_by(*sort).limit(limit + 1)


def inbox(
    store: ReadStore,
    tenant: str,
    view: str | View | None = "all",
    filters: Mapping[str, Sequence[str] | str | None] | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
    now: datetime | None = None,
) -> dict[str, Any]:
    """One page of a view: `{"items": [...], "next_cursor": str | None}`."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidValue(f"limit is a whole number from 1 to {MAX_LIMIT}", field="limit")
    if now is None:
        raise InvalidValue("the time to judge SLA states at is required", field="now")
    now = utc(now)
    chosen = view if isinstance(view, View) else View.parse(view)
    checked = checked_filters(filters)
    after = decode_cursor(cursor) if cursor else None
    with store.reading() as conn:
        generation = store.active_generation(conn, NAME)
        rows = conn.execute(_page_query(generation, tenant, chosen, checked, after, limit)).mappings().all()
    page = rows[:limit]
    return {
        "items": [item(row, now) for row in page],
        "next_cursor": encode_cursor(page[-1]) if len(rows) > limit else None,
    }


def counts(store: ReadStore, tenant: str, now: datetime) -> dict[str, Any]:
    """How many unsolved tickets each view holds, by status, and how many are in breach at `now`."""
    now = utc(now)
    c, t = inbox_counts, inbox_tickets
    with store.reading() as conn:
        generation = store.active_generation(conn, NAME)
        buckets = conn.execute(
            select(c.c.status, c.c.assignee, c.c.team, c.c.tickets).where(c.c.generation == generation, c.c.tenant == tenant)
        ).all()
        breached = conn.execute(
            select(func.count()).where(
                t.c.generation == generation,
                t.c.tenant == tenant,
                t.c.breach_at <= now,
                t.c.status.in_(UNSOLVED_STATUSES),
            )
        ).scalar()
    answer: dict[str, Any] = {
        "all": 0,
        "unassigned": 0,
        "agents": {},
        "teams": {},
        "by_status": dict.fromkeys(UNSOLVED_STATUSES, 0),
        "breached": breached or 0,
    }
    for status, assignee, team, n in buckets:
        answer["all"] += n
        answer["by_status"][status] = answer["by_status"].get(status, 0) + n
        if assignee == UNASSIGNED:
            answer["unassigned"] += n
        else:
            answer["agents"][assignee] = answer["agents"].get(assignee, 0) + n
        if team != UNASSIGNED:
            answer["teams"][team] = answer["teams"].get(team, 0) + n
    answer["agents"] = dict(sorted(answer["agents"].items()))
    answer["teams"] = dict(sorted(answer["teams"].items()))
    return answer


def team_queues(store: ReadStore, tenant: str) -> dict[str, int]:
    """Each team's queue: its unsolved tickets with no agent."""
    c = inbox_counts
    with store.reading() as conn:
        generation = store.active_generation(conn, NAME)
        rows = conn.execute(
            select(c.c.team, func.sum(c.c.tickets)).where(
                c.c.generation == generation, c.c.tenant == tenant, c.c.assignee == UNASSIGNED, c.c.team != UNASSIGNED)
            .group_by(c.c.team)
        ).all()
    return {team: int(n) for team, n in rows}
