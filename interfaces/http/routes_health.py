"""Liveness and readiness, without a key: /healthz and /readyz."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from ledgerdesk.projections.status import status

from .inputs import Digits
from .deps import RuntimeDep
from .problems import problem_responses
from .responses import PlainJSON

router = APIRouter(tags=["health"])


class Alive(BaseModel):
    status: str


class ReadModelLag(BaseModel):
    name: str
    state: str
    lag: int


class Readiness(BaseModel):
    ready: bool
    database: str
    detail: str | None = None
    read_models: list[ReadModelLag]


@router.get("/healthz", response_model=Alive, summary="The process is alive")
async def healthz() -> PlainJSON:
    return PlainJSON({"status": "alive"})


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "not ready: the database is unreachable, or a read model lags"},
               **problem_responses(422)},
    summary="Ready to serve: the database answers and the read models are close to the log",
    description="200 when the event database answers and no read model lags the log by more than `max_lag` "
    "positions (default: LEDGERDESK_READY_MAX_LAG) or is failing; else 503 with the reason. With the projections "
    "in their own process (LEDGERDESK_PROJECTIONS=external) the read models count only when `max_lag` is given. "
    "`?max_lag=0` waits for read models wholly caught up, as a script that queries right after seeding wants.",
)
def readyz(runtime: RuntimeDep, max_lag: Annotated[int | None, Digits, Query(ge=0, le=2**62)] = None) -> PlainJSON:
    # With the projections in their own process (`ledgerdesk project`), this process serves
    # commands whatever their lag: only a caller's explicit max_lag makes it count.
    judged = max_lag is not None or runtime.follower is not None
    allowed = runtime.settings.ready_max_lag if max_lag is None else max_lag
    try:
        runtime.ledger.recorder.max_notification_id()
        models = status(runtime.projector) if runtime.projector is not None else []
    except Exception as error:  # noqa: BLE001 - unreachable is an answer here, not an error
        return PlainJSON({"ready": False, "database": "unreachable", "detail": f"{type(error).__name__}: {error}"[:300],
                          "read_models": []}, status_code=503)
    lagging = [m for m in models if judged and (m["lag"] > allowed or m["state"] == "failing")]
    body = {
        "ready": not lagging,
        "database": "reachable",
        "detail": f"read models behind: {', '.join(m['name'] for m in lagging)}" if lagging else None,
        "read_models": [{"name": m["name"], "state": m["state"], "lag": m["lag"]} for m in models],
    }
    return PlainJSON(body, status_code=200 if not lagging else 503)


# Load balancers probe with HEAD as often as with GET: the same answers, without a body.
router.add_api_route("/healthz", healthz, methods=["HEAD"], include_in_schema=False)
router.add_api_route("/readyz", readyz, methods=["HEAD"], include_in_schema=False)
