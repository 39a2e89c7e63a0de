"""How far each read model has read the log: /v1/projections."""
from __future__ import annotations

from fastapi import APIRouter, Request

from ledgerdesk.application.errors import NotFound
from ledgerdesk.projections.status import for_tenant, status

from .deps import CallerDep
from .responses import PlainJSON

router = APIRouter(prefix="/v1", tags=["projections"])


@router.get(
    "/projections",
    summary="Each read model's state, position, the log head and the lag, and your parked events",
    description="`state` is running (caught up), catching_up, stalled (behind and not moving) or failing "
    "(its last attempt failed, e.g. the database; `last_error` says when and what kind). `lag` counts log "
    "positions not yet applied (all tenants' events). `parked.events` counts the events a read model could "
    "not apply (all tenants'); `parked.yours` lists yours, and `parked.held_since` says from which position "
    "your later events wait for an operator's `ledgerdesk projections retry` (other tenants go on). During a "
    "rebuild, `rebuilding` shows the new generation's progress; queries keep reading the active generation.",
)
def projections(request: Request, caller: CallerDep) -> PlainJSON:
    projector = request.app.state.projector
    if projector is None:
        raise NotFound("this API process serves no read models", field="path")
    return PlainJSON({"items": for_tenant(status(projector, tenant=caller.tenant), caller.tenant)})
