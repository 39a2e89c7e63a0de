"""Checking an exported case file with no database and no settings: `check_case(case)`.

Two things are checked, so that editing either part of a file is caught:
- the proof: each stream's events, in version order from 1 with none missing, hash from the
  genesis hash to the hashes and the head the file claims (domain/event_chain.event_hash); the
  digest names those heads;
- the readable part: the entries and the tickets' facts are made again from the proof's stored
  states (entries.py, the code that made them) and must equal what the file shows, entry by
  entry and in the same order; every event is the case's tenant's and no later than its moment.

What a file alone cannot show: that its streams are the ones stored. A file rewritten whole, with
hashes recomputed, checks; the recorded hashes and checkpoints ([audit] chain) are what anchor it.
The SLA clocks come from the SLA read model and are not covered (the file says so).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ledgerdesk.domain.event_chain import ALGORITHM, GENESIS, event_hash

from .entries import StoredStep, case_entries, ticket_facts
from .proof import case_digest

FORMAT = "ledgerdesk-case/1"
# A ticket's facts that the proof covers (its SLA does not).
COVERED_TICKET_FIELDS = ("ticket_id", "opened_at", "channel", "subject", "customer_id", "status", "priority", "category",
                         "assignee_id", "team_id", "order_ids", "merged_into", "replies", "customer_messages", "escalations")


@dataclass
class CaseCheck:
    streams: int = 0
    events: int = 0
    entries: int = 0
    unsealed: int = 0
    digest: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return not self.problems


def _key(entry: Any) -> tuple[str, int] | None:
    if isinstance(entry, dict) and isinstance(entry.get("stream_id"), str) and isinstance(entry.get("version"), int):
        return entry["stream_id"], entry["version"]
    return None


def _check_stream(stream: dict[str, Any], check: CaseCheck) -> list[StoredStep]:
    sid = stream.get("stream_id")
    events = stream.get("events")
    if not isinstance(sid, str) or not isinstance(events, list):
        check.problems.append(f"a stream of the proof has no stream_id or no events: {str(sid)[:80]}")
        return []
    steps: list[StoredStep] = []
    prev, expected, sealed, last_hash = GENESIS, 1, False, None
    for index, event in enumerate(events):
        try:
            version, topic, state, claimed = event["version"], event["topic"], event["state"], event.get("hash")
            if not (isinstance(version, int) and isinstance(topic, str) and isinstance(state, str)):
                raise TypeError
        except (KeyError, TypeError):
            check.problems.append(f"stream {sid}: event #{index + 1} is not a stored event (version, topic, state, hash)")
            continue
        if version < expected:
            check.problems.append(f"stream {sid} v{version}: out of order or repeated (after v{expected - 1})")
        elif version > expected:
            missing = f"v{expected}" if version == expected + 1 else f"v{expected}..v{version - 1}"
            check.problems.append(f"stream {sid}: {missing} missing before v{version} (removed)")
        expected = max(expected, version + 1)
        check.events += 1
        steps.append(StoredStep(sid, version, topic, state))
        if claimed is None:
            if sealed:
                check.problems.append(f"stream {sid} v{version}: no hash, after hashed events (inserted)")
            else:
                check.unsealed += 1  # history from before chaining began: shown, not provable
            continue
        sealed = True
        computed = event_hash(prev, sid, version, topic, state.encode("utf-8"))
        if computed != claimed:
            check.problems.append(f"stream {sid} v{version}: does not hash to its claimed hash (the event, or one before it, "
                                  "was altered)")
        prev = last_hash = claimed  # go on from the claim: later events still check one by one
    head_version = events[-1].get("version") if events and isinstance(events[-1], dict) else None
    if stream.get("head_version") != head_version:
        check.problems.append(f"stream {sid}: head_version {stream.get('head_version')} is not its last event's ({head_version})")
    if stream.get("head_hash") != last_hash:
        check.problems.append(f"stream {sid}: head_hash is not its last event's hash")
    return steps


def check_case(case: Any) -> CaseCheck:
    check = CaseCheck()
    if not isinstance(case, dict) or case.get("format") != FORMAT:
        check.problems.append(f"not a case file: its format is not {FORMAT!r}")
        return check
    proof = case.get("proof") if isinstance(case.get("proof"), dict) else {}
    if proof.get("algorithm") != ALGORITHM:
        check.problems.append(f"proof algorithm {str(proof.get('algorithm'))[:40]!r}: this checker knows {ALGORITHM!r}")
        return check
    streams = [s for s in proof.get("streams") or [] if isinstance(s, dict)]
    check.streams = len(streams)
    steps: dict[str, list[StoredStep]] = {}
    for stream in streams:
        sid = stream.get("stream_id")
        if isinstance(sid, str) and sid in steps:
            check.problems.append(f"stream {sid} is in the proof twice")
            continue
        found = _check_stream(stream, check)
        if isinstance(sid, str):
            steps[sid] = sorted(found, key=lambda s: s.version)
    check.digest = case_digest(streams)
    if proof.get("digest") != check.digest:
        check.problems.append("the proof's digest does not name its streams' heads")
    try:
        rebuilt = case_entries(steps)
    except (KeyError, TypeError, ValueError) as error:  # a state that is no stored event of ours
        check.problems.append(f"the proof's events cannot be read as events: {error!r}"[:300])
        return check
    _compare_entries(case.get("entries"), rebuilt, check)
    _check_moment_and_tenant(case, rebuilt, check)
    _compare_tickets(case.get("tickets"), ticket_facts(rebuilt), check)
    return check


def _compare_entries(shown: Any, rebuilt: list[dict[str, Any]], check: CaseCheck) -> None:
    if not isinstance(shown, list):
        check.problems.append("the file has no list of entries")
        return
    check.entries = len(shown)
    expected = {_key(e): e for e in rebuilt}
    seen: set[tuple[str, int]] = set()
    for index, entry in enumerate(shown):
        key = _key(entry)
        where = f"entry {index + 1}" + (f" ({key[0]} v{key[1]})" if key else "")
        if key is None:
            check.problems.append(f"{where}: names no stream_id and version")
        elif key not in expected:
            check.problems.append(f"{where}: no such event in the proof (added to the readable part)")
        elif key in seen:
            check.problems.append(f"{where}: shown twice")
        else:
            seen.add(key)
            edited = sorted(k for k in set(entry) | set(expected[key]) if entry.get(k) != expected[key].get(k))
            if edited:
                check.problems.append(f"{where} {expected[key]['type']}: differs from the event as stored in: {', '.join(edited)}")
    for key, entry in expected.items():
        if key not in seen:
            check.problems.append(f"{key[0]} v{key[1]} {entry['type']}: in the proof but not among the entries (removed)")
    shown_order = [k for k in (_key(e) for e in shown) if k in expected]
    rebuilt_order = [k for k in (_key(e) for e in rebuilt) if k in seen]
    if len(set(shown_order)) == len(shown_order) and shown_order != rebuilt_order:
        at = next(i for i, (a, b) in enumerate(zip(shown_order, rebuilt_order)) if a != b)
        check.problems.append(f"entries out of order from entry {at + 1} ({shown_order[at][0]} v{shown_order[at][1]})")


def _check_moment_and_tenant(case: dict[str, Any], rebuilt: list[dict[str, Any]], check: CaseCheck) -> None:
    try:
        moment = datetime.fromisoformat(case["as_of"])
    except (KeyError, TypeError, ValueError):
        check.problems.append("the file names no moment (as_of)")
        return
    for entry in rebuilt:
        where = f"{entry['stream_id']} v{entry['version']}"
        if datetime.fromisoformat(entry["occurred_at"]) > moment:
            check.problems.append(f"{where}: occurred at {entry['occurred_at']}, after the case's moment {case['as_of']}")
        if entry["tenant"] != case.get("tenant"):
            check.problems.append(f"{where}: another tenant's event")


def _compare_tickets(shown: Any, facts: dict[str, dict[str, Any]], check: CaseCheck) -> None:
    if not isinstance(shown, list):
        check.problems.append("the file has no list of tickets")
        return
    listed = {t.get("ticket_id"): t for t in shown if isinstance(t, dict)}
    for ticket_id in sorted(set(listed) | set(facts), key=str):
        if ticket_id not in facts:
            check.problems.append(f"ticket {ticket_id}: listed, but the proof does not open it")
        elif ticket_id not in listed:
            check.problems.append(f"ticket {ticket_id}: opened in the proof, but not listed")
        else:
            edited = [k for k in COVERED_TICKET_FIELDS if listed[ticket_id].get(k) != facts[ticket_id].get(k)]
            if edited:
                check.problems.append(f"ticket {ticket_id}: differs from its events in: {', '.join(edited)}")
