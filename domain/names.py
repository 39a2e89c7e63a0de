"""Names: what agents, teams, SLA policies and triage rules are called, and triage keywords.

One rule for every name, checked here and nowhere else:

- A name is one line. Lists, menus, case files and audit trails show it on one line, so it holds
  no control characters (tab, CR, LF and NEL included), no line or paragraph separator (U+2028,
  U+2029: line breaks too, which str.split() would quietly turn into spaces) and no lone surrogates.
- A name shows something. One of spaces, zero-width or other format characters (U+200B, U+2060,
  U+FEFF, the soft hyphen) or combining marks alone looks empty in every list, and two such names
  look alike, so at least one character must be visible.
- Outer spaces are dropped and a run of spaces inside is one space, so "Li  Na" is "Li Na".
"""
from __future__ import annotations

import unicodedata
from typing import Any

from .errors import InvalidValue

# The rule, as the OpenAPI document states it for every name field.
NAME_RULE = ("one line (no tab, line break, U+2028/U+2029 separator or other control character) with at least one visible character: "
             "only spaces, zero-width (U+200B) or other invisible characters is a 422; outer spaces are dropped "
             "and a run of spaces inside is one space")
KEYWORD_RULE = ("one line (no tab, line break, U+2028/U+2029 separator or other control character) with at least one visible character: "
                "only spaces, zero-width (U+200B) or other invisible characters is a 422")

# Unicode categories a one-line name never holds: controls, line and paragraph separators, lone surrogates.
_NOT_IN_A_NAME = frozenset({"Cc", "Zl", "Zp", "Cs"})
# Categories that draw nothing by themselves: format characters (zero-width space, joiners, word
# joiner, BOM, soft hyphen, bidi marks) and combining marks, which only change the character before.
_INVISIBLE = frozenset({"Cf", "Mn", "Me"}) | _NOT_IN_A_NAME
# Letters and symbols that draw nothing although their category says otherwise: the Hangul fillers
# and the blank braille pattern, favourites for names that look empty.
_BLANK = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def forbidden_in_a_name(text: str) -> str | None:
    """The first character a name may not hold, described (`U+0009 at character 3`); None if none."""
    for index, char in enumerate(text):
        if unicodedata.category(char) in _NOT_IN_A_NAME:
            return f"U+{ord(char):04X} at character {index}"
    return None


def shows_something(text: str) -> bool:
    """Whether at least one character of `text` is visible: not a space, a format character, a
    combining mark alone or a blank filler."""
    return any(not char.isspace() and char not in _BLANK and unicodedata.category(char) not in _INVISIBLE
               for char in text)


def checked_name(raw: Any, *, field: str, what: str, max_length: int, optional: bool = False) -> str:
    """`raw` as a name, in canonical form; an InvalidValue naming `field` otherwise. `what` says
    what is named ("an agent's name"). An optional name left blank is ""."""
    if not isinstance(raw, str):
        raise InvalidValue(f"{what} is a string", field=field)
    if found := forbidden_in_a_name(raw):
        raise InvalidValue(f"{what} is one line, without control characters, line breaks or lone surrogates: {found}",
                           field=field)
    name = " ".join(raw.split())
    if optional and not name:
        return name
    if not name or len(name) > max_length:
        raise InvalidValue(f"{what} has {'at most' if optional else '1 to'} {max_length} characters", field=field)
    if not shows_something(name):
        raise InvalidValue(f"{what} must contain at least one visible character, not only spaces, zero-width "
                           "or other invisible characters", field=field)
    return name
