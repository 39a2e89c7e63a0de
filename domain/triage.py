"""Triage: rules kept as data set a new message's category and raise its ticket's priority.

`triage` is pure and deterministic: the same rules and the same message give the same decision,
whose reason names every rule that matched. Triage only ever raises a priority, never lowers it.
`default_rules()` is a starting set in Chinese and English for a tenant that has none.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .errors import InvalidValue
from .ticket_values import Category, Priority, higher_priority, priority_level, raised_priority

# Customer tiers whose tickets triage raises one step.
RAISING_TIERS = frozenset({"vip"})


def _normalised(text: str) -> str:
    """NFKC, casefold, NFKC again, so full-width Ｒｅｆｕｎｄ and １２３１５ match refund and 12315, and
    a normalised text normalises to itself (casefolding can undo NFKC)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def normalised_keyword(text: str) -> str:
    """A keyword as rules keep it and match it: normalised as messages are, without outer spaces."""
    return _normalised(text).strip()


_LATIN_WORD_CHARACTERS = frozenset("0123456789abcdefghijklmnopqrstuvwxyz")


def _starts_a_word(keyword: str) -> bool:
    """A keyword starting with a Latin letter or digit must start a word, so "sue" does not fire
    in "issue" while "refund" still fires in "refunded"; other scripts (Chinese writes no spaces)
    match anywhere. Only Latin letters and digits count as the word before it, so "找lawyer" fires."""
    return keyword[0].isascii() and keyword[0].isalnum()


# Occurrences inside words looked at one by one before the rest of the text is searched by a
# compiled pattern instead (the keyword escaped: a literal, linear in the text).
_INSIDE_WORDS_CHECKED = 8


@functools.lru_cache(maxsize=4096)
def _at_a_word_start(keyword: str) -> re.Pattern[str]:
    return re.compile(r"(?<![0-9a-z])" + re.escape(keyword))


def _found(keyword: str, text: str, starts_a_word: bool) -> bool:
    """Whether the keyword is in the text as a plain substring (never a pattern of anyone's), at
    the start of a word if it must be. Linear in the text whatever the keyword or the text."""
    at = text.find(keyword)
    if not starts_a_word:
        return at != -1
    for _ in range(_INSIDE_WORDS_CHECKED):
        if at <= 0 or text[at - 1] not in _LATIN_WORD_CHARACTERS:
            return at != -1
        at = text.find(keyword, at + 1)
    return _at_a_word_start(keyword).search(text, at) is not None if at != -1 else False


@dataclass(frozen=True)
class TriageRule:
    """One rule: any of its keywords in the message makes it match.

    A matching rule sets `category` (the first such rule in the list wins: rule order is the
    precedence) and raises the priority to at least `priority`. `negative_wording` marks a rule
    that detects an angry tone, so the decision can say so apart from what the message is about.
    `language` None matches any message: the keywords already say which language they are in,
    and short messages are the ones language detection is least sure about.
    """

    id: str
    version: int
    keywords: tuple[str, ...]
    category: Category | None = None
    priority: Priority | None = None
    language: str | None = None
    negative_wording: bool = False
    name: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.strip():
            raise InvalidValue("a triage rule has an id", field="id")
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 1:
            raise InvalidValue("a triage rule's version is a whole number from 1", field="version")
        keywords = tuple(dict.fromkeys(normalised_keyword(k) for k in self.keywords if isinstance(k, str)))
        if not keywords or not all(keywords) or len(keywords) != len(self.keywords):
            raise InvalidValue("a triage rule has at least one keyword, none empty or repeated", field="keywords")
        object.__setattr__(self, "keywords", keywords)
        object.__setattr__(self, "category", Category(self.category) if self.category else None)
        object.__setattr__(self, "priority", Priority(self.priority) if self.priority else None)
        object.__setattr__(self, "language", self.language.strip().lower() if self.language else None)
        if self.category is None and self.priority is None:
            raise InvalidValue("a triage rule sets a category, a priority, or both", field="category")
        object.__setattr__(self, "_starts_a_word", tuple(_starts_a_word(k) for k in keywords))

    @property
    def label(self) -> str:
        return f"{self.id} v{self.version}"

    def matched_keyword(self, normalised_text: str, language: str | None) -> str | None:
        """The first of the keywords found in the (normalised) text, or None."""
        if self.language is not None and self.language != language:
            return None
        for keyword, starts_a_word in zip(self.keywords, self._starts_a_word):  # type: ignore[attr-defined]
            if _found(keyword, normalised_text, starts_a_word):
                return keyword
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            "name": self.name,
            "keywords": list(self.keywords),
            "category": None if self.category is None else str(self.category),
            "priority": None if self.priority is None else str(self.priority),
            "language": self.language,
            "negative_wording": self.negative_wording,
        }


@dataclass(frozen=True)
class TriageDecision:
    category: Category | None  # None: no rule said; leave the ticket's category as it is
    priority: Priority  # never below the priority triage was given
    matched_rule_ids: tuple[str, ...]
    negative_wording: bool
    reason: str
    inputs: dict[str, Any]


def triage(
    message_text: str,
    language: str | None,
    customer_tier: str | None,
    recent_contacts_about_same_order_within_a_day: int,
    rules: Sequence[TriageRule],
    priority: Priority = Priority.NORMAL,
) -> TriageDecision:
    """The category and priority the message asks for.

    `priority` is what triage raises from: pass the ticket's priority as it was opened, not one
    triage raised already, or each new message would climb another step for the same VIP.
    `recent_contacts_about_same_order_within_a_day` counts the customer's earlier contacts about
    this order in the past day, not this one: 1 or more makes this a repeat contact.

    The priority is the highest of `priority` and every matching rule's, then one step up for a
    raising tier (VIP) and one for a repeat contact, stopping at urgent.
    """
    base = Priority(priority)
    text = _normalised(message_text)
    tier = customer_tier.strip().lower() if customer_tier else None
    language = language.strip().lower() if language else None
    matches = [(rule, keyword) for rule in rules if (keyword := rule.matched_keyword(text, language)) is not None]

    category_rule = next((rule for rule, _ in matches if rule.category is not None), None)
    category = category_rule.category if category_rule is not None else None
    clauses = []
    decided = base
    for rule, keyword in matches:
        said = []
        if rule.category is not None:
            said.append(f"category {rule.category}" + ("" if rule is category_rule else f" (rule {category_rule.label} comes first)"))  # type: ignore[union-attr]
        if rule.priority is not None:
            raises = priority_level(rule.priority) > priority_level(decided)
            said.append(f"priority {rule.priority}" + ("" if raises else f" (already {decided})"))
            decided = higher_priority(decided, rule.priority)
        clauses.append(f"rule {rule.label} matched {keyword!r}: " + ", ".join(said))
    steps = []
    if tier in RAISING_TIERS:
        steps.append(f"{tier.upper()} customer")
    if recent_contacts_about_same_order_within_a_day >= 1:
        steps.append("repeat contact about the same order within a day")
    for step in steps:
        before, decided = decided, raised_priority(decided)
        clauses.append(f"one step up for {step}" + ("" if decided is not before else " (already urgent)"))

    if not matches and not steps:
        reason = f"no triage rule matched; priority stays {base}"
    else:
        summary = f"priority {base} -> {decided}" if decided is not base else f"priority stays {base}"
        reason = "; ".join([*clauses, summary])
    return TriageDecision(
        category=category,
        priority=decided,
        matched_rule_ids=tuple(rule.id for rule, _ in matches),
        negative_wording=any(rule.negative_wording for rule, _ in matches),
        reason=reason,
        # What the decision saw, small enough for every event it causes: the text's length, not the text.
        inputs={
            "text_length": len(message_text),
            "language": language,
            "customer_tier": tier,
            "earlier_contacts_about_the_order_within_a_day": recent_contacts_about_same_order_within_a_day,
            "raised_from_priority": str(base),
            "rule_count": len(rules),
            "matched_rule_ids": [rule.id for rule, _ in matches],
            "matched": [{"rule_id": rule.id, "version": rule.version, "keyword": kw} for rule, kw in matches],
        },
    )


def default_rules() -> tuple[TriageRule, ...]:
    """The starting rules, in precedence order: a complaint outranks what it complains about,
    money (refund, return, payment) outranks delivery, and account questions come last."""
    c, p = Category, Priority
    return (
        TriageRule("complaint", 1, ("投诉", "complaint", "complain"), category=c.COMPLAINT, name="Complaint"),
        TriageRule("refund", 1, ("退款", "退钱", "refund"), category=c.REFUND, name="Refund"),
        TriageRule("return", 1, ("退货", "退回", "return"), category=c.RETURN, name="Return"),
        TriageRule(
            "payment", 1, ("付款", "支付", "扣款", "扣费", "payment", "charged", "paid"), category=c.PAYMENT, name="Payment"
        ),
        TriageRule(
            "logistics",
            1,
            ("物流", "快递", "发货", "包裹", "shipping", "shipment", "deliver", "parcel", "tracking", "package"),
            category=c.LOGISTICS,
            name="Logistics",
        ),
        TriageRule("account", 1, ("账号", "账户", "登录", "密码", "account", "password", "login", "log in", "sign in"), category=c.ACCOUNT, name="Account"),
        TriageRule(
            "legal",
            1,
            ("拒付", "律师", "起诉", "12315", "消协", "工商", "chargeback", "lawyer", "sue", "lawsuit", "regulator", "consumer association"),
            priority=p.URGENT,
            name="Chargeback, legal or regulator",
        ),
        TriageRule(
            "negative-wording",
            1,
            ("垃圾", "骗子", "太差", "worst", "scam", "terrible", "unacceptable"),
            priority=p.HIGH,
            negative_wording=True,
            name="Strong negative wording",
        ),
    )
