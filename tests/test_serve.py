"""`talks serve` as a real process against the stand-in Bot API: start, answer, SIGINT."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
from pathlib import Path

import pytest

from .conftest import SEED_CORPUS, TOKEN, dev_questions
from .helpers import reply_to

pytestmark = pytest.mark.model
TALKS = shutil.which("talks")


def serve_env(tg, index: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TALKS_", "TELEGRAM_"))}
    env.update(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_BASE_URL": tg.base_url,
            "TELEGRAM_POLL_TIMEOUT": "10",
            "TALKS_INDEX_DIR": str(index),
            "TALKS_CORPUS_DIR": str(SEED_CORPUS),
            "TALKS_DATA_DIR": os.environ["TALKS_DATA_DIR"],  # this test's own chat store
            "NO_PROXY": "127.0.0.1,localhost",
        }
    )
    env.update(extra)
    return env


async def spawn(env: dict[str, str]) -> asyncio.subprocess.Process:
    command = [TALKS] if TALKS else [sys.executable, "-m", "bot"]
    return await asyncio.create_subprocess_exec(
        *command,
        "serve",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )


async def stop(proc: asyncio.subprocess.Process) -> str:
    if proc.returncode is None:
        proc.send_signal(signal.SIGINT)
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    return out.decode(errors="replace")


async def test_serve_polls_answers_and_stops_cleanly_on_sigint(tg, seed_index: Path) -> None:
    proc = await spawn(serve_env(tg, seed_index))
    try:
        await tg.wait_until_polling(timeout=90)  # model load included
        assert tg.calls_to("setMyCommands", ok=True)
        question = next(q for q in dev_questions() if q["id"] == "d03")
        msg = tg.push_text(question["q"])
        call = await reply_to(tg, msg, timeout=30)
        assert call.ok and "Istanbul" in call.result["text"]
    finally:
        output = await stop(proc)
    assert proc.returncode == 0, output[-3000:]
    assert TOKEN not in output and TOKEN.split(":")[1] not in output
    assert "Traceback" not in output


async def test_serve_by_webhook_with_secret(tg, seed_index: Path, unused_tcp_port: int) -> None:
    port = unused_tcp_port
    env = serve_env(
        tg,
        seed_index,
        TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram-hook",
        TELEGRAM_WEBHOOK_LISTEN="127.0.0.1",
        TELEGRAM_WEBHOOK_PORT=str(port),
        TELEGRAM_WEBHOOK_SECRET="hook_secret-42",
    )
    proc = await spawn(env)
    try:
        await tg.wait_for_call("setWebhook", timeout=90)
        assert tg.webhook["secret_token"] == "hook_secret-42"
        assert tg.webhook["url"].endswith("/telegram-hook")
        msg = tg.push_text("who leads Ukraine's delegation")
        call = await reply_to(tg, msg, timeout=30)
        assert "Umerov" in call.result["text"]
    finally:
        output = await stop(proc)
    assert proc.returncode == 0, output[-3000:]
    assert "hook_secret-42" not in output and TOKEN not in output


async def test_rejected_token_ends_start_up_with_one_clear_line(tg, seed_index: Path) -> None:
    wrong = "987654321:WrongTokenWrongTokenWrongToken_xyz"
    proc = await spawn(serve_env(tg, seed_index, TELEGRAM_BOT_TOKEN=wrong))
    output = await asyncio.wait_for(proc.communicate(), 60)
    text = output[0].decode()
    assert proc.returncode == 1
    assert "Telegram rejected TELEGRAM_BOT_TOKEN" in text
    assert "Traceback" not in text
    assert wrong not in text and wrong.split(":")[1] not in text


async def test_missing_token_ends_start_up_with_one_clear_line(tg, seed_index: Path) -> None:
    env = serve_env(tg, seed_index)
    del env["TELEGRAM_BOT_TOKEN"]
    proc = await spawn(env)
    output = (await asyncio.wait_for(proc.communicate(), 60))[0].decode()
    assert proc.returncode == 1
    assert output.strip().splitlines() == [
        "talks: TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather in Telegram and set "
        "TELEGRAM_BOT_TOKEN to the token it gives you."
    ]


async def test_unreachable_api_is_a_clear_error(seed_index: Path, unused_tcp_port: int) -> None:
    class Nowhere:
        base_url = f"http://127.0.0.1:{unused_tcp_port}/bot"

    proc = await spawn(serve_env(Nowhere(), seed_index, TELEGRAM_STARTUP_WAIT="3"))
    output = (await asyncio.wait_for(proc.communicate(), 120))[0].decode()
    assert proc.returncode == 1, output[-2000:]
    assert "Cannot reach the Telegram Bot API" in output and "after trying for 3 s" in output
    assert "trying again in" in output  # it did retry before giving up
    assert TOKEN not in output and "Traceback" not in output


async def test_serve_started_during_an_outage_waits_then_answers(tg, seed_index: Path) -> None:
    """Started while the API is away, it keeps trying with a line per attempt; once the API is
    back it answers, and a later outage is logged in one line, not a traceback."""
    await tg.go_down()
    proc = await spawn(serve_env(tg, seed_index, TELEGRAM_STARTUP_WAIT="120"))
    try:
        await asyncio.sleep(4)
        assert proc.returncode is None  # still waiting, not exited
        await tg.come_back()
        await tg.wait_until_polling(timeout=90)
        msg = tg.push_text("Where did the delegations meet?")
        call = await reply_to(tg, msg, timeout=30)
        assert "Istanbul" in call.result["text"]
        tg.fail_next("getUpdates", 502, "Bad Gateway", times=2)
        tg._new_update.set()
        later = tg.push_text("Where did the delegations meet?")
        await reply_to(tg, later, timeout=30)
    finally:
        output = await stop(proc)
    assert "cannot reach the Telegram Bot API" in output
    assert "fetching updates failed" in output
    assert "Traceback" not in output and TOKEN not in output


async def test_serve_polls_a_followed_feed_and_answers_from_a_new_item(tg, tmp_path: Path) -> None:
    """`talks follow FILE.xml`, then `talks serve`: an item appended to the feed file is polled
    (TALKS_FEED_POLL_SECONDS), indexed and answered from, without a restart."""
    from .conftest import TINY_ARTICLE
    from .feedserver import item, rss

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    (corpus / "2025-06-02-talks-in-istanbul.md").write_text(TINY_ARTICLE, encoding="utf-8")
    feed = tmp_path / "wire.xml"
    feed.write_text(rss(), encoding="utf-8")
    env = serve_env(tg, index, TALKS_CORPUS_DIR=str(corpus), TALKS_FEED_POLL_SECONDS="1")
    command = [TALKS] if TALKS else [sys.executable, "-m", "bot"]
    follow = await asyncio.create_subprocess_exec(*command, "follow", str(feed), env=env)
    assert await follow.wait() == 0
    proc = await spawn(env)
    try:
        await tg.wait_until_polling(timeout=120)
        question = "Who mediated the third prisoner exchange?"
        before = await reply_to(tg, tg.push_text(question), timeout=30)
        assert "Emirates" not in before.result["text"]
        feed.write_text(
            rss(
                item(
                    "kw-3",
                    "Emirates mediate a third prisoner exchange",
                    "Tue, 01 Jul 2025 09:00:00 GMT",
                    "<p>The third prisoner exchange since the Istanbul talks was mediated by the "
                    "United Arab Emirates, the Ukrainian Coordination Headquarters said on "
                    "Tuesday.</p><p>Eighty-four Ukrainian soldiers came home, among them "
                    "defenders of Mariupol, and the same number of Russian soldiers were "
                    "returned.</p>",
                )
            ),
            encoding="utf-8",
        )
        deadline = asyncio.get_running_loop().time() + 120
        text = ""
        while asyncio.get_running_loop().time() < deadline:
            call = await reply_to(tg, tg.push_text(question), timeout=60)
            text = call.result["text"]
            if "United Arab Emirates" in text:
                break
            await asyncio.sleep(1)
        assert "United Arab Emirates" in text and "As of 1 July 2025." in text, text[:500]
    finally:
        output = await stop(proc)
    assert proc.returncode == 0, output[-3000:]
    assert "Traceback" not in output and TOKEN not in output
    assert len(list(corpus.glob("*.md"))) == 2
