"""Names (domain/names.py): one line, something visible, spaces tidied; every named thing uses it."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledgerdesk.domain.errors import InvalidValue
from ledgerdesk.domain.names import checked_name, shows_something

pytestmark = pytest.mark.unit


def name(raw, **over):  # type: ignore[no-untyped-def]
    return checked_name(raw, **{"field": "name", "what": "a name", "max_length": 20, **over})


@pytest.mark.parametrize("raw", ["\u200b", "\u200c\u200d", "\u2060", "\ufeff", "\u00ad", "\u200e\u200f", " \u200b\u3000",
                                 "\u3164", "\u2800", "\u0301\u0308", "   ", ""])
def test_a_name_that_shows_nothing_is_refused_naming_its_field(raw) -> None:
    with pytest.raises(InvalidValue) as refused:
        name(raw)
    assert refused.value.field == "name"


@pytest.mark.parametrize("raw", ["a\tb", "a\nb", "a\rb", "a\x85b", "a\u2028b", "a\u2029b", "a\x00b", "\ud800"])
def test_a_name_is_one_line_without_control_characters(raw) -> None:
    with pytest.raises(InvalidValue, match="one line"):
        name(raw)


@pytest.mark.parametrize(("raw", "kept"), [("  Li   Na ", "Li Na"), ("李\u3000娜", "李 娜"), ("\u200bx", "\u200bx"),
                                            ("é", "é"), ("e\u0301", "e\u0301")])
def test_a_name_that_shows_something_is_kept_with_its_spaces_tidied(raw, kept) -> None:
    assert name(raw) == kept


def test_an_optional_name_left_blank_is_empty_but_one_of_invisible_characters_is_refused() -> None:
    assert name("  ", optional=True) == ""
    with pytest.raises(InvalidValue):
        name("\u200b", optional=True)


@given(st.text(max_size=30))
def test_checking_a_name_is_a_fixed_point_and_refuses_only_with_a_named_invalid_value(raw) -> None:
    try:
        checked = name(raw, max_length=30)
    except InvalidValue as refused:
        assert refused.field == "name"
        return
    assert name(checked, max_length=30) == checked and shows_something(checked)
