"""SLA policies: their terms are checked and canonical, revisions and retirement follow the rules,
and the selection rule picks the first matching active policy by (rank, defined_at, policy_id)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerdesk.domain.audit import Actor, ActorKind, AuditMeta
from ledgerdesk.domain.channel import Channel
from ledgerdesk.domain.errors import IllegalTransition, InvalidValue
from ledgerdesk.domain.sla_policy import DEFAULT_POLICY, SlaPolicy, SlaPolicySnapshot, select_policy
from ledgerdesk.domain.ticket_values import Category, Priority

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 11, tzinfo=timezone.utc)
META = AuditMeta(tenant="shop-1", actor=Actor(ActorKind.AGENT, "admin-1"), command_id="cmd-1", correlation_id="corr-1")
SHANGHAI_OFFICE = {
    "kind": "business_hours",
    "timezone": "Asia/Shanghai",
    "weekly": {"mon": [["09:00", "12:00"], ["13:00", "18:00"]], "tue": [["09:00", "24:00"]]},
    "holiday_country": "cn",
    "holidays": ["2026-10-02", "2026-10-01", "2026-10-01"],
}


def define(**over: Any) -> SlaPolicy:
    terms: dict[str, Any] = {"name": "Standard", "rank": 100, "match": {}, "targets": {"first_reply": 3600}}
    terms.update(over)
    return SlaPolicy.define(META, T0, **terms)


def revise(policy: SlaPolicy, **over: Any) -> None:
    terms = {k: v for k, v in policy.terms().items()}
    terms.update(over)
    policy.revise(META, T0 + timedelta(minutes=1), **terms)


# -- terms -----------------------------------------------------------------------------------


def test_a_policy_keeps_its_terms_in_canonical_plain_json():
    policy = define(
        name="  VIP urgent  ",
        rank=5,
        match={"priorities": ["urgent", "high", "urgent"], "channels": [Channel.JD, "taobao"], "customer_tiers": [" VIP ", "gold"]},
        targets={"first_reply": 600, "resolution": 86_400},
        warning_percent=80,
        calendar=SHANGHAI_OFFICE,
    )
    (defined,) = policy.collect_events()

    assert isinstance(defined, SlaPolicy.Defined)
    assert defined.name == "VIP urgent" and defined.rank == 5 and defined.warning_percent == 80
    assert defined.match == {"priorities": ["high", "urgent"], "channels": ["jd", "taobao"], "categories": [], "customer_tiers": ["gold", "vip"]}
    assert all(type(v) is str for values in defined.match.values() for v in values)
    assert defined.targets == {"first_reply": 600, "next_reply": None, "periodic_update": None, "resolution": 86_400}
    assert defined.calendar["weekly"]["mon"] == [["09:00", "12:00"], ["13:00", "18:00"]]
    assert defined.calendar["weekly"]["tue"] == [["09:00", "24:00"]] and defined.calendar["weekly"]["sun"] == []
    assert defined.calendar["holiday_country"] == "CN" and defined.calendar["holidays"] == ["2026-10-01", "2026-10-02"]
    assert defined.meta == META and defined.timestamp == T0
    assert policy.tenant == "shop-1" and policy.version == 1 and not policy.retired


def test_the_calendar_defaults_to_24x7_and_the_warning_to_75_percent():
    policy = define()
    assert policy.calendar == {"kind": "24x7"} and policy.warning_percent == 75


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"name": "   "}, "name"),
        ({"name": "n" * 121}, "name"),
        ({"rank": -1}, "rank"),
        ({"rank": 10_001}, "rank"),
        ({"rank": True}, "rank"),
        ({"rank": "1"}, "rank"),
        ({"warning_percent": 0}, "warning_percent"),
        ({"warning_percent": 100}, "warning_percent"),
        ({"match": ["urgent"]}, "match"),
        ({"match": {"priorities": ["sky-high"]}}, "match.priorities"),
        ({"match": {"priorities": "urgent"}}, "match.priorities"),
        ({"match": {"channels": {}}}, "match.channels"),
        ({"match": {"channels": ["telegraph"]}}, "match.channels"),
        ({"match": {"categories": ["weather"]}}, "match.categories"),
        ({"match": {"categories": [{"a": 1}]}}, "match.categories"),
        ({"match": {"customer_tiers": [""]}}, "match.customer_tiers"),
        ({"match": {"customer_tiers": ["t" * 41]}}, "match.customer_tiers"),
        ({"match": {"customer_tiers": [7]}}, "match.customer_tiers"),
        ({"match": {"brands": ["x"]}}, "match.brands"),
        ({"targets": None}, "targets"),
        ({"targets": {}}, "targets"),
        ({"targets": {"first_reply": None, "resolution": None}}, "targets"),
        ({"targets": {"first_reply": 0}}, "targets.first_reply"),
        ({"targets": {"next_reply": 365 * 86_400 + 1}}, "targets.next_reply"),
        ({"targets": {"resolution": 60.5}}, "targets.resolution"),
        ({"targets": {"periodic_update": True}}, "targets.periodic_update"),
        ({"targets": {"first_response": 60}}, "targets.first_response"),
        ({"calendar": "24x7"}, "calendar"),
        ({"calendar": {"kind": "9to5"}}, "calendar.kind"),
        ({"calendar": {}}, "calendar.kind"),
        ({"calendar": {"kind": "24x7", "timezone": "UTC"}}, "calendar.timezone"),
        ({"calendar": {**SHANGHAI_OFFICE, "timezone": "Mars/Olympus"}}, "calendar.timezone"),
        ({"calendar": {**SHANGHAI_OFFICE, "timezone": "../../etc/passwd"}}, "calendar.timezone"),
        ({"calendar": {**SHANGHAI_OFFICE, "weekly": {"monday": []}}}, "calendar.weekly.monday"),
        ({"calendar": {**SHANGHAI_OFFICE, "weekly": {}}}, "calendar.weekly"),
        ({"calendar": {**SHANGHAI_OFFICE, "weekly": {"mon": [["18:00", "09:00"]]}}}, "calendar.weekly.mon"),
        ({"calendar": {**SHANGHAI_OFFICE, "weekly": {"tue": [["9:00", "18:00"]]}}}, "calendar.weekly.tue"),
        ({"calendar": {**SHANGHAI_OFFICE, "weekly": {"wed": [["09:00", "13:00"], ["12:00", "18:00"]]}}}, "calendar.weekly.wed"),
        ({"calendar": {**SHANGHAI_OFFICE, "weekly": {"thu": "09:00-18:00"}}}, "calendar.weekly.thu"),
        ({"calendar": {**SHANGHAI_OFFICE, "holiday_country": "XX"}}, "calendar.holiday_country"),
        ({"calendar": {**SHANGHAI_OFFICE, "holidays": "2026-10-01"}}, "calendar.holidays"),
        ({"calendar": {**SHANGHAI_OFFICE, "holiday_country": "China"}}, "calendar.holiday_country"),
        ({"calendar": {**SHANGHAI_OFFICE, "holiday_country": None, "holiday_subdivision": "GD"}}, "calendar.holiday_subdivision"),
        ({"calendar": {**SHANGHAI_OFFICE, "holidays": ["2026-02-30"]}}, "calendar.holidays"),
        ({"calendar": {**SHANGHAI_OFFICE, "holidays": [20261001]}}, "calendar.holidays"),
    ],
)
def test_a_bad_term_is_refused_naming_its_field(over, field):
    with pytest.raises(InvalidValue) as refused:
        define(**over)
    assert refused.value.field == field


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("urgent", "urgent"),
        (" URGENT ", "urgent"),
        (Priority.HIGH, "high"),
    ],
)
def test_match_values_are_read_leniently_and_stored_as_plain_strings(raw, canonical):
    assert define(match={"priorities": [raw]}).match["priorities"] == [canonical]


# -- revise and retire -----------------------------------------------------------------------


def test_a_revision_is_a_full_new_version():
    policy = define()
    policy.collect_events()

    revise(policy, name="Standard v2", rank=50, targets={"first_reply": 1800, "resolution": 172_800}, calendar=SHANGHAI_OFFICE)

    (revised,) = policy.collect_events()
    assert isinstance(revised, SlaPolicy.Revised)
    assert revised.name == "Standard v2" and revised.rank == 50
    assert revised.targets == {"first_reply": 1800, "next_reply": None, "periodic_update": None, "resolution": 172_800}
    assert revised.match == {"priorities": [], "channels": [], "categories": [], "customer_tiers": []}
    assert revised.calendar["kind"] == "business_hours" and revised.warning_percent == 75
    assert (policy.name, policy.rank, policy.version) == ("Standard v2", 50, 2)


def test_the_same_terms_again_are_no_event_even_written_differently():
    policy = define(match={"priorities": ["high", "urgent"]}, calendar=SHANGHAI_OFFICE)
    policy.collect_events()

    revise(policy, name=" Standard ", match={"priorities": ["URGENT", "high", "high"]}, calendar=dict(SHANGHAI_OFFICE))

    assert policy.collect_events() == [] and policy.version == 1


def test_a_bad_revision_changes_nothing():
    policy = define()
    policy.collect_events()
    with pytest.raises(InvalidValue) as refused:
        revise(policy, targets={"first_reply": -5})
    assert refused.value.field == "targets.first_reply"
    assert policy.collect_events() == [] and policy.targets["first_reply"] == 3600


def test_a_retired_policy_refuses_revisions_and_retiring_again_is_no_change():
    policy = define()
    policy.retire(META, T0 + timedelta(hours=1))
    assert policy.retired and policy.version == 2
    assert isinstance(policy.collect_events()[-1], SlaPolicy.Retired)

    with pytest.raises(IllegalTransition) as refused:
        revise(policy, name="back again")
    assert refused.value.field == "policy_id"

    policy.retire(META, T0 + timedelta(hours=2))
    assert policy.collect_events() == [] and policy.version == 2


def test_a_snapshot_is_the_current_version_and_a_copy():
    policy = define(rank=7, calendar=SHANGHAI_OFFICE)
    revise(policy, name="Renamed")
    snap = policy.snapshot()

    assert (snap.policy_id, snap.version, snap.name, snap.rank) == (str(policy.id), 2, "Renamed", 7)
    assert snap.defined_at == T0 and not snap.retired
    snap.calendar["weekly"]["mon"].clear()
    snap.match["priorities"].append("low")
    assert policy.calendar["weekly"]["mon"] and policy.match["priorities"] == []

    policy.retire(META, T0 + timedelta(hours=1))
    assert policy.snapshot().retired and not policy.snapshot().matches("normal", "email", None, None)


# -- matching and selection ------------------------------------------------------------------


def snapshot(policy_id: str = "p", rank: int = 100, minutes: int = 0, retired: bool = False, **match: list[str]) -> SlaPolicySnapshot:
    return SlaPolicySnapshot(
        policy_id=policy_id,
        version=1,
        name=policy_id,
        rank=rank,
        match={"priorities": [], "channels": [], "categories": [], "customer_tiers": [], **match},
        targets={"first_reply": 3600, "next_reply": None, "periodic_update": None, "resolution": None},
        warning_percent=75,
        calendar={"kind": "24x7"},
        defined_at=T0 + timedelta(minutes=minutes),
        retired=retired,
    )


def test_an_empty_criterion_matches_anything_and_a_set_one_needs_a_value_in_it():
    anything = snapshot()
    assert anything.matches("low", "email", None, None)

    vip_jd = snapshot(channels=["jd", "taobao"], customer_tiers=["vip"], categories=["refund"])
    assert vip_jd.matches(Priority.LOW, Channel.JD, Category.REFUND, " VIP")
    assert not vip_jd.matches("low", "jd", "refund", None)
    assert not vip_jd.matches("low", "jd", None, "vip")
    assert not vip_jd.matches("low", "email", "refund", "vip")
    assert not snapshot(priorities=["urgent"]).matches("high", "jd", None, None)


def test_the_lowest_rank_wins_then_the_earliest_defined_then_the_id():
    general = snapshot("general", rank=100)
    urgent = snapshot("urgent", rank=10, priorities=["urgent"])
    older = snapshot("b-older", rank=10, minutes=0)
    newer = snapshot("a-newer", rank=10, minutes=5)
    twin = snapshot("a-twin", rank=10, minutes=0)

    assert select_policy([general, urgent], "urgent", "email", None, None) is urgent
    assert select_policy([general, urgent], "normal", "email", None, None) is general
    assert select_policy([newer, older], "normal", "email", None, None) is older
    assert select_policy([older, twin, newer], "normal", "email", None, None) is twin
    assert select_policy([], "normal", "email", None, None) is DEFAULT_POLICY
    assert select_policy([], "normal", "email", None, None, default=None) is None


def test_a_retired_policy_is_never_selected():
    retired = snapshot("retired", rank=0, retired=True)
    active = snapshot("active", rank=500)
    assert select_policy([retired, active], "normal", "email", None, None) is active
    assert select_policy([retired], "normal", "email", None, None) is DEFAULT_POLICY


def subset(values: list[str]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(values), unique=True, max_size=3).map(sorted)


PRIORITIES = [p.value for p in Priority]
CHANNELS = ["email", "jd", "taobao", "wechat"]
CATEGORIES = ["refund", "logistics", "order"]
TIERS = ["vip", "gold"]

snapshots = st.builds(
    snapshot,
    policy_id=st.sampled_from(["a", "b", "c", "d"]),
    rank=st.integers(0, 3),
    minutes=st.integers(0, 2),
    retired=st.booleans(),
    priorities=subset(PRIORITIES),
    channels=subset(CHANNELS),
    categories=subset(CATEGORIES),
    customer_tiers=subset(TIERS),
)
tickets = st.tuples(
    st.sampled_from(PRIORITIES), st.sampled_from(CHANNELS), st.none() | st.sampled_from(CATEGORIES), st.none() | st.sampled_from(TIERS)
)


@settings(max_examples=400, deadline=None)
@given(policies=st.lists(snapshots, max_size=8), ticket=tickets)
def test_the_selected_policy_matches_and_no_earlier_active_policy_does(policies, ticket):
    chosen = select_policy(policies, *ticket)
    if chosen is None:
        assert not any(p.matches(*ticket) for p in policies)
        return
    assert chosen.matches(*ticket) and not chosen.retired
    for other in policies:
        if other.order_key < chosen.order_key:
            assert not other.matches(*ticket)
    assert select_policy(list(reversed(policies)), *ticket).order_key == chosen.order_key


@settings(max_examples=200, deadline=None)
@given(
    priorities=subset(PRIORITIES), channels=subset(CHANNELS), categories=subset(CATEGORIES), tiers=subset(TIERS),
    ticket=tickets,
)
def test_matching_means_every_set_criterion_holds_the_tickets_value(priorities, channels, categories, tiers, ticket):
    policy = snapshot(priorities=priorities, channels=channels, categories=categories, customer_tiers=tiers)
    priority, channel, category, tier = ticket
    expected = (
        (not priorities or priority in priorities)
        and (not channels or channel in channels)
        and (not categories or category in categories)
        and (not tiers or tier in tiers)
    )
    assert policy.matches(priority, channel, category, tier) == expected


def test_a_tenant_without_active_policies_is_measured_under_the_default_policy():
    chosen = select_policy([], "low", "taobao", None, None)

    assert chosen is DEFAULT_POLICY
    assert chosen.targets["first_reply"] == 8 * 3600 and chosen.calendar == {"kind": "24x7"}


def test_once_a_tenant_has_policies_a_ticket_none_matches_is_not_measured():
    taobao_only = SlaPolicySnapshot(
        "p1", 1, "Taobao", 10, {"priorities": [], "channels": ["taobao"], "categories": [], "customer_tiers": []},
        {"first_reply": 600, "next_reply": None, "periodic_update": None, "resolution": None}, 75, {"kind": "24x7"},
        DEFAULT_POLICY.defined_at,
    )

    assert select_policy([taobao_only], "low", "jd", None, None) is None
