"""Customers and conversations: their state (current or as of a moment) and their histories."""
from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from ledgerdesk.application import commands as c

from ledgerdesk.domain.conversation import Conversation
from ledgerdesk.domain.customer import Customer

from . import schemas as s
from .access import AccessDep
from .deps import CallerDep, LedgerDep, ReaderDep
from .inputs import Digits, MAX_VERSION
from .moments import AS_OF_READ, MomentDep, aggregate_at
from .problems import problem_responses
from .responses import PlainJSON, command_answer
from .views import conversation_view, customer_view

router = APIRouter(prefix="/v1", tags=["customers"])

AfterVersion = Annotated[int, Digits, Query(ge=0, le=MAX_VERSION)]
Limit = Annotated[int, Digits, Query(ge=1, le=1000)]


@router.get("/customers/{customer_id}", response_model=s.CustomerOut, summary="A customer and their identities",
            description=AS_OF_READ + " As of before a merge, each customer is as it was: the survivor without the "
            "other's identities, the other not yet merged.", responses=problem_responses(404, 422, 503))
def get_customer(customer_id: UUID, caller: ReaderDep, ledger: LedgerDep, moment: MomentDep, access: AccessDep) -> PlainJSON:
    return PlainJSON(aggregate_at(ledger, access, caller.tenant, Customer, customer_id, moment, "customer_id", customer_view))


@router.get("/customers/{customer_id}/history", response_model=s.HistoryPage,
            summary="Every event of a customer, with audit metadata", responses=problem_responses(404, 422, 503))
def get_customer_history(customer_id: UUID, caller: ReaderDep, ledger: LedgerDep, access: AccessDep,
                         after_version: AfterVersion = 0, limit: Limit = 100) -> PlainJSON:
    page = ledger.history(caller.tenant, Customer, customer_id, after_version, limit, "customer_id")
    access.record("history", f"customer/{customer_id}", {"after_version": after_version, "limit": limit})
    return PlainJSON(page)


@router.get("/conversations/{conversation_id}", response_model=s.ConversationOut, summary="A conversation's state",
            description=AS_OF_READ, responses=problem_responses(404, 422, 503))
def get_conversation(conversation_id: UUID, caller: ReaderDep, ledger: LedgerDep, moment: MomentDep,
                     access: AccessDep) -> PlainJSON:
    return PlainJSON(aggregate_at(ledger, access, caller.tenant, Conversation, conversation_id, moment, "conversation_id",
                                  conversation_view))


@router.get("/conversations/{conversation_id}/history", response_model=s.HistoryPage,
            summary="Every event of a conversation (its messages), with audit metadata",
            responses=problem_responses(404, 422, 503))
def get_conversation_history(conversation_id: UUID, caller: ReaderDep, ledger: LedgerDep, access: AccessDep,
                             after_version: AfterVersion = 0, limit: Limit = 100) -> PlainJSON:
    page = ledger.history(caller.tenant, Conversation, conversation_id, after_version, limit, "conversation_id")
    access.record("history", f"conversation/{conversation_id}", {"after_version": after_version, "limit": limit})
    return PlainJSON(page)


@router.post("/conversations/{conversation_id}/close", response_model=s.ConversationCommandAnswer,
             summary="Close a conversation (a new inbound message reopens it)", responses=problem_responses(400, 403, 404, 409, 413, 422))
def close_conversation(conversation_id: UUID, body: s.TicketCommandIn, caller: CallerDep, ledger: LedgerDep) -> PlainJSON:
    command = c.CloseConversation(caller.context(body.reason), conversation_id, expected_version=body.expected_version)
    return command_answer(ledger.execute(command))
