"""The one wiring place: settings, the Ledger, the read side and the HTTP app are put together here."""
from __future__ import annotations

import gc
from uuid import UUID
from datetime import datetime, timedelta
import json
import secrets
from dataclasses import dataclass
from collections.abc import Callable
from typing import Protocol

import psycopg

from ledgerdesk import migrations
from ledgerdesk.application.audit_checkpoints import CheckpointFollower, Checkpointer
from ledgerdesk.application.case_files.build import build_case
from ledgerdesk.application.case_files.scope import CaseScope
from ledgerdesk.application.errors import NotFound
from ledgerdesk.application.ledger import Ledger
from ledgerdesk.application.ports import Clock, system_clock
from ledgerdesk.application.escalation_policy import LEVEL_REACHED, EscalationPolicy
from ledgerdesk.application.policy import Policy, Trigger, run_policy
from ledgerdesk.application.routing_policy import OFFLINE_GRACE_ENDED, RoutingPolicy
from ledgerdesk.application.triage_policy import TriagePolicy
from ledgerdesk.projections.catalog import all_read_models
from ledgerdesk.projections.agents.offline_timers import OfflineGraceTimers
from ledgerdesk.projections.follower import Follower, Followers
from ledgerdesk.projections.policy_consumer import PolicyConsumer
from ledgerdesk.projections.policy_relay import RELAY_NAME, PolicyRelay
from ledgerdesk.projections.policy_runner import PolicyRunner
from ledgerdesk.projections.projector import Projector
from ledgerdesk.projections.routing_directory import ReadModelRoutingDirectory
from ledgerdesk.projections.sla import queries as sla_queries
from ledgerdesk.projections.sla.due_clocks import ReadModelSlaTimers, SlaClockTimers
from ledgerdesk.projections.inbox.projection import NAME as INBOX
from ledgerdesk.projections.timeline.case_index import TimelineCaseIndex
from ledgerdesk.projections.timeline.projection import CustomerTimeline
from ledgerdesk.projections.timer_sweep import TimerSource, TimerSweep
from ledgerdesk.projections.sla.as_of import ticket_sla_as_of
from ledgerdesk.projections.store import ReadStore
from ledgerdesk.projections.tracking import wait_until_applied

from .broker import build_broker
from .language_detection import LangidDetector
from .policy_messages import PolicyMessages
from .projector_process import ProjectorProcess
from .settings import ApiKey, Role, Settings

# Any fixed 64-bit key, the same in every process: it names "creating ledgerdesk's tables".
SCHEMA_LOCK_KEY = 0x1ED6E7D5


def build_ledger(settings: Settings, clock: Clock = system_clock) -> Ledger:
    env = settings.eventsourcing_env()
    detector = LangidDetector()
    if env["PERSISTENCE_MODULE"] != "eventsourcing.postgres":
        return Ledger(env=env, clock=clock, default_phone_region=settings.default_phone_region, detect_language=detector)
    # API processes starting together on an empty database would race on eventsourcing's
    # CREATE TABLE IF NOT EXISTS (PostgreSQL refuses the loser), so they take turns.
    ledger = Ledger(
        env={**env, "CREATE_TABLE": "n"}, clock=clock, default_phone_region=settings.default_phone_region, detect_language=detector
    )
    with psycopg.connect(
        dbname=env["POSTGRES_DBNAME"],
        host=env["POSTGRES_HOST"],
        port=env["POSTGRES_PORT"],
        user=env["POSTGRES_USER"],
        password=env["POSTGRES_PASSWORD"],
        autocommit=True,
    ) as schema_lock:
        schema_lock.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK_KEY,))
        ledger.recorder.create_table()
    return ledger


def build_read_store(settings: Settings) -> ReadStore:
    """The read-model database, migrated to the latest revision, with every read model registered."""
    store = ReadStore(settings.read_model_url())
    migrations.upgrade(store.write_engine)
    store.register(m.name for m in all_read_models())
    return store


CaseBuilder = Callable[[str, CaseScope, datetime | None, datetime], dict]
CASE_CATCH_UP_SECONDS = 3.0


def build_case_builder(ledger: Ledger, store: ReadStore) -> CaseBuilder:
    """`(tenant, scope, as_of, now) -> case file`: the log replayed, candidates and SLA clocks from the read models."""
    index = TimelineCaseIndex(store)

    def clocks(tenant: str, ticket_id: str, moment: datetime, now: datetime) -> dict | None:
        if moment >= now:
            return sla_queries.ticket_sla(store, tenant, ticket_id, now)
        try:  # the ticket's own events replayed to the moment, under the policies in force then
            return ticket_sla_as_of(ledger, sla_queries.policy_ids(store, tenant), tenant, UUID(ticket_id), moment)
        except NotFound:
            return None

    def build(tenant: str, scope: CaseScope, as_of: datetime | None, now: datetime) -> dict:
        # A case is everything up to its moment: the read models that find its tickets (and their
        # SLA clocks) first take in the log as it stands now, if something is moving them.
        wait_until_applied(store, (CustomerTimeline.name, INBOX), ledger.recorder.max_notification_id() or 0, CASE_CATCH_UP_SECONDS)
        return build_case(ledger, index, clocks, tenant, scope, as_of, now)

    return build


# Each policy by name, made for a projector's read store (what it looks up there).
POLICIES: dict[str, Callable[[ReadStore], Policy]] = {
    "triage": lambda _store: TriagePolicy(),
    "routing": lambda store: RoutingPolicy(ReadModelRoutingDirectory(store)),
    "escalation": lambda store: EscalationPolicy(ReadModelSlaTimers(store, system_clock)),
}
# The policies fired by timers (the escalation sweep), not by events of the log.
TIMED_POLICIES = frozenset({"escalation"})


def policy_consumers(ledger: Ledger, store: ReadStore, policies: tuple[str, ...]) -> list[PolicyConsumer]:
    """A log follower for each policy that reacts to the log's events."""
    consumers = [PolicyConsumer(POLICIES[name](store), ledger) for name in policies if name not in TIMED_POLICIES]
    store.register(consumer.name for consumer in consumers)
    return consumers


def build_projector(ledger: Ledger, store: ReadStore, policies: tuple[str, ...] = ()) -> Projector:
    """Every read model, and the named policies after them (what status shows; the tests' projectors run none)."""
    # The wall clock, not the ledger's: the projector only stamps its own bookkeeping.
    return Projector(store, ledger.recorder, [*all_read_models(), *policy_consumers(ledger, store, policies)])


class ReadSide(Protocol):
    """What keeps this process's read models following the log: a thread, or a child process."""

    def start(self) -> None: ...
    def wake(self, position: int | None = None) -> None: ...
    def stop(self) -> None: ...


@dataclass
class Runtime:
    """What one process serves with: the write side, the read side, and how the two are joined.

    In the embedded default a child process projects (interfaces/projector_process.py), woken
    after each command's append; `inline`, a thread of this process; with projections external
    (`ledgerdesk project` runs them) there is none. Either way this process reads the read
    models. Read routes take their clock and phone region from here, not from the write side.
    """

    settings: Settings
    ledger: Ledger
    clock: Clock = system_clock
    read_store: ReadStore | None = None
    projector: Projector | None = None
    follower: ReadSide | None = None

    @property
    def default_phone_region(self) -> str | None:
        return self.settings.default_phone_region

    def start(self) -> None:
        if self.follower is not None:
            self.ledger.on_appended.append(self.follower.wake)
            self.follower.start()

    def stop(self) -> None:
        if self.follower is not None:
            self.follower.stop()
            self.ledger.on_appended.remove(self.follower.wake)


def build_policy_messages(settings: Settings, run: Callable[[str, Trigger], None] | None = None) -> PolicyMessages:
    """The configured policies' actors on the broker LEDGERDESK_BROKER_URL names; `run` runs a
    message (workers), without it they only send (the relay, timers)."""
    return PolicyMessages(build_broker(settings), settings, settings.policies, run)


def build_relay(ledger: Ledger, store: ReadStore, settings: Settings) -> PolicyRelay:
    """The relay of the configured policies' triggers to the broker (see projections/policy_relay.py)."""
    messages = build_policy_messages(settings)
    return PolicyRelay(store, ledger.recorder, [POLICIES[name](store) for name in settings.policies], messages.send)


def build_follower(ledger: Ledger, store: ReadStore, settings: Settings) -> Followers:
    """The read models' follower and, beside it, one per policy: a policy's batch runs commands
    through the write path, which takes far longer than a read model's, and neither the inbox
    nor another policy must wait for it. With a broker, the relay instead of the policies: they
    run in `ledgerdesk worker` processes. The policies' timers have a sweep of their own, which
    fires them here or, with a broker, sends them to the workers. The audit checkpointer follows
    the log too, at its own slower pace."""
    pace = {"fallback_wake_seconds": settings.projection_fallback_wake_seconds,
            "interval_seconds": settings.projection_interval_seconds}
    projecting = Follower(build_projector(ledger, store), name="projector", **pace)
    followers: list[Follower | TimerSweep] = [projecting]
    if settings.broker_url is not None:
        if settings.policies:
            followers.append(Follower(build_relay(ledger, store, settings), name=RELAY_NAME, **pace))
    else:
        for consumer in policy_consumers(ledger, store, settings.policies):  # each its own: triage never delays routing
            followers.append(Follower(PolicyRunner(store, ledger.recorder, [consumer]), name=consumer.name, **pace))
    sweep = build_timer_sweep(ledger, store, settings)
    if sweep is not None:
        projecting.on_progress.append(sweep.wake)  # new rows may hold a sooner timer, or a timer's effect
        followers.append(sweep)
    followers.append(CheckpointFollower(build_checkpointer(ledger, settings)))
    return Followers(followers)


def build_checkpointer(ledger: Ledger, settings: Settings) -> Checkpointer:
    """The audit checkpointer over the Ledger's log (its checkpoints live beside the events)."""
    return Checkpointer(ledger.recorder, every_events=settings.audit_checkpoint_events,  # type: ignore[arg-type]
                        every_seconds=settings.audit_checkpoint_seconds)


def timer_sources(store: ReadStore, settings: Settings) -> tuple[dict[str, str], list[TimerSource]]:
    """The policies' timers (SLA clocks for escalation, offline agents for routing): which policy
    each trigger type belongs to, and where the timers are read."""
    timed: dict[str, str] = {}  # trigger type -> policy
    sources: list[TimerSource] = []
    if "escalation" in settings.policies:
        timed[LEVEL_REACHED] = "escalation"
        sources.append(SlaClockTimers(store))
    if "routing" in settings.policies:
        timed[OFFLINE_GRACE_ENDED] = "routing"
        sources.append(OfflineGraceTimers(store, timedelta(seconds=settings.offline_grace_seconds)))
    return timed, sources


def build_timer_sweep(ledger: Ledger, store: ReadStore, settings: Settings) -> TimerSweep | None:
    """The policies' timers, fired by the policy whose trigger they are: in this process, or with
    a broker by a worker."""
    timed, sources = timer_sources(store, settings)
    if not sources:
        return None
    if settings.broker_url is not None:
        messages = build_policy_messages(settings)
        return TimerSweep(
            sources, lambda trigger: messages.send(timed[trigger.type], trigger), interval=settings.timer_sweep_seconds,
            schedule=lambda trigger, delay: messages.send(timed[trigger.type], trigger, delay_ms=int(delay * 1000) + 1))
    policies = {name: POLICIES[name](store) for name in timed.values()}
    return TimerSweep(sources, lambda trigger: run_policy(policies[timed[trigger.type]], trigger, ledger),
                      interval=settings.timer_sweep_seconds)


def build_runtime(settings: Settings, clock: Clock = system_clock) -> Runtime:
    ledger = build_ledger(settings, clock)
    read_store = build_read_store(settings)
    # For status and /readyz: the read models, and the policies where this deployment follows the log
    # for them; with a broker the relay does, and a policy's own position, never moved, would read
    # as an ever-growing lag (/readyz a 503 once past LEDGERDESK_READY_MAX_LAG).
    projector = build_projector(ledger, read_store, settings.policies if settings.broker_url is None else ())
    follower: ReadSide | None = None
    if settings.read_only:  # serving read models as they stand (a replay, say): nothing moves them
        pass
    elif settings.projections == "inline":
        follower = build_follower(ledger, read_store, settings)
    elif settings.projections == "process":
        follower = ProjectorProcess(settings)
    return Runtime(settings, ledger, clock, read_store, projector, follower)


def ensure_dev_key(settings: Settings) -> tuple[Settings, str | None]:
    """With no key configured, a development key for a `demo` tenant, kept beside the database."""
    if settings.api_keys:
        return settings, None
    path = settings.dev_key_path()
    if path.exists():
        stored = json.loads(path.read_text())
        key, entry = stored["key"], ApiKey(**stored["entry"])
    else:
        key = "dev-" + secrets.token_urlsafe(24)
        entry = ApiKey(tenant="demo", actor="demo-admin", role=Role.ADMIN)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"key": key, "entry": entry.model_dump(mode="json")}))
        path.chmod(0o600)
    return settings.model_copy(update={"api_keys": {key: entry}}), key


def tune_garbage_collector() -> None:
    """Fewer, cheaper collections for a long-running server.

    A history read allocates thousands of short-lived objects; with the default threshold
    each few reads trigger a collection that walks the whole aggregate cache, which is what
    the slowest requests were waiting for. Objects alive after start-up are frozen out of
    collections altogether. Memory stays flat (see bench/: soak RSS).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
