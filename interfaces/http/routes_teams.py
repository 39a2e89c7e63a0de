"""Teams: /v1/teams. A team's members are the agents who list it; its queue is its unassigned
tickets (the inbox's); the team itself holds its name and the team it escalates to.

Managed by integrators and admins, like agents; everyone reads.
"""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from ledgerdesk.application import commands as c
from ledgerdesk.application.errors import NotFound
from ledgerdesk.domain.agent import AGENT_ID_PATTERN
from ledgerdesk.domain.names import NAME_RULE
from ledgerdesk.domain.team import MAX_NAME, Team
from ledgerdesk.projections.agents import queries as agent_queries
from ledgerdesk.projections.inbox import queries as inbox_queries
from ledgerdesk.projections.store import ReadStore

from .deps import LedgerDep, ReaderDep, read_model
from .inputs import MAX_VERSION
from .problems import problem_responses
from .responses import PlainJSON, command_answer
from .routes_agents import ManagerDep
from .schemas import Body, Reason, TeamRef, Whole

router = APIRouter(prefix="/v1/teams", tags=["teams"])

TeamIdPath = Annotated[str, Path(pattern=AGENT_ID_PATTERN, max_length=128, examples=["refunds"],
                                 description="the tenant's own team id, as agents list it")]
AgentsStore = Annotated[ReadStore, read_model(agent_queries.AGENTS)]
InboxStore = Annotated[ReadStore, read_model(inbox_queries.NAME)]


class TeamIn(Body):
    name: Annotated[str, Field(min_length=1, max_length=MAX_NAME, description=NAME_RULE)]
    escalation_team: TeamRef | None = Field(
        default=None, description="the team this team's tickets escalate to (an SLA policy's transfer_to_escalation_team)")
    expected_version: Whole | None = Field(default=None, ge=1, le=MAX_VERSION,
                                           description="the team version you saw; a stale one is a 409")
    reason: Reason = None


class TeamAnswer(BaseModel):
    model_config = ConfigDict(extra="allow")
    team_id: str
    version: int
    position: int | None = None


class TeamOut(BaseModel):
    team_id: str
    name: str | None = Field(description="null: agents list the team, but it was never defined")
    escalation_team: str | None
    defined: bool
    members: list[str] = Field(description="the agents who list the team, by id")
    waiting: int = Field(description="its queue: unsolved tickets of the team with no agent")


class TeamList(BaseModel):
    items: list[TeamOut]


@router.put("/{team_id}", response_model=TeamAnswer, status_code=200,
            summary="Define a team (201) or change its name and escalation team (200)",
            responses={201: {"model": TeamAnswer, "description": "Defined"}, **problem_responses(400, 403, 404, 409, 413, 422)})
def put_team(team_id: TeamIdPath, body: TeamIn, caller: ManagerDep, ledger: LedgerDep) -> PlainJSON:
    command = c.PutTeam(caller.context(body.reason), team_id, body.name, body.escalation_team,
                        expected_version=body.expected_version)
    outcome = ledger.execute(command)
    return command_answer(outcome, status_code=201 if outcome.result.get("created") else 200)


@router.get("", response_model=TeamList, summary="The tenant's teams: defined, or listed by an agent; members and queue",
            responses=problem_responses(422))
def list_teams(caller: ReaderDep, agents: AgentsStore, inbox: InboxStore) -> PlainJSON:
    waiting = inbox_queries.team_queues(inbox, caller.tenant)
    return PlainJSON({"items": [{**team, "waiting": waiting.get(team["team_id"], 0)}
                                for team in agent_queries.teams_list(agents, caller.tenant)]})


@router.get("/{team_id}", response_model=TeamOut, summary="A team: its name, escalation team, members and queue",
            responses=problem_responses(404, 422))
def get_team(team_id: TeamIdPath, caller: ReaderDep, ledger: LedgerDep, agents: AgentsStore, inbox: InboxStore) -> PlainJSON:
    known = next((t for t in agent_queries.teams_list(agents, caller.tenant) if t["team_id"] == team_id), None)
    try:
        team = ledger.aggregate(caller.tenant, Team, Team.id_for(caller.tenant, team_id), "team_id")
    except NotFound:
        team = None
    if known is None and team is None:
        raise NotFound(f"no team {team_id!r}", field="team_id")
    view = known or {"team_id": team_id, "members": []}
    if team is not None:  # the aggregate, which the read model may not have caught up with
        view = {**view, "name": team.name, "escalation_team": team.escalation_team, "defined": True}
    return PlainJSON({**view, "waiting": inbox_queries.team_queues(inbox, caller.tenant).get(team_id, 0)})
