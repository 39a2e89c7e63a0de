"""Language detection for intake, by py3langid (a compact, deterministic langid.py model)."""
from __future__ import annotations

from functools import cache

# Below this probability the text is too short or mixed to say ("ok" scores 0.01, "hello"
# 0.07, a two-word Chinese thanks 0.31; real sentences 0.7 and up).
MIN_PROBABILITY = 0.5
NOT_A_LANGUAGE = "zxx"  # langid's label for text with no linguistic content, e.g. an order number


@cache
def _identifier():  # type: ignore[no-untyped-def]
    # Loading the model takes about a second: once per process, on first use.
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


class LangidDetector:
    def __call__(self, text: str) -> str | None:
        language, probability = _identifier().classify(text)
        if probability < MIN_PROBABILITY or language == NOT_A_LANGUAGE:
            return None
        return language
