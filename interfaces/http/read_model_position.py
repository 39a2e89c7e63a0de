"""Puts `X-Read-Model-Position` on answers whose query waited for a log position (`?min_position=`).

Plain ASGI, like the authentication: routes answer with ready-made responses, which FastAPI
would not merge a dependency's headers into, and every other request passes straight through.
"""
from __future__ import annotations

from typing import Any

STATE_KEY = "read_model_position"


class ReadModelPositionHeader:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_position(message: dict[str, Any]) -> None:
            position = scope.get("state", {}).get(STATE_KEY)
            if message["type"] == "http.response.start" and position is not None:
                message = {**message, "headers": [*message.get("headers", []), (b"x-read-model-position", str(position).encode())]}
            await send(message)

        await self.app(scope, receive, send_with_position)
