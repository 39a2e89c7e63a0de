"""How far each read model has read the log: /v1/projections."""
from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from ledgerdesk.application.errors import NotFound
from ledgerdesk.projections.status import for_tenant, status

from .deps import ReaderDep, RuntimeDep
from .problems import problem_responses
from .responses import PlainJSON

router = APIRouter(prefix="/v1", tags=["projections"])


class LastError(BaseModel):
    at: str | None
    kind: str


class ParkedEventOut(BaseModel):
    read_model: str
    position: int
    tenant: str | None
    event_type: str
    aggregate_id: str
    error: str
    parked_at: str | None
    retries: int
    last_retry_at: str | None


class Parked(BaseModel):
    events: int
    held_since: int | None
    yours: list[ParkedEventOut]


class Rebuilding(BaseModel):
    generation: int
    position: int


class ReadModelStatus(BaseModel):
    name: str
    state: str
    generation: int
    position: int
    head: int
    lag: int
    moved_at: str | None
    last_error: LastError | None
    parked: Parked
    rebuilding: Rebuilding | None


class ProjectionsOut(BaseModel):
    items: list[ReadModelStatus]


@router.get(
    "/projections",
    response_model=ProjectionsOut,
    responses=problem_responses(404),
    summary="Each read model's state, position, the log head and the lag, and your parked events",
    description="`state` is running (caught up), catching_up, stalled (behind and not moving) or failing "
    "(its last attempt failed, e.g. the database; `last_error` says when and what kind). `lag` counts log "
    "positions not yet applied (all tenants' events). `parked.events` counts the events a read model could "
    "not apply (all tenants'); `parked.yours` lists yours, and `parked.held_since` says from which position "
    "your later events wait for an operator's `ledgerdesk projections retry` (other tenants go on). During a "
    "rebuild, `rebuilding` shows the new generation's progress; queries keep reading the active generation.",
)
def projections(caller: ReaderDep, runtime: RuntimeDep) -> PlainJSON:
    projector = runtime.projector
    if projector is None:
        raise NotFound("this API process serves no read models", field="path")
    return PlainJSON({"items": for_tenant(status(projector, tenant=caller.tenant), caller.tenant)})
