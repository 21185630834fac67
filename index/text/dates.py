"""Dates a question names ("in March", "on February 23", "23 лютого", "в марте 2017") as a span
of days, to prefer articles published then. Relative dates ("last week") are not read here."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from itertools import pairwise

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
DATE_SLACK_DAYS = 3  # news of a month's or a week's events is published up to a few days later
# "What happened on March 23?": reports, reactions and interviews about a day's events come out
# for a week after it.
DAY_SLACK_DAYS = 7


@dataclass(frozen=True)
class DateSpan:
    first: dt.date
    last: dt.date
    slack: int = 0  # days after it that articles about it are still published
    day: tuple[int, int] | None = None  # (month, day) when the question names one day

    def holds(self, day: dt.date | None) -> bool:
        """The day lies in the span, or up to `slack` days after it (news of an event is often
        published the day after)."""
        return day is not None and self.first <= day <= self.last + dt.timedelta(days=self.slack)


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


_YEAR_WORDS = frozenset({"року", "рік", "года", "год", "г", "р"})


def _may_i(words: list[str], i: int) -> bool:
    """ "May I ask…", "may the talks…": the verb, not the month (no day or year beside it)."""
    if words[i].lower() != "may":
        return False
    near = words[max(0, i - 1) : i + 3]
    if any(_DAY.match(w) or _YEAR.match(w) for w in near if w.lower() != "may"):
        return False
    return i == 0 or (not words[i][:1].isupper() and words[i - 1].lower() != "in")


_EN_MONTHS = (
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
)  # fmt: skip
_MONTH_WORD = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"  # noqa: E501
_DAY_MENTION = re.compile(
    rf"\b(?:{_MONTH_WORD}\s+(\d{{1,2}})(?:st|nd|rd|th)?|(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?"
    rf"{_MONTH_WORD})\b",
    re.I,
)


def days_mentioned(text: str) -> frozenset[tuple[int, int]]:
    """The (month, day) pairs an English text names ("on February 17", "17 Feb", "March 3rd"):
    an article published weeks later can still be about that day."""
    found = set()
    for m in _DAY_MENTION.finditer(text):
        month_word, day = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        if month_word.lower().startswith("may") and not month_word.startswith("May"):
            continue  # "may 4 people…": the verb
        if 1 <= int(day) <= 31:
            found.add((_EN_MONTHS.index(month_word.lower()[:3]) + 1, int(day)))
    return frozenset(found)


def dates_named(question: str, reference: dt.date) -> DateSpan | None:
    """The span of days the question names, the year (when it gives none) the latest that is
    not after `reference` (the newest article's date)."""
    words = [m.group() for m in _WORD.finditer(question)]
    for i, word in enumerate(words):
        month = _month(word, word)
        if month is None and i > 0 and words[i - 1].lower() == "in" and word.lower() == "may":
            month = 5
        if month is None or _may_i(words, i):
            continue
        around = words[max(0, i - 1) : i + 3]
        day = next((int(m.group(1)) for w in around if (m := _DAY.match(w))), None)
        year = next((int(w) for w in words[i : i + 4] if _YEAR.match(w)), None)
        if year is None:
            year = reference.year if month <= reference.month else reference.year - 1
        last_day = calendar.monthrange(year, month)[1]
        if day is not None and 1 <= day <= last_day:
            first = dt.date(year, month, day)
            return DateSpan(first, first, DAY_SLACK_DAYS, (month, day))
        return DateSpan(dt.date(year, month, 1), dt.date(year, month, last_day), DATE_SLACK_DAYS)
    return None


# "latest", "newest", "most recent", "now": the question asks for the newest on its subject.
_RECENT = re.compile(
    r"\b(?:latest|newest|most\s+recent|recent(?:ly)?|lately|now|currently|current|so\s+far|"
    r"up\s+to\s+date|update|what(?:'s|’s|s|\s+is)\s+new|anything\s+new|any\s+news)\b"
    r"|(?<!\w)(?:що\s+нового|что\s+нового|останн|найновіш|нещодавн|зараз|тепер|наразі|"
    r"последн|новейш|самы[ейх]\s+новы|свеж|недавн|сейчас|теперь|на\s+данный\s+момент)\w*",
    re.I,
)
# Weekday stems, Monday first; only read after "since"/"on"/"з"/"с"/"в"… ("серед" alone is
# Ukrainian "among", "среди" Russian).
_WEEKDAYS = (
    ("monday", "понеділ", "понедельн"),
    ("tuesday", "вівтор", "вторник"),
    ("wednesday", "серед", "сред"),
    ("thursday", "четвер", "четверг"),
    ("friday", "п'ятниц", "пʼятниц", "п’ятниц", "пятниц"),
    ("saturday", "субот", "суббот"),
    ("sunday", "неділ", "воскресень"),
)
_SINCE = ("since", "from", "з", "із", "від", "с", "со")
_SINCE_MONTH = ("since", "з", "із", "від", "с", "со")  # "news from February" is of February
_ON = ("on", "last", "у", "в", "во", "минулого", "минулої", "прошлый", "прошлую", "прошлое")
_UNITS = {
    "day": 1, "days": 1, "днів": 1, "дні": 1, "дня": 1, "дней": 1, "день": 1, "добу": 1,
    "week": 7, "weeks": 7, "тиждень": 7, "тижні": 7, "тижнів": 7, "неделю": 7, "недели": 7,
    "недель": 7,
    "month": 30, "months": 30, "місяць": 30, "місяці": 30, "місяців": 30, "месяц": 30,
    "месяца": 30, "месяцев": 30,
}  # fmt: skip
_PERIOD = re.compile(
    r"\b(?:past|last|previous|за\s+останн\w*|за\s+последн\w*|за\s+минул\w*|за\s+прошл\w*)"
    r"\s+(?:(\d{1,3})\s+)?(\w+)",
    re.I,
)
# calendar periods: (pattern, unit, how many back: 0 this one, 1 the one before)
_CALENDAR = (
    (r"\bthis\s+week\b|цього\s+тижня|на\s+цьому\s+тижні|на\s+этой\s+неделе", "week", 0),
    (r"\blast\s+week\b|минулого\s+тижня|на\s+минулому\s+тижні|на\s+прошлой\s+неделе", "week", 1),
    (r"\bthis\s+month\b|цього\s+місяця|в\s+этом\s+месяце", "month", 0),
    (r"\blast\s+month\b|минулого\s+місяця|в\s+прошлом\s+месяце", "month", 1),
    (r"\bthis\s+year\b|цього\s+року|в\s+этом\s+году", "year", 0),
    (r"\blast\s+year\b|минулого\s+року|в\s+прошлом\s+году", "year", 1),
    (r"\btoday\b|сьогодні|сегодня", "day", 0),
    (r"\byesterday\b|вчора|учора|вчера", "day", 1),
)


# "what is the latest on X", "latest news about X": said as "what happened with X" to the
# models, which read "latest" as a word of the subject.
_LATEST_ON = re.compile(
    r"\b(?:what(?:'s|’s|s|\s+is|\s+are)\s+)?(?:the\s+)?(?:latest|newest|most\s+recent|new)"
    r"(?:\s+(?:news|developments?|updates?|word))?\s+(?:on|about|with|in|regarding|from|for)\b",
    re.I,
)
_NEWS_ABOUT = re.compile(r"(?<!\w)(?:новини|новости|новин|новостей)\s+(?:про|о|об|щодо)?\s*", re.I)


_SINCE_DAY = re.compile(
    r"(?<!\w)(?:since|from|on|з|із|від|с|со|у|в|во)\s+(?:"
    + "|".join(stem for stems in _WEEKDAYS for stem in stems)
    + r")\w*",
    re.I,
)


def without_time_words(question: str) -> str:
    """The question without its words of time ("the latest", "last week", "since Monday",
    "останні новини про"), which the models would read as part of its subject; the rest is
    unchanged ("what is the latest on the swaps?" → "what happened with the swaps?")."""
    text = _LATEST_ON.sub("what happened with", question)
    for pattern, _, _ in _CALENDAR:
        text = re.sub(pattern, " ", text, flags=re.I)
    text = _PERIOD.sub(lambda m: " " if m.group(2).lower() in _UNITS else m.group(), text)
    text = _RECENT.sub(" ", text)
    text = _SINCE_DAY.sub(" ", text)
    text = _NEWS_ABOUT.sub(" ", text)
    text = re.sub(r"\s+([?.!,])", r"\1", " ".join(text.split()))
    return text if re.search(r"\w", text) else question


_PREPOSITIONS = frozenset(
    {"in", "on", "during", "since", "from", "of", "у", "в", "во", "з", "із", "від", "с", "со"}
)


def without_named_dates(question: str) -> str:
    """The question without the dates it names ("in February", "on March 16, 2017", "23
    лютого"): once the candidates are the articles published then, the words only make the
    models look for sentences that mention the month."""
    tokens = list(re.finditer(r"[\w'’ʼ]+", question))
    drop: set[int] = set()
    for i, token in enumerate(tokens):
        word = token.group()
        words = [t.group() for t in tokens]
        if _month(word, word) is None or _may_i(words, i):
            continue
        drop.add(i)
        for j in (i - 1, i + 1, i + 2):
            if 0 <= j < len(tokens) and (
                _DAY.match(tokens[j].group()) or _YEAR.match(tokens[j].group())
            ):
                drop.add(j)
                after = j + 1
                if after < len(tokens) and tokens[after].group().lower() in _YEAR_WORDS:
                    drop.add(after)
        first = min(d for d in drop if d >= i - 1)
        if first > 0 and tokens[first - 1].group().lower() in _PREPOSITIONS:
            drop.add(first - 1)
    if not drop:
        return question
    kept, last = [], 0
    for i in sorted(drop):
        kept.append(question[last : tokens[i].start()])
        last = tokens[i].end()
    kept.append(question[last:])
    text = re.sub(r"\s+([?.!,])", r"\1", " ".join("".join(kept).replace(" ,", ",").split()))
    text = text.strip(" ,")
    return text if re.search(r"\w", text) else question


def asks_latest(question: str) -> bool:
    """The question asks for the newest on its subject ("what is the latest on…", "now",
    "останні", "последние")."""
    return bool(_RECENT.search(_PERIOD.sub(" ", question.lower())))


def _weekday(word: str) -> int | None:
    lowered = word.lower()
    for number, stems in enumerate(_WEEKDAYS):
        if any(lowered.startswith(stem) for stem in stems):
            return number
    return None


def _calendar(unit: str, back: int, today: dt.date) -> DateSpan:
    slack = DATE_SLACK_DAYS
    if unit == "day":
        day = today - dt.timedelta(days=back)
        return DateSpan(day, day, slack)
    if unit == "week":
        monday = today - dt.timedelta(days=today.weekday() + 7 * back)
        return DateSpan(monday, min(today, monday + dt.timedelta(days=6)), slack)
    if unit == "month":
        year, month = divmod(today.year * 12 + today.month - 1 - back, 12)
        first = dt.date(year, month + 1, 1)
        last = dt.date(year, month + 1, calendar.monthrange(year, month + 1)[1])
        return DateSpan(first, min(today, last), slack)
    first = dt.date(today.year - back, 1, 1)
    return DateSpan(first, min(today, dt.date(today.year - back, 12, 31)), slack)


def relative_span(question: str, today: dt.date) -> DateSpan | None:
    """The span a relative date names, counted back from `today`: "last week" (the calendar
    week before this one), "this month", "yesterday", "the past 10 days", "since Monday", "on
    Friday"; in English, Ukrainian and Russian."""
    lowered = question.lower()
    for pattern, unit, back in _CALENDAR:
        if re.search(pattern, lowered):
            return _calendar(unit, back, today)
    period = _PERIOD.search(lowered)
    if period and period.group(2) in _UNITS:
        days = int(period.group(1) or 1) * _UNITS[period.group(2)]
        return DateSpan(today - dt.timedelta(days=days), today)
    words = [m.group() for m in re.finditer(r"[\w'ʼ’]+", lowered)]
    for before, word in pairwise(words):
        number = _weekday(word)
        if number is None or before not in (*_SINCE, *_ON):
            continue
        back = (today.weekday() - number) % 7 or 7  # the last one before today
        day = today - dt.timedelta(days=back)
        return DateSpan(day, today) if before in _SINCE else DateSpan(day, day, DATE_SLACK_DAYS)
    return None


def since_month(question: str, span: DateSpan | None, today: dt.date) -> DateSpan | None:
    """ "since June", "з червня", "с июня": the named month's first day up to today."""
    if span is None:
        return None
    words = [m.group() for m in _WORD.finditer(question)]
    for before, word in pairwise(words):
        if before.lower() in _SINCE_MONTH and (_month(word, word) or word.lower() == "may"):
            return DateSpan(span.first, max(today, span.last))
    return span
