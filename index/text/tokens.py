"""Words: the one word pattern of the project, the stop words, and the content terms (stems of
the words that carry meaning) that BM25, coverage and IDF all share."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

from index.text.stem import stem

# Letters and digits, with inner apostrophes kept ("Ukraine's" is one word).
WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)


@cache
def stopwords() -> frozenset[str]:
    """Function words, question words and words that describe the asking rather than the topic
    (data file stopwords.txt)."""
    from importlib.resources import files

    text = files("index.text").joinpath("stopwords.txt").read_text(encoding="utf-8")
    return frozenset(
        w for line in text.splitlines() if not line.startswith("#") for w in line.split()
    )


STOPWORDS = stopwords()


def words(text: str) -> list[str]:
    """The words of text, as written."""
    return WORD.findall(text)


def word_count(text: str) -> int:
    return sum(1 for _ in WORD.finditer(text))


def content_terms(text: str) -> set[str]:
    """Lower-cased stems of the words that carry meaning."""
    return terms_of(m.group().lower() for m in WORD.finditer(text))


def term_list(text: str) -> list[str]:
    """The stems of content_terms, in order and with repeats (for BM25)."""
    lowered = (m.group().lower() for m in WORD.finditer(text))
    return [stem(w) for w in lowered if len(w) >= 3 and w not in STOPWORDS]


def terms_of(lowered_words: Iterable[str]) -> set[str]:
    return {stem(w) for w in lowered_words if len(w) >= 3 and w not in STOPWORDS}
