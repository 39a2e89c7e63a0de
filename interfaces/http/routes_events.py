"""The tenant's slice of the global ordered event log, for integrators to follow."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from . import schemas as s
from .deps import LedgerDep, ReaderDep
from .inputs import Digits, MAX_POSITION
from .problems import problem_responses
from .responses import PlainJSON

router = APIRouter(prefix="/v1", tags=["events"])


@router.get(
    "/events",
    response_model=s.FeedPage,
    responses=problem_responses(422),
    summary="Events after a position, in log order",
    description="Resume from `next_after`: a follower that does so misses nothing and sees nothing twice. "
    "`next_after` can move past `after` with no items when only other tenants' events lay in between.",
)
def events(
    caller: ReaderDep,
    ledger: LedgerDep,
    after: Annotated[int, Digits, Query(ge=0, le=MAX_POSITION)] = 0,
    limit: Annotated[int, Digits, Query(ge=1, le=1000)] = 100,
) -> PlainJSON:
    return PlainJSON(ledger.feed(caller.tenant, after, limit))
