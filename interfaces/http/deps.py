"""Request dependencies shared by every route: the runtime's parts, the caller, and input checks.

They do no I/O, so they are `async def`: FastAPI runs a plain `def` dependency in the thread
pool, and each such hand-off costs more than the dependency itself.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Annotated, Any, get_args, get_origin
from uuid import UUID

import anyio
import anyio.to_thread
from fastapi import Depends, Header, Query, Request
from fastapi.security import HTTPBearer

from ledgerdesk.application.agent_handlers import no_agent
from ledgerdesk.application.commands import CommandContext
from ledgerdesk.application.errors import Forbidden, NotFound
from ledgerdesk.application.ledger import Ledger
from ledgerdesk.application.ports import Clock
from ledgerdesk.application.unit_of_work import load, owned
from ledgerdesk.domain.agent import Agent, is_agent_id
from ledgerdesk.domain.audit import Actor, ActorKind
from ledgerdesk.domain.conversation import Conversation
from ledgerdesk.domain.customer import Customer
from ledgerdesk.domain.errors import InvalidValue
from ledgerdesk.domain.quarantined_mail import QuarantinedMail
from ledgerdesk.domain.sla_policy import SlaPolicy
from ledgerdesk.domain.ticket import Ticket
from ledgerdesk.interfaces.bootstrap import Runtime
from ledgerdesk.interfaces.settings import ApiKey, Role
from ledgerdesk.projections.store import ReadStore
from ledgerdesk.projections.tracking import ReadModelTracking

from .inputs import MAX_POSITION, Digits, refuse_control_characters
from .read_model_position import STATE_KEY as READ_MODEL_POSITION

ACTOR_KIND_OF_ROLE = {Role.INTEGRATOR: ActorKind.INTEGRATOR, Role.AGENT: ActorKind.AGENT, Role.ADMIN: ActorKind.AGENT}

# The OpenAPI document's security scheme (the /docs Authorize button); the key itself is
# checked by the ApiKeyAuth middleware before anything else runs.
bearer = HTTPBearer(auto_error=False, description="an API key from LEDGERDESK_API_KEYS")


async def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


async def get_ledger(request: Request) -> Ledger:
    return request.app.state.runtime.ledger


async def get_clock(request: Request) -> Clock:
    return request.app.state.runtime.clock


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
    idempotency_key: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None

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


async def get_reader(principal: Annotated[ApiKey, Depends(get_principal)]) -> Caller:
    return Caller(principal)


# Printable ASCII, no space at either end: ids a client makes up.
AUDIT_HEADER = r"^[!-~](?:[ -~]{0,253}[!-~])?$"


async def get_caller(
    principal: Annotated[ApiKey, Depends(get_principal)],
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", pattern=AUDIT_HEADER, description="makes the command safe to retry: "
                           "a repeat answers the first answer again, with `Idempotent-Replayed: true`")
    ] = None,
    correlation_id: Annotated[
        str | None, Header(alias="X-Correlation-Id", pattern=AUDIT_HEADER, description="ties commands of one case together")
    ] = None,
    causation_id: Annotated[
        str | None, Header(alias="X-Causation-Id", pattern=AUDIT_HEADER, description="the event or message that caused it")
    ] = None,
) -> Caller:
    return Caller(
        principal,
        _header_value(idempotency_key, "Idempotency-Key"),
        _header_value(correlation_id, "X-Correlation-Id"),
        _header_value(causation_id, "X-Causation-Id"),
    )


def _is_list(annotation: Any) -> bool:
    return get_origin(annotation) is list or any(_is_list(arg) for arg in get_args(annotation))


def _query_names(dependant: Any) -> dict[str, bool]:
    """Each query parameter the route (and its dependencies) takes, and whether it may repeat."""
    names = {param.alias: _is_list(param.field_info.annotation) for param in dependant.query_params}
    for sub in dependant.dependencies:
        names.update(_query_names(sub))
    return names


_QUERY_NAMES: dict[int, dict[str, bool]] = {}


async def checked_query_and_headers(request: Request) -> None:
    """Every query parameter is one the route knows (a typo such as `priorty=urgent` would
    otherwise widen a query silently) and given once unless it is a list, and no query or header
    holds NUL or another C0 control character (tab, CR and LF aside). An unknown path id still
    answers 404 first."""
    try:
        _check_query_and_headers(request)
    except InvalidValue as refused:
        unknown = await anyio.to_thread.run_sync(unknown_path_id, request)
        raise (unknown or refused) from None


def _check_query_and_headers(request: Request) -> None:
    route = request.scope.get("route")
    known = _QUERY_NAMES.get(id(route)) if route is not None else None
    if known is None and route is not None:
        known = _QUERY_NAMES[id(route)] = _query_names(route.dependant)
    seen: set[str] = set()
    for name, value in request.query_params.multi_items():
        if known is not None and name not in known:
            raise InvalidValue(f"no query parameter {name[:60]!r} here; known: {', '.join(sorted(known)) or 'none'}",
                               field=name[:60])
        if known is not None and name in seen and not known[name]:
            raise InvalidValue(f"{name} is given more than once", field=name)
        seen.add(name)
        refuse_control_characters(value, name)
    for raw_name, raw_value in request.scope["headers"]:
        name = raw_name.decode("latin-1")
        refuse_control_characters(raw_value.decode("latin-1"), name)


LedgerDep = Annotated[Ledger, Depends(get_ledger)]
ClockDep = Annotated[Clock, Depends(get_clock)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
CallerDep = Annotated[Caller, Depends(get_caller)]  # commands: the audit headers count
ReaderDep = Annotated[Caller, Depends(get_reader)]  # queries: who asks, nothing more


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
            int | None,
            Digits,
            Query(ge=0, le=MAX_POSITION, description="wait (up to 2 s) until the read model has applied the log up to here"),
        ] = None,
    ) -> ReadStore:
        runtime: Runtime = request.app.state.runtime
        store = runtime.read_store
        if store is None:
            raise NotFound("this API process serves no read models", field="path")
        if min_position is None:
            return store
        tracking = ReadModelTracking(store, name)
        position = await anyio.to_thread.run_sync(tracking.max_tracking_id, tracking.application_name)
        # A position past the log's head was answered to no command: there is nothing to wait for.
        reachable = (position or 0) >= min_position or min_position <= (runtime.ledger.recorder.max_notification_id() or 0)
        deadline = time.monotonic() + (READ_YOUR_WRITES_TIMEOUT_SECONDS if reachable else 0)
        while (position or 0) < min_position and time.monotonic() < deadline:
            await anyio.sleep(0.01)
            position = await anyio.to_thread.run_sync(tracking.max_tracking_id, tracking.application_name)
        setattr(request.state, READ_MODEL_POSITION, position or 0)  # answered as a header: read_model_position.py
        return store

    return Depends(dependency)


# -- an unknown id is a 404 before anything else is checked ------------------------------------

# The aggregate each path parameter names.
PATH_IDS: dict[str, type] = {
    "ticket_id": Ticket,
    "customer_id": Customer,
    "conversation_id": Conversation,
    "policy_id": SlaPolicy,
    "quarantine_id": QuarantinedMail,
}


# Path parameters that hold the tenant's own key of an aggregate, not its id: the aggregate, and
# the id it derives from (tenant, key). A PUT there creates, so an unknown key is no 404 for it.
PATH_KEYS: dict[str, tuple[type, Any]] = {
    "agent_id": (Agent, lambda tenant, raw: Agent.id_for(tenant, raw) if is_agent_id(raw) else None),
}


def unknown_path_id(request: Request) -> NotFound | None:
    """The 404 a request deserves for a path id that names nothing of the caller's, if it does.

    Asked only when some parameter was refused (the happy path pays nothing): an unknown ticket
    is "not found" whatever its other parameters say.
    """
    principal: ApiKey | None = request.scope.get("state", {}).get("principal")
    runtime: Runtime | None = getattr(request.app.state, "runtime", None)
    if principal is None or runtime is None:
        return None
    for param, raw in request.path_params.items():
        if param in PATH_KEYS:
            if request.method == "PUT":
                continue
            kind, id_of = PATH_KEYS[param]
            derived = id_of(principal.tenant, str(raw))
            if derived is None:
                return None  # not a key at all: the 422 naming it says more than a 404
            if owned(load(runtime.ledger.repository, derived), kind, principal.tenant) is None:
                return no_agent(str(raw))
            continue
        kind = PATH_IDS.get(param)
        if kind is None:
            continue
        try:
            aggregate_id = UUID(str(raw))
        except ValueError:
            return None  # not an id at all: the 422 naming it says more than a 404
        if owned(load(runtime.ledger.repository, aggregate_id), kind, principal.tenant) is None:
            return NotFound.of(kind, aggregate_id, param)
    return None
