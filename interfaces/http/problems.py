"""Errors as RFC 9457 problem details, mapped in one place; each names the field at fault.

One problem type per cause: `malformed-body` (400: not JSON, not UTF-8), `unauthorised` (401),
`forbidden` (403), `not-found` (404, naming the path parameter), `method-not-allowed` (405,
with Allow), `version-conflict`, `idempotency-key-reused`, `concurrency-conflict` and
`illegal-transition` (409), `payload-too-large` (413), `invalid-value` (422: a field, query
parameter or header out of its domain, whoever noticed it), `internal` (500), `unavailable` (503:
an auditor's read that could not be recorded).
"""
from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledgerdesk.application.errors import ConcurrencyConflict, Forbidden, IdempotencyKeyReused, NotFound, Unavailable
from ledgerdesk.domain.errors import DomainError, IllegalTransition, InvalidValue, VersionConflict

from .deps import unknown_path_id

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"
MAX_LISTED = 20
BASE = "https://ledgerdesk.dev/problems/"

class UnsupportedMediaType(DomainError):
    """The body is not of the media type the route takes (415)."""


STATUS_OF = [
    (UnsupportedMediaType, 415, "unsupported-media-type", "Unsupported media type"),
    (NotFound, 404, "not-found", "Not found"),
    (VersionConflict, 409, "version-conflict", "Stale expected_version"),
    (IdempotencyKeyReused, 409, "idempotency-key-reused", "Idempotency key reused"),
    (ConcurrencyConflict, 409, "concurrency-conflict", "Concurrent update"),
    (IllegalTransition, 409, "illegal-transition", "Not allowed in the current state"),
    (Forbidden, 403, "forbidden", "Forbidden"),
    (Unavailable, 503, "unavailable", "Unavailable"),
    (InvalidValue, 422, "invalid-value", "Invalid value"),
    (DomainError, 422, "invalid-value", "Invalid value"),
]


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem: `type` names the cause, `field` the input at fault where there is one."""

    type: str = Field(examples=[BASE + "invalid-value"])
    title: str
    status: int
    detail: str
    field: str | None = None
    errors: list[FieldError] | None = Field(default=None, description="every field at fault, for a 422")


WHY = {
    400: "The body is not JSON (or not UTF-8).",
    401: "No valid API key: send `Authorization: Bearer <key>`.",
    403: "The key's role may not do this (auditors only read).",
    404: "No such resource for this tenant (another tenant's counts as none).",
    409: "The current state refuses it: a stale expected_version, an illegal transition, a reused Idempotency-Key.",
    413: "The request body is larger than the configured limit.",
    415: "The body is not of the media type this route takes.",
    422: "A field, query parameter or header is out of its domain; `field` names it.",
    503: "An auditor's read could not be recorded in the access log, so it is not answered (fail closed); retry.",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for these problem statuses (served as application/problem+json)."""
    return {status: {"model": Problem, "description": WHY[status]} for status in statuses}


def problem(status: int, slug: str, title: str, detail: str, field: str | None = None,
            headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": BASE + slug, "title": title, "status": status, "detail": detail}
    if field:
        body["field"] = field
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


async def send_problem(send: Any, status: int, slug: str, title: str, detail: str, field: str | None = None,
                       headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """The same problem, answered by plain ASGI middleware before any route runs."""
    body = bytes(problem(status, slug, title, detail, field).body)
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode()), *(headers or [])],
    })
    await send({"type": "http.response.body", "body": body})


def _field_of(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def on_domain_error(request: Request, exc: DomainError) -> JSONResponse:
    for kind, status, slug, title in STATUS_OF:
        if isinstance(exc, kind):
            return problem(status, slug, title, exc.message, exc.field)
    raise exc  # unreachable: DomainError is last in the table


def malformed_body(detail: str = "the request body is not valid JSON") -> JSONResponse:
    return problem(400, "malformed-body", "Malformed body", detail, "body")


def on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    unknown = unknown_path_id(request)
    if unknown is not None:  # an unknown id is "not found", whatever else is wrong with the request
        return on_domain_error(request, unknown)
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return malformed_body()
    # The first few: a body of 90,000 unknown keys must not make a 6 MB answer.
    listed = [{"field": _field_of(tuple(e.get("loc", ()))), "message": str(e.get("msg", "invalid"))} for e in errors[:MAX_LISTED]]
    first = listed[0] if listed else {"field": "body", "message": "invalid"}
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in listed[:5])
    return problem(422, "invalid-value", "Invalid value", detail, first["field"], errors=listed)


def on_http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    if exc.status_code == 400:  # FastAPI could not read the body (not UTF-8, say)
        return malformed_body(f"the request body could not be read: {exc.detail}")
    if exc.status_code == 404:
        return problem(404, "not-found", "Not found", f"no route {request.url.path}", "path")
    if exc.status_code == 405:
        return problem(405, "method-not-allowed", "Method not allowed", f"{request.method} is not allowed here",
                       headers=exc.headers)
    return problem(exc.status_code, "http-error", str(exc.detail), str(exc.detail), headers=exc.headers)


def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    if request.method in ("GET", "HEAD", "OPTIONS"):
        detail = "an unexpected error occurred; reads store nothing"
    else:
        # The failure may have come after the command was stored: say only what is known.
        detail = ("an unexpected error occurred; whether the request was stored is not known: send it again "
                  "with the same Idempotency-Key to find out, or read the resource")
    return problem(500, "internal", "Internal error", detail)


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, on_domain_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, on_validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, on_http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, on_unexpected)
