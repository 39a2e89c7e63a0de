"""A case file as a self-contained, printable HTML document (Jinja2, autoescaped), in English or Chinese.

The document carries its CSS inline and no script, image or font from anywhere: it prints, it
can be mailed, and it opens offline. Every text that came from a customer, an agent or a
policy is escaped by the template engine (autoescape is on for every template).
"""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from .case_labels import LANGUAGES, labels, localized_summary, term


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=PackageLoader("ledgerdesk.interfaces", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["pretty_json"] = lambda value: json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True)
    return env


def render_case(case: dict[str, Any], lang: str = "en") -> str:
    if lang not in LANGUAGES:
        raise ValueError(f"lang is one of {', '.join(LANGUAGES)}")
    entries = [{**e, "localized": localized_summary(e, lang)} for e in case["entries"]]
    kinds = {s: e["stream"] for e in case["entries"] for s in [e["stream_id"]]}
    streams = [{**s, "kind": kinds.get(s["stream_id"], "")} for s in case["proof"]["streams"]]
    return environment().get_template("case.html.j2").render(
        case=case, entries=entries, streams=streams, lang=lang, t=labels(lang), term=lambda v: term(v, lang),
        automatic=sum(1 for e in entries if e["automatic"]),
    )


def render_page() -> str:
    """The browser page's shell: no data in it; its script asks for a key and loads the case document."""
    return environment().get_template("case_view.html.j2").render(t_en=labels("en"), t_zh=labels("zh"))


def page_script() -> str:
    return environment().loader.get_source(environment(), "case_view.js")[0]  # type: ignore[union-attr]
