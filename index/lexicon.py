"""Corpus statistics for the answering rules: which words and names the corpus uses, how rare
each term is (IDF over sentences), and which names and numbers each article mentions.

Built once per index version from its texts, then read-only (safe to share between threads).
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from index.text.names import (
    MONTHS,
    bare,
    has_word,
    mentions,
    numbers_in,
    question_names,
    spelt_numbers,
)
from index.text.places import same_place
from index.text.stem import stem
from index.text.tokens import WORD, terms_of
from index.text.translit import fold, latin_keys


class Lexicon:
    """Inverse document frequency of terms over a set of texts (the index's sentences), and the
    words and names they use.

    A question term that never occurs gets the highest weight: an unknown name in the question
    ("France", "Kyiv" in a corpus that never mentions them) counts heavily against a match.
    """

    def __init__(self, texts: Iterable[str]) -> None:
        df: Counter[str] = Counter()
        words: set[str] = set()
        names: set[str] = set()  # words the corpus writes with a capital: likely proper names
        inner_capital: Counter[str] = Counter()  # capitalised inside a sentence
        lower_case: Counter[str] = Counter()
        n = 0
        for text in texts:
            n += 1
            found = [m.group() for m in WORD.finditer(text)]
            lowered = [w.lower() for w in found]
            words.update(lowered)
            names.update(w.lower() for w in found if w[0].isupper())
            for position, word in enumerate(found):
                if word[0].isupper():
                    if position:
                        inner_capital[bare(word)] += 1
                else:
                    lower_case[bare(word)] += 1
            df.update(terms_of(lowered))
        # Proper names: capitalised inside sentences at least as often as not ("Medinsky",
        # "NATO"; not "New" or "Officials", capitalised only at the start of sentences).
        self.proper = frozenset(w for w, c in inner_capital.items() if c >= lower_case[w])
        self.n = n
        self.df = df
        self.words = frozenset(words)
        self.names = frozenset(names)
        self.unseen = math.log(1 + (n + 1) / 0.5)
        # Latin words by their spelling-blind key, for names in Cyrillic questions.
        self.folded = sorted((fold(w), w) for w in self.words if len(w) >= 3 and w.isascii())

    def latin_matches(self, keys: Iterable[str], limit: int = 3) -> list[str]:
        """The corpus's Latin words whose fold begins with one of the keys (at least four
        letters long), most frequent first: "lavrov" → ["lavrov"]."""
        found: set[str] = set()
        for key in keys:
            if len(key) < 4:
                continue
            at = bisect.bisect_left(self.folded, (key, ""))
            while at < len(self.folded) and self.folded[at][0].startswith(key):
                found.add(self.folded[at][1])
                at += 1
        return sorted(found, key=lambda w: (-self.df.get(stem(w), 0), w))[:limit]

    def is_name(self, word: str) -> bool:
        """The corpus writes `word` as a proper name ("Lavrov"; "Гиви" and "гіві" by the Latin
        spelling they fold to: "Givi"), whatever its case in the question."""
        low = bare(word.lower())
        if low.isascii():
            return low in self.proper
        keys = {k for language in ("uk", "ru") for k in latin_keys(low, language)}
        keys |= {k.replace("h", "g") for k in keys}  # Ukrainian г for a Russian-spelt name
        return any(w in self.proper for w in self.latin_matches(keys))

    def known(self, word: str) -> bool:
        """The corpus uses the word (as written, without a possessive, or by its stem)."""
        return any(self._known(alt) for alt in same_place(bare(word)))

    def _known(self, lowered: str) -> bool:
        return lowered in self.words or bare(lowered) in self.words or stem(lowered) in self.df

    def unknown_names(self, question: str) -> list[str]:
        """Names in the question (see question_names) that the corpus never uses: "Belarus" in
        "Who leads Belarus's delegation?"."""
        return [w for w in question_names(question) if not self.known(w)]

    def idf(self, term: str) -> float:
        count = self.df.get(term, 0)
        return math.log(1 + (self.n + 1) / (count + 0.5)) if count else self.unseen

    def coverage(self, question_terms: set[str], text_terms: set[str]) -> float:
        """Share of the question's term weight found in the text (0..1)."""
        total = sum(self.idf(t) for t in question_terms)
        if total <= 0:
            return 0.0
        return sum(self.idf(t) for t in question_terms if t in text_terms) / total


@dataclass(frozen=True)
class ArticleWords:
    """An article's lower-cased words (sorted, for prefix search) and its numbers, from its
    title, body and publication date ("in February 2025")."""

    words: tuple[str, ...]
    numbers: frozenset[str]

    @classmethod
    def of(cls, title: str, body: str, published: dt.date | None) -> ArticleWords:
        text = f"{title}\n{body}"
        if published:
            text += f"\n{published.day} {MONTHS[published.month - 1]} {published.year}"
        found = {m.group().lower() for m in WORD.finditer(text)}
        found |= {bare(w) for w in found}
        return cls(tuple(sorted(found)), frozenset(numbers_in(text)))


class Mentions:
    """Which names and numbers each article mentions: an answer about Ukraine's delegation is
    no answer to "Who leads Belarus's delegation?"."""

    def __init__(self, articles: dict[str, ArticleWords]) -> None:
        self.articles = articles
        # Every capitalised word users type is looked up: keep the cache bounded (lru_cache
        # is safe to call from several threads).
        self.is_common = lru_cache(maxsize=10_000)(self._is_common)

    def missing(self, names: list[str], numbers: set[str], article_id: str) -> list[str]:
        """The names and numbers a question asks about that an article never mentions. Names
        that most articles use (Ukraine, Kyiv in a corpus on the talks) are not required: they
        say little about which article is meant."""
        article = self.articles[article_id]
        missing = []
        for name in names:
            lowered = bare(name)
            if self.is_common(lowered):
                continue
            if not any(mentions(article.words, alt) for alt in same_place(lowered)):
                missing.append(name)
        for number in sorted(numbers):
            spelt = spelt_numbers(number)  # 2, 2nd: two, second
            if number not in article.numbers and not any(has_word(article.words, w) for w in spelt):
                missing.append(number)
        return missing

    def _is_common(self, name: str) -> bool:
        """The name (or another word for its country) occurs in more than half of the
        articles."""
        alternatives = same_place(name)
        found = sum(
            any(mentions(a.words, alt) for alt in alternatives) for a in self.articles.values()
        )
        return found > len(self.articles) / 2
