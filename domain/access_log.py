"""The access log: who read what of the audit trail (histories, as-of states, case files), and when.

One aggregate per tenant and UTC day, its id derived from (tenant, day): a listing of a range of
days reads one stream per day, no index needed, and no stream grows without bound. Writers of
one tenant's day take turns on its version (a conflict is retried on fresh state); auditors are
few, so that is rare. Events are append-only like every other: a record, once stored, is as
tamper-evident as the rest of the log.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from .audit import AuditMeta
from .errors import InvalidValue
from .natural_keys import natural_id

ACCESS_LOG_NAMESPACE = uuid5(NAMESPACE_URL, "https://ledgerdesk.invalid/access-log")
# What kinds of reads are recorded: a history, an as-of state, a case file's export, a verification.
ACCESS_KINDS = frozenset({"history", "as_of", "case_export", "verify"})
MAX_TARGET = 200


def utc_day(moment: datetime) -> date:
    return moment.astimezone(timezone.utc).date()


class AccessLog(Aggregate):
    class Event(Aggregate.Event):
        meta: AuditMeta

    class Started(Event, Aggregate.Created):
        day: str  # the UTC day, YYYY-MM-DD

    class AccessRecorded(Event):
        reader: str  # the API key's actor
        role: str
        what: str  # one of ACCESS_KINDS
        target: str  # "ticket/<id>", "customer/<id>", …
        detail: dict[str, Any] | None  # what was asked besides the target (as_of, version, page)

        def apply(self, log: AccessLog) -> None:
            log.records += 1

    def __init__(self, meta: AuditMeta, day: str) -> None:
        self.tenant = meta.tenant
        self.day = day
        self.records = 0

    @staticmethod
    def id_for(tenant: str, day: date) -> UUID:
        return natural_id(ACCESS_LOG_NAMESPACE, tenant, day.isoformat())

    @classmethod
    def start(cls, meta: AuditMeta, at: datetime) -> AccessLog:
        day = utc_day(at)
        return cls._create(cls.Started, id=cls.id_for(meta.tenant, day), timestamp=at, meta=meta, day=day.isoformat())

    def record(self, meta: AuditMeta, at: datetime, reader: str, role: str, what: str, target: str,
               detail: dict[str, Any] | None) -> None:
        if what not in ACCESS_KINDS:
            raise InvalidValue(f"an access is one of {', '.join(sorted(ACCESS_KINDS))}", field="what")
        if not target or len(target) > MAX_TARGET:
            raise InvalidValue(f"a target has 1 to {MAX_TARGET} characters", field="target")
        self.trigger_event(self.AccessRecorded, timestamp=at, meta=meta, reader=reader, role=role, what=what,
                           target=target, detail=detail)
