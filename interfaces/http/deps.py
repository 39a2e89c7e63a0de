"""Request dependencies shared by every route: the ledger, and the caller as a command context.

They do no I/O, so they are `async def`: FastAPI runs a plain `def` dependency in the thread
pool, and each such hand-off costs more than the dependency itself.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

import anyio
import anyio.to_thread
from fastapi import Depends, Header, Query, Request

from ledgerdesk.application.commands import CommandContext
from ledgerdesk.application.errors import Forbidden, NotFound
from ledgerdesk.application.ledger import Ledger
from ledgerdesk.domain.audit import Actor, ActorKind
from ledgerdesk.domain.errors import InvalidValue
from ledgerdesk.interfaces.settings import ApiKey, Role
from ledgerdesk.projections.store import ReadStore
from ledgerdesk.projections.tracking import ReadModelTracking

from .read_model_position import STATE_KEY as READ_MODEL_POSITION

ACTOR_KIND_OF_ROLE = {Role.INTEGRATOR: ActorKind.INTEGRATOR, Role.AGENT: ActorKind.AGENT, Role.ADMIN: ActorKind.AGENT}


async def get_ledger(request: Request) -> Ledger:
    return request.app.state.ledger


async def get_principal(request: Request) -> ApiKey:
    return request.scope["state"]["principal"]


def _header_value(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value or len(value) > 255:
        raise InvalidValue(f"the {name} header has 1 to 255 characters", field=name)
    return value


@dataclass(frozen=True)
class Caller:
    key: ApiKey
    idempotency_key: str | None
    correlation_id: str | None
    causation_id: str | None

    @property
    def tenant(self) -> str:
        return self.key.tenant

    def context(self, reason: str | None = None) -> CommandContext:
        """The audit context of a command; auditors only read."""
        kind = ACTOR_KIND_OF_ROLE.get(self.key.role)
        if kind is None:
            raise Forbidden(f"the {self.key.role} role only reads", field="Authorization")
        command_id = self.idempotency_key or str(uuid.uuid4())
        return CommandContext(
            tenant=self.key.tenant,
            actor=Actor(kind, self.key.actor),
            command_id=command_id,
            correlation_id=self.correlation_id or command_id,
            causation_id=self.causation_id,
            reason=reason,
            idempotent=self.idempotency_key is not None,
        )


async def get_caller(
    principal: Annotated[ApiKey, Depends(get_principal)],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    correlation_id: Annotated[str | None, Header(alias="X-Correlation-Id")] = None,
    causation_id: Annotated[str | None, Header(alias="X-Causation-Id")] = None,
) -> Caller:
    return Caller(
        principal,
        _header_value(idempotency_key, "Idempotency-Key"),
        _header_value(correlation_id, "X-Correlation-Id"),
        _header_value(causation_id, "X-Causation-Id"),
    )


LedgerDep = Annotated[Ledger, Depends(get_ledger)]
CallerDep = Annotated[Caller, Depends(get_caller)]


READ_YOUR_WRITES_TIMEOUT_SECONDS = 2.0


def read_model(name: str) -> Any:
    """The read store, for a route that reads the read model `name`.

    With `?min_position=P` (the `position` a command answered) the query waits, up to two
    seconds, until the read model has applied the log up to P: read-your-writes. The answer's
    `X-Read-Model-Position` header then says how far the read model had read (if still short of
    P, the caller sees it and may retry).
    """

    async def dependency(
        request: Request,
        min_position: Annotated[
            int | None, Query(ge=0, description="wait (up to 2 s) until the read model has applied the log up to here")
        ] = None,
    ) -> ReadStore:
        store: ReadStore | None = request.app.state.read_store
        if store is None:
            raise NotFound("this API process serves no read models", field="path")
        if min_position is None:
            return store
        tracking = ReadModelTracking(store, name)
        position = await anyio.to_thread.run_sync(tracking.max_tracking_id, tracking.application_name)
        deadline = time.monotonic() + READ_YOUR_WRITES_TIMEOUT_SECONDS
        while (position or 0) < min_position and time.monotonic() < deadline:
            await anyio.sleep(0.01)
            position = await anyio.to_thread.run_sync(tracking.max_tracking_id, tracking.application_name)
        setattr(request.state, READ_MODEL_POSITION, position or 0)  # answered as a header: read_model_position.py
        return store

    return Depends(dependency)
