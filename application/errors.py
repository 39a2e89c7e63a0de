"""Errors the application raises besides the domain's own."""
from ledgerdesk.domain.errors import DomainError


class NotFound(DomainError):
    """No such aggregate for this tenant (another tenant's counts as none)."""

    @classmethod
    def of(cls, kind: type, aggregate_id: object, field: str) -> "NotFound":
        return cls(f"no {kind.__name__.lower()} {aggregate_id}", field=field)


class IdempotencyKeyReused(DomainError):
    """The command id was used before for a different command."""


class ConcurrencyConflict(DomainError):
    """Concurrent writers kept winning; the caller may retry."""


class Forbidden(DomainError):
    """The caller's role may not issue this command."""


class Unavailable(DomainError):
    """Something the request needs could not be done now (a write that must come with a read); retry later."""
