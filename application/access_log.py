"""Recording who read what of the audit trail, and listing it for admins (domain/access_log.py).

The listing replays the tenant's access-log stream of each day in the range, oldest first; a
page ends after `limit` records, and its cursor is where the next one starts (a day and the
version read up to). Imports no HTTP.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from eventsourcing.persistence import ApplicationRecorder

from ledgerdesk.domain.access_log import AccessLog, utc_day

from ledgerdesk.domain.audit import Actor, ActorKind

from . import commands as c
from .event_views import describe
from .unit_of_work import UnitOfWork

_RECORDED = f"{AccessLog.__module__}:{AccessLog.__qualname__}.AccessRecorded"
_READ_CHUNK = 500


def record_access(uow: UnitOfWork, cmd: c.RecordAccess) -> dict[str, Any]:
    log = uow.find(AccessLog, AccessLog.id_for(uow.tenant, utc_day(uow.at)))
    if log is None:
        log = AccessLog.start(uow.meta, uow.at)
        uow.add(log)
    log.record(uow.meta, uow.at, cmd.reader, cmd.role, cmd.what, cmd.target, cmd.detail)
    return {"access_log_id": str(log.id), "version": log.version}


ACCESS_LOG_HANDLERS = {c.RecordAccess: record_access}


@dataclass(frozen=True)
class AccessCursor:
    day: date
    after_version: int  # 0: from the day's first record


def _item(record: dict[str, Any]) -> dict[str, Any]:
    data = record["data"]
    return {"id": record["id"], "at": record["occurred_at"], "reader": data["reader"], "role": data["role"],
            "what": data["what"], "target": data["target"], "detail": data["detail"]}


def access_log_page(recorder: ApplicationRecorder, tenant: str, first: date, last: date, reader: str | None,
                    cursor: AccessCursor | None, limit: int) -> dict[str, Any]:
    """The tenant's recorded reads from day `first` to `last` (UTC, both included), oldest first,
    only `reader`'s if given; `next_cursor` is None once the range is read to its end."""
    items: list[dict[str, Any]] = []
    day, after = (cursor.day, cursor.after_version) if cursor is not None else (first, 0)
    while day <= last:
        stored = recorder.select_events(AccessLog.id_for(tenant, day), gt=after, limit=_READ_CHUNK)
        for event in stored:
            after = event.originator_version
            if event.topic != _RECORDED:
                continue
            record = describe(event)
            if record["tenant"] != tenant:  # the id encodes the tenant: corrupt data otherwise
                continue
            if reader is None or record["data"]["reader"] == reader:
                items.append(_item(record))
                if len(items) == limit:
                    return {"items": items, "next_cursor": AccessCursor(day, after)}
        if len(stored) < _READ_CHUNK:
            day, after = day + timedelta(days=1), 0
    return {"items": items, "next_cursor": None}


ACCESS_LOG_ACTOR = Actor(ActorKind.SYSTEM, "access-log")


def record_read(ledger: Any, tenant: str, reader: str, role: str, what: str, target: str,
                detail: dict[str, Any] | None = None) -> None:
    """Appends that `reader` read `what` of `target` to the tenant's access log (over HTTP or by a command line export)."""
    command_id = str(uuid.uuid4())
    context = c.CommandContext(tenant=tenant, actor=ACCESS_LOG_ACTOR, command_id=command_id, correlation_id=command_id,
                               reason=f"{role} {reader} read {what} of {target}")
    ledger.execute(c.RecordAccess(context, reader=reader, role=role, what=what, target=target, detail=detail))
