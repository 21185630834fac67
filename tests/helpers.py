"""Assertions shared by several test modules."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

from index.models import Answer


def assert_quotes_verbatim(result: Answer, engine) -> None:
    for quote in result.quotes:
        body = engine.articles[quote.article_id].body
        assert body[quote.start : quote.end] == quote.text
        assert quote.start <= quote.sentence_start < quote.sentence_end <= quote.end
    if result.answered:
        first = result.quotes[0]
        body = engine.articles[first.article_id].body
        assert result.answer == body[first.sentence_start : first.sentence_end]
    # No text twice: quotes from one article never overlap.
    for n, a in enumerate(result.quotes):
        for b in result.quotes[n + 1 :]:
            assert a.article_id != b.article_id or a.end <= b.start or b.end <= a.start


# --- the real `talks` command in a subprocess --------------------------------------------------

TALKS = shutil.which("talks")


def run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess:
    command = [TALKS] if TALKS else [sys.executable, "-m", "bot"]
    full_env = {  # the test's own chat store folder kept (conftest's _isolated_env)
        k: v for k, v in os.environ.items() if not k.startswith("TALKS_") or k == "TALKS_DATA_DIR"
    }
    full_env.update(env or {})
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, timeout=timeout, env=full_env
    )


def at(corpus: Path, index: Path) -> tuple[str, ...]:
    return ("--corpus", str(corpus), "--index", str(index))


def where(workspace: dict) -> tuple[str, ...]:
    return at(workspace["corpus"], workspace["index"])


# --- the bot against the stand-in Bot API -------------------------------------------------------


def entity_text(message: dict, entity: dict) -> str:
    raw = message["text"].encode("utf-16-le")
    return raw[entity["offset"] * 2 : (entity["offset"] + entity["length"]) * 2].decode("utf-16-le")


def quotes_in(message: dict) -> list[str]:
    return [
        entity_text(message, e)
        for e in message.get("entities", [])
        if e["type"] in ("blockquote", "expandable_blockquote")
    ]


def is_reply_to(call, message: dict) -> bool:
    reply = call.params.get("reply_parameters") or {}
    return (
        call.method == "sendMessage"
        and call.params.get("chat_id") == message["chat"]["id"]
        and reply.get("message_id") == message["message_id"]
    )


async def reply_to(tg, message: dict, *, ok: bool = True, timeout: float = 20):
    call = await tg.wait_for_call(
        "sendMessage", lambda c: is_reply_to(c, message) and c.ok == ok, timeout=timeout
    )
    return call


async def assert_silent(tg, chat_id: int, seconds: float = 1.5) -> None:
    await asyncio.sleep(seconds)
    sent = [c for c in tg.calls_to("sendMessage") if c.params.get("chat_id") == chat_id]
    assert sent == [], sent


async def callback_answers(tg, count: int) -> list[str]:
    """The texts of the first `count` answerCallbackQuery calls, once they have been made."""
    for _ in range(400):  # 20 s
        calls = tg.calls_to("answerCallbackQuery", ok=True)
        if len(calls) >= count:
            return [c.params.get("text", "") for c in calls[:count]]
        await asyncio.sleep(0.05)
    raise AssertionError(f"{count} callback answers expected, got {len(calls)}")
