"""Real concurrency against real backends: threads, and separate Ledger instances on one database.

Each extra Ledger has its own connection pool and its own aggregate cache, as a separate API
process would; the `ledger` fixture is one more of them. Every test works in a fresh tenant.
"""
from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any
from uuid import UUID, uuid4

import pytest

from ledgerdesk.application.commands import (
    AddInternalNote,
    ChangeTicketPriority,
    CommandContext,
    CustomerHints,
    OpenTicket,
    ReceiveInboundMessage,
    ReplyToTicket,
)
from ledgerdesk.application.errors import ConcurrencyConflict
from ledgerdesk.application.ledger import Ledger, Outcome
from ledgerdesk.domain.audit import Actor, ActorKind
from ledgerdesk.domain.channel import Channel
from ledgerdesk.domain.conversation import Conversation
from ledgerdesk.domain.customer import Customer
from ledgerdesk.domain.errors import VersionConflict
from ledgerdesk.domain.ticket import Ticket
from ledgerdesk.domain.ticket_values import Priority
from ledgerdesk.interfaces.bootstrap import build_ledger
from ledgerdesk.interfaces.settings import Settings
from tests.conftest import random_ref

pytestmark = pytest.mark.integration

SENT_AT = datetime(2026, 11, 11, 9, 30, tzinfo=timezone.utc)
JOIN_TIMEOUT = 45


# -- helpers ----------------------------------------------------------------------------------


def context(tenant: str, command_id: str | None = None, *, idempotent: bool = False) -> CommandContext:
    command_id = command_id or str(uuid4())
    return CommandContext(
        tenant=tenant,
        actor=Actor(ActorKind.INTEGRATOR, "it"),
        command_id=command_id,
        correlation_id=command_id,
        idempotent=idempotent,
    )


def inbound(
    tenant: str,
    *,
    thread: str | None = None,
    user: str | None = None,
    message: str | None = None,
    text: str = "Where is my parcel?",
    channel: Channel = Channel.TAOBAO,
) -> ReceiveInboundMessage:
    return ReceiveInboundMessage(
        context=context(tenant),
        channel=channel,
        external_thread_id=thread or random_ref("thread-"),
        external_user_id=user or random_ref("user-"),
        external_message_id=message or random_ref("msg-"),
        text=text,
        sent_at=SENT_AT,
    )


@contextmanager
def extra_ledgers(settings: Settings, count: int) -> Iterator[list[Ledger]]:
    """Ledgers on the same database, each with its own small pool: separate API processes."""
    small = settings.model_copy(update={"postgres_pool_size": 2})
    built: list[Ledger] = []
    try:
        for _ in range(count):
            built.append(build_ledger(small))
        yield built
    finally:
        for one in built:
            one.close()


def at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Runs the calls in threads released together; each call's return value, or what it raised."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        barrier.wait(timeout=JOIN_TIMEOUT)
        try:
            return call()
        except Exception as error:  # noqa: BLE001 - the test inspects what each thread got
            return error

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
        return [f.result(timeout=JOIN_TIMEOUT) for f in futures]


def full_history(ledger: Ledger, tenant: str, kind: type, aggregate_id: UUID | str) -> list[dict[str, Any]]:
    return ledger.history(tenant, kind, UUID(str(aggregate_id)), 0, 100_000)["items"]


def types_in(history: list[dict[str, Any]]) -> Counter[str]:
    return Counter(item["type"] for item in history)


def open_ticket(ledger: Ledger, tenant: str) -> Ticket:
    """A ticket from a customer's first message, so it has a conversation too."""
    outcome = ledger.execute(inbound(tenant))
    return ledger.aggregate(tenant, Ticket, UUID(outcome.result["ticket_id"]))


# -- 1. the feed ------------------------------------------------------------------------------


def test_the_feed_never_skips_an_event_committed_behind_a_reader(ledger: Ledger, settings: Settings) -> None:
    tenant, noise_tenant = random_ref("tenant-"), random_ref("tenant-")
    writers, commands_each, page_size = 6, 40, 50
    writers_done = threading.Event()
    seen: list[int] = []
    pages: list[tuple[int, int, list[int]]] = []  # (after, next_after, positions) of every page read
    touched: dict[type, set[UUID]] = {Ticket: set(), Conversation: set(), Customer: set()}
    touched_lock = threading.Lock()
    failures: list[BaseException] = []

    def write(app: Ledger, index: int, to_tenant: str) -> None:
        last_ticket: str | None = None
        for i in range(commands_each):
            if i % 3 == 0 or last_ticket is None:
                # A new thread: a new customer, conversation and ticket in one save.
                result = app.execute(inbound(to_tenant, text=f"writer {index} message {i}")).result
                last_ticket = result["ticket_id"]
            elif i % 3 == 1:
                email = random_ref(f"w{index}-") + "@example.com"
                result = app.execute(
                    OpenTicket(context(to_tenant), subject=f"writer {index} ticket {i}", customer=CustomerHints(email=email))
                ).result
            else:
                # A note on the writer's last intake ticket: touches its ticket and its conversation.
                result = app.execute(AddInternalNote(context(to_tenant), UUID(last_ticket), text=f"note {i}")).result
            if to_tenant == tenant:
                with touched_lock:
                    touched[Ticket].add(UUID(result["ticket_id"]))
                    if "customer_id" in result:
                        touched[Customer].add(UUID(result["customer_id"]))
                    if "conversation_id" in result:
                        touched[Conversation].add(UUID(result["conversation_id"]))

    def guarded(body: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                body()
            except BaseException as error:  # noqa: BLE001 - reported by the main thread
                failures.append(error)

        return run

    def read() -> None:
        after = 0
        while True:
            finished = writers_done.is_set()
            page = ledger.feed(tenant, after, limit=page_size)
            positions = [item["position"] for item in page["items"]]
            pages.append((after, page["next_after"], positions))
            seen.extend(positions)
            assert page["next_after"] >= after
            after = page["next_after"]
            if finished and after >= page["head"]:
                return
            if not positions:
                time.sleep(0.002)

    with extra_ledgers(settings, writers + 1) as apps:
        threads = [threading.Thread(target=guarded(lambda a=a, n=n: write(a, n, tenant))) for n, a in enumerate(apps[:writers])]
        threads.append(threading.Thread(target=guarded(lambda: write(apps[writers], 99, noise_tenant))))
        reader = threading.Thread(target=guarded(read))
        reader.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join(JOIN_TIMEOUT)
        writers_done.set()
        reader.join(JOIN_TIMEOUT)
        assert not reader.is_alive() and not any(t.is_alive() for t in threads), "a thread hung"

    assert not failures, failures

    # Nothing twice, in order, and never behind a position the reader had already passed.
    assert seen == sorted(seen) and len(seen) == len(set(seen)), "a position came twice or out of order"
    for after, next_after, positions in pages:
        assert all(after < p <= next_after for p in positions), (after, next_after, positions)

    # Nothing missed: one pass from the start, afterwards, finds exactly what the reader saw ...
    final = ledger.feed(tenant, 0, limit=1_000_000, scan_limit=10_000_000)
    everything = [item["position"] for item in final["items"]]
    assert final["next_after"] == final["head"]
    assert all(item["tenant"] == tenant for item in final["items"])
    missed = sorted(set(everything) - set(seen))
    passed_over = [p for p in missed if any(after >= p for after, _, _ in pages)]
    assert not missed, f"the reader missed {len(missed)} positions, {len(passed_over)} behind it: {missed[:20]}"
    assert set(seen) == set(everything)

    # ... which is every event of the tenant's tickets, conversations and customers.
    appended = sum(
        ledger.aggregate(tenant, kind, aggregate_id).version for kind, ids in touched.items() for aggregate_id in ids
    )
    assert len(touched[Ticket]) == writers * (commands_each // 3 * 2 + 1)  # 14 intakes and 13 opened tickets each
    assert len(seen) == appended


# -- 2. optimistic concurrency ----------------------------------------------------------------


def test_two_writers_with_the_same_expected_version_one_wins(ledger: Ledger, settings: Settings) -> None:
    tenant = random_ref("tenant-")
    ticket = open_ticket(ledger, tenant)

    with extra_ledgers(settings, 2) as (first, second):
        for _ in range(5):
            start = ledger.aggregate(tenant, Ticket, ticket.id)
            wanted = {first: Priority.HIGH, second: Priority.URGENT}
            if start.priority in wanted.values():
                wanted = {first: Priority.LOW, second: Priority.NORMAL}

            results = at_once(
                [
                    lambda app=app, priority=priority: app.execute(
                        ChangeTicketPriority(context(tenant), ticket.id, priority=priority, expected_version=start.version)
                    )
                    for app, priority in wanted.items()
                ]
            )

            wins = [r for r in results if isinstance(r, Outcome)]
            losses = [r for r in results if not isinstance(r, Outcome)]
            assert len(wins) == 1, results
            assert len(losses) == 1 and isinstance(losses[0], (VersionConflict, ConcurrencyConflict)), results
            after = ledger.aggregate(tenant, Ticket, ticket.id)
            assert after.version == start.version + 1
            assert wins[0].result["version"] == after.version
            assert str(after.priority) == wins[0].result["priority"]


# -- 3. idempotent retries --------------------------------------------------------------------


def test_concurrent_retries_of_one_command_append_it_once(ledger: Ledger, settings: Settings) -> None:
    tenant = random_ref("tenant-")
    ticket = open_ticket(ledger, tenant)
    command_id = random_ref("idem-")
    reply = ReplyToTicket(context(tenant, command_id, idempotent=True), ticket.id, text="We are on it.")

    with extra_ledgers(settings, 3) as apps:
        pool = [ledger, *apps]
        results = at_once([lambda app=pool[i % len(pool)]: app.execute(reply) for i in range(8)])

    assert all(isinstance(r, Outcome) for r in results), results
    assert [r.replayed for r in results].count(False) == 1, results
    assert all(r.result == results[0].result for r in results), results
    history = full_history(ledger, tenant, Ticket, ticket.id)
    replies = [e for e in history if e["type"] == "Ticket.ReplySent" and e["command_id"] == command_id]
    assert len(replies) == 1
    after = ledger.aggregate(tenant, Ticket, ticket.id)
    assert after.reply_count == 1
    assert results[0].result["version"] == after.version
    conversation = ledger.aggregate(tenant, Conversation, after.last_conversation_id)
    assert conversation.outbound_count == 1


# -- 4. redelivered webhooks ------------------------------------------------------------------


def test_a_webhook_delivered_twice_at_once_is_taken_in_once(ledger: Ledger, settings: Settings) -> None:
    tenant = random_ref("tenant-")
    message = inbound(tenant)
    # Each delivery is its own request, so its own command id; the message itself is identical.
    deliveries = [
        ReceiveInboundMessage(**{**message.__dict__, "context": context(tenant)}) for _ in range(8)
    ]

    with extra_ledgers(settings, 3) as apps:
        pool = [ledger, *apps]
        results = at_once([lambda app=pool[i % len(pool)], cmd=cmd: app.execute(cmd) for i, cmd in enumerate(deliveries)])

    assert all(isinstance(r, Outcome) for r in results), results
    firsts = [r for r in results if not r.replayed]
    assert len(firsts) == 1, results
    assert firsts[0].result["duplicate"] is False
    assert all(r.result["duplicate"] is True for r in results if r.replayed), results
    for key in ("ticket_id", "conversation_id", "customer_id", "message_id"):
        assert {r.result[key] for r in results} == {firsts[0].result[key]}, key
    conversation = ledger.aggregate(tenant, Conversation, UUID(firsts[0].result["conversation_id"]))
    assert conversation.inbound_count == 1
    assert types_in(full_history(ledger, tenant, Ticket, firsts[0].result["ticket_id"]))["Ticket.CustomerMessageAdded"] == 1


# -- 5. first messages of one thread ----------------------------------------------------------


def test_concurrent_first_messages_of_one_thread_share_one_conversation_and_ticket(ledger: Ledger, settings: Settings) -> None:
    tenant = random_ref("tenant-")
    thread, user = random_ref("thread-"), random_ref("user-")
    messages = [inbound(tenant, thread=thread, user=user, text=f"message {i}") for i in range(6)]

    with extra_ledgers(settings, 3) as apps:
        pool = [ledger, *apps]
        results = at_once([lambda app=pool[i % len(pool)], cmd=cmd: app.execute(cmd) for i, cmd in enumerate(messages)])

    assert all(isinstance(r, Outcome) and not r.replayed for r in results), results
    for key in ("conversation_id", "ticket_id", "customer_id"):
        assert len({r.result[key] for r in results}) == 1, (key, [r.result for r in results])
    assert len({r.result["message_id"] for r in results}) == 6
    answer = results[0].result
    conversation = ledger.aggregate(tenant, Conversation, UUID(answer["conversation_id"]))
    assert conversation.inbound_count == 6
    assert str(conversation.ticket_id) == answer["ticket_id"]
    assert str(conversation.customer_id) == answer["customer_id"]
    assert types_in(full_history(ledger, tenant, Ticket, answer["ticket_id"]))["Ticket.CustomerMessageAdded"] == 6
    # The losers' customers, conversations and tickets were never saved.
    feed = Counter(item["type"] for item in ledger.feed(tenant, 0, limit=10_000)["items"])
    assert (feed["Customer.Registered"], feed["Conversation.Started"], feed["Ticket.Opened"]) == (1, 1, 1), feed


# -- 6. contention without expected versions --------------------------------------------------


def test_commands_without_expected_version_all_land_under_contention(ledger: Ledger, settings: Settings) -> None:
    tenant = random_ref("tenant-")
    ticket = open_ticket(ledger, tenant)
    start = ticket.version
    threads, notes_each = 8, 10

    with extra_ledgers(settings, 3) as apps:
        pool = [ledger, *apps]

        def add_notes(app: Ledger, index: int) -> list[Outcome]:
            return [
                app.execute(AddInternalNote(context(tenant), ticket.id, text=f"thread {index} note {n}"))
                for n in range(notes_each)
            ]

        results = at_once([lambda i=i: add_notes(pool[i % len(pool)], i) for i in range(threads)])

    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors
    versions = [o.result["version"] for outcomes in results for o in outcomes]
    assert len(set(versions)) == threads * notes_each, "two notes answered the same version"
    after = ledger.aggregate(tenant, Ticket, ticket.id)
    assert after.version == start + threads * notes_each
    assert sorted(versions) == list(range(start + 1, after.version + 1))
    assert types_in(full_history(ledger, tenant, Ticket, ticket.id))["Ticket.NoteAdded"] == threads * notes_each


# -- 6. grouped writes --------------------------------------------------------------------------


def test_a_group_of_commands_with_a_conflict_gives_each_the_answer_it_would_get_alone(ledger: Ledger) -> None:
    """Commands queued behind one write are stored as one group (issue 9). Two of them write the
    same ticket version, one with expected_version, and two carry Idempotency-Keys: the group's
    insert conflicts, each command is then stored alone and answers as if it had come alone."""
    tenant = random_ref("tenant-")
    busy, other, contested = (open_ticket(ledger, tenant) for _ in range(3))
    group = ledger.group_commit
    sizes: list[int] = []
    release = threading.Event()
    insert = group.insert

    def first_holds_the_lock(events):  # type: ignore[no-untyped-def]
        sizes.append(len(events))
        if len(sizes) == 1:
            release.wait(JOIN_TIMEOUT)  # the write in progress that the others queue behind
        return insert(events)

    group.insert = first_holds_the_lock
    keyed = str(uuid4())
    calls = [
        lambda: ledger.execute(AddInternalNote(context(tenant), busy.id, text="holds the lock")),
        lambda: ledger.execute(AddInternalNote(context(tenant), contested.id, text="note one")),
        lambda: ledger.execute(AddInternalNote(context(tenant), contested.id, text="note two")),
        lambda: ledger.execute(ChangeTicketPriority(context(tenant), contested.id, priority=Priority.HIGH,
                                                    expected_version=contested.version)),
        lambda: ledger.execute(ReplyToTicket(context(tenant, keyed, idempotent=True), other.id, text="on its way")),
        lambda: ledger.execute(inbound(tenant)),
    ]
    def answer(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except Exception as error:  # noqa: BLE001 - the test inspects what each command got
            return error

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        first = pool.submit(answer, calls[0])
        while not sizes:
            time.sleep(0.001)
        rest = [pool.submit(answer, call) for call in calls[1:]]
        deadline = time.monotonic() + JOIN_TIMEOUT
        while len(group._queue) < len(rest) and time.monotonic() < deadline:
            time.sleep(0.001)
        release.set()
        answers = [first.result(JOIN_TIMEOUT)] + [f.result(JOIN_TIMEOUT) for f in rest]
    group.insert = insert

    assert sizes[1] > max(sizes[2:], default=0)  # one insert for the whole group, then one each
    notes, priority = answers[1:3], answers[3]
    assert all(isinstance(a, Outcome) for a in notes), notes
    # The priority change named a version that a note may have moved on: a conflict only if it did.
    history = full_history(ledger, tenant, Ticket, contested.id)
    assert types_in(history)["Ticket.NoteAdded"] == 2
    if isinstance(priority, VersionConflict):  # as alone, behind a note that got there first
        assert types_in(history)["Ticket.PriorityChanged"] == 0
    else:
        assert isinstance(priority, Outcome)
        assert types_in(history)["Ticket.PriorityChanged"] == 1
    assert [h["version"] for h in history] == list(range(1, len(history) + 1))
    # Each answer's position is that of its own last event, and an Idempotency-Key replays it.
    replay = ledger.execute(ReplyToTicket(context(tenant, keyed, idempotent=True), other.id, text="on its way"))
    assert replay.replayed and replay.position == answers[4].position
    assert types_in(full_history(ledger, tenant, Ticket, other.id))["Ticket.ReplySent"] == 1
    positions = [a.position for a in answers if isinstance(a, Outcome)]
    assert len(set(positions)) == len(positions)
    feed = ledger.feed(tenant, 0, 1000)["items"]
    assert [i["position"] for i in feed] == sorted({i["position"] for i in feed})
