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


def read_models_named(names: list[str] | None) -> list[ReadModel]:
    models = all_read_models()
    if not names:
        return models
    known = {m.name: m for m in models}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise KeyError(f"no read model named {', '.join(unknown)}; there are: {', '.join(known)}")
    return [known[n] for n in names]
