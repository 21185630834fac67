"""The running bot follows a feed: an editor sends /follow with a feed served on 127.0.0.1, the
bot polls it every TALKS_FEED_POLL_SECONDS, and a new item is answered from without a restart
(the real application and models, long-polling the stand-in Bot API over HTTP)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from index import feeds

from .conftest import TINY_ARTICLE, bot_settings, start_polling, stop_polling
from .feedserver import LOOPBACK, FeedServer, item, rss
from .helpers import quotes_in, reply_to

pytestmark = pytest.mark.model
EDITOR = 4242

FIRST = item(
    "kw-1",
    "First prisoner exchange after Istanbul",
    "Mon, 19 May 2025 09:00:00 GMT",
    "<p>Ukraine and Russia exchanged 390 prisoners on Monday, the first exchange agreed at the "
    "Istanbul talks, officials in Kyiv said. The Russian defence ministry confirmed the "
    "figure.</p><p>The exchange took place on the border with Belarus.</p>",
)
LATER = item(
    "kw-2",
    "Emirates mediate a third prisoner exchange",
    "Tue, 01 Jul 2025 09:00:00 GMT",
    "<p>The third prisoner exchange since the Istanbul talks was mediated by the United Arab "
    "Emirates, the Ukrainian Coordination Headquarters said on Tuesday.</p><p>Eighty-four "
    "Ukrainian soldiers came home, among them defenders of Mariupol, and the same number of "
    "Russian soldiers were returned.</p>",
)


@pytest.fixture
async def served(tg, models, tmp_path: Path):
    """The bot over a one-article corpus, with a local feed server and the tests' fetcher."""
    from bot.app import build_application
    from index.builder import build_index
    from index.engine import open_engine

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    (corpus / "2025-06-02-talks-in-istanbul.md").write_text(TINY_ARTICLE, encoding="utf-8")
    build_index(corpus, index, models)
    server = FeedServer()
    server.feed = rss(FIRST)
    settings = bot_settings(
        tg,
        index,
        corpus_dir=corpus,
        admin_ids=str(EDITOR),
        feed_poll_seconds=1,
        reload_seconds=1,
    )
    app = build_application(settings, engine=open_engine(index, models), fetcher=LOOPBACK)
    await start_polling(app)
    await tg.wait_until_polling()
    yield app, server, corpus
    await stop_polling(app)
    server.close()


async def ask_until(tg, question: str, wanted: str, seconds: float = 120) -> str:
    """Ask until the reply quotes `wanted` (the poller and the rebuild take a while)."""
    deadline = time.monotonic() + seconds
    text = ""
    while time.monotonic() < deadline:
        call = await reply_to(tg, tg.push_text(question), timeout=60)
        text = " ".join(quotes_in(call.result))
        if wanted in text:
            return call.result["text"]
        await asyncio.sleep(1)
    raise AssertionError(f"never answered from the new item; last reply: {text[:300]}")


async def test_the_bot_follows_a_feed_and_answers_from_a_new_item_without_restart(
    tg, served
) -> None:
    app, server, corpus = served
    editor = tg.make_user("Editor", id=EDITOR)
    reader = tg.make_user("Reader")
    url = f"{server.url}/feed.xml"

    refused = await reply_to(tg, tg.push_text(f"/follow {url}", user=reader))
    assert "only the bot's editors" in refused.result["text"]
    assert feeds.load_feeds(corpus).feeds == []

    followed = await reply_to(tg, tg.push_text(f"/follow {url}", user=editor), timeout=120)
    assert f"Following {url}" in followed.result["text"]
    assert "1 added" in followed.result["text"], followed.result["text"]
    assert len(list(corpus.glob("*.md"))) == 2

    question = "Who mediated the third prisoner exchange?"
    before = await reply_to(tg, tg.push_text(question))
    assert "United Arab Emirates" not in before.result["text"]

    version = app.bot_data["state"].engine.version
    server.feed, server.etag = rss(LATER, FIRST), '"v2"'
    reply = await ask_until(tg, question, "United Arab Emirates")
    assert app.bot_data["state"].engine.version != version  # hot reload, same process
    assert "As of 1 July 2025." in reply
    assert app.bot_data["feed_poller"].polls >= 1

    # the next polls get 304s and add nothing
    articles = sorted(p.name for p in corpus.glob("*.md"))
    await asyncio.sleep(2.5)
    assert sorted(p.name for p in corpus.glob("*.md")) == articles
    assert any(h.get("If-None-Match") == '"v2"' for _, h in server.requests[-2:])

    listing = await reply_to(tg, tg.push_text("/feeds", user=editor))
    assert url in listing.result["text"] and "items seen: 2" in listing.result["text"]
    bad = await reply_to(tg, tg.push_text("/follow /etc/passwd", user=editor))
    assert "Not followed" in bad.result["text"] and "not an http(s) link" in bad.result["text"]
    gone = await reply_to(tg, tg.push_text(f"/unfollow {url}", user=editor))
    assert "No longer following" in gone.result["text"]
    assert feeds.load_feeds(corpus).feeds == []
