"""Countries and the words news uses for them (places.tsv): "Irish" means Ireland, "Kyiv" the
Ukrainian government. A name the question uses is found in an article that uses any word of its
country's line."""

from __future__ import annotations

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
