"""Triage: rules kept as data set the category and raise the priority of Chinese and English
messages; the same message always gets the same decision, priority is never lowered, and the
reason names every rule that matched."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerdesk.domain.errors import InvalidValue
from ledgerdesk.domain.ticket_values import Category, Priority
from ledgerdesk.domain.triage import TriageRule, default_rules, triage

pytestmark = pytest.mark.unit

RULES = default_rules()
LEVEL = {"low": 0, "normal": 1, "high": 2, "urgent": 3}


def decide(text: str, *, language=None, tier=None, recent=0, priority=Priority.NORMAL, rules=RULES):
    return triage(text, language, tier, recent, rules, priority=priority)


@pytest.mark.parametrize(
    ("text", "category", "priority", "rules"),
    [
        ("你好，我想退款，衣服尺码不对", Category.REFUND, Priority.NORMAL, ("refund",)),
        ("我要投诉你们的客服，态度太差了", Category.COMPLAINT, Priority.HIGH, ("complaint", "negative-wording")),
        ("快递三天了还没发货", Category.LOGISTICS, Priority.NORMAL, ("logistics",)),
        ("申请退货，商品有破损", Category.RETURN, Priority.NORMAL, ("return",)),
        ("支付成功了但是订单显示未付款", Category.PAYMENT, Priority.NORMAL, ("payment",)),
        ("账号登录不了，密码也改不了", Category.ACCOUNT, Priority.NORMAL, ("account",)),
        ("再不退款我就打12315，找律师起诉你们", Category.REFUND, Priority.URGENT, ("refund", "legal")),
        ("你们就是骗子", None, Priority.HIGH, ("negative-wording",)),
        ("Where is my parcel? The tracking number shows nothing.", Category.LOGISTICS, Priority.NORMAL, ("logistics",)),
        ("I was charged twice for order 1001", Category.PAYMENT, Priority.NORMAL, ("payment",)),
        ("I want a REFUND for the broken kettle", Category.REFUND, Priority.NORMAL, ("refund",)),
        ("I'd like to return these shoes", Category.RETURN, Priority.NORMAL, ("return",)),
        ("I can't log in, I forgot my password", Category.ACCOUNT, Priority.NORMAL, ("account",)),
        ("I filed a chargeback with my bank", None, Priority.URGENT, ("legal",)),
        ("Worst shop ever, this is unacceptable", None, Priority.HIGH, ("negative-wording",)),
        ("I want to complain: the refund never came, I will report you to the regulator",
         Category.COMPLAINT, Priority.URGENT, ("complaint", "refund", "legal")),
        ("Thanks, all good!", None, Priority.NORMAL, ()),
    ],
)
def test_chinese_and_english_messages_hit_the_expected_category_and_priority(text, category, priority, rules):
    decision = decide(text)
    assert (decision.category, decision.priority, decision.matched_rule_ids) == (category, priority, rules)
    for rule_id in rules:
        assert f"rule {rule_id} v1 matched" in decision.reason
    json.dumps(decision.inputs)


def test_the_reason_tells_the_whole_story():
    decision = decide("我要投诉，退款还没到账，垃圾", tier="VIP")
    assert decision.reason == (
        "rule complaint v1 matched '投诉': category complaint; "
        "rule refund v1 matched '退款': category refund (rule complaint v1 comes first); "
        "rule negative-wording v1 matched '垃圾': priority high; "
        "one step up for VIP customer; "
        "priority normal -> urgent"
    )
    assert decision.negative_wording


def test_nothing_matched_says_so():
    decision = decide("好的，谢谢", priority=Priority.HIGH)
    assert decision.reason == "no triage rule matched; priority stays high"
    assert (decision.category, decision.priority, decision.matched_rule_ids, decision.negative_wording) == (None, Priority.HIGH, (), False)


def test_a_vip_and_a_repeat_contact_each_raise_one_step():
    assert decide("where is my parcel", tier=" vip ").priority is Priority.HIGH
    assert decide("where is my parcel", recent=1).priority is Priority.HIGH
    assert decide("where is my parcel", tier="VIP", recent=3).priority is Priority.URGENT
    assert decide("where is my parcel", tier="gold", recent=0).priority is Priority.NORMAL
    assert decide("where is my parcel", priority=Priority.LOW, recent=1).priority is Priority.NORMAL


def test_triage_never_lowers_a_priority_its_rules_set_lower():
    decision = decide("where is my parcel", priority=Priority.URGENT)
    assert decision.priority is Priority.URGENT and decision.reason.endswith("priority stays urgent")


@pytest.mark.parametrize(
    ("text", "matched"),
    [
        ("There is an issue with my order", ()),  # "sue" starts no word here
        ("They sued me", ("legal",)),
        ("找lawyer也没用", ("legal",)),  # no space before a Latin word after Chinese
        ("ＲＥＦＵＮＤ　please", ("refund",)),  # full-width letters
        ("拨打１２３１５", ("legal",)),  # full-width digits
        ("my package was delivered to the wrong door", ("logistics",)),
        ("The discharge date", ()),  # "charged" is not in it, "charge" is no keyword
    ],
)
def test_latin_keywords_start_words_and_chinese_ones_match_anywhere(text, matched):
    assert decide(text).matched_rule_ids == matched


def test_a_rule_for_one_language_ignores_messages_in_another():
    rules = (TriageRule("jp-refund", 1, ("返金",), category=Category.REFUND, language="ja"),)
    assert decide("返金してください", language="ja", rules=rules).category is Category.REFUND
    assert decide("返金してください", language=" JA", rules=rules).category is Category.REFUND
    assert decide("返金してください", language="zh", rules=rules).category is None
    assert decide("返金してください", language=None, rules=rules).category is None


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"keywords": ()}, "keywords"),
        ({"keywords": ("refund", " REFUND ")}, "keywords"),
        ({"keywords": ("  ",)}, "keywords"),
        ({"version": 0}, "version"),
        ({"category": None, "priority": None}, "category"),
        ({"id": " "}, "id"),
    ],
)
def test_rules_are_checked(over, field):
    values = {"id": "r", "version": 1, "keywords": ("refund",), "category": Category.REFUND}
    values.update(over)
    with pytest.raises(InvalidValue) as error:
        TriageRule(**values)
    assert error.value.field == field


# -- properties ------------------------------------------------------------------------------

KEYWORDS = sorted({k for rule in RULES for k in rule.keywords})
# Filler that starts no Latin word, so an inserted keyword is found where it was put.
filler = st.text(st.sampled_from(list("，。！？ 的了我你在吗好订单衣服 hello there 123")), max_size=30)
messages = st.lists(st.one_of(filler, st.sampled_from(KEYWORDS).map(lambda k: f" {k} ")), max_size=6).map("".join)
tiers = st.sampled_from([None, "vip", "VIP", "gold", "regular"])
priorities = st.sampled_from(list(Priority))
rule_lists = st.permutations(RULES).flatmap(lambda rules: st.integers(0, len(rules)).map(lambda n: tuple(rules[:n])))


@settings(max_examples=300, deadline=None)
@given(messages, tiers, st.integers(0, 3), priorities, rule_lists)
def test_triage_is_deterministic_and_never_lowers_the_priority(text, tier, recent, priority, rules):
    decision = decide(text, tier=tier, recent=recent, priority=priority, rules=rules)
    again = decide(text, tier=tier, recent=recent, priority=priority, rules=tuple(rules))
    assert decision == again
    assert LEVEL[decision.priority] >= LEVEL[priority]
    # Never above what the matched rules and the two steps can justify.
    ceiling = max([LEVEL[priority]] + [LEVEL[r.priority] for r in rules if r.id in decision.matched_rule_ids and r.priority])
    steps = (tier is not None and tier.lower() == "vip") + (recent >= 1)
    assert LEVEL[decision.priority] == min(ceiling + steps, LEVEL["urgent"])


@settings(max_examples=300, deadline=None)
@given(messages, rule_lists)
def test_the_first_matching_category_rule_in_the_list_wins_and_every_match_is_named(text, rules):
    decision = decide(text, rules=rules)
    lowered = text.lower()
    expected = [r.id for r in rules if any(f" {k} " in lowered for k in r.keywords)]
    # Every rule whose keyword was put in the message matched (filler may add more, in order).
    assert set(expected) <= set(decision.matched_rule_ids)
    assert list(decision.matched_rule_ids) == [r.id for r in rules if r.id in decision.matched_rule_ids]
    for rule_id in decision.matched_rule_ids:
        assert f"rule {rule_id} v1 matched" in decision.reason
    first = next((r for r in rules if r.id in decision.matched_rule_ids and r.category is not None), None)
    assert decision.category == (first.category if first else None)


@settings(max_examples=200, deadline=None)
@given(messages, tiers, st.integers(0, 3), priorities)
def test_a_vip_is_never_triaged_lower_than_anyone_else(text, tier, recent, priority):
    assert LEVEL[decide(text, tier="vip", recent=recent, priority=priority).priority] >= LEVEL[
        decide(text, tier=tier, recent=recent, priority=priority).priority
    ]
