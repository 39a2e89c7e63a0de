"""API-key authentication and role checks as plain ASGI middleware, before anything else runs.

No request under /v1 without a valid key gets anything but 401, not even a body-parsing error;
and a key whose role only reads (auditor) gets 403 for any command before its body is read.
"""
from __future__ import annotations

from typing import Any

from ledgerdesk.interfaces.settings import ApiKey, Role

from .problems import send_problem

PROTECTED_PREFIX = "/v1"
READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ApiKeyAuth:
    def __init__(self, app: Any, keys: dict[str, ApiKey]) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PROTECTED_PREFIX):
            await self.app(scope, receive, send)
            return
        principal = self.keys.get(self._bearer(scope))
        if principal is None:
            await send_problem(send, 401, "unauthorised", "Unauthorised", "send a valid API key as 'Authorization: Bearer <key>'",
                               "Authorization", [(b"www-authenticate", b'Bearer realm="ledgerdesk"')])
            return
        if principal.role is Role.AUDITOR and scope["method"] not in READING_METHODS:
            await send_problem(send, 403, "forbidden", "Forbidden", "the auditor role only reads", "Authorization")
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)

    @staticmethod
    def _bearer(scope: dict[str, Any]) -> str:
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                return token.strip() if scheme.lower() == "bearer" else ""
        return ""

