"""A case's readable timeline, made from its streams' events exactly as stored.

Pure functions of the stored events (stream id, version, topic, state text), so that the readable
part of a case file can be made again from its proof and compared, offline: an edited entry, a
removed one or one slipped in shows. Nothing here reads a database or a clock.

Order: by the time an event occurred; events of one instant (one command stores several) by
cause, then by stream and version, so a cause always comes before what it caused and a stream's
events keep their order. Log positions are not used: an exported file does not carry them.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from ledgerdesk.domain.audit import ActorKind

from ..event_views import event_id_text, event_type, flatten

AUTOMATIC_ACTORS = frozenset({ActorKind.POLICY.value, ActorKind.SYSTEM.value})
_ENVELOPE = ("timestamp", "meta", "originator_topic", "class_version")


@dataclass(frozen=True)
class StoredStep:
    """One event of a stream, as stored: what a proof carries and an entry is made from."""

    stream_id: str
    version: int
    topic: str
    state: str  # the stored JSON, as text

    def decoded(self) -> dict[str, Any]:
        return flatten(orjson.loads(self.state))

    def occurred_at(self) -> datetime:
        return datetime.fromisoformat(self.decoded()["timestamp"])


def _short(text: Any, length: int = 120) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= length else text[: length - 1] + "…"


def summary_of(kind: str, data: Mapping[str, Any], channel: str | None) -> str:
    """What happened, in a line of plain English (the HTML document says it in its own language)."""
    on = f" on {channel}" if channel else ""
    match kind:
        case "Ticket.Opened":
            return f"ticket opened{on}: {_short(data.get('subject'))} (priority {data.get('priority')})"
        case "Ticket.CustomerMessageAdded":
            return f"customer message added to the ticket{on}"
        case "Conversation.InboundMessageReceived":
            order = f" about order {data['order_id']}" if data.get("order_id") else ""
            return f"customer wrote{on}{order}: {_short(data.get('text'))}"
        case "Ticket.ReplySent":
            return f"public reply{on}: {_short(data.get('text'))}"
        case "Conversation.OutboundMessageSent":
            return f"reply sent{on}: {_short(data.get('text'))}"
        case "Ticket.NoteAdded" | "Conversation.InternalNoteAdded":
            return f"internal note: {_short(data.get('text'))}"
        case "Ticket.StatusChanged":
            return f"status {data.get('from_status')} → {data.get('to_status')}"
        case "Ticket.PriorityChanged":
            return f"priority {data.get('from_priority')} → {data.get('to_priority')}"
        case "Ticket.CategoryChanged":
            return f"category set to {data.get('category')}"
        case "Ticket.Assigned":
            team = f" in team {data['team_id']}" if data.get("team_id") else ""
            return f"assigned to agent {data.get('agent_id')}{team}"
        case "Ticket.Unassigned":
            return f"agent {data.get('agent_id')} unassigned"
        case "Ticket.TransferredToTeam":
            return f"transferred to team {data.get('team_id')}" + (f" from {data['from_team_id']}" if data.get("from_team_id") else "")
        case "Ticket.Queued":
            return "queued: no agent could take it" + (f" in team {data['team_id']}" if data.get("team_id") else "")
        case "Ticket.Escalated":
            return f"SLA {data.get('metric')} (cycle {data.get('cycle')}) reached {', '.join(data.get('levels') or [])}"
        case "Ticket.OrderLinked":
            return f"order {data.get('order_id')} linked"
        case "Ticket.ConversationLinked" | "Conversation.LinkedToTicket":
            return "conversation and ticket linked"
        case "Ticket.MergedInto":
            return f"merged into ticket {data.get('target_ticket_id')}"
        case "Ticket.TicketMergedIn":
            return f"ticket {data.get('source_ticket_id')} merged in"
        case "Ticket.Tagged":
            return f"tagged {', '.join(data.get('tags') or [])}"
        case "Ticket.Untagged":
            return f"untagged {', '.join(data.get('tags') or [])}"
        case "Ticket.Rated":
            comment = f": {_short(data['comment'])}" if data.get("comment") else ""
            return f"rated {data.get('score')}/5{comment}"
        case "Conversation.Started":
            return f"conversation started{on} (thread {_short(data.get('external_thread_id'), 60)})"
        case "Conversation.Closed":
            return "conversation closed"
        case "Customer.Registered":
            return "customer registered" + (f": {_short(data['display_name'], 60)}" if data.get("display_name") else "")
        case "Customer.IdentityAdded":
            identity = data.get("identity") or {}
            return f"identity added: {identity.get('kind')} {_short(identity.get('value'), 60)}"
        case "Customer.ProfileUpdated":
            return "profile updated"
        case "Customer.CustomersMerged":
            return f"customer {data.get('merged_customer_id')} merged into this one"
        case "Customer.MergedInto":
            return f"merged into customer {data.get('survivor_id')}"
    return kind.partition(".")[2]


def stream_channels(streams: Mapping[str, Sequence[StoredStep]]) -> dict[str, str | None]:
    """Each stream's channel, from its first event (a ticket's or a conversation's; customers have none)."""
    channels: dict[str, str | None] = {}
    for stream_id, steps in streams.items():
        first = steps[0].decoded() if steps else {}
        channel = first.get("channel")
        channels[stream_id] = str(channel) if isinstance(channel, str) else None
    return channels


def _stream_entries(stream_id: str, steps: Sequence[StoredStep], channels: Mapping[str, str | None]) -> list[dict[str, Any]]:
    entries = []
    linked_ticket: str | None = None  # a conversation's ticket, as its events say, event by event
    for step in steps:
        state = step.decoded()
        meta = state["meta"]
        kind = event_type(step.topic)
        stream_kind = kind.partition(".")[0].lower()
        data = {k: v for k, v in state.items() if k not in _ENVELOPE}
        if kind == "Conversation.LinkedToTicket":
            linked_ticket = data.get("ticket_id")
        if stream_kind == "ticket":
            ticket_id, conversation_id = stream_id, data.get("conversation_id")
        elif stream_kind == "conversation":
            ticket_id, conversation_id = linked_ticket, stream_id
        else:
            ticket_id, conversation_id = None, None
        channel = data.get("channel") if isinstance(data.get("channel"), str) else None
        if channel is None and conversation_id is not None:
            channel = channels.get(conversation_id)
        if channel is None:
            channel = channels.get(stream_id)
        actor_kind = meta["actor_kind"]
        entries.append({
            "id": event_id_text(stream_id, step.version),
            "stream": stream_kind,
            "stream_id": stream_id,
            "version": step.version,
            "type": kind,
            "occurred_at": state["timestamp"],
            "channel": channel,
            "ticket_id": ticket_id,
            "conversation_id": conversation_id,
            "actor": {"kind": actor_kind, "id": meta["actor_id"]},
            "automatic": actor_kind in AUTOMATIC_ACTORS,
            "summary": summary_of(kind, data, channel),
            "reason": meta.get("reason"),
            "causation_id": meta.get("causation_id"),
            "cause_in_case": False,
            "correlation_id": meta.get("correlation_id"),
            "command_id": meta.get("command_id"),
            "decision": meta.get("decision"),
            "tenant": meta.get("tenant"),
            "data": data,
        })
    return entries


def case_entries(streams: Mapping[str, Sequence[StoredStep]]) -> list[dict[str, Any]]:
    """Every event of these streams as a readable entry, in the case's order (see the module's doc)."""
    channels = stream_channels(streams)
    entries = [e for stream_id, steps in streams.items() for e in _stream_entries(stream_id, steps, channels)]
    by_id = {e["id"]: e for e in entries}
    for entry in entries:
        entry["cause_in_case"] = entry["causation_id"] in by_id
    return ordered(entries)


def ordered(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """By time; within one instant a cause before its effects and a stream's events in version order."""
    groups: dict[datetime, list[dict[str, Any]]] = {}
    for entry in entries:
        groups.setdefault(datetime.fromisoformat(entry["occurred_at"]), []).append(entry)
    result: list[dict[str, Any]] = []
    for moment in sorted(groups):
        group = sorted(groups[moment], key=lambda e: (e["stream_id"], e["version"]))
        by_id = {e["id"]: e for e in group}
        previous = {e["id"]: p for p, e in zip(group, group[1:]) if p["stream_id"] == e["stream_id"]}
        depth = dict.fromkeys(by_id, 0)
        for _ in range(len(group)):  # a few rounds settle it; the bound stops a loop of causes in forged data
            changed = False
            for entry in group:
                cause = by_id.get(entry["causation_id"] or "")
                found = depth[cause["id"]] + 1 if cause is not None and cause is not entry else 0
                before = previous.get(entry["id"])
                found = max(found, depth[before["id"]] if before is not None else 0)
                if found > depth[entry["id"]]:
                    depth[entry["id"]], changed = found, True
            if not changed:
                break
        result += sorted(group, key=lambda e: (depth[e["id"]], e["stream_id"], e["version"]))
    return result


def ticket_facts(entries: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each ticket of the case as its entries leave it: subject, channel, status, priority, people, orders."""
    tickets: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if entry["stream"] != "ticket":
            continue
        data, kind = entry["data"], entry["type"]
        if kind == "Ticket.Opened":
            tickets[entry["stream_id"]] = {
                "ticket_id": entry["stream_id"], "opened_at": entry["occurred_at"], "channel": data.get("channel"),
                "subject": data.get("subject"), "customer_id": data.get("customer_id"), "status": "new",
                "priority": data.get("priority"), "category": data.get("category"), "assignee_id": None, "team_id": None,
                "order_ids": [], "merged_into": None, "replies": 0, "customer_messages": 0, "escalations": [],
            }
            continue
        ticket = tickets.get(entry["stream_id"])
        if ticket is None:
            continue
        match kind:
            case "Ticket.StatusChanged":
                ticket["status"] = data.get("to_status")
            case "Ticket.PriorityChanged":
                ticket["priority"] = data.get("to_priority")
            case "Ticket.CategoryChanged":
                ticket["category"] = data.get("category")
            case "Ticket.Assigned":
                ticket["assignee_id"] = data.get("agent_id")
                ticket["team_id"] = data.get("team_id") or ticket["team_id"]
            case "Ticket.Unassigned":
                ticket["assignee_id"] = None
            case "Ticket.TransferredToTeam":
                ticket["team_id"], ticket["assignee_id"] = data.get("team_id"), None
            case "Ticket.OrderLinked":
                ticket["order_ids"].append(data.get("order_id"))
            case "Ticket.TicketMergedIn":
                ticket["order_ids"] += [o for o in data.get("order_ids") or [] if o not in ticket["order_ids"]]
            case "Ticket.MergedInto":
                ticket["merged_into"], ticket["status"] = data.get("target_ticket_id"), "closed"
            case "Ticket.ReplySent":
                ticket["replies"] += 1
            case "Ticket.CustomerMessageAdded":
                ticket["customer_messages"] += 1
            case "Ticket.Escalated":
                ticket["escalations"] += [{"metric": data.get("metric"), "cycle": data.get("cycle"), "level": level,
                                           "at": entry["occurred_at"], "entry_id": entry["id"]} for level in data.get("levels") or []]
    return tickets
