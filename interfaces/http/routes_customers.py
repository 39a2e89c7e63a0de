"""Customers and conversations: current state."""
from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from ledgerdesk.application import commands as c

from ledgerdesk.domain.conversation import Conversation
from ledgerdesk.domain.customer import Customer

from . import schemas as s
from .deps import CallerDep, LedgerDep, ReaderDep
from .problems import problem_responses
from .responses import PlainJSON, command_answer
from .views import conversation_view, customer_view

router = APIRouter(prefix="/v1", tags=["customers"])


@router.get("/customers/{customer_id}", response_model=s.CustomerOut, summary="A customer and their identities",
            responses=problem_responses(404, 422))
def get_customer(customer_id: UUID, caller: ReaderDep, ledger: LedgerDep) -> PlainJSON:
    return PlainJSON(customer_view(ledger.aggregate(caller.tenant, Customer, customer_id, "customer_id")))


@router.get("/conversations/{conversation_id}", response_model=s.ConversationOut, summary="A conversation's state",
            responses=problem_responses(404, 422))
def get_conversation(conversation_id: UUID, caller: ReaderDep, ledger: LedgerDep) -> PlainJSON:
    return PlainJSON(conversation_view(ledger.aggregate(caller.tenant, Conversation, conversation_id, "conversation_id")))


@router.post("/conversations/{conversation_id}/close", response_model=s.ConversationCommandAnswer,
             summary="Close a conversation (a new inbound message reopens it)", responses=problem_responses(400, 403, 404, 409, 413, 422))
def close_conversation(conversation_id: UUID, body: s.TicketCommandIn, caller: CallerDep, ledger: LedgerDep) -> PlainJSON:
    command = c.CloseConversation(caller.context(body.reason), conversation_id, expected_version=body.expected_version)
    return command_answer(ledger.execute(command))
