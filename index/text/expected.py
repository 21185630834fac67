"""What kind of answer a question expects (a number, a time, a name) and whether a text offers
one the question does not already hold: "How many prisoners will be released?" is not answered
by a sentence about the swap that gives no number."""

from __future__ import annotations

import re

from index.text.names import MONTHS, NUMBER_WORDS, bare
from index.text.places import is_place, same_place

_WHERE = (
    r"(?i)\b(where|(which|what) ([\w-]+ )?(city|cities|country|countries|town|towns|village|"
    r"port|building|hotel|region|province|venue|capital)|де|где|куди|куда)\b"
)
_WHO = (
    r"(?i)(^|\W)(who|whom|whose|хто|кто|кого|кому|чий|чей|"
    r"what (is|was|were|are) the names? of|"
    r"(which|what) ([\w-]+ )?(official|officials|minister|commander|leader|experts?|"
    r"compan(y|ies)|organi[sz]ations?|charity|group|party|newspaper|agency|diplomat|envoy|"
    r"general|president|journalist|lawyer|bank|firm|body|resolution|channel|state|states))(\W|$)"
)
_KINDS = (
    ("number", re.compile(
        r"(?i)\b(how (many|much)|what (number|percentage|share)|скільки|сколько)\b"
    )),
    ("time", re.compile(
        r"(?i)\b(when|what (date|day|time|year|month)|how long|коли|когда|скільки часу|как долго)\b"
    )),
    ("place", re.compile(_WHERE)),
    ("name", re.compile(_WHO)),
)  # fmt: skip
_NUMBER = re.compile(
    r"\d|\b(" + "|".join(list(NUMBER_WORDS.values())[1:]) + r"|hundred|thousand|million|billion|"
    r"dozen|dozens|hundreds|thousands|half|third|quarter|several|tens)\b",
    re.I,
)
_TIME = re.compile(
    r"(?i)\b(" + "|".join(MONTHS) + r"|monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"today|yesterday|tomorrow|week|weeks|month|months|year|years|day|days|hours?|minutes?|"
    r"morning|evening|night|since|until|ago|later|earlier|soon|\d{4}|\d{1,2}(st|nd|rd|th))\b"
)
_CALENDAR = frozenset(
    [*MONTHS, "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
)
_CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][\w'’-]+")


def expected_kind(question: str) -> str | None:
    """'number', 'time', 'name', 'place' or None (anything else: what, why, how)."""
    for kind, pattern in _KINDS:
        if pattern.search(question):
            return kind
    return None


def offers(text: str, kind: str | None, question: str) -> bool:
    """The text holds an answer of that kind that is not simply the question's own words."""
    if kind is None:
        return True
    asked: set[str] = set()
    for word in re.findall(r"[\w'’-]+", question):
        asked |= same_place(bare(word))  # "in which Russian city": "Russia" is no answer
    if kind == "number":
        return any(m.group().lower() not in asked for m in _NUMBER.finditer(text))
    if kind == "time":
        return any(m.group().lower() not in asked for m in _TIME.finditer(text))
    found = [w for m in _CAPITALISED.finditer(text) if (w := bare(m.group())) not in _CALENDAR]
    if kind == "name":  # a person or body: not a country, its people or its capital
        return any(w not in asked and not is_place(w) for w in found)
    return any(w not in asked for w in found)
