"""Every read model ledgerdesk keeps, by name."""
from __future__ import annotations

from .agents.projection import AgentWorkload
from .analytics.projection import SupportAnalytics
from .inbox.projection import TicketInbox
from .quarantine.projection import MailQuarantine
from .read_model import ReadModel
from .timeline.projection import CustomerTimeline


def all_read_models() -> list[ReadModel]:
    """In the order a batch is applied, each in its own transactions: the inbox first, since agents
    wait on it, the reports last."""
    return [
        TicketInbox(),
        CustomerTimeline(),
        MailQuarantine(),
        AgentWorkload(),
        SupportAnalytics(),
    ]
