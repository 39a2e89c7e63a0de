"""Ids derived from natural keys, and the tenant names those keys are scoped by.

An aggregate whose id derives from a natural key (a receipt, a claim, a channel's thread) lets
the event store refuse a duplicate. Its key is a tuple of strings, tenant first; the id is a
uuid5 over the tuple written as a JSON array, so two different tuples never name the same id
whatever characters their parts hold ("t" + "email|col" and "t|email" + "col" used to collide
when the parts were joined with "|").
"""
from __future__ import annotations

import json
import re
from uuid import UUID, uuid5

# One shop or merchant. Letters, digits and ". _ -" only: a tenant name appears in logs, CLI
# arguments and URLs as it is, and nothing in it can be mistaken for a separator.
TENANT_NAME_RULE = "a tenant name has 1 to 63 characters: letters, digits, '.', '_' or '-', starting with a letter or digit"
_TENANT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")


def is_tenant_name(name: str) -> bool:
    return _TENANT_NAME.fullmatch(name) is not None


def natural_id(namespace: UUID, *parts: str | None) -> UUID:
    """The id for a natural key: equal parts give the same id, different parts never do.

    JSON writes each part quoted and escaped (non-ASCII and lone surrogates included), so the
    array's text decodes back to exactly these parts.
    """
    for part in parts:
        if part is not None and not isinstance(part, str):
            raise TypeError(f"a natural key's parts are strings, not {type(part).__name__}")
    return uuid5(namespace, json.dumps([None if part is None else str(part) for part in parts]))
