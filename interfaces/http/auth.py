"""API-key authentication as plain ASGI middleware, so no request under /v1 without a valid key
gets anything but 401: not even a body-parsing error."""
from __future__ import annotations

import json
from typing import Any

from ledgerdesk.interfaces.settings import ApiKey

PROTECTED_PREFIX = "/v1"


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
            await self._unauthorised(send)
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

    @staticmethod
    async def _unauthorised(send: Any) -> None:
        body = json.dumps(
            {
                "type": "https://ledgerdesk.dev/problems/unauthorised",
                "title": "Unauthorised",
                "status": 401,
                "detail": "send a valid API key as 'Authorization: Bearer <key>'",
                "field": "Authorization",
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"www-authenticate", b'Bearer realm="ledgerdesk"'),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
