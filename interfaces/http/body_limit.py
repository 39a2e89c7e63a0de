"""Request bodies are bounded: one larger than its limit is a 413 before it is parsed or any route runs.

Decided from Content-Length when the client sends one, else while the body streams in: the
body is read here up to the limit and handed on whole, so no route ever holds more than the
limit, and nothing is read past it.
"""
from __future__ import annotations

from typing import Any

from .problems import send_problem

EMAIL_PATH = "/v1/channels/email/inbound"


class BodyLimit:
    def __init__(self, app: Any, json_bytes: int, email_bytes: int) -> None:
        self.app = app
        self.json_bytes = json_bytes
        self.email_bytes = email_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.email_bytes if scope["path"] == EMAIL_PATH else self.json_bytes
        declared = next((value for name, value in scope["headers"] if name == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._too_large(send, limit)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._too_large(send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: only a disconnect can come

        await self.app(scope, replay, send)

    @staticmethod
    async def _too_large(send: Any, limit: int) -> None:
        await send_problem(send, 413, "payload-too-large", "Payload too large",
                           f"the request body is larger than {limit} bytes", "body", [(b"connection", b"close")])
