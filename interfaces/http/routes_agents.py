"""Agents: /v1/agents. Each agent is the tenant's own id; its profile and presence are commands,
its open tickets come from the workload read model.

Who may manage agents: integrators (an HR or workforce sync) and admins. An agent may also set
its own presence; auditors only read.
"""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from ledgerdesk.application import commands as c
from ledgerdesk.application.agent_handlers import agent_named, no_agent
from ledgerdesk.application.errors import Forbidden, NotFound
from ledgerdesk.domain.channel import ChannelKind
from ledgerdesk.domain.agent import AGENT_ID_PATTERN, AGENT_ID_RULE, Agent, Presence
from ledgerdesk.interfaces.settings import Role
from ledgerdesk.projections.agents import queries as agent_queries
from ledgerdesk.projections.store import ReadStore

from . import agent_schemas as a
from . import schemas as s
from .access import AccessDep
from .deps import Caller, CallerDep, LedgerDep, ReaderDep, read_model
from .inputs import Digits, MAX_VERSION
from .problems import problem_responses
from .responses import PlainJSON, command_answer

router = APIRouter(prefix="/v1/agents", tags=["agents"])

# Who configures the helpdesk (agents, teams, SLA policies): the shop's own systems and its admins.
MANAGERS = frozenset({Role.INTEGRATOR, Role.ADMIN})
AgentIdPath = Annotated[str, Path(pattern=AGENT_ID_PATTERN, max_length=128, description=AGENT_ID_RULE,
                                  examples=["li.na"])]
AgentsStore = Annotated[ReadStore, read_model(agent_queries.AGENTS)]


async def get_manager(caller: CallerDep) -> Caller:
    if caller.key.role not in MANAGERS:
        raise Forbidden("only an integrator or an admin manages agents, teams and SLA policies", field="Authorization")
    return caller


ManagerDep = Annotated[Caller, Depends(get_manager)]


def agent_view(agent: Agent, workload: dict[str, Any]) -> dict[str, Any]:
    return {
        "agent_id": agent.agent_id,
        "version": agent.version,
        "name": agent.name,
        "teams": list(agent.teams),
        "skills": {k: list(v) for k, v in agent.skills.items()},
        "capacity": agent.capacity,
        "capacity_by_channel_kind": dict(agent.capacity_by_kind),
        "held_by_channel_kind": {str(kind): agent.load_of(kind) for kind in ChannelKind if agent.load_of(kind)},
        "presence": agent.presence.value,
        "held_ticket_ids": [str(t) for t in agent.open_ticket_ids],
        **workload,
        "registered_at": agent.created_on.isoformat(),
        "updated_at": agent.modified_on.isoformat(),
    }


@router.put("/{agent_id}", response_model=a.AgentAnswer, status_code=200,
            summary="Register an agent (201) or replace its whole profile (200); the same profile again appends nothing",
            description="With `expected_version` the PUT only updates: an agent that does not exist is a 404.",
            responses={201: {"model": a.AgentAnswer, "description": "Registered"},
                       **problem_responses(400, 403, 404, 409, 413, 422)})
def put_agent(agent_id: AgentIdPath, body: a.AgentIn, caller: ManagerDep, ledger: LedgerDep) -> PlainJSON:
    command = c.PutAgent(
        caller.context(body.reason),
        agent_id=agent_id,
        name=body.name,
        teams=tuple(body.teams),
        skills=body.skills.model_dump(mode="json"),
        capacity=body.capacity,
        capacity_by_channel_kind=body.capacity_by_channel_kind.given(),
        expected_version=body.expected_version,
    )
    outcome = ledger.execute(command)
    return command_answer(outcome, status_code=201 if outcome.result.get("created") else 200)


@router.post("/{agent_id}/presence", response_model=a.AgentAnswer, summary="Set an agent online, away or offline",
             responses=problem_responses(400, 403, 404, 409, 413, 422))
def set_presence(agent_id: AgentIdPath, body: a.PresenceIn, caller: CallerDep, ledger: LedgerDep) -> PlainJSON:
    if caller.key.role not in MANAGERS and not (caller.key.role is Role.AGENT and caller.key.actor == agent_id):
        # An unknown agent is "not found" for anyone; a known one is another's to set.
        agent_named(ledger, caller.tenant, agent_id)
        raise Forbidden("an agent sets only its own presence; integrators and admins set anyone's", field="Authorization")
    command = c.ChangeAgentPresence(caller.context(body.reason), agent_id, body.status.value,
                                    expected_version=body.expected_version)
    return command_answer(ledger.execute(command))


@router.get("/{agent_id}", response_model=a.AgentOut, summary="An agent's profile and presence, with its open tickets",
            description="The profile is the agent's current version; its open tickets (assigned to it, not solved or "
            "closed) come from the workload read model: pass a command's `position` as `min_position` to see its effect.",
            responses=problem_responses(404, 422))
def get_agent(agent_id: AgentIdPath, caller: ReaderDep, ledger: LedgerDep, store: AgentsStore) -> PlainJSON:
    agent = agent_named(ledger, caller.tenant, agent_id)
    return PlainJSON(agent_view(agent, agent_queries.open_tickets(store, caller.tenant, agent.agent_id)))


@router.get("/{agent_id}/history", response_model=s.HistoryPage, summary="Every event of an agent, with audit metadata",
            responses=problem_responses(404, 422, 503))
def get_history(
    agent_id: AgentIdPath,
    caller: ReaderDep,
    ledger: LedgerDep,
    access: AccessDep,
    after_version: Annotated[int, Digits, Query(ge=0, le=MAX_VERSION)] = 0,
    limit: Annotated[int, Digits, Query(ge=1, le=1000)] = 100,
) -> PlainJSON:
    try:
        page = ledger.history(caller.tenant, Agent, Agent.id_for(caller.tenant, agent_id), after_version, limit, "agent_id")
    except NotFound:
        raise no_agent(agent_id) from None
    access.record("history", f"agent/{agent_id}", {"after_version": after_version, "limit": limit})
    return PlainJSON(page)


@router.get("", response_model=a.AgentPage, summary="The tenant's agents by id, with their open-ticket counts",
            description="Filter by `team` and `presence`. Pass `next_cursor` back as `cursor` for the next page; "
            "it is null on the last page. From the workload read model.",
            responses=problem_responses(422))
def list_agents(
    caller: ReaderDep,
    store: AgentsStore,
    team: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    presence: Presence | None = None,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
    limit: Annotated[int, Digits, Query(ge=1, le=agent_queries.MAX_LIMIT)] = agent_queries.DEFAULT_LIMIT,
) -> PlainJSON:
    return PlainJSON(agent_queries.agents_list(store, caller.tenant, team, presence.value if presence else None, cursor, limit))
