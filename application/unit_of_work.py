"""One command's working set: the aggregates it loaded or made, saved together in one call."""
from __future__ import annotations

from datetime import datetime
from typing import TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Repository
from eventsourcing.domain import Aggregate

from ledgerdesk.domain.audit import AuditMeta
from ledgerdesk.domain.errors import VersionConflict

from .errors import NotFound

A = TypeVar("A", bound=Aggregate)


class UnitOfWork:
    def __init__(self, repository: Repository, meta: AuditMeta, at: datetime) -> None:
        self.repository = repository
        self.meta = meta
        self.at = at
        self._aggregates: dict[UUID, Aggregate] = {}

    @property
    def tenant(self) -> str:
        return self.meta.tenant

    def find(self, kind: type[A], aggregate_id: UUID) -> A | None:
        """The tenant's aggregate of that kind, or None; another tenant's is as good as none."""
        if aggregate_id in self._aggregates:
            found = self._aggregates[aggregate_id]
        else:
            try:
                found = self.repository.get(aggregate_id)
            except AggregateNotFoundError:
                return None
            self._aggregates[aggregate_id] = found
        if not isinstance(found, kind) or getattr(found, "tenant", None) != self.tenant:
            return None
        return found

    def get(self, kind: type[A], aggregate_id: UUID, *, field: str, expected_version: int | None = None) -> A:
        found = self.find(kind, aggregate_id)
        if found is None:
            raise NotFound(f"no {kind.__name__.lower()} {aggregate_id}", field=field)
        if expected_version is not None and expected_version != found.version:
            raise VersionConflict(expected_version, found.version)
        return found

    def add(self, *aggregates: Aggregate) -> None:
        for aggregate in aggregates:
            self._aggregates[aggregate.id] = aggregate

    def changed(self) -> list[Aggregate]:
        return [a for a in self._aggregates.values() if a.pending_events]
