"""A read-only API (LEDGERDESK_READ_ONLY): every command is refused with a 405 before any route runs.

For serving read models as they stood at a past moment (`ledgerdesk replay`): nothing may
move them, and a command would change the live log while the reads show the past.
"""
from __future__ import annotations

from typing import Any

from .problems import send_problem

READS = ("GET", "HEAD", "OPTIONS")


class ReadOnly:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in READS or not scope["path"].startswith("/v1"):
            await self.app(scope, receive, send)
            return
        await send_problem(send, 405, "read-only", "Read-only",
                           "this API process serves read models read-only (LEDGERDESK_READ_ONLY): it takes no commands",
                           headers=[(b"allow", b"GET, HEAD")])
