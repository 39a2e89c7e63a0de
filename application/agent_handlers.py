"""One handler per agent command, and the slot functions routing composes into its own commands.

An agent is found by the tenant's own id: its aggregate id derives from (tenant, agent id), and
the load checks the tenant, so another tenant's agent of the same id is none of ours.
"""
from __future__ import annotations

from typing import Any
from uuid import UUID

from ledgerdesk.domain.agent import Agent, checked_agent_id
from ledgerdesk.domain.errors import VersionConflict
from ledgerdesk.domain.channel import kind_of
from ledgerdesk.domain.ticket import Ticket

from . import commands as c
from .errors import NotFound
from .unit_of_work import UnitOfWork


def _answer(agent: Agent, **extra: Any) -> dict[str, Any]:
    return {"agent_id": agent.agent_id, "version": agent.version, **extra}


def no_agent(agent_id: str) -> NotFound:
    """An agent is named by the tenant's own id, never by the aggregate id derived from it."""
    return NotFound(f"no agent {agent_id[:128]!r}", field="agent_id")


def get_agent(uow: UnitOfWork, agent_id: str, *, expected_version: int | None = None) -> Agent:
    """The tenant's agent of that id (a NotFound naming agent_id if none), at `expected_version` if given."""
    agent_id = checked_agent_id(agent_id)
    try:
        return uow.get(Agent, Agent.id_for(uow.tenant, agent_id), field="agent_id", expected_version=expected_version)
    except NotFound:
        raise no_agent(agent_id) from None


def agent_named(ledger: Any, tenant: str, agent_id: str) -> Agent:
    """The tenant's agent of that id, for a query; a NotFound naming it if none."""
    try:
        return ledger.aggregate(tenant, Agent, Agent.id_for(tenant, agent_id), "agent_id")
    except NotFound:
        raise no_agent(agent_id) from None


def put_agent(uow: UnitOfWork, cmd: c.PutAgent) -> dict[str, Any]:
    agent_id = checked_agent_id(cmd.agent_id)
    agent = uow.find(Agent, Agent.id_for(uow.tenant, agent_id))
    if agent is None:
        if cmd.expected_version is not None:
            # An update of a version the caller saw, of an agent that does not exist (here).
            raise NotFound(f"no agent {agent_id!r} to update; leave expected_version out to register it", field="agent_id")
        agent = Agent.register(uow.meta, uow.at, agent_id, cmd.name, cmd.teams, cmd.skills, cmd.capacity,
                               cmd.capacity_by_channel_kind)
        uow.add(agent)
        return _answer(agent, created=True)
    if cmd.expected_version is not None and cmd.expected_version != agent.version:
        raise VersionConflict(cmd.expected_version, agent.version)
    agent.change_profile(uow.meta, uow.at, cmd.name, cmd.teams, cmd.skills, cmd.capacity, cmd.capacity_by_channel_kind)
    return _answer(agent, created=False)


def change_agent_presence(uow: UnitOfWork, cmd: c.ChangeAgentPresence) -> dict[str, Any]:
    agent = get_agent(uow, cmd.agent_id, expected_version=cmd.expected_version)
    agent.change_presence(uow.meta, uow.at, cmd.status)
    return _answer(agent, presence=agent.presence.value)


def take_slot(uow: UnitOfWork, agent_id: str, ticket_id: UUID, *, expected_version: int | None = None) -> Agent:
    """The agent holds a slot for the tenant's ticket, in this unit of work: whatever else the
    command appends (Ticket.assign, say) is stored with it or not at all. Raises IllegalTransition
    when the agent is not online or at capacity, NotFound for an unknown agent or ticket."""
    agent = get_agent(uow, agent_id, expected_version=expected_version)
    ticket = uow.get(Ticket, ticket_id, field="ticket_id")
    agent.take(uow.meta, uow.at, ticket_id, kind_of(ticket.channel))
    return agent


def release_slot(uow: UnitOfWork, agent_id: str, ticket_id: UUID, *, expected_version: int | None = None) -> Agent:
    """The agent gives the ticket's slot back (nothing changes if it held none)."""
    agent = get_agent(uow, agent_id, expected_version=expected_version)
    agent.release(uow.meta, uow.at, ticket_id)
    return agent


def take_ticket(uow: UnitOfWork, cmd: c.TakeTicket) -> dict[str, Any]:
    agent = take_slot(uow, cmd.agent_id, cmd.ticket_id, expected_version=cmd.expected_version)
    return _answer(agent, ticket_id=str(cmd.ticket_id), open_tickets=agent.load)


def release_ticket(uow: UnitOfWork, cmd: c.ReleaseTicket) -> dict[str, Any]:
    agent = release_slot(uow, cmd.agent_id, cmd.ticket_id, expected_version=cmd.expected_version)
    return _answer(agent, ticket_id=str(cmd.ticket_id), open_tickets=agent.load)


AGENT_HANDLERS = {
    c.PutAgent: put_agent,
    c.ChangeAgentPresence: change_agent_presence,
    c.TakeTicket: take_ticket,
    c.ReleaseTicket: release_ticket,
}
