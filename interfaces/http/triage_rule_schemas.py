"""Request and response bodies of /v1/triage-rules.

The bounds here are the domain's (domain/triage_rules.py), stated again so the OpenAPI document
shows them; the domain still checks everything and names the field at fault.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from ledgerdesk.domain.names import KEYWORD_RULE, NAME_RULE
from ledgerdesk.domain.ticket_values import Category, Priority
from ledgerdesk.domain.triage_rules import (
    MAX_KEYWORD_LENGTH,
    MAX_KEYWORDS_PER_RULE,
    MAX_NAME,
    MAX_RULES,
    RULE_ID_PATTERN,
    RULE_ID_RULE,
)

from .inputs import MAX_VERSION
from .schemas import Body, Reason, Whole

RuleId = Annotated[str, Field(min_length=1, max_length=64, pattern=RULE_ID_PATTERN, description=RULE_ID_RULE,
                              examples=["refund"])]
Keyword = Annotated[str, Field(min_length=1, max_length=MAX_KEYWORD_LENGTH,
                               description="a plain word or phrase, found anywhere in the message whatever its case "
                               "(a Latin one must start a word); never a pattern; " + KEYWORD_RULE)]
LanguageCode = Annotated[str, Field(min_length=2, max_length=2, pattern=r"^[a-z]{2}$", description="ISO 639-1, e.g. zh, en")]


class TriageRuleIn(Body):
    """One rule: any of its keywords in a customer's message makes it match."""

    id: RuleId
    name: Annotated[str, Field(max_length=MAX_NAME, description="optional; when given, " + NAME_RULE)] = ""
    keywords: list[Keyword] = Field(min_length=1, max_length=MAX_KEYWORDS_PER_RULE)
    category: Category | None = Field(default=None, description="set on a ticket with no category; the first "
                                      "matching rule with a category wins")
    priority: Priority | None = Field(default=None, description="the ticket's priority is raised to at least this")
    language: LanguageCode | None = Field(default=None, description="only messages in this language; null: any")
    negative_wording: StrictBool = Field(default=False, description="the rule detects an angry tone")


class TriageRulesIn(Body):
    """The tenant's whole rule list, in precedence order; it replaces the one in force."""

    rules: list[TriageRuleIn] = Field(max_length=MAX_RULES)
    expected_version: Whole | None = Field(
        default=None, ge=0, le=MAX_VERSION,
        description="the rule set version you saw (0: the defaults, never defined); a stale one is a 409",
    )
    reason: Reason = None


class TriageRulesAnswer(BaseModel):
    model_config = ConfigDict(extra="allow")
    version: int
    rule_count: int
    created: bool = Field(description="true when this defined the tenant's first rule set")
    position: int | None = None


class TriageRuleOut(BaseModel):
    id: str
    version: int = Field(description="the rule's own version: it moves when its terms change")
    name: str
    keywords: list[str]
    category: str | None
    priority: str | None
    language: str | None
    negative_wording: bool


class TriageRulesOut(BaseModel):
    version: int = Field(description="the rule set's version; 0 while the tenant has none and the defaults apply")
    source: Literal["tenant", "default"]
    rules: list[TriageRuleOut]
    defined_at: str | None
    updated_at: str | None
