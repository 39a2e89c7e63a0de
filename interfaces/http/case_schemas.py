"""The case file's shape for the OpenAPI document (GET /v1/cases). Answers are made by
application/case_files and sent as they are; these classes describe them."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class CaseActor(BaseModel):
    kind: str
    id: str


class CaseScopeView(BaseModel):
    kind: str
    field: str
    value: str
    ticket_ids: list[str]
    conversation_ids: list[str]
    customer_ids: list[str]


class CaseEntry(BaseModel):
    """One event of the case, as stored, made readable; `data` is the event's own fields."""

    id: str
    stream: str
    stream_id: str
    version: int
    type: str
    occurred_at: str
    channel: str | None
    ticket_id: str | None
    conversation_id: str | None
    actor: CaseActor
    automatic: bool
    summary: str
    reason: str | None
    causation_id: str | None
    cause_in_case: bool
    correlation_id: str | None
    command_id: str | None
    decision: dict[str, Any] | None
    tenant: str
    data: dict[str, Any]


class CaseClock(BaseModel):
    metric: str
    cycle: int
    target_seconds: int
    outcome: str  # met | missed | running | paused (now); met | missed | open (earlier)
    started_at: str | None
    stopped_at: str | None
    due_at: str | None
    missed_at: str | None


class CaseSla(BaseModel):
    judged: str
    policy: dict[str, Any] | None
    clocks: list[CaseClock]
    note: str | None


class CaseTicket(BaseModel):
    model_config = ConfigDict(extra="allow")

    ticket_id: str
    opened_at: str
    channel: str | None
    subject: str | None
    customer_id: str | None
    status: str | None
    priority: str | None
    category: str | None
    assignee_id: str | None
    team_id: str | None
    order_ids: list[str]
    merged_into: str | None
    replies: int
    customer_messages: int
    escalations: list[dict[str, Any]]
    sla: CaseSla


class ProofEvent(BaseModel):
    version: int
    topic: str
    state: str
    hash: str | None


class StreamProof(BaseModel):
    model_config = ConfigDict(extra="allow")

    stream_id: str
    events: list[ProofEvent]
    head_version: int | None
    head_hash: str | None
    checkpoint: dict[str, Any] | None


class CaseProof(BaseModel):
    algorithm: str
    genesis: str
    streams: list[StreamProof]
    digest: str


class CaseVerification(BaseModel):
    command: str
    digest: str
    covered: str
    not_covered: list[str]


class CaseFile(BaseModel):
    format: str
    tenant: str
    scope: CaseScopeView
    as_of: str
    as_of_requested: bool
    generated_at: str
    entries: list[CaseEntry]
    tickets: list[CaseTicket]
    proof: CaseProof
    verification: CaseVerification
