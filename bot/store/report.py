"""What readers asked that the articles lack: the log's declined and 👎 questions grouped by
similar wording, most frequent first (`talks log`, /asked), and the log as labelled questions
for the verifier and `talks eval` (`talks log --export`).

Pure: rows in, groups and lines out.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.store.chats import LoggedQuestion
from index.text.places import is_place, same_place
from index.text.tokens import WORD, content_terms, terms_of
from index.text.translit import exonym

SAME_WORDING = 0.5  # share of their content terms two questions have in common to be grouped


@dataclass
class Group:
    """Questions asked in similar words, about the same countries."""

    terms: set[str]
    places: frozenset[str]
    rows: list[LoggedQuestion] = field(default_factory=list)

    @property
    def wording(self) -> str:
        """The wording asked most often (the first asked of those tied)."""
        counts = Counter(r.question.strip().lower() for r in self.rows)
        best = max(counts.values())
        return next(r.question for r in self.rows if counts[r.question.strip().lower()] == best)

    @property
    def declined(self) -> int:
        return sum(1 for r in self.rows if not r.answered)

    @property
    def disliked(self) -> int:
        return sum(1 for r in self.rows if r.feedback == -1)

    @property
    def corrections(self) -> list[str]:
        return [r.correction for r in self.rows if r.correction]


def group(rows: Iterable[LoggedQuestion]) -> list[Group]:
    """Rows grouped by wording: the same countries ("belarus's", "belarusian", "білорусі" are
    one), and at least SAME_WORDING of their content terms in common (of both together); most
    frequent first."""
    groups: list[Group] = []
    for row in rows:
        terms = _terms(row.question)
        places = frozenset(t for t in terms if t.startswith("@"))
        same = [g for g in groups if g.places == places]
        best = max(same, key=lambda g: _overlap(g.terms, terms), default=None)
        if best is not None and _overlap(best.terms, terms) >= SAME_WORDING:
            best.rows.append(row)
        else:
            groups.append(Group(set(terms), places, [row]))
    return sorted(groups, key=lambda g: (-len(g.rows), -g.rows[-1].asked_at))


def _terms(question: str) -> set[str]:
    """Content terms, a country's words as one ("@belarus"); a country is known by its stem or
    by the word as typed (the stem of "ukraine's" is "ukrain", which names nothing)."""
    typed: dict[str, list[str]] = {}
    for match in WORD.finditer(question):
        word = match.group().lower()
        for stem in terms_of([word]):
            typed.setdefault(stem, []).append(_POSSESSIVE.sub("", word))
    terms = set()
    for term in content_terms(question) or {question.strip().lower()}:
        names = [_english(w) for w in (term, *typed.get(term, ()))]
        place = next((name for name in names if is_place(name)), None)
        terms.add("@" + min(same_place(place)) if place else term)
    return terms


_POSSESSIVE = re.compile(r"['’]s$")


def _english(word: str) -> str:
    english = exonym(word) if not word.isascii() else None
    return english.lower() if english else word


def _overlap(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def lines(groups: list[Group], days: float, *, limit: int = 20) -> list[str]:
    """The groups as lines for an editor: "14× who leads the delegation? — not in my sources
    14, 👎 0 — last 2025-06-03"."""
    if not groups:
        return [f"No declined or 👎 questions in the last {days:g} days."]
    total = sum(len(g.rows) for g in groups)
    out = [
        f"Declined or 👎 in the last {days:g} days: {total} questions, {len(groups)} subjects "
        "(most asked first):"
    ]
    for g in groups[:limit]:
        last = dt.datetime.fromtimestamp(g.rows[-1].asked_at, dt.UTC).date().isoformat()
        out.append(
            f"{len(g.rows)}× {g.wording} — not in my sources {g.declined}, 👎 {g.disliked}, "
            f"last {last}"
        )
        out += [f"    reader's answer: {c}" for c in g.corrections[:3]]
    if len(groups) > limit:
        out.append(f"… and {len(groups) - limit} more subjects (talks log --limit N)")
    return out


def labelled(rows: Iterable[LoggedQuestion]) -> list[dict]:
    """The log in the labelled-question format of `talks eval` (q, expect, kind, lang) with
    what a reviewer needs: a 👍 answer's statement is its expected text; a 👎 with the reader's
    answer expects that; a 👎 without one and a decline are listed with `expect: []` and
    `review: true` (whether the articles answer them is for an editor to say)."""
    out = []
    for r in rows:
        if r.feedback == 1 and r.answered and r.answer:
            expect, kind, review = [r.answer], "reader_up", False
        elif r.feedback == -1 and r.correction:
            expect, kind, review = [r.correction], "reader_corrected", True
        elif r.feedback == -1:
            expect, kind, review = [], "reader_down", True
        elif not r.answered:
            expect, kind, review = [], "declined", True
        else:
            continue  # answered, not rated: no label
        out.append(
            {
                "id": f"log-{r.id}",
                "q": r.question,
                "expect": expect,
                "kind": kind,
                "lang": r.language,
                "review": review,
                "asked": r.message,
                "answer": r.answer,
                "articles": sorted({s["article"] for s in r.sources}),
                "index_version": r.index_version,
            }
        )
    return out


def jsonl(items: list[dict]) -> str:
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items)
