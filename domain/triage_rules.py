"""A tenant's triage rules: one aggregate per tenant, every change an audited event.

The rules are data a tenant's admin manages: `checked_rules` is the one place that says what a
rule list may hold (bounded, so no request can make triage slow: plain keywords matched as
case-insensitive substrings, never a regex of the caller's), and gives it in canonical form.
The aggregate's events carry the whole list in that form, each rule with its own version: 1 when
it first appears, one more each time its terms change (the defaults count as the first
versions), so a reason such as "rule refund v2" points at exactly one set of keywords.

A tenant that never defined rules is triaged with `default_rules()`, as rule set version 0.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from .agent import ISO_639_1
from .audit import AuditMeta
from .errors import InvalidValue
from .names import checked_name, forbidden_in_a_name, shows_something
from .natural_keys import natural_id
from .ticket_values import Category, Priority
from .triage import TriageRule, default_rules, normalised_keyword

TRIAGE_RULES_NAMESPACE = uuid5(NAMESPACE_URL, "https://ledgerdesk.invalid/triage-rules")

MAX_RULES = 200
MAX_KEYWORDS_PER_RULE = 50
MAX_KEYWORDS = 2000  # in the whole list: every message is read against each of them
MAX_KEYWORD_LENGTH = 100
MAX_NAME = 120
RULE_ID_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
RULE_ID_RULE = "a rule id has 1 to 64 characters: lower-case letters, digits, '.', '_' or '-', starting with a letter or digit"
_RULE_ID = re.compile(RULE_ID_PATTERN)
RULE_KEYS = ("id", "name", "keywords", "category", "priority", "language", "negative_wording")
# Where the rules in force came from: the tenant's own, or the defaults for a tenant with none.
TENANT_SOURCE = "tenant"
DEFAULT_SOURCE = "default"


# -- the rules, checked and in canonical form ------------------------------------------------


def _keyword_text(raw: Any, field: str) -> str:
    # Keywords are checked as names are (names.py) but keep their inner spaces: they are matched
    # against message text as written, after the normalisation below.
    if not isinstance(raw, str):
        raise InvalidValue("a keyword is a string", field=field)
    if found := forbidden_in_a_name(raw):
        raise InvalidValue(f"a keyword is one line, without control characters, line breaks or lone surrogates: {found}", field=field)
    if len(raw) > MAX_KEYWORD_LENGTH:
        raise InvalidValue(f"a keyword has at most {MAX_KEYWORD_LENGTH} characters", field=field)
    return raw


def _rule_id(raw: Any, field: str) -> str:
    if not isinstance(raw, str) or not _RULE_ID.fullmatch(raw):
        raise InvalidValue(RULE_ID_RULE, field=field)
    return raw


def _keywords(raw: Any, field: str) -> list[str]:
    if not isinstance(raw, (list, tuple)) or not 1 <= len(raw) <= MAX_KEYWORDS_PER_RULE:
        raise InvalidValue(f"keywords is a list of 1 to {MAX_KEYWORDS_PER_RULE} plain words or phrases", field=field)
    keywords: list[str] = []
    for index, value in enumerate(raw):
        where = f"{field}.{index}"
        keyword = normalised_keyword(_keyword_text(value, where))
        if not keyword or len(keyword) > MAX_KEYWORD_LENGTH:
            raise InvalidValue(f"a keyword has 1 to {MAX_KEYWORD_LENGTH} characters besides spaces", field=where)
        if not shows_something(keyword):
            raise InvalidValue("a keyword must contain at least one visible character, not only zero-width or other "
                               "invisible characters", field=where)
        if keyword in keywords:
            raise InvalidValue(f"the keyword {keyword!r} is given twice (keywords match whatever their case)", field=where)
        keywords.append(keyword)
    return keywords


def _member(kind: type, raw: Any, field: str) -> str | None:
    if raw is None:
        return None
    try:
        return kind(raw).value
    except (ValueError, TypeError):
        allowed = ", ".join(m.value for m in kind)
        raise InvalidValue(f"{str(raw)[:40]!r} is not one of: {allowed}; or null", field=field) from None


def _language(raw: Any, field: str) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or raw not in ISO_639_1:
        raise InvalidValue(f"{str(raw)[:20]!r} is not an ISO 639-1 language code such as zh or en; or null (any language)",
                           field=field)
    return raw


def checked_rule(raw: Any, field: str) -> dict[str, Any]:
    """One rule in canonical form (without its version), or an InvalidValue naming the field at fault."""
    if not isinstance(raw, Mapping):
        raise InvalidValue(f"a rule is an object of {', '.join(RULE_KEYS)}", field=field)
    for key in raw:
        if key not in RULE_KEYS:
            raise InvalidValue(f"a rule has only {', '.join(RULE_KEYS)}", field=f"{field}.{str(key)[:40]}")
    negative_wording = raw.get("negative_wording", False)
    if not isinstance(negative_wording, bool):
        raise InvalidValue("negative_wording is true or false", field=f"{field}.negative_wording")
    rule = {
        "id": _rule_id(raw.get("id"), f"{field}.id"),
        "name": "" if raw.get("name") is None else checked_name(raw["name"], field=f"{field}.name", what="a rule's name",
                                                                max_length=MAX_NAME, optional=True),
        "keywords": _keywords(raw.get("keywords"), f"{field}.keywords"),
        "category": _member(Category, raw.get("category"), f"{field}.category"),
        "priority": _member(Priority, raw.get("priority"), f"{field}.priority"),
        "language": _language(raw.get("language"), f"{field}.language"),
        "negative_wording": negative_wording,
    }
    if rule["category"] is None and rule["priority"] is None:
        raise InvalidValue("a rule sets a category, a priority, or both", field=f"{field}.category")
    return rule


def checked_rules(raw: Any, field: str = "rules") -> list[dict[str, Any]]:
    """The rule list in canonical form, in its order (the first matching rule's category wins)."""
    if not isinstance(raw, (list, tuple)) or len(raw) > MAX_RULES:
        raise InvalidValue(f"rules is a list of at most {MAX_RULES} rules", field=field)
    rules: list[dict[str, Any]] = []
    seen: set[str] = set()
    total = 0
    for index, value in enumerate(raw):
        rule = checked_rule(value, f"{field}.{index}")
        if rule["id"] in seen:
            raise InvalidValue(f"the rule id {rule['id']!r} is given twice; rule ids are unique", field=f"{field}.{index}.id")
        seen.add(rule["id"])
        total += len(rule["keywords"])
        if total > MAX_KEYWORDS:
            raise InvalidValue(f"the rules have at most {MAX_KEYWORDS} keywords in all", field=f"{field}.{index}.keywords")
        rules.append(rule)
    return rules


def _terms(rule: Mapping[str, Any]) -> dict[str, Any]:
    return {key: rule[key] for key in RULE_KEYS}


def versioned(rules: Iterable[dict[str, Any]], known: Mapping[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Each rule with its version: a rule's last known version while its terms are the same,
    one more when they changed, 1 for an id never seen."""
    out = []
    for rule in rules:
        before = known.get(rule["id"])
        if before is None:
            version = 1
        else:
            version = before["version"] + (_terms(before) != _terms(rule))
        out.append({**_terms(rule), "version": version})
    return out


def _default_known() -> dict[str, dict[str, Any]]:
    return {rule.id: rule.to_dict() for rule in default_rules()}


def rule_from_dict(stored: Mapping[str, Any]) -> TriageRule:
    return TriageRule(
        id=stored["id"],
        version=stored["version"],
        keywords=tuple(stored["keywords"]),
        category=stored["category"],
        priority=stored["priority"],
        language=stored["language"],
        negative_wording=stored["negative_wording"],
        name=stored["name"],
    )


# -- the rule set in force -------------------------------------------------------------------


@dataclass(frozen=True)
class TriageRuleSet:
    """The rules triage reads a message against, and which version of the tenant's they are."""

    version: int  # 0: the defaults, the tenant never defined its own
    source: str  # TENANT_SOURCE or DEFAULT_SOURCE
    rules: tuple[TriageRule, ...]

    @property
    def label(self) -> str:
        return f"rule set v{self.version}" + (" (defaults)" if self.source == DEFAULT_SOURCE else "")


def default_rule_set() -> TriageRuleSet:
    return TriageRuleSet(0, DEFAULT_SOURCE, default_rules())


# -- the aggregate ---------------------------------------------------------------------------


class TriageRules(Aggregate):
    class Event(Aggregate.Event):
        meta: AuditMeta

    class Defined(Event, Aggregate.Created):
        """The tenant's first rule list: from now on it, not the defaults, is in force."""

        rules: list[dict[str, Any]]

    class Revised(Event):
        """A whole new rule list."""

        rules: list[dict[str, Any]]

        def apply(self, rule_set: TriageRules) -> None:
            rule_set.rules = [dict(rule) for rule in self.rules]
            rule_set.remember(self.rules)

    def __init__(self, meta: AuditMeta, rules: list[dict[str, Any]]) -> None:
        self.tenant = meta.tenant
        self.rules = [dict(rule) for rule in rules]
        # Every rule id ever in force with its last terms (the defaults first), for the versions
        # of the next revision: a rule dropped and brought back changed is not "v1" again.
        self.known = _default_known()
        self.remember(rules)

    def remember(self, rules: Iterable[Mapping[str, Any]]) -> None:
        for rule in rules:
            self.known[rule["id"]] = dict(rule)

    @staticmethod
    def id_for(tenant: str) -> UUID:
        return natural_id(TRIAGE_RULES_NAMESPACE, tenant)

    @classmethod
    def define(cls, meta: AuditMeta, at: datetime, rules: Any) -> TriageRules:
        checked = versioned(checked_rules(rules), _default_known())
        return cls._create(cls.Defined, id=cls.id_for(meta.tenant), timestamp=at, meta=meta, rules=checked)

    def revise(self, meta: AuditMeta, at: datetime, rules: Any) -> None:
        """Replace the whole list; the same list again is no change and no event."""
        checked = versioned(checked_rules(rules), self.known)
        if checked != self.rules:
            self.trigger_event(self.Revised, timestamp=at, meta=meta, rules=checked)

    def rule_set(self) -> TriageRuleSet:
        return TriageRuleSet(self.version, TENANT_SOURCE, tuple(rule_from_dict(rule) for rule in self.rules))
