"""The workload's tables: agents, their teams, every live ticket's assignee and status, and the
open tickets of each agent."""
from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, Integer, String, Table, text

from ..schema import generation_column, metadata

# One row per agent, by aggregate id (an Agent event names its aggregate, only Registered the
# tenant's own agent id).
agents = Table(
    "agents",
    metadata,
    generation_column(),
    Column("agent_key", String(36), primary_key=True),
    Column("tenant", String(128), nullable=False),
    Column("agent_id", String(128), nullable=False),
    Column("name", String(200), nullable=False),
    Column("teams", JSON, nullable=False),
    Column("skills", JSON, nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("presence", String(16), nullable=False),  # domain.agent.Presence
    Column("presence_since", DateTime(timezone=True), nullable=False),
    # Slots the agent holds (Agent.TicketTaken less Agent.TicketReleased), as routing reserved them.
    Column("held_slots", Integer, nullable=False),
    # Tickets ever taken: routing's round robin among equals (Agent.taken_total), so the router
    # loads only the agents next in turn.
    Column("taken_total", Integer, nullable=False, server_default=text("0")),
    Column("version", BigInteger, nullable=False),
    Column("registered_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index(None, "generation", "tenant", "agent_id", unique=True),
)

# Which agents are in which team: the list's team filter.
agent_teams = Table(
    "agent_teams",
    metadata,
    generation_column(),
    Column("tenant", String(128), primary_key=True),
    Column("team", String(128), primary_key=True),
    Column("agent_id", String(128), primary_key=True),
)

# The teams defined (Team aggregates): their name and escalation team. A team with members but
# never defined has no row here; its members are in agent_teams.
teams = Table(
    "teams",
    metadata,
    generation_column(),
    Column("team_key", String(36), primary_key=True),  # the aggregate's id: Team.Changed names only that
    Column("tenant", String(128), nullable=False),
    Column("team", String(128), nullable=False),
    Column("name", String(200), nullable=False),
    Column("escalation_team", String(128), nullable=True),
    Column("version", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index(None, "generation", "tenant", "team", unique=True),
)

# Every ticket not closed: its assignee ('' when none) and status, so a reopened ticket goes back
# to its agent's open tickets. A closed ticket (merged ones too) is final and leaves.
workload_tickets = Table(
    "workload_tickets",
    metadata,
    generation_column(),
    Column("ticket_id", String(36), primary_key=True),
    Column("tenant", String(128), nullable=False),
    Column("assignee", String(128), nullable=False),
    Column("status", String(16), nullable=False),
)

# The open tickets of each agent: assigned to it and not solved or closed, since when.
agent_tickets = Table(
    "agent_tickets",
    metadata,
    generation_column(),
    Column("tenant", String(128), primary_key=True),
    Column("agent_id", String(128), primary_key=True),
    Column("ticket_id", String(36), primary_key=True),
    Column("since", DateTime(timezone=True), nullable=False),
)
