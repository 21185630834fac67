"""News outlets a question names ("according to Al Jazeera", "what did TASS report"), from the
table in outlets.tsv."""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files


@cache
def _table() -> dict[str, str]:
    """Every written form → the outlet's first form."""
    text = files("index.text").joinpath("outlets.tsv").read_text(encoding="utf-8")
    table: dict[str, str] = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            forms = [f.strip() for f in line.split("\t") if f.strip()]
            for form in forms:
                table.setdefault(form, forms[0])
    return table


@cache
def _pattern() -> re.Pattern[str]:
    forms = sorted(_table(), key=len, reverse=True)
    return re.compile(r"(?<!\w)(" + "|".join(map(re.escape, forms)) + r")(?!\w)", re.I)


def outlet_of(source: str) -> str | None:
    """The outlet an article's `source` names ("Al Jazeera English" → "al jazeera")."""
    match = _pattern().search(source or "")
    return _table()[match.group(1).lower()] if match else None


# Short forms that are also ordinary words or initials: only in capitals ("AP", "ABC", "RIA").
_CAPITALS_ONLY = frozenset({"ap", "abc", "ria", "sana"})


def outlets_named(question: str) -> list[tuple[str, tuple[int, int]]]:
    """The outlets the question names, with where: [("al jazeera", (13, 23))]."""
    found = []
    for match in _pattern().finditer(question):
        written = match.group(1)
        if written.lower() in _CAPITALS_ONLY and not written.isupper():
            continue
        found.append((_table()[written.lower()], match.span()))
    return found


_ACCORDING = re.compile(
    r"(?i)\b(according to|as reported by|reported by|says?|said|reports?|reported|report)\s*$"
)


def without_outlets(question: str, outlets: frozenset[str]) -> str:
    """The question with the outlets of `outlets` it names taken out, so they do not weigh in
    the search: "According to TASS, who met Lavrov?" → "who met Lavrov?"."""
    spans = [span for name, span in outlets_named(question) if name in outlets]
    if not spans:
        return question
    out, last = [], 0
    for start, end in spans:
        before = _ACCORDING.sub("", question[last:start])
        out.append(before)
        last = end
    out.append(question[last:])
    text = re.sub(r"\s+", " ", "".join(out)).strip(" ,:;-")
    text = re.sub(r"^(?i:according to|по данным|по словам|за даними|за словами)\s*,?\s*", "", text)
    return text or question
