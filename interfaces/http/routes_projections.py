"""How far each read model has read the log: /v1/projections."""
from __future__ import annotations

from fastapi import APIRouter, Request

from ledgerdesk.application.errors import NotFound
from ledgerdesk.projections.status import status

from .deps import CallerDep
from .responses import PlainJSON

router = APIRouter(prefix="/v1", tags=["projections"])


@router.get(
    "/projections",
    summary="Each read model's position, the log head and the lag",
    description="`lag` counts log positions not yet applied (all tenants' events). During a rebuild, "
    "`rebuilding` shows the new generation's progress; queries keep reading the active generation.",
)
def projections(request: Request, caller: CallerDep) -> PlainJSON:
    projector = request.app.state.projector
    if projector is None:
        raise NotFound("this API process serves no read models", field="path")
    return PlainJSON({"items": status(projector)})
