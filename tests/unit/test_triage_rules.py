"""A tenant's triage rules: checked and bounded in the domain, versioned as events, each rule
with a version of its own that moves only when its terms change."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerdesk.domain.audit import Actor, ActorKind, AuditMeta
from ledgerdesk.domain.errors import InvalidValue
from ledgerdesk.domain.ticket_values import Category, Priority
from ledgerdesk.domain.triage import TriageRule, default_rules, normalised_keyword, triage
from ledgerdesk.domain.triage_rules import (
    MAX_KEYWORD_LENGTH,
    MAX_KEYWORDS_PER_RULE,
    MAX_RULES,
    TriageRules,
    checked_rules,
    default_rule_set,
)

pytestmark = pytest.mark.unit

AT = datetime(2026, 11, 11, tzinfo=timezone.utc)


def meta(tenant: str = "acme-tea", reason: str | None = "new season") -> AuditMeta:
    return AuditMeta(tenant, Actor(ActorKind.AGENT, "admin-abe"), "cmd-1", "cmd-1", reason=reason)


def rule(**over):
    body = {"id": "refund", "keywords": ["退款", "Refund"], "category": "refund"}
    body.update(over)
    return body


def test_rules_come_out_in_canonical_form():
    rules = checked_rules([rule(name="  Refund  ", keywords=[" ＲＥＦＵＮＤ ", "退钱"], priority="high", language="zh")])
    assert rules == [{"id": "refund", "name": "Refund", "keywords": ["refund", "退钱"], "category": "refund",
                      "priority": "high", "language": "zh", "negative_wording": False}]
    json.dumps(rules)


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        ("refund", "rules"),
        ([rule()] * 2, "rules.1.id"),
        ([rule(id="Refund")], "rules.0.id"),
        ([rule(id="")], "rules.0.id"),
        ([rule(id=7)], "rules.0.id"),
        ([rule(keywords=[])], "rules.0.keywords"),
        ([rule(keywords="refund")], "rules.0.keywords"),
        ([rule(keywords=["ok", "   "])], "rules.0.keywords.1"),
        ([rule(keywords=["refund", "REFUND"])], "rules.0.keywords.1"),
        ([rule(keywords=["re\x00fund"])], "rules.0.keywords.0"),
        ([rule(keywords=["re\nfund"])], "rules.0.keywords.0"),
        ([rule(keywords=["\x85"])], "rules.0.keywords.0"),
        ([rule(keywords=["\ud800"])], "rules.0.keywords.0"),
        ([rule(keywords=[12])], "rules.0.keywords.0"),
        ([rule(keywords=["x" * (MAX_KEYWORD_LENGTH + 1)])], "rules.0.keywords.0"),
        ([rule(keywords=[f"k{i}" for i in range(MAX_KEYWORDS_PER_RULE + 1)])], "rules.0.keywords"),
        ([rule(category="sky")], "rules.0.category"),
        ([rule(category=None)], "rules.0.category"),
        ([rule(priority="sky-high")], "rules.0.priority"),
        ([rule(priority=["high"])], "rules.0.priority"),
        ([rule(language="chinese")], "rules.0.language"),
        ([rule(negative_wording="yes")], "rules.0.negative_wording"),
        ([rule(name="a\x07b")], "rules.0.name"),
        ([rule(name=5)], "rules.0.name"),
        ([rule(pattern=".*")], "rules.0.pattern"),
        ([rule(), "refund"], "rules.1"),
        ([rule(id=f"r{i}") for i in range(MAX_RULES + 1)], "rules"),
        ([rule(id=f"r{i}", keywords=[f"k{i}-{j}" for j in range(50)]) for i in range(41)], "rules.40.keywords"),
    ],
)
def test_invalid_rules_are_refused_naming_the_field(rules, field):
    with pytest.raises(InvalidValue) as refused:
        checked_rules(rules)
    assert refused.value.field == field


def test_a_keyword_is_matched_literally_never_as_a_pattern():
    rules = TriageRules.define(meta(), AT, [rule(id="dots", keywords=["(a+)+$", ".*"], priority="urgent", category=None)])
    compiled = rules.rule_set().rules
    assert triage("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", None, None, 0, compiled).matched_rule_ids == ()
    assert triage("he wrote .* in the form", None, None, 0, compiled).matched_rule_ids == ("dots",)


def test_the_first_definition_versions_each_rule_against_the_defaults():
    default_complaint = next(r for r in default_rules() if r.id == "complaint").to_dict()
    unchanged = {k: default_complaint[k] for k in ("id", "name", "keywords", "category", "priority", "language",
                                                    "negative_wording")}
    rules = TriageRules.define(meta(), AT, [unchanged, rule(), rule(id="vip-words", keywords=["经理"], category=None,
                                                                    priority="high")])
    assert rules.id == TriageRules.id_for("acme-tea") != TriageRules.id_for("other-shop")
    assert rules.version == 1 and rules.tenant == "acme-tea"
    assert [(r["id"], r["version"]) for r in rules.rules] == [("complaint", 1), ("refund", 2), ("vip-words", 1)]
    assert rules.rule_set().label == "rule set v1"
    assert default_rule_set().label == "rule set v0 (defaults)" and default_rule_set().version == 0


def test_a_revision_bumps_changed_rules_only_and_the_same_list_is_no_event():
    rules = TriageRules.define(meta(), AT, [rule(), rule(id="lawyers", keywords=["律师"], category=None, priority="urgent")])
    rules.collect_events()
    rules.revise(meta(), AT, [rule(), rule(id="lawyers", keywords=["律师", "12315"], category=None, priority="urgent")])
    assert rules.version == 2
    assert [(r["id"], r["version"]) for r in rules.rules] == [("refund", 2), ("lawyers", 2)]
    rules.revise(meta(), AT, [rule(), rule(id="lawyers", keywords=["律师", "12315"], category=None, priority="urgent")])
    assert rules.version == 2 and len(rules.collect_events()) == 1
    # A rule dropped and brought back with other terms is a new version of it, not "v1" again.
    rules.revise(meta(), AT, [rule()])
    rules.revise(meta(), AT, [rule(), rule(id="lawyers", keywords=["lawyer"], category=None, priority="urgent")])
    assert [(r["id"], r["version"]) for r in rules.rules] == [("refund", 2), ("lawyers", 3)]
    events = rules.collect_events()
    assert [type(e).__name__ for e in events] == ["Revised", "Revised"]
    assert all(e.meta.reason == "new season" and e.meta.actor.id == "admin-abe" for e in events)


def test_an_invalid_revision_changes_nothing():
    rules = TriageRules.define(meta(), AT, [rule()])
    with pytest.raises(InvalidValue):
        rules.revise(meta(), AT, [rule(category="sky")])
    assert rules.version == 1 and rules.rules[0]["category"] == "refund"


# -- properties ------------------------------------------------------------------------------

words = st.text(min_size=1, max_size=12).filter(lambda k: normalised_keyword(k) != "")
raw_rules = st.lists(
    st.fixed_dictionaries(
        {"id": st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True), "keywords": st.lists(words, min_size=1, max_size=4)},
        optional={"category": st.sampled_from([c.value for c in Category]), "priority": st.sampled_from([p.value for p in Priority]),
                  "name": st.text(max_size=20), "negative_wording": st.booleans()},
    ),
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(raw_rules)
def test_checking_is_a_fixed_point_and_never_fails_with_anything_but_a_named_invalid_value(raw):
    try:
        rules = checked_rules(raw)
    except InvalidValue as refused:
        assert refused.field and refused.field.startswith("rules")
        return
    assert checked_rules(rules) == rules
    assert json.loads(json.dumps(rules)) == rules


@settings(max_examples=200, deadline=None)
@given(raw_rules, st.text(max_size=60), st.sampled_from(list(Priority)))
def test_the_same_rules_and_message_give_the_same_decision_and_never_a_lower_priority(raw, text, priority):
    try:
        rules = TriageRules.define(meta(), AT, raw)
    except InvalidValue:
        return
    first = triage(text, None, None, 0, rules.rule_set().rules, priority=priority)
    again = triage(text, None, None, 0, TriageRules.define(meta(), AT, raw).rule_set().rules, priority=priority)
    assert first == again
    assert list(Priority).index(first.priority) >= list(Priority).index(priority)
    assert set(first.matched_rule_ids) <= {r["id"] for r in rules.rules}
    assert first.inputs["text_length"] == len(text) and "message_text" not in first.inputs


WORD = set("0123456789abcdefghijklmnopqrstuvwxyz")


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="ab1 s退款", max_size=80), st.text(alphabet="ab1s退款", min_size=1, max_size=3))
def test_a_keyword_is_found_exactly_where_the_plain_definition_says(text, keyword):
    """A Latin keyword where a word starts (however often it occurs inside words first), any
    other anywhere."""
    rule = TriageRule("r", 1, (keyword,), priority=Priority.HIGH)
    latin = keyword[0].isascii() and keyword[0].isalnum()
    expected = any(text.startswith(keyword, i) and (not latin or i == 0 or text[i - 1] not in WORD) for i in range(len(text)))
    assert (rule.matched_keyword(text, None) is not None) == expected


def test_a_keyword_many_times_inside_words_then_once_at_a_word_start_is_found():
    rule = TriageRule("legal", 1, ("sue",), priority=Priority.URGENT)
    assert rule.matched_keyword("issue " * 50, None) is None
    assert rule.matched_keyword("issue " * 50 + "i will sue", None) == "sue"
