"""Time in questions, English, Ukrainian and Russian: the dates a question names ("in March",
"on February 23", "23 лютого", "в марте 2017"), relative dates ("last week", "з понеділка",
"на прошлой неделе"), whether it asks for the latest ("the latest on…", "що нового",
"последние новости"), and the question without those words. Month and weekday names are
data (calendar_words.tsv), matched as whole words."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

DATE_SLACK_DAYS = 3  # news of a month's or a week's events is published up to a few days later
# "What happened on March 23?": reports, reactions and interviews about a day's events come out
# for a week after it.
DAY_SLACK_DAYS = 7

_TOKEN = re.compile(r"[\w'’ʼ]+")
_DAY = re.compile(r"^(\d{1,2})(?:st|nd|rd|th|-?го|-?е)?$", re.I)
_YEAR = re.compile(r"^(19|20)\d\d$")
_YEAR_WORDS = frozenset({"року", "рік", "года", "год", "г", "р"})
# Words before a month that make "May", "mar", "jun"… the month.
_BEFORE_MONTH = frozenset(
    {"in", "since", "from", "of", "during", "until", "by", "early", "late", "mid", "this", "last"}
    | {"у", "в", "во", "з", "із", "від", "с", "со", "до", "по"}
)
_SINCE = frozenset({"since", "from", "з", "із", "від", "с", "со"})
_SINCE_MONTH = _SINCE - {"from"}  # "news from February" is of February, not since it
_ON = frozenset({"on", "last", "у", "в", "во", "минулого", "минулої", "прошлый", "прошлую"})


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


@cache
def _calendar_words() -> dict[str, dict[str, int]]:
    """kind (month, abbr, weekday) → word form → its number (calendar_words.tsv)."""
    text = files("index.text").joinpath("calendar_words.tsv").read_text(encoding="utf-8")
    table: dict[str, dict[str, int]] = {"month": {}, "abbr": {}, "weekday": {}}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        kind, number, forms = line.split("\t")
        for form in forms.split():
            table[kind][_folded(form)] = int(number)
    return table


def _folded(word: str) -> str:
    return word.lower().replace("’", "'").replace("ʼ", "'")


def _near_number(words: list[str], i: int) -> bool:
    """A day or a year beside words[i] ("May 16", "16 May", "May 2025")."""
    near = [words[j] for j in (i - 1, i + 1, i + 2) if 0 <= j < len(words)]
    return any(_DAY.match(w) or _YEAR.match(w) for w in near)


def _month_at(words: list[str], i: int) -> int | None:
    """The month words[i] names, read in context: "May" and abbreviations ("mar", "jun") only
    next to a day or a year, or after in/since/from… ("Theresa May", "Mar-a-Lago", "May I")."""
    table = _calendar_words()
    word = _folded(words[i])
    before = _folded(words[i - 1]) if i > 0 else ""
    if word in table["month"]:
        return table["month"][word]
    short = word == "may" or word in table["abbr"]
    if short and (_near_number(words, i) or before in _BEFORE_MONTH):
        return 5 if word == "may" else table["abbr"][word]
    return None


def month_named(words: list[str], i: int) -> int | None:
    """The month words[i] names, read in context (see _month_at); None when it names none."""
    return _month_at(words, i)


def _weekday_at(words: list[str], i: int) -> int | None:
    return _calendar_words()["weekday"].get(_folded(words[i]))


def _words(question: str) -> list[str]:
    return _TOKEN.findall(question)


_DAY_MENTION = re.compile(
    r"\b(?:([A-Z][a-z]{2,8})\.?\s+(\d{1,2})(?:st|nd|rd|th)?|(\d{1,2})(?:st|nd|rd|th)?\s+"
    r"(?:of\s+)?([A-Z][a-z]{2,8})\.?)\b"
)


def days_mentioned(text: str) -> frozenset[tuple[int, int]]:
    """The (month, day) pairs an English text names ("on February 17", "17 Feb", "March 3rd"):
    an article published weeks later can still be about that day."""
    table = _calendar_words()
    found = set()
    for m in _DAY_MENTION.finditer(text):
        name, day = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        word = name.lower()
        month = table["month"].get(word) or table["abbr"].get(word) or (5 if word == "may" else 0)
        if month and 1 <= int(day) <= 31:
            found.add((month, int(day)))
    return frozenset(found)


def dates_named(question: str, reference: dt.date) -> DateSpan | None:
    """The span of days the question names, the year (when it gives none) the latest that is
    not after `reference` (the newest article's date)."""
    words = _words(question)
    for i in range(len(words)):
        month = _month_at(words, i)
        if month is None:
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


def since_month(question: str, span: DateSpan | None, today: dt.date) -> DateSpan | None:
    """ "since June", "з червня", "с июня": the named month's first day up to today."""
    if span is None:
        return None
    words = _words(question)
    for i in range(1, len(words)):
        if _folded(words[i - 1]) in _SINCE_MONTH and _month_at(words, i) is not None:
            return DateSpan(span.first, max(today, span.last))
    return span


# "the latest", "now", "what's new": the question asks for the newest on its subject.
_RECENT = re.compile(
    r"\b(?:latest|newest|most\s+recent|recent(?:ly)?|lately|now|currently|up\s+to\s+date|"
    r"what(?:'s|’s|s|\s+is)\s+new|anything\s+new|any\s+news|"
    r"що\s+нового|останні|останнє|останніми|найновіш\w*|нещодавн\w*|зараз|тепер|наразі|"
    r"что\s+нового|последние|последнее|последних|новейш\w*|самые\s+новые|свежие|свежее|"
    r"недавн\w*|сейчас|теперь|на\s+данный\s+момент)\b",
    re.I,
)
_UNITS = {
    "day": 1, "days": 1, "днів": 1, "дні": 1, "дня": 1, "дней": 1, "день": 1, "добу": 1,
    "week": 7, "weeks": 7, "тиждень": 7, "тижні": 7, "тижнів": 7, "неделю": 7, "недели": 7,
    "недель": 7,
    "month": 30, "months": 30, "місяць": 30, "місяці": 30, "місяців": 30, "месяц": 30,
    "месяца": 30, "месяцев": 30,
}  # fmt: skip
_SINGULAR = frozenset({"day", "week", "month", "тиждень", "день", "добу", "неделю", "месяц"})
# "the past 10 days", "за останні 3 дні"; "last days of the regime" is no span
_PERIOD = re.compile(
    r"\b(?:past|last|previous|за\s+останн\w*|за\s+последн\w*|за\s+минул\w*|за\s+прошл\w*)"
    r"\s+(?:(\d{1,3})\s+)?(\w+)\b(?!\s+of\b)",
    re.I,
)
_NOT_OF = r"(?!\s+of\b)"  # "the last week of February" is February's, not last week
# calendar periods: (pattern, unit, how many back: 0 this one, 1 the one before)
_CALENDAR = (
    (rf"\bthis\s+week\b{_NOT_OF}|цього\s+тижня|на\s+цьому\s+тижні|на\s+этой\s+неделе", "week", 0),
    (
        rf"\blast\s+week\b{_NOT_OF}|минулого\s+тижня|на\s+минулому\s+тижні|на\s+прошлой\s+неделе",
        "week",
        1,
    ),
    (rf"\bthis\s+month\b{_NOT_OF}|цього\s+місяця|в\s+этом\s+месяце", "month", 0),
    (rf"\blast\s+month\b{_NOT_OF}|минулого\s+місяця|в\s+прошлом\s+месяце", "month", 1),
    (rf"\bthis\s+year\b{_NOT_OF}|цього\s+року|в\s+этом\s+году", "year", 0),
    (rf"\blast\s+year\b{_NOT_OF}|минулого\s+року|в\s+прошлом\s+году", "year", 1),
    (r"\btoday\b|сьогодні|сегодня", "day", 0),
    (r"\byesterday\b|вчора|учора|вчера", "day", 1),
)
# "USA Today", "Russia Today": a name, not a day
_NAMED_TODAY = re.compile(r"\b([A-Z][\w.]*\s+)Today\b")


def _without_names(question: str) -> str:
    return _NAMED_TODAY.sub(r"\1Tday", question)


def asks_latest(question: str) -> bool:
    """The question asks for the newest on its subject ("what is the latest on…", "now",
    "останні новини", "что нового")."""
    return bool(_RECENT.search(_PERIOD.sub(" ", question.lower())))


def _period_days(match: re.Match[str]) -> int | None:
    unit = match.group(2).lower()
    if unit not in _UNITS or (match.group(1) is None and unit not in _SINGULAR):
        return None
    return int(match.group(1) or 1) * _UNITS[unit]


def _calendar_span(unit: str, back: int, today: dt.date) -> DateSpan:
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
    text = _without_names(question)
    lowered = text.lower()
    for pattern, unit, back in _CALENDAR:
        if re.search(pattern, lowered):
            return _calendar_span(unit, back, today)
    for period in _PERIOD.finditer(lowered):
        days = _period_days(period)
        if days is not None:
            return DateSpan(today - dt.timedelta(days=days), today)
    words = _words(lowered)
    for i in range(1, len(words)):
        weekday = _weekday_at(words, i)
        before = _folded(words[i - 1])
        if weekday is None or before not in (_SINCE | _ON):
            continue
        back = (today.weekday() - (weekday - 1)) % 7 or 7  # the last one before today
        day = today - dt.timedelta(days=back)
        return DateSpan(day, today) if before in _SINCE else DateSpan(day, day, DATE_SLACK_DAYS)
    return None


# "what is the latest on X", "latest news about X": said as "what happened with X" to the
# models, which read "latest" as a word of the subject.
_LATEST_ON = re.compile(
    r"\b(?:what(?:'s|’s|s|\s+is|\s+are)\s+)?(?:the\s+)?(?:latest|newest|most\s+recent|new)"
    r"(?:\s+(?:news|developments?|updates?|word))?\s+(?:on|about|with|in|regarding|from|for)\b",
    re.I,
)
_NEWS_ABOUT = re.compile(r"(?<!\w)(?:новини|новости|новин|новостей)\s+(?:про|о|об|щодо)?\s*", re.I)


def _drop_tokens(question: str, drop: set[int]) -> str:
    """The question without the tokens at those positions (spacing and punctuation tidied)."""
    if not drop:
        return question
    tokens = list(_TOKEN.finditer(question))
    kept, last = [], 0
    for i in sorted(drop):
        kept.append(question[last : tokens[i].start()])
        last = tokens[i].end()
    kept.append(question[last:])
    return _tidy("".join(kept), question)


def _tidy(text: str, original: str) -> str:
    text = re.sub(r"\s+([?.!,])", r"\1", " ".join(text.replace(" ,", ",").split())).strip(" ,")
    return text if re.search(r"\w", text) else original


def _weekday_phrases(question: str) -> set[int]:
    words = _words(question)
    found: set[int] = set()
    for i in range(1, len(words)):
        if _weekday_at(words, i) is not None and _folded(words[i - 1]) in (_SINCE | _ON):
            found |= {i - 1, i}
    return found


def without_time_words(question: str) -> str:
    """The question without its words of time ("the latest", "last week", "since Monday",
    "останні новини про"), which the models would read as part of its subject; the rest is
    unchanged ("what is the latest on the swaps?" → "what happened with the swaps?")."""
    text = _without_names(question)
    text = _LATEST_ON.sub("what happened with", text)
    for pattern, _, _ in _CALENDAR:
        text = re.sub(pattern, " ", text, flags=re.I)
    text = _PERIOD.sub(lambda m: " " if _period_days(m) is not None else m.group(), text)
    text = _RECENT.sub(" ", text)
    text = _drop_tokens(text, _weekday_phrases(text))
    text = _NEWS_ABOUT.sub(" ", text)
    return _tidy(text, question).replace("Tday", "Today")


def without_named_dates(question: str) -> str:
    """The question without the dates it names ("in February", "on March 16, 2017", "23
    лютого"): once the candidates are the articles published then, the words only make the
    models look for sentences that mention the month."""
    words = _words(question)
    drop: set[int] = set()
    for i in range(len(words)):
        if _month_at(words, i) is None:
            continue
        drop.add(i)
        for j in (i - 1, i + 1, i + 2):
            if 0 <= j < len(words) and (_DAY.match(words[j]) or _YEAR.match(words[j])):
                drop.add(j)
                if j + 1 < len(words) and words[j + 1].lower() in _YEAR_WORDS:
                    drop.add(j + 1)
        first = min(d for d in drop if d >= i - 1)
        if first > 0 and _folded(words[first - 1]) in (_BEFORE_MONTH | {"on"}):
            drop.add(first - 1)
    return _drop_tokens(question, drop)
