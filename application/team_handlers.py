"""The team command: define a team, or change its name and escalation team."""
from __future__ import annotations

from typing import Any

from ledgerdesk.domain.errors import VersionConflict
from ledgerdesk.domain.team import Team
from ledgerdesk.domain.ticket_values import checked_member_id

from . import commands as c
from .errors import NotFound
from .unit_of_work import UnitOfWork


def put_team(uow: UnitOfWork, cmd: c.PutTeam) -> dict[str, Any]:
    team_id = checked_member_id(cmd.team_id, field="team_id")
    team = uow.find(Team, Team.id_for(uow.tenant, team_id))
    if team is None:
        if cmd.expected_version is not None:
            raise NotFound(f"no team {team_id!r} to update; leave expected_version out to define it", field="team_id")
        team = Team.define(uow.meta, uow.at, team_id, cmd.name, cmd.escalation_team)
        uow.add(team)
        created = True
    else:
        if cmd.expected_version is not None and cmd.expected_version != team.version:
            raise VersionConflict(cmd.expected_version, team.version)
        team.change(uow.meta, uow.at, cmd.name, cmd.escalation_team)
        created = False
    return {"team_id": team.team_id, "version": team.version, "created": created}


TEAM_HANDLERS = {c.PutTeam: put_team}
