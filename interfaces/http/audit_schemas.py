"""Response schemas of /v1/audit: what a stream's verification answers."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ChainBreak(BaseModel):
    stream_id: str
    version: int
    kind: Literal["altered", "removed", "inserted"]
    position: int | None = Field(description="the event's log position; null for a removed event")
    detail: str


class CheckpointOut(BaseModel):
    seq: int
    position: int = Field(description="the last log position the checkpoint covers")
    running_hash: str
    prev_checkpoint_hash: str
    checkpoint_hash: str
    created_at: str


class StreamVerification(BaseModel):
    stream_id: str
    events: int
    unsealed_events: int = Field(description="first events appended before chaining began: unverifiable, not breaks")
    head_version: int | None
    head_hash: str | None = Field(description="the hash recorded for the last event")
    verified: bool
    breaks: list[ChainBreak]
    checkpoint: CheckpointOut | None = Field(description="the latest checkpoint, if it covers the stream's last event")
