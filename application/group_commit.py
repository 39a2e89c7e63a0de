"""Commands that arrive together are stored together: one insert, one transaction, one commit.

Every append takes the log's write lock (PostgreSQL: the events table's; SQLite: the file's)
and pays a round trip, a commit and, on PostgreSQL, a NOTIFY. Under load the commands that
queue for that lock are gathered and stored in one recorder call, so those costs are paid once
per group. No thread waits for a group to fill: the first command to find the log free stores
at once whatever has queued (a lone command is stored alone, as before), and the commands that
arrive meanwhile form the next group.

A group that conflicts (some command's aggregate moved on, or a receipt was there before) is
rolled back whole and its commands are stored one by one: each then gets exactly the answer it
would have got alone (stored, or IntegrityError for its own conflict, which the Ledger handles
as it always has). Any other failure of a group's insert is every member's failure: whether it
committed is not known, so none is tried again here.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from eventsourcing.persistence import IntegrityError, StoredEvent

# A bound on a group, so one transaction stays short and no command waits behind a huge one.
MAX_GROUP_COMMANDS = 64


@dataclass
class _Append:
    """One command's events, waiting to be stored, then its answer."""

    events: Sequence[StoredEvent]
    ids: Sequence[int] | None = None
    error: BaseException | None = None
    done: bool = False


@dataclass
class GroupCommit:
    insert: Callable[[Sequence[StoredEvent]], Sequence[int] | None]
    max_commands: int = MAX_GROUP_COMMANDS
    _queue: list[_Append] = field(default_factory=list)
    _writing: bool = False
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def append(self, events: Sequence[StoredEvent]) -> Sequence[int]:
        """Stores one command's events atomically (maybe in a transaction shared with others');
        answers their log positions. Raises IntegrityError when this command's events conflict."""
        mine = _Append(events)
        with self._cond:
            self._queue.append(mine)
            while not mine.done:
                if not self._writing:
                    break
                self._cond.wait()
            if not mine.done:
                self._writing = True
        while not mine.done:  # this thread stores the next group, its own command among the first
            with self._cond:
                group, self._queue = self._queue[: self.max_commands], self._queue[self.max_commands :]
            try:
                self._store(group)  # answers each member, never raises
            finally:
                with self._cond:
                    if mine.done:
                        self._writing = False
                    self._cond.notify_all()
        if mine.error is not None:
            raise mine.error
        assert mine.ids is not None
        return mine.ids

    def _store(self, group: list[_Append]) -> None:
        if len(group) == 1:
            self._store_alone(group[0])
            return
        try:
            ids = self._inserted([event for member in group for event in member.events])
        except IntegrityError:
            for member in group:  # rolled back whole: each alone, as if it had come alone
                self._store_alone(member)
            return
        except BaseException as error:  # noqa: BLE001 - every member's answer, raised in its own thread
            for member in group:
                member.error, member.done = error, True
            return
        start = 0
        for member in group:
            member.ids, member.done = ids[start : start + len(member.events)], True
            start += len(member.events)

    def _store_alone(self, member: _Append) -> None:
        try:
            member.ids = self._inserted(member.events)
        except BaseException as error:  # noqa: BLE001 - the member's own answer, raised in its own thread
            member.error = error
        member.done = True

    def _inserted(self, events: Sequence[StoredEvent]) -> Sequence[int]:
        ids = self.insert(events)
        if not ids or len(ids) != len(events):
            raise RuntimeError("the recorder did not answer the events' log positions")
        return ids
