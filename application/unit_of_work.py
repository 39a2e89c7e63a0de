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


def load(repository: Repository, aggregate_id: UUID) -> Aggregate | None:
    try:
        return repository.get(aggregate_id)
    except AggregateNotFoundError:
        return None


def owned(found: Aggregate | None, kind: type[A], tenant: str) -> A | None:
    """The aggregate if it is of that kind and the tenant's; another tenant's is as good as none."""
    if not isinstance(found, kind) or getattr(found, "tenant", None) != tenant:
        return None
    return found


def load_owned(repository: Repository, kind: type[A], aggregate_id: UUID, tenant: str) -> A | None:
    """The tenant's aggregate of that kind, or None: every load on a tenant's behalf goes through here
    (or through `UnitOfWork.find`), so no id, however it was derived, reaches another tenant's data."""
    return owned(load(repository, aggregate_id), kind, tenant)


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
        """The tenant's aggregate of that kind, or None."""
        if aggregate_id not in self._aggregates:
            found = load(self.repository, aggregate_id)
            if found is None:
                return None
            self._aggregates[aggregate_id] = found
        return owned(self._aggregates[aggregate_id], kind, self.tenant)

    def get(self, kind: type[A], aggregate_id: UUID, *, field: str, expected_version: int | None = None) -> A:
        found = self.find(kind, aggregate_id)
        if found is None:
            raise NotFound.of(kind, aggregate_id, field)
        if expected_version is not None and expected_version != found.version:
            raise VersionConflict(expected_version, found.version)
        return found

    def add(self, *aggregates: Aggregate) -> None:
        for aggregate in aggregates:
            self._aggregates[aggregate.id] = aggregate

    def changed(self) -> list[Aggregate]:
        return [a for a in self._aggregates.values() if a.pending_events]
