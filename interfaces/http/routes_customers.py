"""Customers and conversations: current state."""
from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from ledgerdesk.application import commands as c

from ledgerdesk.domain.conversation import Conversation
from ledgerdesk.domain.customer import Customer

from . import schemas as s
from .deps import CallerDep, LedgerDep
from .responses import PlainJSON, command_answer
from .views import conversation_view, customer_view

router = APIRouter(prefix="/v1", tags=["customers"])


@router.get("/customers/{customer_id}", response_model=s.CustomerOut, summary="A customer and their identities")
def get_customer(customer_id: UUID, caller: CallerDep, ledger: LedgerDep) -> PlainJSON:
    return PlainJSON(customer_view(ledger.aggregate(caller.tenant, Customer, customer_id)))


@router.get("/conversations/{conversation_id}", response_model=s.ConversationOut, summary="A conversation's state")
def get_conversation(conversation_id: UUID, caller: CallerDep, ledger: LedgerDep) -> PlainJSON:
    return PlainJSON(conversation_view(ledger.aggregate(caller.tenant, Conversation, conversation_id)))


@router.post("/conversations/{conversation_id}/close", summary="Close a conversation (a new inbound message reopens it)")
def close_conversation(conversation_id: UUID, body: s.TicketCommandIn, caller: CallerDep, ledger: LedgerDep) -> PlainJSON:
    command = c.CloseConversation(caller.context(body.reason), conversation_id, expected_version=body.expected_version)
    return command_answer(ledger.execute(command))
