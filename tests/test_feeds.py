"""Followed feeds without the models: following, polling, duplicates, edits, conditional
requests, backoff, linked pages through the SSRF-safe fetcher, damaged state. A local feed is
served on 127.0.0.1; only the tests' Fetcher may reach it (LOOPBACK_ONLY)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index import feeds
from index.corpus import load_corpus
from index.errors import FeedError

from .feedserver import LOOPBACK, FeedServer, item, rss

SWAP_1 = item(
    "kw-1",
    "First prisoner exchange after Istanbul",
    "Mon, 19 May 2025 09:00:00 GMT",
    "<p>Ukraine and Russia exchanged 390 prisoners on Monday, the first exchange agreed at the "
    "Istanbul talks, officials in Kyiv said &amp; the Russian defence ministry confirmed.</p>"
    "<p>Обмін полоненими відбувся на кордоні з Білоруссю, повідомили в Києві.</p>",
)
SWAP_2 = item(
    "kw-2",
    "Second prisoner exchange <b>completes</b>",
    "Tue, 10 Jun 2025 09:00:00 GMT",
    "<p>Ukraine and Russia exchanged 1,000 prisoners in the second swap agreed in Istanbul, the "
    "largest of the war, officials said on Tuesday. The exchange took three days.</p>",
)


def follow_file(tmp_path: Path, text: str) -> tuple[Path, Path]:
    corpus, feed = tmp_path / "corpus", tmp_path / "feed.xml"
    feed.write_text(text, encoding="utf-8")
    feeds.follow(corpus, str(feed))
    return corpus, feed


def test_a_second_poll_adds_nothing_and_items_become_articles(tmp_path: Path) -> None:
    corpus, _ = follow_file(tmp_path, rss(SWAP_1, SWAP_2))
    first = feeds.poll(corpus)
    assert len(first[0].added) == 2 and not first[0].error
    second = feeds.poll(corpus)
    assert second[0].added == [] and second[0].replaced == [] and second[0].unchanged == 2
    articles = {a.title: a for a in load_corpus(corpus).articles}
    assert set(articles) == {
        "First prisoner exchange after Istanbul",
        "Second prisoner exchange completes",
    }
    first_swap = articles["First prisoner exchange after Istanbul"]
    assert first_swap.published.isoformat() == "2025-05-19"
    assert first_swap.url == "https://kyivwire.example/kw-1"
    assert first_swap.source == "Kyiv Wire"
    assert "officials in Kyiv said & the Russian" in first_swap.body  # entity decoded
    assert "Обмін полоненими відбувся" in first_swap.body
    assert "<p>" not in first_swap.body
    state = feeds.load_feeds(corpus).feeds[0]
    assert state.items_seen == 2 and state.articles_added == 2 and state.last_poll


def test_an_edited_item_replaces_its_article(tmp_path: Path) -> None:
    corpus, feed = follow_file(tmp_path, rss(SWAP_1))
    feeds.poll(corpus)
    (before,) = load_corpus(corpus).articles
    feed.write_text(rss(SWAP_1.replace("390 prisoners", "390 prisoners of war")), encoding="utf-8")
    report = feeds.poll(corpus)[0]
    assert report.replaced == [before.path] and report.added == []
    (after,) = load_corpus(corpus).articles
    assert after.path == before.path and "390 prisoners of war" in after.body


def test_a_new_item_is_added_next_to_the_old_ones(tmp_path: Path) -> None:
    corpus, feed = follow_file(tmp_path, rss(SWAP_1))
    feeds.poll(corpus)
    feed.write_text(rss(SWAP_2, SWAP_1), encoding="utf-8")
    report = feeds.poll(corpus)[0]
    assert len(report.added) == 1 and report.unchanged == 1
    assert len(load_corpus(corpus).articles) == 2


def test_the_same_story_in_two_feeds_is_added_once(tmp_path: Path) -> None:
    corpus, _ = follow_file(tmp_path, rss(SWAP_1))
    other = tmp_path / "other.xml"
    other.write_text(rss(SWAP_1.replace("kw-1</guid>", "other-1</guid>"), title="Other"), "utf-8")
    feeds.follow(corpus, str(other))
    reports = feeds.poll(corpus)
    assert sum(len(r.added) for r in reports) == 1
    assert len(load_corpus(corpus).articles) == 1


def test_following_twice_unknown_feeds_and_unfollow(tmp_path: Path) -> None:
    corpus, feed = follow_file(tmp_path, rss(SWAP_1))
    with pytest.raises(FeedError, match="Already following"):
        feeds.follow(corpus, str(feed))
    with pytest.raises(FeedError, match="No feed file"):
        feeds.follow(corpus, str(tmp_path / "missing.xml"))
    with pytest.raises(FeedError, match="not an http"):
        feeds.follow(corpus, str(feed), files=False)  # Telegram editors name links only
    feeds.poll(corpus)
    state = feeds.unfollow(corpus, str(feed))
    assert state.articles_added == 1
    assert feeds.load_feeds(corpus).feeds == []
    assert len(load_corpus(corpus).articles) == 1  # its articles stay
    with pytest.raises(FeedError, match="Not following"):
        feeds.unfollow(corpus, str(feed))


def test_a_file_that_is_no_feed_is_an_error_and_nothing_is_lost(tmp_path: Path) -> None:
    corpus, feed = follow_file(tmp_path, rss(SWAP_1))
    feeds.poll(corpus)
    feed.write_bytes(b"\x00\xff not xml at all <<<")
    report = feeds.poll(corpus)[0]
    assert report.error and "not an RSS or Atom feed" in report.error
    state = feeds.load_feeds(corpus).feeds[0]
    assert state.failures == 1 and state.error and state.retry_at > 0
    assert "error (1 in a row)" in feeds.feeds_summary(feeds.load_feeds(corpus))
    assert len(load_corpus(corpus).articles) == 1
    # in backoff, a due-only poll (the bot's) waits; then a good poll clears the error
    assert feeds.poll(corpus, due_only=True)[0].waiting
    feed.write_text(rss(SWAP_1), encoding="utf-8")
    assert not feeds.poll(corpus)[0].error
    assert feeds.load_feeds(corpus).feeds[0].failures == 0


def test_a_damaged_feed_list_says_how_to_fix_it(tmp_path: Path) -> None:
    corpus, _ = follow_file(tmp_path, rss(SWAP_1))
    (corpus / feeds.FEEDS_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(FeedError, match="delete it and follow the feeds again"):
        feeds.poll(corpus)


def test_feed_list_round_trips(tmp_path: Path) -> None:
    corpus, _ = follow_file(tmp_path, rss(SWAP_1, SWAP_2))
    feeds.poll(corpus)
    saved = feeds.load_feeds(corpus)
    again = feeds.FeedList.model_validate(json.loads((corpus / feeds.FEEDS_FILE).read_text()))
    assert again == saved and len(saved.items) == 2
    assert all(i.article and (corpus / i.article).is_file() for i in saved.items.values())


@pytest.fixture
def server():
    s = FeedServer()
    yield s
    s.close()


PAGE = """<html><head><title>Talks resume in Istanbul</title></head><body><article>
<h1>Talks resume in Istanbul</h1>
<p>Delegations from Ukraine and Russia met again in Istanbul on Wednesday for a third round of
direct talks, Turkish officials said.</p>
<p>The Ukrainian delegation was led by Rustem Umerov, and the Russian one by Vladimir Medinsky,
who said the sides had agreed to exchange the bodies of six thousand soldiers.</p>
</article></body></html>"""


def test_a_web_feed_is_fetched_conditionally_and_linked_pages_are_read(
    tmp_path: Path, server: FeedServer
) -> None:
    link = f"{server.url}/2025/07/23/talks"
    server.pages["/2025/07/23/talks"] = PAGE
    server.feed = rss(
        item("kw-9", "Talks resume in Istanbul", "Wed, 23 Jul 2025 12:00:00 GMT", None, link)
    )
    corpus = tmp_path / "corpus"
    feeds.follow(corpus, f"{server.url}/feed.xml")
    # production settings reach public addresses only: the local server is refused
    refused = feeds.poll(corpus)[0]
    assert refused.error and "Refusing to fetch" in refused.error
    report = feeds.poll(corpus, fetcher=LOOPBACK)[0]
    assert len(report.added) == 1, report
    (article,) = load_corpus(corpus).articles
    assert "agreed to exchange the bodies" in article.body and article.url == link
    assert article.published.isoformat() == "2025-07-23"
    # the second poll sends the validators and gets a 304: nothing fetched, nothing added
    again = feeds.poll(corpus, fetcher=LOOPBACK)[0]
    assert again.not_modified and again.added == []
    path, headers = server.requests[-1]
    assert path == "/feed.xml" and headers.get("If-None-Match") == '"v1"'
    assert headers.get("If-Modified-Since")


def test_a_failing_web_feed_backs_off_and_recovers(tmp_path: Path, server: FeedServer) -> None:
    server.feed = rss(SWAP_1)
    corpus = tmp_path / "corpus"
    feeds.follow(corpus, f"{server.url}/feed.xml")
    server.fail = True
    first = feeds.poll(corpus, fetcher=LOOPBACK, now=1000.0)[0]
    assert first.error and "503" in first.error
    state = feeds.load_feeds(corpus).feeds[0]
    waited = state.retry_at - 1000.0
    feeds.poll(corpus, fetcher=LOOPBACK, now=1000.0)
    assert feeds.load_feeds(corpus).feeds[0].retry_at - 1000.0 == 2 * waited  # doubles
    assert feeds.poll(corpus, fetcher=LOOPBACK, due_only=True, now=1001.0)[0].waiting
    server.fail = False
    ok = feeds.poll(corpus, fetcher=LOOPBACK, due_only=True, now=1000.0 + 10 * waited)[0]
    assert len(ok.added) == 1 and feeds.load_feeds(corpus).feeds[0].error is None


def test_an_item_whose_page_cannot_be_fetched_is_tried_again(
    tmp_path: Path, server: FeedServer
) -> None:
    link = f"{server.url}/later"
    server.feed = rss(
        item("kw-7", "Talks resume in Istanbul", "Wed, 23 Jul 2025 12:00:00 GMT", None, link)
    )
    corpus = tmp_path / "corpus"
    feeds.follow(corpus, f"{server.url}/feed.xml")
    report = feeds.poll(corpus, fetcher=LOOPBACK)[0]
    assert report.added == [] and report.skipped and "404" in report.skipped[0]
    server.pages["/later"] = PAGE
    server.etag = '"v2"'
    assert len(feeds.poll(corpus, fetcher=LOOPBACK)[0].added) == 1


CYRILLIC = rss(
    item(
        "ua-1",
        "Обмін полоненими",
        "Wed, 25 Jun 2025 08:00:00 GMT",
        "<p>Україна та Росія обміняли полонених: додому повернулися 390 захисників, повідомив "
        "Координаційний штаб з питань поводження з військовополоненими у середу.</p><p>Це "
        "перший обмін після переговорів у Стамбулі, наступний має відбутися найближчим часом."
        "</p>",
    ),
    title="Київські новини",
).replace('encoding="UTF-8"', 'encoding="windows-1251"')


def test_a_feed_in_its_own_encoding_keeps_its_cyrillic(tmp_path: Path, server: FeedServer) -> None:
    corpus = tmp_path / "corpus"
    local = tmp_path / "uk.xml"
    local.write_bytes(CYRILLIC.encode("cp1251"))
    feeds.follow(corpus, str(local))
    assert len(feeds.poll(corpus)[0].added) == 1
    (article,) = load_corpus(corpus).articles
    assert article.title == "Обмін полоненими" and article.source == "Київські новини"
    assert "повернулися 390 захисників" in article.body

    web = tmp_path / "web"
    server.feed_bytes = CYRILLIC.encode("cp1251")  # no charset in the Content-Type
    feeds.follow(web, f"{server.url}/feed.xml")
    assert len(feeds.poll(web, fetcher=LOOPBACK)[0].added) == 1
    (same,) = load_corpus(web).articles
    assert same.body == article.body


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("javascript:alert(1)", "Only http and https"),
        ("file:///etc/passwd", "Only http and https"),
        ("http://user:pw@example.org/rss", "user name or password"),
        ("/etc/passwd", r"not an http\(s\) link"),
    ],
)
def test_editors_in_telegram_can_follow_only_web_feeds(
    tmp_path: Path, source: str, says: str
) -> None:
    from index.errors import IngestError

    with pytest.raises((FeedError, IngestError), match=says):
        feeds.follow(tmp_path / "corpus", source, files=False)
    assert not (tmp_path / "corpus" / feeds.FEEDS_FILE).exists()


def test_a_feed_whose_body_is_a_path_is_not_read_from_disk(
    tmp_path: Path, server: FeedServer
) -> None:
    secret = tmp_path / "secret.xml"
    secret.write_text(rss(SWAP_1), encoding="utf-8")
    server.feed_bytes = str(secret).encode()
    corpus = tmp_path / "corpus"
    feeds.follow(corpus, f"{server.url}/feed.xml")
    report = feeds.poll(corpus, fetcher=LOOPBACK)[0]
    assert report.error and "not an RSS or Atom feed" in report.error
    assert not list(corpus.glob("*.md"))


def test_two_feeds_with_the_same_guids_keep_their_own_articles(tmp_path: Path) -> None:
    corpus, _ = follow_file(tmp_path, rss(SWAP_1.replace("kw-1</guid>", "1</guid>")))
    other = tmp_path / "other.xml"
    other.write_text(rss(SWAP_2.replace("kw-2</guid>", "1</guid>"), title="Other"), "utf-8")
    feeds.follow(corpus, str(other))
    assert sum(len(r.added) for r in feeds.poll(corpus)) == 2
    again = feeds.poll(corpus)
    assert all(r.replaced == [] and r.added == [] for r in again)
    assert len(load_corpus(corpus).articles) == 2


def test_a_crash_in_the_middle_of_a_poll_loses_no_item(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus, feed = follow_file(tmp_path, rss(SWAP_1, SWAP_2))
    real_add = feeds.add_article
    calls = []

    def add_then_fail(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_add(*args, **kwargs)

    monkeypatch.setattr(feeds, "add_article", add_then_fail)
    crashed = feeds.poll(corpus)[0]
    assert crashed.error and "OSError" in crashed.error and len(crashed.added) == 1
    state = feeds.load_feeds(corpus).feeds[0]
    assert state.failures == 1 and state.retry_at > 0  # in backoff, not stuck first
    monkeypatch.setattr(feeds, "add_article", real_add)
    recovered = feeds.poll(corpus)[0]
    assert len(recovered.added) == 1 and recovered.unchanged == 1
    # the first item is still known as its article: an edit replaces it
    feed.write_text(rss(SWAP_1.replace("390 prisoners", "390 prisoners of war"), SWAP_2), "utf-8")
    edited = feeds.poll(corpus)[0]
    assert len(edited.replaced) == 1 and edited.added == []
    assert len(load_corpus(corpus).articles) == 2


def test_validators_survive_a_304_without_them(tmp_path: Path, server: FeedServer) -> None:
    server.feed = rss(SWAP_1)
    corpus = tmp_path / "corpus"
    feeds.follow(corpus, f"{server.url}/feed.xml")
    feeds.poll(corpus, fetcher=LOOPBACK)
    for _ in range(2):  # the stand-in's 304 carries no ETag
        assert feeds.poll(corpus, fetcher=LOOPBACK)[0].not_modified
    assert server.requests[-1][1].get("If-None-Match") == '"v1"'


def test_an_item_whose_page_keeps_failing_is_left_until_it_changes(
    tmp_path: Path, server: FeedServer
) -> None:
    link = f"{server.url}/gone"
    server.feed = rss(item("kw-8", "Gone", "Wed, 23 Jul 2025 12:00:00 GMT", None, link))
    corpus = tmp_path / "corpus"
    feeds.follow(corpus, f"{server.url}/feed.xml")
    for n in range(feeds.MAX_PAGE_ATTEMPTS):
        server.etag = f'"e{n}"'  # a new feed version each time: no 304
        assert feeds.poll(corpus, fetcher=LOOPBACK)[0].skipped
    server.etag = '"e-last"'
    fetched = len([p for p, _ in server.requests if p == "/gone"])
    assert feeds.poll(corpus, fetcher=LOOPBACK)[0].unchanged == 1
    assert len([p for p, _ in server.requests if p == "/gone"]) == fetched


def test_relative_links_and_future_dates(tmp_path: Path, server: FeedServer) -> None:
    import datetime as dt

    server.pages["/2025/07/23/talks"] = PAGE
    server.feed = rss(
        item(
            "kw-5",
            "Talks resume in Istanbul",
            "Fri, 01 Jan 2100 00:00:00 GMT",
            None,
            "/2025/07/23/talks",
        )
    )
    corpus = tmp_path / "corpus"
    feeds.follow(corpus, f"{server.url}/feed.xml")
    assert len(feeds.poll(corpus, fetcher=LOOPBACK)[0].added) == 1
    (article,) = load_corpus(corpus).articles
    assert article.url == f"{server.url}/2025/07/23/talks"
    assert article.published == dt.date.today()  # not 2100


ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="uk">
  <title>Укрінформ: переговори</title>
  <id>urn:uuid:feed-1</id>
  <updated>2025-06-03T10:00:00Z</updated>
  <entry>
    <title type="html">Меморандум &lt;i&gt;Росії&lt;/i&gt; передано в Стамбулі</title>
    <id>urn:uuid:entry-1</id>
    <link rel="alternate" href="https://ukrinform.example/memorandum"/>
    <updated>2025-06-03T09:00:00Z</updated>
    <content type="html">&lt;p&gt;Російська делегація передала українській свій меморандум під час
    другого раунду переговорів у Стамбулі, повідомив міністр оборони Рустем Умєров.&lt;/p&gt;
    &lt;p&gt;Українська сторона вивчить документ протягом тижня і дасть відповідь.&lt;/p&gt;</content>
  </entry>
</feed>"""


def test_an_atom_feed_with_html_content(tmp_path: Path) -> None:
    corpus, _ = follow_file(tmp_path, ATOM)
    report = feeds.poll(corpus)[0]
    assert len(report.added) == 1, report
    (article,) = load_corpus(corpus).articles
    assert article.title == "Меморандум Росії передано в Стамбулі"  # markup gone
    assert article.language == "uk" and article.source == "Укрінформ: переговори"
    assert article.published.isoformat() == "2025-06-03"
    assert article.url == "https://ukrinform.example/memorandum"
    assert "передала українській свій меморандум" in article.body
    assert feeds.poll(corpus)[0].unchanged == 1
