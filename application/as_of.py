"""An aggregate as it stood at a past moment: its own events replayed up to a version or an instant.

One helper for every kind (tickets, conversations, customers, SLA policies): as-of reads must
equal the log exactly, so they never come from a read model. Events go through the mapper, so
old shapes are upcast as in any load. Imports no HTTP, CLI or read model.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from itertools import takewhile
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Repository, project_aggregate
from eventsourcing.domain import Aggregate

from ledgerdesk.domain.errors import InvalidValue

from .errors import NotFound
from .unit_of_work import load_owned, owned

A = TypeVar("A", bound=Aggregate)
# Every stored version: `Repository.get` with a version reads the store, never the cache.
_ALL_VERSIONS = 2**63 - 1


@dataclass(frozen=True)
class Moment:
    """A past moment to read at: an aware instant (`as_of`) or an aggregate version, never both."""

    at: datetime | None = None
    version: int | None = None

    def __post_init__(self) -> None:
        if (self.at is None) == (self.version is None):
            raise InvalidValue("give as_of or version, not both", field="as_of")
        if self.at is not None and (self.at.tzinfo is None or self.at.utcoffset() is None):
            raise InvalidValue("as_of needs an offset (Z or +08:00): a naive time is ambiguous", field="as_of")

    def echo(self) -> dict[str, Any]:
        """What an answer says it was read at."""
        return {"as_of": self.at.isoformat() if self.at is not None else None}


def _until(at: datetime) -> Any:
    """Replays the events up to the last one stored at or before `at` (a command's events share its time)."""

    def project(aggregate: Aggregate | None, events: Iterable[Any]) -> Aggregate | None:
        return project_aggregate(aggregate, takewhile(lambda e: e.timestamp <= at, events))

    return project


def aggregate_as_of(repository: Repository, tenant: str, kind: type[A], aggregate_id: UUID, moment: Moment,
                    field: str = "id") -> A:
    """The tenant's aggregate as it stood at `moment`.

    NotFound naming `field` when the tenant has no such aggregate at all; naming `as_of` when it
    did not exist yet at that instant; naming `version` when it never reached that version (a
    version past the head is a 404, like any resource that does not exist).
    """
    current = load_owned(repository, kind, aggregate_id, tenant)
    if current is None:
        raise NotFound.of(kind, aggregate_id, field)
    name = kind.__name__.lower()
    if moment.version is not None:
        if moment.version > current.version:
            raise NotFound(f"{name} {aggregate_id} has versions 1 to {current.version}, not {moment.version}",
                           field="version")
        if moment.version == current.version:
            return current
        found = repository.get(aggregate_id, version=moment.version)
    else:
        assert moment.at is not None
        try:
            found = repository.get(aggregate_id, version=_ALL_VERSIONS, projector_func=_until(moment.at))
        except AggregateNotFoundError:
            raise NotFound(f"{name} {aggregate_id} did not exist yet at {moment.at.isoformat()}: "
                           f"it was created at {current.created_on.isoformat()}", field="as_of") from None
    replayed = owned(found, kind, tenant)
    if replayed is None:  # the same stream, so the same tenant and kind: corrupt data otherwise
        raise NotFound.of(kind, aggregate_id, field)
    return replayed
