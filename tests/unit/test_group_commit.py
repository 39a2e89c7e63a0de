"""Commands that arrive together are stored together, and each gets the answer it would get
alone (issue 9: every append paid the log's lock, a round trip and a commit of its own)."""
from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Sequence

import pytest
from eventsourcing.persistence import IntegrityError, OperationalError, StoredEvent

from ledgerdesk.application.group_commit import GroupCommit


class Log:
    """A log with the store's one rule: (aggregate, version) at most once; a failed insert stores nothing."""

    def __init__(self, hold: float = 0.0) -> None:
        self.rows: dict[tuple[uuid.UUID, int], int] = {}
        self.inserts: list[int] = []  # events per insert call
        self.hold = hold
        self.fail_next: BaseException | None = None

    def insert(self, events: Sequence[StoredEvent]) -> list[int]:
        self.inserts.append(len(events))
        time.sleep(self.hold)  # the write lock held
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error
        keys = [(e.originator_id, e.originator_version) for e in events]
        if len(set(keys)) < len(keys) or any(k in self.rows for k in keys):
            raise IntegrityError("duplicate (originator_id, originator_version)")
        ids = []
        for key in keys:
            self.rows[key] = len(self.rows) + 1
            ids.append(self.rows[key])
        return ids


def events_of(aggregate: uuid.UUID, *versions: int) -> list[StoredEvent]:
    return [StoredEvent(aggregate, v, "t", b"{}") for v in versions]


def in_threads(group: GroupCommit, commands: list[list[StoredEvent]]) -> list[Sequence[int] | BaseException]:
    answers: list[Sequence[int] | BaseException] = [()] * len(commands)

    def run(i: int) -> None:
        try:
            answers[i] = group.append(commands[i])
        except BaseException as error:  # noqa: BLE001
            answers[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(commands))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def test_a_lone_command_is_stored_at_once_in_an_insert_of_its_own() -> None:
    log = Log()
    ids = GroupCommit(log.insert).append(events_of(uuid.uuid4(), 1, 2))
    assert list(ids) == [1, 2] and log.inserts == [2]


def test_commands_that_queue_behind_a_write_are_stored_together_each_with_its_own_positions() -> None:
    log = Log(hold=0.01)
    commands = [events_of(uuid.uuid4(), 1, 2) for _ in range(40)]
    answers = in_threads(GroupCommit(log.insert), commands)
    assert len(log.inserts) < 40  # grouped
    assert max(log.inserts) > 2
    for command, ids in zip(commands, answers):
        assert not isinstance(ids, BaseException)
        assert [log.rows[e.originator_id, e.originator_version] for e in command] == list(ids)
    assert sorted(p for ids in answers for p in ids) == list(range(1, 81))  # type: ignore[union-attr]


def test_a_group_with_a_conflict_stores_the_others_and_fails_only_the_conflicting_command() -> None:
    log = Log(hold=0.02)
    group = GroupCommit(log.insert)
    taken = uuid.uuid4()
    log.insert(events_of(taken, 1))  # another writer got there first
    log.inserts.clear()
    commands = [events_of(uuid.uuid4(), 1) for _ in range(10)]
    commands.insert(5, events_of(taken, 1))
    answers = in_threads(group, commands)
    assert isinstance(answers[5], IntegrityError)
    assert all(not isinstance(a, BaseException) for i, a in enumerate(answers) if i != 5)
    assert len(log.rows) == 1 + 10


def test_two_commands_of_one_group_on_the_same_aggregate_version_one_wins() -> None:
    log = Log(hold=0.02)
    same = uuid.uuid4()
    answers = in_threads(GroupCommit(log.insert), [events_of(uuid.uuid4(), 1), events_of(same, 1), events_of(same, 1)])
    assert sum(isinstance(a, IntegrityError) for a in answers) == 1
    assert (same, 1) in log.rows


def test_a_failure_of_unknown_outcome_is_every_members_and_none_is_tried_again() -> None:
    blocker = threading.Event()
    log = Log()
    calls = []

    def insert(events: Sequence[StoredEvent]) -> list[int]:
        calls.append(len(events))
        if len(calls) == 1:
            blocker.wait(5)  # the first command holds the lock while the others queue
            return log.insert(events)
        raise OperationalError("connection lost during commit")

    group = GroupCommit(insert)
    first = threading.Thread(target=group.append, args=(events_of(uuid.uuid4(), 1),))
    first.start()
    time.sleep(0.05)
    others: list = []
    threads = [threading.Thread(target=lambda: others.append(_answer(group))) for _ in range(5)]
    for t in threads:
        t.start()
    time.sleep(0.1)
    blocker.set()
    first.join()
    for t in threads:
        t.join()
    assert calls == [1, 5]  # one group of the five, not retried one by one
    assert len(others) == 5 and all(isinstance(a, OperationalError) for a in others)


def _answer(group: GroupCommit) -> Sequence[int] | BaseException:
    try:
        return group.append(events_of(uuid.uuid4(), 1))
    except BaseException as error:  # noqa: BLE001
        return error


@pytest.mark.parametrize("commands", [70, 130])
def test_groups_are_bounded(commands: int) -> None:
    log = Log(hold=0.01)
    group = GroupCommit(log.insert, max_commands=64)
    answers = in_threads(group, [events_of(uuid.uuid4(), 1) for _ in range(commands)])
    assert all(not isinstance(a, BaseException) for a in answers)
    assert max(log.inserts) <= 64 and sum(log.inserts) == commands
