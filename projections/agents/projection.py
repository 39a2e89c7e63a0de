"""How Agent and Ticket events change the workload read model.

An agent's open tickets are the tickets assigned to it (Ticket.Assigned; Unassigned and
TransferredToTeam take them away) that are not solved or closed (Ticket.StatusChanged; a merged
ticket is closed). A solved ticket that reopens goes back to its assignee. Every value comes from
the events (times are the events' own), so a rebuild writes the same rows.
"""
from __future__ import annotations

from typing import Any

from ..event_record import EventRecord
from ..instants import utc
from ..read_model import Batch, ReadModel
from .tables import agent_teams, agent_tickets, agents, teams, workload_tickets

NAME = "agents"
UNASSIGNED = ""
OPEN_STATUSES = frozenset({"new", "open", "pending", "on_hold"})
CLOSED = "closed"

AGENT_EVENTS = frozenset(
    {"Agent.Registered", "Agent.ProfileChanged", "Agent.PresenceChanged", "Agent.TicketTaken", "Agent.TicketReleased"}
)
TEAM_EVENTS = frozenset({"Team.Defined", "Team.Changed"})
TICKET_EVENTS = frozenset(
    {"Ticket.Opened", "Ticket.Assigned", "Ticket.Unassigned", "Ticket.TransferredToTeam", "Ticket.StatusChanged",
     "Ticket.MergedInto"}
)


def _open_with(row: dict[str, Any] | None) -> str | None:
    """The agent a ticket row counts as open for, if any."""
    if row is None or row["assignee"] == UNASSIGNED or row["status"] not in OPEN_STATUSES:
        return None
    return row["assignee"]


class AgentWorkload(ReadModel):
    name = NAME
    tables = (agents, agent_teams, workload_tickets, agent_tickets, teams)
    event_types = AGENT_EVENTS | TICKET_EVENTS | TEAM_EVENTS

    def prefetch(self, batch: Batch, events: list[EventRecord]) -> None:
        changed_agents = {e.aggregate_id for e in events if e.type in AGENT_EVENTS and e.type != "Agent.Registered"}
        tickets = {e.aggregate_id for e in events if e.type in TICKET_EVENTS and e.type != "Ticket.Opened"}
        batch.table(agents).prefetch({"agent_key": a} for a in changed_agents)
        batch.table(workload_tickets).prefetch({"ticket_id": t} for t in tickets)

    def apply(self, batch: Batch, event: EventRecord) -> None:
        if event.type in AGENT_EVENTS:
            self._agent(batch, event)
        elif event.type in TEAM_EVENTS:
            self._team(batch, event)
        else:
            self._ticket(batch, event)

    @staticmethod
    def _team(batch: Batch, event: EventRecord) -> None:
        data, table = event.data, batch.table(teams)
        if event.type == "Team.Defined":
            row: dict[str, Any] | None = {"team_key": event.aggregate_id, "tenant": event.tenant, "team": data["team_id"]}
        else:
            row = table.get(team_key=event.aggregate_id)
            if row is None:
                return
        row.update(name=data["name"], escalation_team=data["escalation_team"], version=event.version,
                   updated_at=utc(event.occurred_at))
        table.put(row)

    # -- agents ---------------------------------------------------------------------------

    @staticmethod
    def _agent(batch: Batch, event: EventRecord) -> None:
        table = batch.table(agents)
        data = event.data
        at = utc(event.occurred_at)
        if event.type == "Agent.Registered":
            registered = {
                "agent_key": event.aggregate_id,
                "tenant": event.tenant,
                "agent_id": data["agent_id"],
                "name": data["name"],
                "teams": data["teams"],
                "skills": data["skills"],
                "capacity": data["capacity"],
                "presence": "offline",
                "presence_since": at,
                "held_slots": 0,
                "taken_total": 0,
                "version": event.version,
                "registered_at": at,
                "updated_at": at,
            }
            _set_teams(batch, event.tenant, data["agent_id"], [], data["teams"])
            table.put(registered)
            return
        row = table.get(agent_key=event.aggregate_id)
        if row is None:
            return
        if event.type == "Agent.ProfileChanged":
            _set_teams(batch, row["tenant"], row["agent_id"], row["teams"], data["teams"])
            row.update(name=data["name"], teams=data["teams"], skills=data["skills"], capacity=data["capacity"])
        elif event.type == "Agent.PresenceChanged":
            row.update(presence=data["to_presence"], presence_since=at)
        elif event.type == "Agent.TicketTaken":
            row["held_slots"] += 1
            row["taken_total"] += 1
        else:
            row["held_slots"] = max(0, row["held_slots"] - 1)
        row.update(version=event.version, updated_at=at)
        table.put(row)

    # -- tickets --------------------------------------------------------------------------

    @staticmethod
    def _ticket(batch: Batch, event: EventRecord) -> None:
        table = batch.table(workload_tickets)
        if event.type == "Ticket.Opened":
            before = None
            after: dict[str, Any] | None = {
                "ticket_id": event.aggregate_id, "tenant": event.tenant, "assignee": UNASSIGNED, "status": "new",
            }
        else:
            before = table.get(ticket_id=event.aggregate_id)
            if before is None:
                return  # closed already: final
            after = dict(before)
            if event.type == "Ticket.Assigned":
                after["assignee"] = event.data["agent_id"]
            elif event.type in ("Ticket.Unassigned", "Ticket.TransferredToTeam"):
                after["assignee"] = UNASSIGNED
            elif event.type == "Ticket.StatusChanged":
                after["status"] = event.data["to_status"]
            else:  # Ticket.MergedInto
                after["status"] = CLOSED
        assert after is not None
        was, now = _open_with(before), _open_with(after)
        if was != now:
            open_tickets = batch.table(agent_tickets)
            if was is not None:
                open_tickets.delete(tenant=event.tenant, agent_id=was, ticket_id=event.aggregate_id)
            if now is not None:
                open_tickets.put({"tenant": event.tenant, "agent_id": now, "ticket_id": event.aggregate_id,
                                  "since": utc(event.occurred_at)})
        if after["status"] == CLOSED:
            table.delete(ticket_id=event.aggregate_id)
        else:
            table.put(after)


def _set_teams(batch: Batch, tenant: str, agent_id: str, old: list[str], new: list[str]) -> None:
    teams = batch.table(agent_teams)
    for team in set(old) - set(new):
        teams.delete(tenant=tenant, team=team, agent_id=agent_id)
    for team in set(new) - set(old):
        teams.put({"tenant": tenant, "team": team, "agent_id": agent_id})
