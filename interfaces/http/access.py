"""Recording an auditor's reads of the audit trail: one function every such route calls.

`record_access(ledger, caller, what, target, detail)` stores who read what as an event of the
tenant's access log (domain/access_log.py), for the roles in RECORDED_ROLES (auditors). Routes
take it as a dependency (`AccessDep`) and call `access.record(what, target, detail)` once the
read succeeded and before answering.

It fails closed: an auditor's read that cannot be recorded is not answered (503, retry). The
point of the log is that no auditor read goes unrecorded; answering anyway would make the log
say less than happened whenever the database is struggling, which is when it matters.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends

from ledgerdesk.application.access_log import record_read
from ledgerdesk.application.errors import Unavailable
from ledgerdesk.application.ledger import Ledger
from ledgerdesk.interfaces.settings import Role

from .deps import Caller, LedgerDep, ReaderDep

log = logging.getLogger(__name__)
RECORDED_ROLES = frozenset({Role.AUDITOR})


def record_access(ledger: Ledger, caller: Caller, what: str, target: str, detail: dict[str, Any] | None = None) -> None:
    """Records the caller's read if their role's reads are recorded; Unavailable (503) if it cannot be."""
    if caller.key.role not in RECORDED_ROLES:
        return
    try:
        record_read(ledger, caller.tenant, caller.key.actor, str(caller.key.role), what, target, detail)
    except Exception:
        log.exception("an auditor's read (%s of %s) could not be recorded; it is refused", what, target)
        raise Unavailable("this read could not be recorded in the access log, so it is not answered; retry",
                          field="Authorization") from None


@dataclass(frozen=True)
class AccessRecorder:
    ledger: Ledger
    caller: Caller

    def record(self, what: str, target: str, detail: dict[str, Any] | None = None) -> None:
        record_access(self.ledger, self.caller, what, target, detail)


async def get_access(ledger: LedgerDep, caller: ReaderDep) -> AccessRecorder:
    return AccessRecorder(ledger, caller)


AccessDep = Annotated[AccessRecorder, Depends(get_access)]
