"""Follow-up questions without a language model: "and ukraine's?" after "who headed russia's
delegation?" is answered as "who headed ukraine's delegation?".

Both questions are read as phrases: runs of subject words, each of a kind (a time, a place after
"in"/"to"/"у"…, a side (a country, its people, its capital), a name, or a common word). A message
is a follow-up when it is short and brings no subject of its own: question words alone ("why?",
"how many?"), or only new sides, times, places and names, optionally opened by a marker ("and …",
"what about …", "а …", "а как насчёт …"); a question of the same form with one new part ("what
did haley say?" after "what did clark say about monusco?", "how many police?" after "how many
blue helmets does monusco have?"). Each new phrase replaces the previous question's phrase of its
kind, or is added at its end. A message with a subject of its own is never rewritten.

Words come from followup_words.tsv, the country table (places.tsv), the Cyrillic exonyms and the
calendar words, so English, Ukrainian and Russian follow the same rules. Pure: no engine, no
state; the corpus's proper names may be given to recognise a name ("and zakharova?").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from index.text.dates import month_named
from index.text.places import is_place
from index.text.tokens import STOPWORDS, WORD
from index.text.translit import exonym, exonym_targets

MAX_FRAGMENT_WORDS = 4  # subject words a follow-up may bring; more make a question of its own
KINDS = ("time", "place", "side", "name", "topic")  # a phrase's kind: its strongest word's
_YEAR = re.compile(r"^(19|20)\d\d$")
_DAY = re.compile(r"^\d{1,2}(st|nd|rd|th)?$")
_POSSESSIVE = re.compile(r"['’]s$")
_CYRILLIC = re.compile(r"[а-яіїєґё]", re.I)


@dataclass(frozen=True)
class FollowUp:
    """What to answer: `question`, and whether it was completed from the previous one (then
    `kind` says which part was new: time, place, side, name, topic or ask)."""

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


@dataclass(frozen=True)
class _Phrase:
    """Subject words in a row, with the preposition and articles before them ("in the west
    bank"): `start`/`end` span all of it in the text, `words` only the subject words."""

    kind: str
    words: tuple[str, ...]
    before: str | None  # the preposition, lower case
    start: int
    end: int
    after_ask: bool  # right after the question words ("how many [blue helmets] …")
    kinds: tuple[str, ...] = ()  # of each word

    @property
    def text(self) -> str:
        return " ".join(self.words)


@dataclass(frozen=True)
class _Reading:
    """A question read: its marker, its question words and its phrases."""

    text: str
    marked: bool
    asks: tuple[str, ...]  # lower case
    ask_span: tuple[int, int] | None
    phrases: tuple[_Phrase, ...]
    words: int  # all words after the marker

    def content(self) -> int:
        return sum(len(p.words) for p in self.phrases)


# ---------------------------------------------------------------------------------- words
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


@cache
def _function_words() -> frozenset[str]:
    return _single("function") | _single("before") | _single("article") | STOPWORDS


@cache
def _venues() -> frozenset[str]:
    """Places news names that are not countries (Geneva, Istanbul): the exonyms' English less
    the country table's words."""
    return frozenset(n.lower() for n in exonym_targets() if not is_place(n.lower()))


def _words(text: str) -> list[_Word]:
    return [_Word(m.group(), m.start(), m.end()) for m in WORD.finditer(text)]


def _phrase_at(words: list[_Word], i: int, kind: str) -> int:
    """Length of the longest phrase of `kind` starting at words[i] (0 when none)."""
    for phrase in _table()[kind]:
        if tuple(w.low for w in words[i : i + len(phrase)]) == phrase:
            return len(phrase)
    return 0


def _english(word: str) -> str:
    """The word's English name when it is a Cyrillic one the exonyms know, else itself."""
    bare = _POSSESSIVE.sub("", word)
    found = exonym(bare) if _CYRILLIC.search(bare) else None
    return found.lower() if found else bare


def _word_kind(words: list[_Word], i: int, is_name: Callable[[str], bool] | None) -> str:
    word = words[i]
    texts = [w.text for w in words]
    if month_named(texts, i) is not None or _YEAR.match(word.low):
        return "time"
    near = [j for j in (i - 1, i + 1) if 0 <= j < len(words)]
    if _DAY.match(word.low) and any(month_named(texts, j) is not None for j in near):
        return "time"
    english = _english(word.low)
    if is_place(english) or is_place(word.low):
        return "side"
    if english in _venues():
        return "place"
    if word.text[:1].isupper() or (is_name is not None and is_name(word.text)):
        return "name"
    return "topic"


# -------------------------------------------------------------------------------- reading
def _read(text: str, is_name: Callable[[str], bool] | None, *, fragment: bool = True) -> _Reading:
    """The question's marker, question words and phrases. In a fragment a run of subject
    words is one phrase ("south korea", "the golan heights": a reader types only the new
    part); in a full question a run is cut where the kind of its words changes ("headed |
    russia's | delegation")."""
    words = _words(text)
    skip = _phrase_at(words, 0, "marker") if fragment and words else 0
    asks: list[str] = []
    ask_span: tuple[int, int] | None = None
    phrases: list[_Phrase] = []
    function = _function_words()
    i = skip
    while i < len(words):
        n = _phrase_at(words, i, "ask")
        if n and not phrases:
            asks.append(" ".join(w.low for w in words[i : i + n]))
            ask_span = (words[i].start, words[i + n - 1].end) if ask_span is None else ask_span
            i += n
            continue
        if n:
            i += n
            continue
        if words[i].low in function and words[i].low not in _single("before"):
            i += 1
            continue
        i = _phrase_from(
            words, i, is_name, phrases, after_ask=bool(asks) and not phrases, whole=fragment
        )
    return _Reading(text, skip > 0, tuple(asks), ask_span, tuple(phrases), len(words) - skip)


def _phrase_from(
    words: list[_Word],
    i: int,
    is_name: Callable[[str], bool] | None,
    out: list[_Phrase],
    *,
    after_ask: bool,
    whole: bool,
) -> int:
    """Read one phrase starting at words[i] (a preposition, or a subject word) into `out`;
    the index after it. `whole`: the run of subject words is one phrase, else it ends where
    the kind of its words changes."""
    function = _function_words()
    first = i
    before = None
    if words[i].low in _single("before"):
        before = words[i].low
        i += 1
        while i < len(words) and words[i].low in _single("article"):
            i += 1
    start = i
    kinds: list[str] = []
    while i < len(words) and words[i].low not in function and not _phrase_at(words, i, "ask"):
        kind = _word_kind(words, i, is_name)
        if kinds and not whole and kind != kinds[-1]:
            break
        kinds.append(kind)
        i += 1
    if i == start:  # a preposition with nothing after it
        return max(i, first + 1)
    kind = min(kinds, key=KINDS.index)
    if before and kind in {"side", "name", "topic"}:
        kind = "place"  # "in geneva", "to egypt", "in the west bank"
    out.append(
        _Phrase(
            kind,
            tuple(w.text for w in words[start:i]),
            before,
            words[first].start,
            words[i - 1].end,
            after_ask,
            tuple(kinds),
        )
    )
    return i


# ------------------------------------------------------------------------------- complete
def complete(
    message: str, previous: str | None, *, is_name: Callable[[str], bool] | None = None
) -> FollowUp:
    """The question to answer for `message` sent after `previous` (the previous question of
    the chat, itself completed; None when there is none or it is too old). `is_name`: whether
    the corpus writes a word as a proper name (Lexicon.is_name), to recognise a name typed in
    lower case ("and zakharova?", "а моторолу?")."""
    if not previous or not previous.strip():
        return FollowUp(message)
    new = _read(message, is_name)
    old = _read(_unmarked(previous), is_name, fragment=False)
    new = _without_echoes(new, old)
    if not new.phrases:
        if new.asks and (new.marked or new.words <= 3):
            return FollowUp(_ask_again(old, new.asks), True, "ask")
        return FollowUp(message)
    if not _is_follow_up(new, old):
        return FollowUp(message)
    return _replace(new, old)


def _unmarked(question: str) -> str:
    """The question without an opening marker ("а скільки …?" → "скільки …?"): a question
    typed whole may open with one, and a completion is built on what follows it."""
    words = _words(question)
    n = _phrase_at(words, 0, "marker") if words else 0
    return question[words[n].start :] if 0 < n < len(words) else question


def _without_echoes(new: _Reading, old: _Reading) -> _Reading:
    """The message without phrases the previous question has word for word ("ukraine's
    delegation?" after "who headed russia's delegation?": only "ukraine's" is new)."""
    before = {w.low for w in _words(old.text)}
    kept = []
    for p in new.phrases:
        if p.kind == "topic" and p.before is None and all(w.lower() in before for w in p.words):
            continue
        if p.kind == "side" and len(p.words) > 1:
            own = [(w, k) for w, k in zip(p.words, p.kinds, strict=True) if w.lower() not in before]
            if own:
                words, kinds = zip(*own, strict=True)
                p = _Phrase(p.kind, words, p.before, p.start, p.end, p.after_ask, kinds)
        kept.append(p)
    return _Reading(new.text, new.marked, new.asks, new.ask_span, tuple(kept), new.words)


def _is_follow_up(new: _Reading, old: _Reading) -> bool:
    """Short, with no subject of its own (see the module's docstring)."""
    if new.content() > MAX_FRAGMENT_WORDS:
        return False
    topics = [p for p in new.phrases if p.kind == "topic"]
    if new.asks:
        # a question of its own unless it has the previous one's form with one part new
        if new.asks[:1] != old.asks[:1] or len(new.phrases) != 1:
            return False
        phrase = new.phrases[0]
        if phrase.kind == "topic":
            return phrase.after_ask and any(p.after_ask for p in old.phrases)
        return _target(old, phrase) is not None
    before = {w.low for w in _words(old.text)}
    unknown = [  # common words the previous question does not have, outside "in …" phrases
        w
        for p in new.phrases
        if p.before is None
        for w, k in zip(p.words, p.kinds, strict=True)
        if k == "topic" and w.lower() not in before
    ]
    if not unknown:
        return True
    return new.marked and len(unknown) <= 2 and len(topics) <= 1


def _target(old: _Reading, new: _Phrase) -> _Phrase | None:
    """The previous question's phrase that `new` replaces: after the same question words, the
    phrase after them; else one of its kind (a side may also replace a country after a
    preposition), the one with the same preposition first; the first of several, but the last
    common word (the object: "… say about the ceasefire")."""
    if new.after_ask:  # "how many police?" for "how many blue helmets does monusco have?"
        after = [p for p in old.phrases if p.after_ask]
        if after and (new.kind == "topic" or after[0].kind == new.kind):
            return after[0]
    same = [p for p in old.phrases if p.kind == new.kind]
    if new.kind == "side":
        same = same or [p for p in old.phrases if p.kind == "place" and _is_country(p)]
    if not same:
        return None
    if new.before:
        same = [p for p in same if p.before == new.before] or same
    return same[-1] if new.kind == "topic" else same[0]


def _is_country(phrase: _Phrase) -> bool:
    return any(is_place(_english(w.lower())) for w in phrase.words)


def _ask_again(old: _Reading, asks: tuple[str, ...]) -> str:
    """ "why?" after "who leads the delegation?": the new question word replaces the old one,
    or opens the question."""
    ask = " ".join(asks)
    if old.ask_span is not None:
        start, end = old.ask_span
        return old.text[:start] + ask + old.text[end:]
    return f"{ask} {_strip_end(old.text)}?"


def _replace(new: _Reading, old: _Reading) -> FollowUp:
    """Each new phrase replaces its target in the previous question, or is added at its end
    (replacements from the end of the text first, so the offsets hold)."""
    edits: list[tuple[_Phrase, _Phrase]] = []
    added: list[str] = []
    for phrase in new.phrases:
        target = _target(old, phrase)
        if target is None or any(t is target for _, t in edits):
            added.append(_shown(phrase, english=not _CYRILLIC.search(old.text)))
        else:
            edits.append((phrase, target))
    text = old.text
    for phrase, target in sorted(edits, key=lambda e: e[1].start, reverse=True):
        text = text[: target.start] + _agree(phrase, target) + text[target.end :]
    if added:
        text = f"{_strip_end(text)} {' '.join(added)}?"
    kind = min((p.kind for p in new.phrases), key=KINDS.index)
    return FollowUp(text, True, kind)


def _shown(phrase: _Phrase, *, english: bool) -> str:
    """A phrase added to the previous question; in English words after an English question
    ("а в женеві?" → "in Geneva")."""
    if english and _CYRILLIC.search(phrase.text):
        before = "in" if phrase.before else None
        text = _in_english(phrase.words)
    else:
        before, text = phrase.before, phrase.text
    return f"{before} {text}" if before else text


def _agree(new: _Phrase, old: _Phrase) -> str:
    """The new words in the old phrase's form: "ukraine" for "russia's" → "ukraine's"; the old
    preposition kept when the new phrase has none ("and geneva?" for "in astana")."""
    text, before = new.text, new.before
    if _CYRILLIC.search(text) and not any(_CYRILLIC.search(w) for w in old.words):
        text = _in_english(new.words)  # "а росії?" after "who leads ukraine's delegation?"
        before = None  # "в", "у": the old phrase's "in" is kept below
    # "the opposition's" for "government delegation": a modifier, the old head kept
    if (
        len(new.words) == 1
        and len(old.words) > 1
        and _POSSESSIVE.search(new.words[0])
        and not _POSSESSIVE.search(old.words[-1])
    ):
        text = f"{text} {' '.join(old.words[1:])}"  # "the opposition's delegation"
    possessive = _POSSESSIVE.search(old.words[-1]) and not _POSSESSIVE.search(text)
    if possessive and not _CYRILLIC.search(text):
        text += "'s"
    before = (before or old.before) if old.before else None  # "the geneva talks" stays
    return f"{before} {text}" if before else text


def _in_english(words: tuple[str, ...]) -> str:
    """Cyrillic words in the English the exonyms give ("росії" → "Russia"); a word they do not
    know stays as typed."""
    return " ".join(exonym(w.lower()) or w for w in words)


def _strip_end(text: str) -> str:
    return text.strip().rstrip("?!.… ")
