"""Domain errors: raised by aggregates and value objects with a message a user can read.

Each error names the field at fault where there is one, so the interface layer can point at it.
"""


class DomainError(Exception):
    """A business rule refused the command."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidValue(DomainError):
    """A value is not acceptable for its field (422)."""


class IllegalTransition(DomainError):
    """The aggregate's current state does not allow the command (409)."""


class VersionConflict(DomainError):
    """The command expected another version of the aggregate than the stored one (409)."""

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(
            f"expected version {expected}, but the current version is {actual}",
            field="expected_version",
        )
        self.expected = expected
        self.actual = actual
