"""Time in questions, pure: relative dates, "the latest", the words left for the models, and how
answers say their date. English, Ukrainian and Russian."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.formatting import answer_blocks, dating, latest_blocks, visible
from index.answering.query import time_asked
from index.models import Answer, Article, Quote
from index.text.dates import (
    DateSpan,
    asks_latest,
    dates_named,
    relative_span,
    without_named_dates,
    without_time_words,
)

WEDNESDAY = dt.date(2025, 7, 2)


def span(first: str, last: str) -> DateSpan:
    return DateSpan(dt.date.fromisoformat(first), dt.date.fromisoformat(last))


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("what did they agree last week?", span("2025-06-23", "2025-06-29")),
        ("що домовилися минулого тижня?", span("2025-06-23", "2025-06-29")),
        ("о чём договорились на прошлой неделе?", span("2025-06-23", "2025-06-29")),
        ("what happened this week", span("2025-06-30", "2025-07-02")),
        ("що сталося на цьому тижні", span("2025-06-30", "2025-07-02")),
        ("what was said since Monday?", span("2025-06-30", "2025-07-02")),
        ("що сказали з понеділка?", span("2025-06-30", "2025-07-02")),
        ("что сказали с понедельника?", span("2025-06-30", "2025-07-02")),
        ("who spoke on Friday", span("2025-06-27", "2025-06-27")),
        ("talks yesterday", span("2025-07-01", "2025-07-01")),
        ("переговори вчора", span("2025-07-01", "2025-07-01")),
        ("переговоры сегодня", span("2025-07-02", "2025-07-02")),
        ("what happened in the past 10 days", span("2025-06-22", "2025-07-02")),
        ("що сталося за останні 3 дні", span("2025-06-29", "2025-07-02")),
        ("что было за последние 2 недели", span("2025-06-18", "2025-07-02")),
        ("what was agreed last month", span("2025-06-01", "2025-06-30")),
        ("що погодили минулого місяця", span("2025-06-01", "2025-06-30")),
        ("что согласовали в этом месяце", span("2025-07-01", "2025-07-02")),
        ("who leads Ukraine's delegation?", None),
        ("хто серед делегатів?", None),  # "серед" is "among", not Wednesday
        ("кто среди делегатов?", None),
    ],
)
def test_relative_dates(question: str, expected: DateSpan | None) -> None:
    found = relative_span(question, WEDNESDAY)
    assert (found and (found.first, found.last)) == (expected and (expected.first, expected.last))


def test_last_month_in_january_is_december() -> None:
    found = relative_span("last month", dt.date(2026, 1, 15))
    assert (found.first, found.last) == (dt.date(2025, 12, 1), dt.date(2025, 12, 31))


def test_a_named_day_takes_a_week_of_reports_a_month_a_few_days() -> None:
    day = dates_named("What happened in Kiev on March 23?", dt.date(2017, 3, 30))
    assert (day.first, day.last, day.slack) == (dt.date(2017, 3, 23), dt.date(2017, 3, 23), 7)
    assert day.holds(dt.date(2017, 3, 29)) and not day.holds(dt.date(2017, 3, 31))
    month = dates_named("what happened in March?", dt.date(2017, 3, 30))
    assert month.holds(dt.date(2017, 4, 3)) and not month.holds(dt.date(2017, 4, 4))


@pytest.mark.parametrize(
    "question",
    [
        "what is the latest on the prisoner swaps?",
        "newest news about the ceasefire",
        "the most recent round of talks",
        "who is negotiating now?",
        "whats new with the memorandum",
        "останні новини про обмін полоненими",
        "що зараз із перемир'ям?",
        "последние новости о переговорах",
        "что сейчас с перемирием?",
    ],
)
def test_asks_for_the_latest(question: str) -> None:
    assert asks_latest(question)


@pytest.mark.parametrize(
    "question",
    [
        "who leads Ukraine's delegation?",
        "what did they agree last week?",
        "що сталося за останні 3 дні",  # a span, not "the latest"
        "where did the delegations meet?",
        "хто очолює делегацію?",
    ],
)
def test_does_not_ask_for_the_latest(question: str) -> None:
    assert not asks_latest(question)


@pytest.mark.parametrize(
    ("question", "searched"),
    [
        ("what is the latest on the prisoner swaps?", "what happened with the prisoner swaps?"),
        ("latest news on the donbass ceasefire", "what happened with the donbass ceasefire"),
        ("what did they agree last week?", "what did they agree?"),
        ("what happened since Monday?", "what happened?"),
        ("останні новини про переговори в Стамбулі", "переговори в Стамбулі"),
        ("последние новости о переговорах в Стамбуле", "переговорах в Стамбуле"),
        ("latest", "latest"),  # nothing else is left: the question stays
    ],
)
def test_time_words_leave_the_searched_text(question: str, searched: str) -> None:
    assert without_time_words(question) == searched


@pytest.mark.parametrize(
    ("question", "searched"),
    [
        ("what happened at the talks in June?", "what happened at the talks?"),
        ("On February 16, who came to Astana?", "who came to Astana?"),
        ("що сталося в лютому на переговорах?", "що сталося на переговорах?"),
        ("что было 23 февраля 2017 года?", "что было?"),
        ("May I ask who leads the delegation?", "May I ask who leads the delegation?"),
    ],
)
def test_named_dates_leave_the_searched_text(question: str, searched: str) -> None:
    assert without_named_dates(question) == searched


def test_may_the_verb_is_no_month() -> None:
    assert dates_named("May I ask who leads?", WEDNESDAY) is None
    assert dates_named("the talks may resume", WEDNESDAY) is None
    may = dates_named("what happened in May?", WEDNESDAY)
    assert (may.first, may.last) == (dt.date(2025, 5, 1), dt.date(2025, 5, 31))
    day = dates_named("May 16 talks", WEDNESDAY)
    assert (day.first, day.last) == (dt.date(2025, 5, 16), dt.date(2025, 5, 16))


class _Corpus:
    """What time_asked needs of an engine: the newest date and the dates published."""

    def __init__(self, *dates: str) -> None:
        self.days = [dt.date.fromisoformat(d) for d in dates]
        self.newest = max(self.days)

    def newest_or_today(self) -> dt.date:
        return self.newest

    def published_in(self, s: DateSpan) -> frozenset[str]:
        return frozenset(str(d) for d in self.days if s.holds(d))


def test_relative_dates_count_from_today_while_it_holds_articles() -> None:
    corpus = _Corpus("2025-06-20", "2025-06-26")
    dates, latest = time_asked("what did they agree last week?", corpus, WEDNESDAY)
    assert (dates.first, dates.last) == (dt.date(2025, 6, 23), dt.date(2025, 6, 29))
    assert not latest


def test_relative_dates_count_from_the_newest_article_when_today_has_none() -> None:
    corpus = _Corpus("2017-03-01", "2017-03-30")  # ends years before today
    dates, _ = time_asked("what did they agree last week?", corpus, WEDNESDAY)
    assert (dates.first, dates.last) == (dt.date(2017, 3, 20), dt.date(2017, 3, 26))


def test_since_a_month_runs_to_today() -> None:
    corpus = _Corpus("2025-05-01", "2025-07-01")
    dates, _ = time_asked("what has happened since May?", corpus, WEDNESDAY)
    assert dates == span("2025-05-01", "2025-07-02")
    dates, _ = time_asked("що сталося з травня?", corpus, WEDNESDAY)
    assert dates == span("2025-05-01", "2025-07-02")


def _answer(language: str = "en", *, stale: bool = False) -> Answer:
    quote = Quote(
        text="The swap took place on the <Belarusian> border.",
        title="Swap & talks",
        url="https://e.org/swap",
        published=dt.date(2025, 7, 1),
        article_id="swap",
        start=0,
        end=47,
        score=1.0,
        sentence_start=0,
        sentence_end=47,
    )
    return Answer(
        question="q",
        answered=True,
        answer="The swap took place on the <Belarusian> border.",
        quotes=[quote],
        language=language,
        as_of=dt.date(2025, 7, 1),
        newest_source=dt.date(2025, 7, 1),
        stale=stale,
    )


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "As of 1 July 2025."),
        ("uk", "Станом на 1 липня 2025."),
        ("ru", "По состоянию на 1 июля 2025."),
    ],
)
def test_answers_say_their_date_in_the_users_language(language: str, expected: str) -> None:
    assert dating(_answer(language)) == expected
    assert expected in visible("\n\n".join(answer_blocks(_answer(language))))


def test_an_old_newest_source_is_said_to_be_old() -> None:
    line = dating(_answer(stale=True), today=dt.date(2025, 9, 1))
    assert line == (
        "As of 1 July 2025. My newest source on this is from 1 July 2025, 62 days ago: there "
        "may be later news."
    )
    assert "62 дн. тому" in dating(_answer("uk", stale=True), today=dt.date(2025, 9, 1))


def test_not_answered_has_no_date() -> None:
    assert dating(Answer(question="q", answered=False, answer=None, quotes=[])) == ""


def _article(name: str, day: str | None) -> Article:
    return Article(
        id=name,
        title=f"{name} <title>",
        published=dt.date.fromisoformat(day) if day else None,
        path=f"{name}.md",
        sha256="0",
        body="text",
        url=f"https://e.org/{name}",
        source="Kyiv & Co",
    )


def test_latest_lists_the_newest_first_and_only_so_many() -> None:
    articles = [_article(f"a{i}", f"2025-06-{i + 10}") for i in range(12)] + [_article("x", None)]
    lines = latest_blocks(articles, 10)
    assert lines[0] == "<b>The newest articles in my index:</b>"
    assert (
        len(lines) == 11
        and lines[1].startswith("• 21 June 2025")
        and "a11 &lt;title&gt;" in lines[1]
    )
    assert "Kyiv &amp; Co" in lines[1]
    uk = latest_blocks(articles, 3, "uk")
    assert uk[1].startswith("• 21 червня 2025")


def test_days_an_article_names() -> None:
    from index.text.dates import days_mentioned

    found = days_mentioned(
        "Protests on February 17 and on 17 March, Feb. 3rd, the 5th of May; they may 4 times "
        "have met. Voronenkov was killed in Kiev on March 23, 2017."
    )
    assert found == {(2, 17), (3, 17), (2, 3), (5, 5), (3, 23)}


@pytest.mark.parametrize(
    "question",
    [
        "Сколько в среднем стоит газ?",
        "что пишут в средствах массовой информации?",
        "Скільки в середньому коштує газ?",
        "що було в четвертому кварталі?",
        "Что случилось в Липецке?",
        "кто получил травмы?",
        "що зробив Червоний Хрест?",
        "What did Theresa May say about Ukraine?",
        "who met at Mar-a-Lago?",
        "what did USA Today report?",
        "what did Russia Today say about the talks?",
        "what happened in the last days of the regime?",
        "what was promised in the last month of the campaign?",
        "May I ask who leads the delegation?",
    ],
)
def test_ordinary_words_are_no_dates(question: str) -> None:
    assert relative_span(question, WEDNESDAY) is None, question
    assert dates_named(question, WEDNESDAY) is None, question
    assert without_named_dates(question) == question


@pytest.mark.parametrize(
    "question",
    [
        "how many people were infected, заразилися?",
        "what is the current account deficit?",
        "which Windows update broke it?",
        "what has been agreed so far?",
        "кто был последним генсеком?",
    ],
)
def test_ordinary_words_do_not_ask_for_the_latest(question: str) -> None:
    assert not asks_latest(question)


def test_the_last_week_of_a_month_is_that_month() -> None:
    assert relative_span("what happened in the last week of February?", WEDNESDAY) is None
    feb = dates_named("what happened in the last week of February?", WEDNESDAY)
    assert (feb.first, feb.last) == (dt.date(2025, 2, 1), dt.date(2025, 2, 28))
