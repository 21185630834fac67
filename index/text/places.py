"""Countries and the words news uses for them (places.tsv): "Irish" means Ireland, "Kyiv" the
Ukrainian government. A name the question uses is found in an article that uses any word of its
country's line."""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files


@cache
def _table() -> dict[str, frozenset[str]]:
    text = files("index.text").joinpath("places.tsv").read_text(encoding="utf-8")
    table: dict[str, frozenset[str]] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        words = frozenset(w.strip() for w in line.split("\t") if w.strip())
        for word in words:
            table[word] = table.get(word, frozenset()) | words
    return table


def same_place(word: str) -> frozenset[str]:
    """The words that name the same country as `word` (itself included), lower case; just
    the word itself when it names no country of the table."""
    lowered = word.lower()
    return _table().get(lowered, frozenset({lowered}))


def is_place(word: str) -> bool:
    return word.lower() in _table()


@cache
def _metonyms() -> dict[str, str]:
    text = files("index.text").joinpath("metonyms.tsv").read_text(encoding="utf-8")
    pairs = (line.split("\t") for line in text.splitlines() if line.strip() and line[0] != "#")
    return {capital.strip(): country.strip() for capital, country in pairs}


_CAPITAL = re.compile(r"\b([A-Za-z][a-z]+)(['’]s)?\b")


def with_countries(question: str) -> str:
    """The question with the country after each capital it uses for a government: "What does
    Kyiv demand?" → "What does Kyiv (Ukraine) demand?", "Moscow's envoy" → "Moscow's
    (Russia's) envoy"; the country is not added where the question names it already."""

    def add(match: re.Match[str]) -> str:
        country = _metonyms().get(match.group(1).lower())
        if not country or country.lower() in question.lower():
            return match.group(0)
        return f"{match.group(0)} ({country}{match.group(2) or ''})"

    return _CAPITAL.sub(add, question)
