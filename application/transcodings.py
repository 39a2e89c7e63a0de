"""How the domain's value objects are stored inside events: registered once, used by every app."""
from __future__ import annotations

from typing import Any

from eventsourcing.persistence import JSONTranscoder, Transcoding

from ledgerdesk.domain.audit import Actor, ActorKind, AuditMeta
from ledgerdesk.domain.identity import Identity
from ledgerdesk.domain.message import Attachment


class AuditMetaAsDict(Transcoding):
    type = AuditMeta
    name = "audit_meta"

    def encode(self, o: AuditMeta) -> dict[str, Any]:
        encoded = {
            "tenant": o.tenant,
            "actor_kind": str(o.actor.kind),
            "actor_id": o.actor.id,
            "command_id": o.command_id,
            "correlation_id": o.correlation_id,
            "causation_id": o.causation_id,
            "reason": o.reason,
        }
        if o.decision is not None:  # only a policy's events carry it: the others keep their shape
            encoded["decision"] = o.decision
        return encoded

    def decode(self, d: dict[str, Any]) -> AuditMeta:
        return AuditMeta(
            tenant=d["tenant"],
            actor=Actor(ActorKind(d["actor_kind"]), d["actor_id"]),
            command_id=d["command_id"],
            correlation_id=d["correlation_id"],
            causation_id=d["causation_id"],
            reason=d["reason"],
            decision=d.get("decision"),
        )


class ActorAsDict(Transcoding):
    type = Actor
    name = "actor"

    def encode(self, o: Actor) -> dict[str, str]:
        return {"kind": str(o.kind), "id": o.id}

    def decode(self, d: dict[str, str]) -> Actor:
        return Actor(ActorKind(d["kind"]), d["id"])


class IdentityAsDict(Transcoding):
    type = Identity
    name = "identity"

    def encode(self, o: Identity) -> dict[str, str | None]:
        return o.as_dict()

    def decode(self, d: dict[str, str | None]) -> Identity:
        return Identity.from_dict(d)


class AttachmentAsDict(Transcoding):
    type = Attachment
    name = "attachment"

    def encode(self, o: Attachment) -> dict[str, str | int]:
        return o.as_dict()

    def decode(self, d: dict[str, Any]) -> Attachment:
        return Attachment(d["name"], d["content_type"], d["size"])


def register_domain_transcodings(transcoder: JSONTranscoder) -> None:
    for transcoding in (AuditMetaAsDict(), ActorAsDict(), IdentityAsDict(), AttachmentAsDict()):
        transcoder.register(transcoding)
