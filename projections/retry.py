"""Retrying parked events, after a fix: each held tenant's events from its first parked one on.

A held tenant's events are applied in log order, in batches, each batch in a transaction that
holds the read model's lock (the live projector, which skips the tenant meanwhile, waits for
it); the hold moves on with each batch, so a retry that dies half-way resumes where it stopped.
When the tenant reaches the read model's position its hold is released and the live projector
takes it on from there: its rows are what a rebuild would make. An event that fails again stays
parked, with its error and a retry count, and the tenant stays held from it.

An event parked because it could not even be read (its tenant unknown) held nobody back, so it
is retried on its own, out of log order: the one case a retry cannot make exactly a rebuild's
rows (a rebuild does, once the event reads).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from eventsourcing.persistence import Notification

from ledgerdesk.application.event_views import event_type

from . import parking
from .event_record import EventRecord
from .projector import ApplyFailed, Pass, Projector, Target, is_events_fault
from .read_model import ReadModel


@dataclass(frozen=True)
class RetryOutcome:
    name: str
    tenant: str | None
    applied: int  # events applied by this retry
    resolved: bool  # nothing of the tenant is parked or waits any more
    position: int | None = None  # where it stopped again, if it did
    error: str | None = None

    def describe(self) -> str:
        who = f"tenant {self.tenant}" if self.tenant is not None else "an unreadable event"
        if self.resolved:
            return f"{self.name}: {who} caught up ({self.applied} events applied)"
        return f"{self.name}: {who} still parked at position {self.position}: {self.error}"


def retry(projector: Projector, models: Sequence[ReadModel], tenant: str | None = None,
          progress: Callable[[int], None] | None = None) -> list[RetryOutcome]:
    """Retries the parked events of these read models (of one tenant, if given)."""
    store = projector.store
    outcomes = []
    for model in models:
        with store.reading() as conn:
            generation = store.generations(conn, [model.name])[model.name].active
            held = parking.held_tenants(conn, model.name, generation)
            lone = [p.position for p in parking.parked_events(conn, {model.name: generation}, limit=100_000) if p.tenant is None]
        for held_tenant in sorted(held):
            if tenant is None or held_tenant == tenant:
                outcomes.append(_retry_tenant(projector, model, held_tenant, progress))
        if tenant is None:
            outcomes.extend(_retry_unreadable(projector, model, position) for position in lone)
    return outcomes


def _relevant(model: ReadModel, notifications: Sequence[Notification], tenant: str) -> tuple[list[EventRecord], dict[int, Notification]]:
    records, by_position = [], {}
    for notification in notifications:
        if event_type(notification.topic) not in model.event_types:
            continue
        try:
            record = EventRecord.from_notification(notification)
        except Exception:  # noqa: BLE001 - unreadable: parked as no tenant's, retried on its own
            continue
        if record.tenant == tenant:
            records.append(record)
            by_position[notification.id] = notification
    return records, by_position


def _retry_tenant(projector: Projector, model: ReadModel, tenant: str, progress: Callable[[int], None] | None) -> RetryOutcome:
    store, applied = projector.store, 0
    while True:
        with store.writing() as conn:
            generation, position, _ = projector.position(conn, Target(model), lock=True)
            since = parking.held_tenants(conn, model.name, generation).get(tenant)
            if since is None:  # another retry finished it
                return RetryOutcome(model.name, tenant, applied, resolved=True)
            notifications = projector.log.select_notifications(
                start=since, limit=projector.batch_size, stop=position, inclusive_of_start=True
            ) if since <= position else []
            if not notifications:
                parking.release(conn, model.name, generation, tenant)
                return RetryOutcome(model.name, tenant, applied, resolved=True)
            records, by_position = _relevant(model, notifications, tenant)
            work = Pass(conn, model, generation, {}, projector.clock)
            work.apply(records, by_position)
            if work.parked:
                stopped = min(work.parked)
                parking.move_hold(conn, model.name, generation, tenant, stopped)
                done = sum(1 for r in records if r.position < stopped)
                return RetryOutcome(model.name, tenant, applied + done, False, stopped, work.parked[stopped])
            applied += len(records)
            last = notifications[-1].id
            if last >= position:
                parking.release(conn, model.name, generation, tenant)
                resolved = True
            else:
                parking.move_hold(conn, model.name, generation, tenant, last + 1)
                resolved = False
        if progress is not None:
            progress(len(notifications))
        if resolved:
            return RetryOutcome(model.name, tenant, applied, resolved=True)


def _retry_unreadable(projector: Projector, model: ReadModel, position: int) -> RetryOutcome:
    """An event parked before its tenant was known: applied on its own if it now reads and applies."""
    with projector.store.writing() as conn:
        generation, _, _ = projector.position(conn, Target(model), lock=True)
        found = projector.log.select_notifications(start=position, limit=1, inclusive_of_start=True)
        if not found or found[0].id != position:
            parking.resolve(conn, model.name, generation, position)
            return RetryOutcome(model.name, None, 0, resolved=True)
        work = Pass(conn, model, generation, {}, projector.clock)
        try:
            record = EventRecord.from_notification(found[0])
        except Exception as error:  # noqa: BLE001 - still unreadable: stays parked
            work.park(found[0], None, error)
            return RetryOutcome(model.name, None, 0, False, position, work.parked[position])
        try:
            with conn.begin_nested():
                work.run([record])
        except Exception as error:
            cause = error.error if isinstance(error, ApplyFailed) else error
            if not is_events_fault(cause):
                raise cause from None
            # Parked again as no tenant's: the tenant's later events were applied meanwhile, so
            # holding it from here would apply them twice.
            work.park(found[0], None, cause)
            return RetryOutcome(model.name, record.tenant, 0, False, position, work.parked[position])
        parking.resolve(conn, model.name, generation, position)
        return RetryOutcome(model.name, record.tenant, 1, resolved=True)
