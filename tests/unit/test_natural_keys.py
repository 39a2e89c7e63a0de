"""Natural-key ids never collide across tenants, and tenant names follow one pattern.

Trial (issue 8): with tenants `t` and `t|email`, ids built as f"{tenant}|…" collided: `t|email`'s
email with id `col` was answered as a duplicate carrying `t`'s customer and ticket ids, the same
for Idempotency-Keys, and a thread id of one tenant blocked the other's. Each pair below collided.
"""
import pytest
from pydantic import ValidationError

from ledgerdesk.domain.channel import Channel
from ledgerdesk.domain.conversation import Conversation
from ledgerdesk.domain.identity import Identity, IdentityClaim
from ledgerdesk.domain.natural_keys import is_tenant_name, natural_id
from ledgerdesk.domain.receipts import COMMAND_NAMESPACE, CommandReceipt, MessageReceipt
from ledgerdesk.interfaces.seed import TENANTS
from ledgerdesk.interfaces.settings import ApiKey, Settings

pytestmark = pytest.mark.unit


def test_ids_that_joined_parts_with_a_bar_made_equal_now_differ():
    assert CommandReceipt.id_for("t", "email|k") != CommandReceipt.id_for("t|email", "k")
    assert MessageReceipt.id_for("t", Channel.EMAIL, "email|col") != MessageReceipt.id_for("t|email", Channel.EMAIL, "col")
    assert Conversation.id_for("t", Channel.EMAIL, "email|th") != Conversation.id_for("t|email", Channel.EMAIL, "th")
    crafted = Identity.channel_user(Channel.EMAIL, "x|channel_user:email:y")
    assert IdentityClaim.id_for("t", crafted) != IdentityClaim.id_for("t|channel_user:email:x", Identity.channel_user(Channel.EMAIL, "y"))


def test_the_same_natural_key_gives_the_same_id_and_each_part_counts():
    assert MessageReceipt.id_for("t", Channel.EMAIL, "col") == MessageReceipt.id_for("t", Channel.EMAIL, "col")
    keys = [("t", "a", "b"), ("t", "a\",\"b"), ("t", "ab"), ("t", "a", None), ("t", "a", "null"), ("t", "é"), ("t", "\\u00e9")]
    assert len({natural_id(COMMAND_NAMESPACE, *key) for key in keys}) == len(keys)


def test_email_and_channel_user_identities_of_the_same_text_are_different_claims():
    email = Identity.email("li@example.com")
    as_user = Identity.channel_user(Channel.EMAIL, "li@example.com")
    assert IdentityClaim.id_for("t", email) != IdentityClaim.id_for("t", as_user)


def test_a_part_that_is_not_text_is_refused():
    with pytest.raises(TypeError):
        natural_id(COMMAND_NAMESPACE, "t", 7)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["t", "demo", "tenant-0123456789", "acme-tea", "acceptance-a", "shop_1.cn", "A" * 63, *TENANTS])
def test_tenant_names_in_use_fit_the_pattern(name):
    assert is_tenant_name(name)
    assert ApiKey(tenant=name, actor="a").tenant == name


@pytest.mark.parametrize("name", ["", "t|email", "-shop", ".shop", "a" * 64, "a b", "shop\n", "商店", "shop/1", "shop:1"])
def test_other_tenant_names_are_refused_where_keys_are_loaded(name):
    assert not is_tenant_name(name)
    with pytest.raises(ValidationError, match="a tenant name has 1 to 63 characters"):
        ApiKey(tenant=name, actor="a")


def test_configured_keys_for_a_tenant_with_a_bar_are_refused():
    with pytest.raises(ValidationError, match="tenant"):
        Settings(api_keys={"k": {"tenant": "t|email", "actor": "a"}})
