"""The Ledger: ledgerdesk's eventsourcing application, where every command is executed.

A command runs its handler against a unit of work and everything it changed is saved in
one call, so a command is applied whole or not at all. Conflicts at the store decide the
races: a receipt for a retried command or a redelivered message already there, or another
writer got in first (then the command runs again on fresh state).
"""
from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, Callable
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder
from eventsourcing.utils import Environment, EnvType

from ledgerdesk.domain.agent import Agent
from ledgerdesk.domain.team import Team
from ledgerdesk.domain.audit import ActorKind
from ledgerdesk.domain.conversation import Conversation
from ledgerdesk.domain.customer import Customer
from ledgerdesk.domain.receipts import CommandReceipt, MessageReceipt
from ledgerdesk.domain.sla_policy import SlaPolicy
from ledgerdesk.domain.ticket import Ticket
from ledgerdesk.domain.triage_rules import TriageRules

from . import commands as c
from .as_of import Moment, aggregate_as_of
from .audit_verify import LogReport, stream_proof, verify_log, verify_stream
from .errors import ConcurrencyConflict, IdempotencyKeyReused, NotFound
from .event_views import describe, flatten
from .group_commit import GroupCommit
from .intake import intake_answer, receive_inbound_message
from .log_positions import position_of
from .mail_quarantine import release_quarantined_mail
from .ports import Clock, LanguageDetector, no_language_detection, system_clock
from .handlers import COMMAND_HANDLERS, open_ticket
from .transcodings import register_domain_transcodings
from .unit_of_work import UnitOfWork, load_owned

log = logging.getLogger(__name__)

# Writers that lose a race on the same aggregate try again after a jittered, growing pause,
# so under contention they take turns instead of colliding in lockstep.
RETRY_BUDGET_SECONDS = 10.0
FIRST_BACKOFF_SECONDS = 0.002
MAX_BACKOFF_SECONDS = 0.1
# Aggregates whose events make up a tenant's public log; receipts and claims are bookkeeping.
FEED_AGGREGATES = (Ticket, Conversation, Customer, SlaPolicy, Agent, Team, TriageRules)


def _topic_prefix(kind: type[Aggregate]) -> str:
    return f"{kind.__module__}:{kind.__qualname__}."


FEED_TOPICS = tuple(_topic_prefix(kind) for kind in FEED_AGGREGATES)


class Repeat(StrEnum):
    """Why a command appended nothing and answered what an earlier one did."""

    # The caller's Idempotency-Key came before: the first answer, whole (position included).
    IDEMPOTENCY_KEY = "idempotency-key"
    # The channel's message (channel, external message id) was taken in before, by another
    # request: where it went, marked as a duplicate, with no position of this request's own.
    REDELIVERY = "redelivery"


@dataclass(frozen=True)
class Outcome:
    result: dict[str, Any]
    position: int | None
    repeat: Repeat | None = None

    @property
    def replayed(self) -> bool:
        """Nothing was appended: an earlier answer was given again."""
        return self.repeat is not None

    @property
    def redelivered(self) -> bool:
        return self.repeat is Repeat.REDELIVERY


def fingerprint(command: Any) -> str:
    payload = {k: v for k, v in asdict(command).items() if k != "context"}
    text = json.dumps([type(command).__name__, payload], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class Ledger(Application):
    name = "Ledger"

    def __init__(
        self,
        env: dict[str, str] | None = None,
        clock: Clock = system_clock,
        default_phone_region: str | None = None,
        detect_language: LanguageDetector = no_language_detection,
    ):
        super().__init__(env)
        if self.mapper.compressor is not None or self.mapper.cipher is not None:
            raise ValueError("histories and feeds read the stored JSON directly: no compressor or cipher")
        self.clock = clock
        self.default_phone_region = default_phone_region
        self.detect_language = detect_language
        # Told the last log position after each command's events are stored (e.g. to wake an
        # in-process projector). A listener must be quick; one that raises is logged, and the
        # command, already stored, still answers its success.
        self.on_appended: list[Callable[[int], None]] = []
        self.group_commit = GroupCommit(self.recorder.insert_events)

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        """Exactly the settings given (interfaces/settings.py builds them all from ours).

        The library would merge os.environ in, under and over them (NAME_-prefixed keys win):
        AGGREGATE_CACHE_FASTFORWARD=n in a server's environment made every second command on
        a ticket conflict, and LEDGER_PERSISTENCE_MODULE could move the log to memory.
        """
        return Environment(name, dict(env or {}))

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_domain_transcodings(transcoder)

    # -- commands -------------------------------------------------------------------------

    def execute(self, command: Any) -> Outcome:
        ctx: c.CommandContext = command.context
        if ctx.idempotent:
            earlier = self._earlier_answer(command)
            if earlier is not None:
                return earlier
        handler = self._handler_for(command)
        deadline = time.monotonic() + RETRY_BUDGET_SECONDS
        backoff = FIRST_BACKOFF_SECONDS
        while True:
            uow = UnitOfWork(self.repository, ctx.meta(), self.clock())
            result = handler(uow, command)
            changed = uow.changed()
            # A policy's decision that changed nothing leaves no receipt: handled again, it is
            # decided again on the state of then (a caller's retry must get its first answer).
            if ctx.idempotent and (changed or ctx.actor.kind is not ActorKind.POLICY):
                changed.append(CommandReceipt.record(uow.meta, uow.at, type(command).__name__, fingerprint(command), result))
            if not changed:
                return Outcome(result, position=None)
            try:
                position = self._append(changed)
            except IntegrityError:
                earlier = self._earlier_answer(command)
                if earlier is not None:
                    return earlier
                # Another writer moved an aggregate on: decide again on fresh state.
                if time.monotonic() + backoff > deadline:
                    raise ConcurrencyConflict("the aggregates kept changing under this command; retry it") from None
                time.sleep(random.uniform(0, backoff))
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue
            return Outcome(result, position=position)

    def _append(self, aggregates: list[Aggregate]) -> int:
        """Stores the aggregates' new events in one atomic insert; answers the last position.

        The same as `Application.save` without its runtime-protocol checks of each object,
        which cost more than the insert's own Python work (this app takes no snapshots, so
        save's other steps do nothing here), and grouped with other commands' appends when
        they queue for the log together (group_commit.py). Once the insert returned the command is stored:
        nothing after it may fail the command, or a client told "failed" would apply it twice.
        """
        events = [event for aggregate in aggregates for event in aggregate.collect_events()]
        # Mapped here, in the command's own thread; stored with whatever else queued for the log.
        position = self.group_commit.append([self.mapper.to_stored_event(event) for event in events])[-1]
        try:
            self._cache(aggregates)
        except Exception:
            log.exception("caching the aggregates stored at position %s failed; the command stands", position)
        for listener in self.on_appended:
            try:
                listener(position)
            except Exception:
                log.exception("an on_appended listener failed after position %s was stored; the command stands", position)
        return position

    def _cache(self, aggregates: list[Aggregate]) -> None:
        """What `Application._record` does: without fast-forward, the cache only learns of new
        versions here (else the next command would start from a stale copy and conflict)."""
        cache = self.repository.cache
        if cache is not None and not self.repository.fastforward:
            for aggregate in aggregates:
                cache.put(aggregate.id, aggregate)

    def _handler_for(self, command: Any) -> Callable[[UnitOfWork, Any], dict[str, Any]]:
        if isinstance(command, c.ReceiveInboundMessage):
            return lambda uow, cmd: receive_inbound_message(uow, cmd, self.default_phone_region, self.detect_language)
        if isinstance(command, c.OpenTicket):
            return lambda uow, cmd: open_ticket(uow, cmd, self.default_phone_region, self.detect_language)
        if isinstance(command, c.ReleaseQuarantinedMail):
            return lambda uow, cmd: release_quarantined_mail(uow, cmd, self.default_phone_region, self.detect_language)
        return COMMAND_HANDLERS[type(command)]

    def _earlier_answer(self, command: Any) -> Outcome | None:
        """What a retried command or a redelivered message answered the first time, if it came before."""
        ctx: c.CommandContext = command.context
        if ctx.idempotent and (replay := self._replay(command)) is not None:
            return replay
        if isinstance(command, c.ReceiveInboundMessage):
            receipt_id = MessageReceipt.id_for(ctx.tenant, command.channel, command.external_message_id.strip())
            taken_in = load_owned(self.repository, MessageReceipt, receipt_id, ctx.tenant)
            if taken_in is not None:
                # Both receipts of a first request commit together, so if it carried this same
                # Idempotency-Key and committed between the two looks, this is its replay.
                if ctx.idempotent and (replay := self._replay(command)) is not None:
                    return replay
                return Outcome(intake_answer(taken_in, duplicate=True), position=None, repeat=Repeat.REDELIVERY)
        return None

    def _replay(self, command: Any) -> Outcome | None:
        """The first answer to the command's Idempotency-Key, if a command with it was stored."""
        ctx: c.CommandContext = command.context
        receipt = load_owned(self.repository, CommandReceipt, CommandReceipt.id_for(ctx.tenant, ctx.command_id), ctx.tenant)
        if receipt is None:
            return None
        # A policy's command id derives from (policy, trigger): the same trigger handled again is
        # the same command even when what it saw moved on (a clock read later, other candidates),
        # so it replays the first answer. Anyone else reusing a key for another body is refused.
        if receipt.fingerprint != fingerprint(command) and ctx.actor.kind is not ActorKind.POLICY:
            raise IdempotencyKeyReused(
                f"the Idempotency-Key {ctx.command_id!r} was used for a different command ({receipt.command_type})",
                field="Idempotency-Key",
            )
        # The receipt was the last event of the command's append: its position is the command's.
        position = position_of(self.recorder, receipt.id, 1)
        return Outcome(receipt.result, position=position, repeat=Repeat.IDEMPOTENCY_KEY)

    # -- queries --------------------------------------------------------------------------

    def aggregate(self, tenant: str, kind: type[Aggregate], aggregate_id: UUID, field: str = "id") -> Any:
        """The tenant's aggregate of that kind; a NotFound naming `field` (the caller's name for the id) if none."""
        found = load_owned(self.repository, kind, aggregate_id, tenant)
        if found is None:
            raise NotFound.of(kind, aggregate_id, field)
        return found

    def aggregate_as_of(self, tenant: str, kind: type[Aggregate], aggregate_id: UUID, moment: Moment, field: str = "id") -> Any:
        """The tenant's aggregate as it stood at a past moment (as_of.py): replayed from its own events."""
        return aggregate_as_of(self.repository, tenant, kind, aggregate_id, moment, field)

    def history(
        self, tenant: str, kind: type[Aggregate], aggregate_id: UUID, after_version: int, limit: int, field: str = "id"
    ) -> dict[str, Any]:
        """An aggregate's events after a version, oldest first, one page at a time."""
        stored = self.recorder.select_events(aggregate_id, gt=after_version, limit=limit + 1)
        page = [describe(s) for s in stored[:limit]]
        if not page:
            self.aggregate(tenant, kind, aggregate_id, field)  # 404 unless a real aggregate's page past its end
        elif page[0]["tenant"] != tenant or not stored[0].topic.startswith(_topic_prefix(kind)):
            raise NotFound.of(kind, aggregate_id, field)
        return {"items": page, "next_after_version": page[-1]["version"] if len(stored) > limit else None}

    def feed(self, tenant: str, after: int, limit: int, scan_limit: int = 5000) -> dict[str, Any]:
        """The tenant's slice of the global log after a position.

        Other tenants' events are skipped, so the answer says how far the scan reached:
        resuming from `next_after` misses nothing and repeats nothing.
        """
        items: list[dict[str, Any]] = []
        position = after
        scanned = 0
        head = self.recorder.max_notification_id() or 0
        while len(items) < limit and scanned < scan_limit and position < head:
            batch = self.recorder.select_notifications(
                start=position, limit=min(max(limit * 2, 100), scan_limit - scanned), inclusive_of_start=False
            )
            if not batch:
                break
            for notification in batch:
                position = notification.id
                scanned += 1
                if not notification.topic.startswith(FEED_TOPICS):
                    continue
                record = describe(notification, position=notification.id)
                if record["tenant"] == tenant:
                    items.append(record)
                    if len(items) == limit:
                        break
        return {"items": items, "next_after": position, "head": head}

    # -- audit: the hash chains (audit_verify.py) ------------------------------------------------

    def verify_stream(self, stream_id: UUID, tenant: str | None = None, field: str = "stream") -> dict[str, Any]:
        """One stream's chain checked; with `tenant`, only that tenant's stream (another's is a NotFound)."""
        if tenant is not None and self._stream_tenant(stream_id) != tenant:
            raise NotFound(f"no stream {stream_id}", field=field)
        return verify_stream(self.recorder, stream_id)  # type: ignore[arg-type]

    def verify_log(self, progress: Callable[[int], None] | None = None) -> LogReport:
        """Every stream's chain and every checkpoint of the log."""
        return verify_log(self.recorder, progress)  # type: ignore[arg-type]

    def stream_proof(self, stream_id: UUID, up_to_version: int | None = None) -> dict[str, Any]:
        """What checks a stream offline: see audit_verify.stream_proof."""
        return stream_proof(self.recorder, stream_id, up_to_version)  # type: ignore[arg-type]

    def _stream_tenant(self, stream_id: UUID) -> str | None:
        """The tenant its first stored event names (None: no events, or not one of ours)."""
        first = self.recorder.select_events(stream_id, limit=1)
        try:
            return flatten(json.loads(first[0].state)["meta"])["tenant"] if first else None
        except (ValueError, KeyError, TypeError):  # an event altered beyond reading: no tenant's
            return None
