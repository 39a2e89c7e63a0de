"""What a read model is: a name, its tables, and how one event changes its rows.

A read model never commits and never tracks positions itself: the runner applies a batch of
events to it inside one transaction that also moves its tracking position, so each event is
applied exactly once, and a crash at any instant leaves rows and position in step.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from sqlalchemy import Connection, Table

from .event_record import EventRecord
from .staging import StagedTable


class Batch:
    """One transaction's worth of one read model's writes, in one generation."""

    def __init__(self, conn: Connection, generation: int) -> None:
        self.conn = conn
        self.generation = generation
        self._staged: dict[str, StagedTable] = {}

    def table(self, table: Table) -> StagedTable:
        staged = self._staged.get(table.name)
        if staged is None:
            staged = self._staged[table.name] = StagedTable(self.conn, table, self.generation)
        return staged

    def flush(self) -> None:
        for staged in self._staged.values():
            staged.flush()


class ReadModel(ABC):
    name: ClassVar[str]
    tables: ClassVar[tuple[Table, ...]]
    # Event types ("Ticket.Opened") this read model reacts to; others are skipped cheaply.
    event_types: ClassVar[frozenset[str]]

    @abstractmethod
    def apply(self, batch: Batch, event: EventRecord) -> None:
        """Change the read model's rows for one event, through `batch.table(...)`."""

    def prefetch(self, batch: Batch, events: list[EventRecord]) -> None:
        """Optionally read, in a few statements, the rows `apply` will read for these events.

        The projector calls it once per batch with exactly the events it then passes to
        `apply`, in order, so a read model may also use it to learn the batch's last event
        (the inbox writes each changed ticket once per batch). Rows not prefetched are read
        one at a time.
        """
