"""Dates a question names ("in March", "on February 23", "23 лютого", "в марте 2017") as a span
of days, to prefer articles published then. Relative dates ("last week") are not read here."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

# Month names by their stem, English, Ukrainian and Russian (any case ending).
_MONTH_STEMS = {
    1: ("january", "jan", "січ", "январ"),
    2: ("february", "feb", "лют", "феврал"),
    3: ("march", "mar", "берез", "март"),
    4: ("april", "apr", "квіт", "апрел"),
    5: ("may", "трав", "мая", "май"),
    6: ("june", "jun", "черв", "июн"),
    7: ("july", "jul", "лип", "июл"),
    8: ("august", "aug", "серп", "август"),
    9: ("september", "sept", "sep", "верес", "сентябр"),
    10: ("october", "oct", "жовт", "октябр"),
    11: ("november", "nov", "листопад", "ноябр"),
    12: ("december", "dec", "груд", "декабр"),
}
_WORD = re.compile(r"\w+")
_DAY = re.compile(r"^(\d{1,2})(?:st|nd|rd|th|-?го|-?е)?$", re.I)
_YEAR = re.compile(r"^(19|20)\d\d$")


@dataclass(frozen=True)
class DateSpan:
    first: dt.date
    last: dt.date

    def holds(self, day: dt.date | None, slack: int = 0) -> bool:
        """The day lies in the span, or up to `slack` days after it (news of an event is often
        published the day after)."""
        return day is not None and self.first <= day <= self.last + dt.timedelta(days=slack)


def _month(word: str, original: str) -> int | None:
    lowered = word.lower()
    for month, stems in _MONTH_STEMS.items():
        for stem in stems:
            if stem.isascii():
                # English: the whole word (or its 3-4 letter abbreviation), "May" capitalised
                if lowered == stem and (stem != "may" or original[:1].isupper()):
                    return month
            elif lowered.startswith(stem):
                return month
    return None


def dates_named(question: str, reference: dt.date) -> DateSpan | None:
    """The span of days the question names, the year (when it gives none) the latest that is
    not after `reference` (the newest article's date)."""
    words = [m.group() for m in _WORD.finditer(question)]
    for i, word in enumerate(words):
        month = _month(word, word)
        if month is None and i > 0 and words[i - 1].lower() == "in" and word.lower() == "may":
            month = 5
        if month is None:
            continue
        around = words[max(0, i - 1) : i + 3]
        day = next((int(m.group(1)) for w in around if (m := _DAY.match(w))), None)
        year = next((int(w) for w in words[i : i + 4] if _YEAR.match(w)), None)
        if year is None:
            year = reference.year if month <= reference.month else reference.year - 1
        last_day = calendar.monthrange(year, month)[1]
        if day is not None and 1 <= day <= last_day:
            return DateSpan(dt.date(year, month, day), dt.date(year, month, day))
        return DateSpan(dt.date(year, month, 1), dt.date(year, month, last_day))
    return None
