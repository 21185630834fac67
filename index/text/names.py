"""Names and numbers a question asks about, and how an article's words are searched for them."""

from __future__ import annotations

import bisect
import re

from index.text.stem import stem
from index.text.tokens import STOPWORDS, WORD

NUMBER = re.compile(r"(?<![\d.])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
_POSSESSIVE = re.compile(r"['’]s$")
_DEFINITION = re.compile(r"^\W*(?:who|what)(?:\s+(?:is|was|are|were)|['’]s)\s+(.+)$", re.I)

NUMBER_WORDS = {
    str(n): w
    for n, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
}
ORDINAL_WORDS = dict(
    zip(
        map(str, range(1, 21)),
        "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
        "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth "
        "twentieth".split(),
        strict=True,
    )
)
# Written out, not calendar.month_name: that follows the process's locale.
MONTHS = (
    "january february march april may june july august september october november december"
).split()


def bare(word: str) -> str:
    """The word in lower case without a possessive 's: "Kyiv's" → "kyiv"."""
    return _POSSESSIVE.sub("", word.lower())


def numbers_in(text: str) -> set[str]:
    """The numbers written in text, without thousands separators: "1,000" and "1000" → "1000",
    "16th" → "16"; "1,2,3" is three numbers."""
    return {m.group().replace(",", "") for m in NUMBER.finditer(text)}


def spelt_numbers(number: str) -> list[str]:
    """How a number may be written out: 2 → two, second."""
    return [w for w in (NUMBER_WORDS.get(number), ORDINAL_WORDS.get(number)) if w]


def question_names(question: str) -> list[str]:
    """Capitalised words of the question after its first word: likely names of people, places
    and bodies. None when the question is in capitals or title case throughout, where capitals
    say nothing about names."""
    found = [m.group() for m in WORD.finditer(question)]
    letters = [c for c in question if c.isalpha()]
    if not found or sum(c.isupper() for c in letters) > 0.5 * len(letters):
        return []
    capitalised = [w for w in found[1:] if w[0].isupper()]
    if len(capitalised) > 0.6 * max(1, len(found) - 1) and len(found) > 3:
        return []
    return [w for w in capitalised if len(w) >= 3 and w.lower() not in STOPWORDS]


def defined_names(question: str, proper_names: frozenset[str]) -> list[str]:
    """The names a "who is …?" question asks about, if it asks about nothing but names the
    corpus uses ("who is Medinsky" → ["medinsky"]); else []."""
    match = _DEFINITION.match(question.strip())
    if not match:
        return []
    asked = [bare(w) for w in WORD.findall(match.group(1))]
    asked = [w for w in asked if w not in STOPWORDS]
    return asked if asked and all(w in proper_names for w in asked) else []


def names_all_in(names: list[str], text: str) -> bool:
    """Every one of the (bare, lower-case) names is a word of text."""
    found = {bare(w) for w in WORD.findall(text)}
    return all(name in found for name in names)


def mentions(words: tuple[str, ...], name: str) -> bool:
    """A sorted word list has the name, or a word it begins ("America" in "American"), or a word
    that begins its stem ("Ukraine's" → "ukrain" in "ukrainian"), or a word of 5 letters or
    more that begins the name ("Europe" for "European")."""
    for probe in {name, stem(name)} if len(name) >= 4 else {name}:
        at = bisect.bisect_left(words, probe)
        if at < len(words) and words[at].startswith(probe):
            return True
    for length in range(5, len(name)):
        at = bisect.bisect_left(words, name[:length])
        if at < len(words) and words[at] == name[:length]:
            return True
    return False


def has_word(words: tuple[str, ...], word: str) -> bool:
    """A sorted word list has exactly this word."""
    at = bisect.bisect_left(words, word)
    return at < len(words) and words[at] == word
