"""The as-of property: for any sequence of commands on a ticket, the ticket as of each command's time
(and as of each version) is exactly the ticket as it stood right after that command, and equals
replaying its log up to there. On SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import timedelta
from itertools import takewhile
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import project_aggregate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledgerdesk.application import commands as c
from ledgerdesk.application.as_of import Moment
from ledgerdesk.application.errors import NotFound
from ledgerdesk.application.ledger import Ledger
from ledgerdesk.domain.audit import Actor, ActorKind
from ledgerdesk.domain.errors import DomainError
from ledgerdesk.domain.ticket import Ticket
from ledgerdesk.interfaces.http.views import ticket_view
from tests.conftest import random_ref

pytestmark = pytest.mark.integration


def ctx(tenant: str) -> c.CommandContext:
    command_id = str(uuid4())
    return c.CommandContext(tenant, Actor(ActorKind.AGENT, "ada"), command_id, command_id)


TAGS = st.sampled_from(["vip", "refund", "late", "fragile"])
STEPS = st.one_of(
    st.builds(lambda text: ("reply", text), st.text(alphabet="abc 你好", min_size=1, max_size=8).filter(str.strip)),
    st.builds(lambda s: ("status", s), st.sampled_from(["open", "pending", "on_hold", "solved", "closed"])),
    st.builds(lambda p: ("priority", p), st.sampled_from(["low", "normal", "high", "urgent"])),
    st.builds(lambda a: ("assign", a), st.sampled_from(["ada", "bo", "cy"])),
    st.builds(lambda add, remove: ("tags", add, remove), st.lists(TAGS, max_size=2), st.lists(TAGS, max_size=2)),
)


def command(tenant: str, ticket_id: UUID, step: tuple[Any, ...]) -> Any:
    kind = step[0]
    if kind == "reply":
        return c.ReplyToTicket(ctx(tenant), ticket_id, text=step[1])
    if kind == "status":
        return c.ChangeTicketStatus(ctx(tenant), ticket_id, status=step[1])
    if kind == "priority":
        return c.ChangeTicketPriority(ctx(tenant), ticket_id, priority=step[1])
    if kind == "assign":
        return c.AssignTicket(ctx(tenant), ticket_id, agent_id=step[1])
    return c.RetagTicket(ctx(tenant), ticket_id, add=tuple(step[1]), remove=tuple(step[2]))


def replayed_to(ledger: Ledger, ticket_id: UUID, version: int) -> Ticket:
    """The oracle: the ticket's stored events up to `version`, applied one by one."""
    events = ledger.repository.event_store.get(ticket_id)
    return project_aggregate(None, takewhile(lambda e: e.originator_version <= version, events))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEPS, min_size=1, max_size=10))
def test_a_ticket_as_of_each_commands_time_is_the_ticket_right_after_it(ledger: Ledger, steps: list[tuple[Any, ...]]) -> None:
    tenant = random_ref("t-")
    opened = ledger.execute(c.OpenTicket(ctx(tenant), "Where is my parcel?", customer=c.CustomerHints(email=f"{random_ref()}@x.com")))
    ticket_id = UUID(opened.result["ticket_id"])
    after_each = [ledger.aggregate(tenant, Ticket, ticket_id)]
    for step in steps:
        try:
            outcome = ledger.execute(command(tenant, ticket_id, step))
        except DomainError:
            continue  # an illegal transition (a closed ticket, say) stores nothing
        if outcome.position is not None:
            after_each.append(ledger.aggregate(tenant, Ticket, ticket_id))

    for seen in after_each:
        expected = ticket_view(seen)
        at_time = ledger.aggregate_as_of(tenant, Ticket, ticket_id, Moment(at=seen.modified_on))
        just_before_next = ledger.aggregate_as_of(tenant, Ticket, ticket_id, Moment(at=seen.modified_on + timedelta(milliseconds=500)))
        at_version = ledger.aggregate_as_of(tenant, Ticket, ticket_id, Moment(version=seen.version))
        assert ticket_view(at_time) == ticket_view(just_before_next) == ticket_view(at_version) == expected
        assert ticket_view(replayed_to(ledger, ticket_id, seen.version)) == expected
    with pytest.raises(NotFound) as before:
        ledger.aggregate_as_of(tenant, Ticket, ticket_id, Moment(at=after_each[0].created_on - timedelta(microseconds=1)), "ticket_id")
    assert before.value.field == "as_of"
