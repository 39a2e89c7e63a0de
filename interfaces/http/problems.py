"""Errors as RFC 9457 problem details, mapped in one place; each names the field at fault."""
from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledgerdesk.application.errors import ConcurrencyConflict, Forbidden, IdempotencyKeyReused, NotFound
from ledgerdesk.domain.errors import DomainError, IllegalTransition, InvalidValue, VersionConflict

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"

STATUS_OF = [
    (NotFound, 404, "not-found", "Not found"),
    (VersionConflict, 409, "version-conflict", "Stale expected_version"),
    (IdempotencyKeyReused, 409, "idempotency-key-reused", "Idempotency key reused"),
    (ConcurrencyConflict, 409, "concurrency-conflict", "Concurrent update"),
    (IllegalTransition, 409, "illegal-transition", "Not allowed in the current state"),
    (Forbidden, 403, "forbidden", "Forbidden"),
    (InvalidValue, 422, "invalid-value", "Invalid value"),
    (DomainError, 422, "invalid-value", "Invalid value"),
]


def problem(status: int, slug: str, title: str, detail: str, field: str | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": f"https://ledgerdesk.dev/problems/{slug}", "title": title, "status": status, "detail": detail}
    if field:
        body["field"] = field
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE)


def _field_of(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def on_domain_error(request: Request, exc: DomainError) -> JSONResponse:
    for kind, status, slug, title in STATUS_OF:
        if isinstance(exc, kind):
            return problem(status, slug, title, exc.message, exc.field)
    raise exc  # unreachable: DomainError is last in the table


def on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return problem(400, "malformed-json", "Malformed JSON", "the request body is not valid JSON", "body")
    listed = [{"field": _field_of(tuple(e.get("loc", ()))), "message": e.get("msg", "invalid")} for e in errors]
    first = listed[0] if listed else {"field": "body", "message": "invalid"}
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in listed[:5])
    return problem(422, "validation-error", "Invalid input", detail, first["field"], errors=listed)


def on_http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    return problem(exc.status_code, "http-error", str(exc.detail), str(exc.detail))


def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(500, "internal", "Internal error", "an unexpected error occurred; nothing was stored by this request")


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, on_domain_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, on_validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, on_http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, on_unexpected)
