"""Follow-up questions without a language model: "and ukraine's?" after "who headed russia's
delegation?" is answered as "who headed ukraine's delegation?".

A message is a follow-up when it is short and has no subject of its own: a question word alone
("why?", "how many?"), or only a new side, time, place or name, optionally opened by a marker
("and …", "what about …", "а …", "а как насчёт …"). Its new part replaces the part of the previous
question of the same kind (the country, the month, the place after "in", the name); where the
previous question has none, it is added. A message with a subject of its own is never rewritten.

Words are read from followup_words.tsv, the country table (places.tsv), the Cyrillic exonyms and
the calendar words, so English, Ukrainian and Russian follow the same rules. Pure: no engine,
no state; the corpus's proper names may be given to recognise a new name ("and zakharova?").
"""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from index.text.dates import month_named
from index.text.places import is_place
from index.text.tokens import STOPWORDS, WORD
from index.text.translit import exonym

MAX_FRAGMENT_WORDS = 4  # subject words a follow-up may bring; more make a question of its own
_YEAR = re.compile(r"^(19|20)\d\d$")
_DAY = re.compile(r"^\d{1,2}(st|nd|rd|th)?$")
_POSSESSIVE = re.compile(r"['’]s$")
_CYRILLIC = re.compile(r"[а-яіїєґё]", re.I)


@dataclass(frozen=True)
class FollowUp:
    """What to answer: `question`, and whether it was completed from the previous one (then
    `kind` says which part was new: side, time, place, name, ask or topic)."""

    question: str
    completed: bool = False
    kind: str | None = None


@dataclass(frozen=True)
class _Word:
    text: str  # as written
    start: int
    end: int

    @property
    def low(self) -> str:
        return self.text.lower().replace("’", "'")


@cache
def _table() -> dict[str, tuple[tuple[str, ...], ...]]:
    """kind → phrases (each a tuple of words), longest first."""
    text = files("index.text").joinpath("followup_words.tsv").read_text(encoding="utf-8")
    table: dict[str, set[tuple[str, ...]]] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        kind, phrases = line.split("\t", 1)
        for phrase in phrases.split("|"):
            if phrase.strip():
                table.setdefault(kind, set()).add(tuple(phrase.split()))
    return {k: tuple(sorted(v, key=len, reverse=True)) for k, v in table.items()}


@cache
def _single(kind: str) -> frozenset[str]:
    return frozenset(p[0] for p in _table()[kind] if len(p) == 1)


def _function_words() -> frozenset[str]:
    return _single("function") | _single("before") | STOPWORDS


def _words(text: str) -> list[_Word]:
    return [_Word(m.group(), m.start(), m.end()) for m in WORD.finditer(text)]


def _phrase_at(words: list[_Word], i: int, kind: str) -> int:
    """Length of the longest phrase of `kind` starting at words[i] (0 when none)."""
    for phrase in _table()[kind]:
        if tuple(w.low for w in words[i : i + len(phrase)]) == phrase:
            return len(phrase)
    return 0


def _country(word: _Word) -> bool:
    bare = _POSSESSIVE.sub("", word.low)
    if is_place(bare) or is_place(word.low):
        return True
    english = exonym(word.low) if _CYRILLIC.search(word.low) else None
    return english is not None and is_place(english.lower())


def _time(words: list[_Word], i: int) -> bool:
    low = words[i].low
    return (
        month_named([w.text for w in words], i) is not None
        or bool(_YEAR.match(low))
        or (bool(_DAY.match(low)) and _time_near(words, i))
    )


def _time_near(words: list[_Word], i: int) -> bool:
    near = [j for j in (i - 1, i + 1) if 0 <= j < len(words)]
    return any(month_named([w.text for w in words], j) is not None for j in near)


@cache
def _venues() -> frozenset[str]:
    """Places news names that are not countries (Geneva, Istanbul): the exonyms' English less
    the country table's words."""
    from index.text.translit import exonym_targets

    return frozenset(n.lower() for n in exonym_targets() if not is_place(n.lower()))


def _kind_of(words: list[_Word], i: int, names: Container[str] | None) -> str:
    """side, time, place (after in/at/в/у…), name, or topic (a common word)."""
    word = words[i]
    if _time(words, i):
        return "time"
    after_before = i > 0 and words[i - 1].low in _single("before")
    possessive = bool(_POSSESSIVE.search(word.low))
    if not possessive and (after_before or word.low in _venues()):
        return "place"
    if _country(word):
        return "side"
    if _name_like(word, names):
        return "name"
    return "topic"


def _name_like(word: _Word, names: Container[str] | None) -> bool:
    bare = _POSSESSIVE.sub("", word.low)
    if names is not None and bare in names:
        return True
    if _CYRILLIC.search(bare):
        return exonym(bare) is not None or word.text[:1].isupper()
    return word.text[:1].isupper()


@dataclass(frozen=True)
class _Fragment:
    words: list[_Word]  # after the marker
    marked: bool
    asks: tuple[str, ...]  # question words, as written
    content: list[int]  # indexes into words of the subject words


def _fragment(message: str) -> _Fragment:
    words = _words(message)
    marker = _phrase_at(words, 0, "marker") if words else 0
    words = words[marker:]
    asks: list[str] = []
    content: list[int] = []
    i = 0
    function = _function_words()
    while i < len(words):
        n = _phrase_at(words, i, "ask")
        if n:
            asks.append(" ".join(w.text for w in words[i : i + n]))
            i += n
            continue
        if words[i].low not in function:
            content.append(i)
        i += 1
    return _Fragment(words, marker > 0, tuple(asks), content)


def complete(
    message: str, previous: str | None, *, names: Container[str] | None = None
) -> FollowUp:
    """The question to answer for `message` sent after `previous` (the previous question of
    the chat, itself completed; None when there is none or it is too old). `names`: the
    corpus's proper names, lower case (Lexicon.names), to recognise a new name."""
    if not previous or not previous.strip():
        return FollowUp(message)
    frag = _fragment(message)
    kinds = [_kind_of(frag.words, i, names) for i in frag.content]
    if not _is_follow_up(frag, kinds, previous, names):
        return FollowUp(message)
    if not frag.content:
        return FollowUp(_ask_again(previous, frag.asks), True, "ask")
    return _replace(previous, frag, kinds, names)


def _is_follow_up(
    frag: _Fragment, kinds: list[str], previous: str, names: Container[str] | None
) -> bool:
    """Short, and no subject of its own: question words alone, or only new sides, times,
    places and names (common words only when the previous question has them too, or the
    message opens with a marker)."""
    if not frag.content:
        return bool(frag.asks) and (frag.marked or len(frag.words) <= 3)
    if len(frag.content) > MAX_FRAGMENT_WORDS:
        return False
    if frag.asks:
        # "who is lavrov?", "what did putin say about the ceasefire?", "when did it start?":
        # a question of its own (a pronoun's subject is not guessed)
        return False
    before = {w.low for w in _words(previous)}
    slots = [k for k in kinds if k != "topic"]
    new_topics = [
        frag.words[i]
        for i, k in zip(frag.content, kinds, strict=True)
        if k == "topic" and frag.words[i].low not in before
    ]
    if not slots:
        return frag.marked and len(new_topics) <= 2
    return len(new_topics) == 0 or (frag.marked and len(new_topics) <= 1)


def _ask_again(previous: str, asks: tuple[str, ...]) -> str:
    """ "why?" after "who leads the delegation?" → "why leads the delegation?" is no question;
    the new question word replaces the old one, or opens the question."""
    words = _words(previous)
    ask = " ".join(asks)
    for i in range(len(words)):
        n = _phrase_at(words, i, "ask")
        if n:
            return _splice(previous, words[i].start, words[i + n - 1].end, ask)
    return f"{ask} {_strip_end(previous)}?"


def _replace(
    previous: str, frag: _Fragment, kinds: list[str], names: Container[str] | None
) -> FollowUp:
    """Each new side, time, place or name replaces the previous question's part of the same
    kind, or is added at its end."""
    text = previous
    added: list[str] = []
    order = {"time": 0, "place": 1, "side": 2, "name": 3, "topic": 4}
    groups = _groups(frag, kinds, {w.low for w in _words(previous)})
    kind_shown = min((k for k, _ in groups), key=order.__getitem__)
    for kind, phrase in groups:
        if kind == "topic" and phrase.lower() in previous.lower():
            continue  # the previous question's own word, repeated ("ukraine's delegation?")
        span = _slot(text, kind, names)
        if span is None:
            added.append(phrase)
            continue
        start, end, old = span
        text = _splice(text, start, end, _agree(phrase, old))
    if added:
        text = f"{_strip_end(text)} {' '.join(added)}?"
    if text.strip() == previous.strip():
        return FollowUp(previous, False)
    return FollowUp(text, True, kind_shown)


def _groups(frag: _Fragment, kinds: list[str], before: set[str]) -> list[tuple[str, str]]:
    """The fragment's subject words as phrases of one kind each, with the word before a place
    or time kept ("in geneva", "у липні"); a new common word after a side stays with it ("the
    syrian government's"), one the previous question has is left to it ("ukraine's
    delegation?")."""
    groups: list[tuple[str, list[int]]] = []
    for i, kind in zip(frag.content, kinds, strict=True):
        follows = bool(groups) and groups[-1][1][-1] == i - 1
        if follows and (
            groups[-1][0] == kind
            or (groups[-1][0] == "side" and kind == "topic" and frag.words[i].low not in before)
        ):
            # one run of words of a kind; a side's own word stays with it ("syrian government's")
            groups[-1][1].append(i)
        else:
            groups.append((kind, [i]))
    phrases = []
    for kind, idx in groups:
        first = idx[0]
        if (
            kind in {"time", "place"}
            and first > 0
            and frag.words[first - 1].low in _single("before")
        ):
            first -= 1
        phrases.append((kind, " ".join(w.text for w in frag.words[first : idx[-1] + 1])))
    return phrases


def _slot(text: str, kind: str, names: Container[str] | None) -> tuple[int, int, str] | None:
    """Where the previous question holds a part of `kind`: (start, end, its text), the word
    before a place or a time included. The last one wins for common words (the object: "what
    did the memorandum say about the ceasefire?"), the first for the rest."""
    words = _words(text)
    found: list[tuple[int, int]] = []
    for i in range(len(words)):
        if words[i].low in _function_words() or _phrase_at(words, i, "ask"):
            continue
        if _kind_of(words, i, names) != kind:
            continue
        first = i
        if kind in {"time", "place"} and i > 0 and words[i - 1].low in _single("before"):
            first = i - 1
        if found and found[-1][1] == i - 1:  # one run of words ("16 May", "Sergei Lavrov")
            found[-1] = (found[-1][0], i)
        else:
            found.append((first, i))
    if not found:
        return None
    first, last = found[-1] if kind == "topic" else found[0]
    start, end = words[first].start, words[last].end
    return start, end, text[start:end]


def _agree(new: str, old: str) -> str:
    """The new words in the old part's form: "ukraine" for "russia's" → "ukraine's"; a place
    or time keeps its own "in"/"у" when it has one, else takes the old one's."""
    old_words, new_words = old.split(), new.split()
    if _POSSESSIVE.search(old) and not _POSSESSIVE.search(new) and not _CYRILLIC.search(new):
        return new + "'s"
    before = _single("before")
    if len(old_words) > 1 and old_words[0].lower() in before and new_words[0].lower() not in before:
        return f"{old_words[0]} {new}"
    if len(new_words) > 1 and new_words[0].lower() in before and old_words[0].lower() not in before:
        return " ".join(new_words[1:])  # "the geneva talks" + "in astana" → "the astana talks"
    return new


def _splice(text: str, start: int, end: int, new: str) -> str:
    return text[:start] + new + text[end:]


def _strip_end(text: str) -> str:
    return text.strip().rstrip("?!.… ")
