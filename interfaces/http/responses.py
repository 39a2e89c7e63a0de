"""JSON answers made directly from plain records.

Routes still declare their `response_model` for the OpenAPI document, but records the
application already made JSON-ready skip FastAPI's re-validation: for a 500-event history
that validation cost more than reading the events.
"""
from __future__ import annotations

from typing import Any

import orjson
from fastapi import Response

from ledgerdesk.application.ledger import Outcome, Repeat

# Says a command answer is the first answer to the same Idempotency-Key, given again.
REPLAYED_HEADER = "Idempotent-Replayed"


class PlainJSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def command_answer(outcome: Outcome, status_code: int = 200) -> PlainJSON:
    """A command's result with the log position its events were stored at.

    `status_code` is the route's answer to a first request. A retried Idempotency-Key gets that
    first answer again, status, body and position alike, marked `Idempotent-Replayed: true`.
    """
    answer = PlainJSON({**outcome.result, "position": outcome.position}, status_code=status_code)
    if outcome.repeat is Repeat.IDEMPOTENCY_KEY:
        answer.headers[REPLAYED_HEADER] = "true"
    return answer
