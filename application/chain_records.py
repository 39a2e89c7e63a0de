"""What the audit reads and writes beside the events: the port both ledgerdesk recorders implement.

Tables of the events' database, created with the events table by the recorder:
- `event_hashes(originator_id, originator_version, hash)`: each event's hash, stored in the
  transaction that inserted the event (event_hashes.py); on PostgreSQL also the event's
  `position`, so that the log and its hashes are read side by side in log order;
- `audit_checkpoints(seq, position, running_hash, prev_checkpoint_hash, checkpoint_hash,
  created_at)`: the log's running hash at a position, each checkpoint chained to the one before
  (audit_checkpoints.py writes them);
- `event_chain_origin(through_position, began_at)`: the log's last position when chaining began
  (0 for a log that began with it): events up to there may have no hash (unsealed history).

They live beside the events, not in the read store: read models are disposable (rebuilt from the
log at will), evidence is not; and a checkpoint must be written, and read back, by whatever can
read the events, in the same database, so one backup or export holds both.
"""
from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID

from ledgerdesk.domain.event_chain import Checkpoint

# (version, topic, state, recorded hash or None, log position), in version order
StreamRow = tuple[int, str, bytes, "str | None", int]
# (log position, stream id, version, topic, state, recorded hash or None), in log order
LogRow = tuple[int, str, int, str, bytes, "str | None"]


class ChainRecords(Protocol):
    # Whether verifying reads the log's next page while it hashes this one: worth a thread when the
    # database works in a process of its own (PostgreSQL); SQLite's reads run in this one, under the GIL.
    reads_ahead: bool

    def select_chain_links(self, originator_id: UUID) -> list[StreamRow]: ...

    def select_recorded_versions(self, originator_id: UUID) -> list[int]: ...

    def select_log_links(self, after: int, limit: int) -> list[LogRow]:
        """Events after a position with their recorded hashes, at most `limit`."""
        ...

    def select_log_hashes(self, after: int, up_to: int, limit: int) -> list[tuple[int, str | None]]:
        """(position, recorded hash) after `after` up to `up_to`, at most `limit`."""
        ...

    def select_orphan_hashes(self) -> list[tuple[str, int]]:
        """(stream id, version) of recorded hashes whose event is gone."""
        ...

    def chain_origin(self) -> tuple[int, datetime]: ...

    def select_checkpoints(self, limit: int | None = None, latest_first: bool = False) -> list[Checkpoint]: ...

    def insert_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Raises eventsourcing's IntegrityError when another wrote that seq first."""
        ...

    def max_notification_id(self) -> int | None: ...
