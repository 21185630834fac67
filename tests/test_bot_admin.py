"""The running bot picks up new index versions without a restart; editors' commands work and
everyone else is politely refused. Real bot over HTTP against the stand-in Bot API."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.app import build_application
from index.builder import build_index
from index.engine import open_engine
from index.store import read_manifest

from .conftest import SEED_CORPUS, TEST_CORPUS, bot_settings, start_polling, stop_polling
from .helpers import reply_to

pytestmark = pytest.mark.model
PRISONERS = "2025-05-16-prisoner-exchange.md"
QUESTION = "How many prisoners of war will be exchanged?"


@pytest.fixture
async def editable(tg, models, seed_index: Path, tmp_path: Path):
    """A bot over its own corpus and index (a copy of the session's seed index, built from the
    same files), with one editor, looking for new versions often."""
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(SEED_CORPUS, corpus)
    shutil.copytree(seed_index, index, ignore=shutil.ignore_patterns(".build.lock"))
    editor = tg.make_user("Editor")
    settings = bot_settings(
        tg, index, corpus_dir=corpus, admin_ids=str(editor["id"]), reload_seconds=0.3
    )
    app = build_application(settings, engine=open_engine(index, models))
    await start_polling(app)
    yield {"app": app, "corpus": corpus, "index": index, "editor": editor}
    await stop_polling(app)


async def wait_for_version(app, version: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    state = app.bot_data["state"]
    while state.engine.version != version:
        assert time.monotonic() < deadline, "the bot did not switch to the new index"
        await asyncio.sleep(0.1)


async def test_article_indexed_by_talks_index_is_answered_without_restart(tg, editable) -> None:
    app, corpus, index = editable["app"], editable["corpus"], editable["index"]
    before = await reply_to(tg, tg.push_text(QUESTION))
    assert "1,000 prisoners" not in before.result["text"]
    shutil.copy(TEST_CORPUS / PRISONERS, corpus)
    command = [shutil.which("talks")] if shutil.which("talks") else [sys.executable, "-m", "bot"]
    result = await asyncio.to_thread(
        subprocess.run,
        [*command, "index", "--corpus", str(corpus), "--index", str(index)],
        capture_output=True,
        text=True,
        timeout=300,
        env={k: v for k, v in os.environ.items() if not k.startswith("TALKS_")},
    )
    assert result.returncode == 0, result.stderr
    assert "1 added" in result.stderr
    await wait_for_version(app, read_manifest(index).version)
    after = await reply_to(tg, tg.push_text(QUESTION))
    assert "1,000 prisoners" in after.result["text"]
    # and removing it takes it out of the answers again
    (corpus / PRISONERS).unlink()
    await asyncio.to_thread(build_index, corpus, index, app.bot_data["state"].engine.models)
    await wait_for_version(app, read_manifest(index).version)
    gone = await reply_to(tg, tg.push_text(QUESTION))
    assert "1,000 prisoners" not in gone.result["text"]


@pytest.mark.parametrize("command", ["/reindex", "/stats", "/add https://example.org/a"])
async def test_editor_commands_are_refused_to_everyone_else(tg, editable, command: str) -> None:
    version = read_manifest(editable["index"]).version
    files = sorted(p.name for p in editable["corpus"].iterdir())
    shutil.copy(TEST_CORPUS / PRISONERS, editable["corpus"])
    msg = tg.push_text(command, user=tg.make_user("Stranger"))
    call = await reply_to(tg, msg)
    assert call.result["text"] == "Sorry, only the bot's editors can do that."
    await asyncio.sleep(1)
    assert read_manifest(editable["index"]).version == version  # nothing happened
    assert sorted(p.name for p in editable["corpus"].iterdir()) == sorted([*files, PRISONERS])


async def test_editor_reindex_then_stats(tg, editable) -> None:
    editor = editable["editor"]
    shutil.copy(TEST_CORPUS / PRISONERS, editable["corpus"])
    call = await reply_to(tg, tg.push_text("/reindex", user=editor), timeout=120)
    text = call.result["text"]
    assert text.startswith("Index updated") and "1 added" in text and "2 articles" in text
    answer = await reply_to(tg, tg.push_text(QUESTION, user=editor))
    assert "1,000 prisoners" in answer.result["text"]
    again = await reply_to(tg, tg.push_text("/reindex", user=editor), timeout=120)
    assert "already up to date" in again.result["text"]
    stats = await reply_to(tg, tg.push_text("/stats", user=editor))
    text = stats.result["text"]
    assert "Articles: 2" in text and "1 answered" in text
    assert read_manifest(editable["index"]).version in text


async def test_editor_sends_an_article_file(tg, editable) -> None:
    editor = editable["editor"]
    content = (TEST_CORPUS / PRISONERS).read_bytes()
    msg = tg.push_document(PRISONERS, content, user=editor)
    call = await reply_to(tg, msg, timeout=120)
    assert call.result["text"].startswith("Added 2025-05-16-")
    assert "Index updated" in call.result["text"]
    answer = await reply_to(tg, tg.push_text(QUESTION, user=editor))
    assert "1,000 prisoners" in answer.result["text"]
    dup = tg.push_document("copy.md", content, user=editor)
    call = await reply_to(tg, dup)
    assert call.result["text"].startswith("Not added: Already in the corpus")


async def test_a_stranger_sending_a_file_gets_the_text_only_note(tg, editable) -> None:
    msg = tg.push_document(PRISONERS, (TEST_CORPUS / PRISONERS).read_bytes())
    call = await reply_to(tg, msg)
    assert "only read questions written as text" in call.result["text"]
    assert not (editable["corpus"] / PRISONERS).exists()


async def test_editor_add_of_a_private_address_is_refused(tg, editable) -> None:
    msg = tg.push_text("/add http://127.0.0.1:9/secret", user=editable["editor"])
    call = await reply_to(tg, msg)
    assert call.result["text"].startswith("Not added: Refusing to fetch 127.0.0.1")
    usage = await reply_to(tg, tg.push_text("/add", user=editable["editor"]))
    assert usage.result["text"].startswith("Usage: /add")
    for link in ["http://[::1", "http://exa mple.com", "javascript:alert(1)", "http://"]:
        call = await reply_to(tg, tg.push_text(f"/add {link}", user=editable["editor"]))
        assert call.result["text"].startswith("Not added:"), link


async def test_question_in_flight_finishes_on_the_old_index(tg, editable, monkeypatch) -> None:
    import bot.conversation as conversation
    from index.answering import answer_after as real_answer

    app = editable["app"]
    used = []

    def slow_answer(question: str, previous, engine, params, language=None, today=None):
        used.append(engine.version)
        if "slow" in question:
            time.sleep(2)
        return real_answer(question, previous, engine, params, language, today)

    monkeypatch.setattr(conversation, "answer_after", slow_answer)
    old = app.bot_data["state"].engine.version
    slow = tg.push_text("slow: who leads Ukraine's delegation")
    while not used:
        await asyncio.sleep(0.05)
    shutil.copy(TEST_CORPUS / PRISONERS, editable["corpus"])
    models = app.bot_data["state"].engine.models
    await asyncio.to_thread(build_index, editable["corpus"], editable["index"], models)
    assert await app.bot_data["watcher"].reload() in (True, False)  # (or the watcher's round did)
    new = app.bot_data["state"].engine.version
    assert new != old
    call = await reply_to(tg, slow)
    assert "Umerov" in call.result["text"]  # the in-flight question was answered, on `old`
    fresh = await reply_to(tg, tg.push_text(QUESTION))
    assert "1,000 prisoners" in fresh.result["text"]
    assert used == [old, new]


async def test_a_damaged_new_version_is_not_switched_to(tg, editable) -> None:
    app, index = editable["app"], editable["index"]
    old = app.bot_data["state"].engine.version
    shutil.copy(TEST_CORPUS / PRISONERS, editable["corpus"])
    models = app.bot_data["state"].engine.models
    async with app.bot_data["watcher"]._lock:  # published and damaged before it looks
        await asyncio.to_thread(build_index, editable["corpus"], index, models)
        new = read_manifest(index).version
        (index / "versions" / new / "passages.faiss").write_bytes(b"broken")
    await asyncio.sleep(1.0)  # several watcher rounds
    assert app.bot_data["state"].engine.version == old
    assert app.bot_data["watcher"].failed_version == new  # not retried every round
    call = await reply_to(tg, tg.push_text("who leads Ukraine's delegation"))
    assert "Umerov" in call.result["text"]
    assert not [c for c in tg.calls if c.method == "sendMessage" and not c.ok]


async def test_editor_file_with_a_caption_is_added_not_answered(tg, editable) -> None:
    content = (TEST_CORPUS / PRISONERS).read_bytes()
    msg = tg.push_document(PRISONERS, content, user=editable["editor"], caption="new article")
    call = await reply_to(tg, msg, timeout=120)
    assert call.result["text"].startswith("Added 2025-05-16-")


def test_start_up_serves_the_published_index_when_it_cannot_update(tmp_path: Path, models) -> None:
    from bot.indexing import open_for_answering
    from bot.settings import Settings
    from index import health
    from index.builder import build_lock

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(SEED_CORPUS, corpus)
    build_index(corpus, index, models)
    version = read_manifest(index).version
    shutil.copy(TEST_CORPUS / PRISONERS, corpus)
    settings = Settings(corpus_dir=corpus, index_dir=index)
    with build_lock(index):  # `talks index` is running elsewhere
        engine = open_for_answering(settings, refresh=True)
    assert engine.version == version
    assert "Another build" in health.problems()["index update"]  # logged once, in /stats
    engine = open_for_answering(settings, refresh=True)  # and next time it catches up
    assert "index update" not in health.problems()
    assert engine.manifest.articles == 2
    assert engine.models.minilm is models.minilm  # the process's models, loaded once


async def test_reindex_summary_naming_sixty_malformed_files_is_split(tg, editable) -> None:
    for n in range(60):
        name = f"broken-{'повідомлення-без-заголовка-' * 2}{n:02d}.md"
        (editable["corpus"] / name).write_text("no front matter at all, just words here\n")
    msg = tg.push_text("/reindex", user=editable["editor"])
    first = await reply_to(tg, msg, timeout=120)
    await asyncio.sleep(1)
    sent = [c for c in tg.calls_to("sendMessage") if c.params["chat_id"] == msg["chat"]["id"]]
    assert all(c.ok for c in sent) and len(sent) >= 2  # longer than one message: split
    text = "\n".join(c.result["text"] for c in sent)
    assert first.result["text"].startswith("Index updated")
    assert all(f"-{n:02d}.md" in text for n in range(60))


async def test_document_with_nul_in_its_name_and_a_huge_title(tg, editable) -> None:
    content = (TEST_CORPUS / PRISONERS).read_text(encoding="utf-8")
    title = "Обмін полоненими " * 300  # 5,100 characters
    content = content.replace("title:", f"title: {title}\nold_title:", 1)
    msg = tg.push_document("obmin\x00полоненими.md", content.encode(), user=editable["editor"])
    call = await reply_to(tg, msg, timeout=120)
    assert call.result["text"].startswith("Added 2025-05-16-")
    assert "\x00" not in call.result["text"]
    assert [p for p in editable["corpus"].iterdir() if "\x00" in p.name] == []
    assert not [c for c in tg.calls_to("sendMessage") if not c.ok]


async def test_stats_shows_a_failed_version_then_a_degradation(tg, editable, monkeypatch) -> None:
    from index import engine as engine_module
    from index import health

    app, corpus, index = editable["app"], editable["corpus"], editable["index"]
    editor = editable["editor"]
    models = app.bot_data["state"].engine.models
    shutil.copy(TEST_CORPUS / PRISONERS, corpus)
    async with app.bot_data["watcher"]._lock:  # published and damaged before it looks
        await asyncio.to_thread(build_index, corpus, index, models)
        broken = read_manifest(index).version
        (index / "versions" / broken / "passages.faiss").write_bytes(b"broken")
    await asyncio.sleep(1.0)
    tg.push_inline_query("who leads Ukraine's delegation", user=editor)
    await tg.wait_for_call("answerInlineQuery", timeout=30)
    text = (await reply_to(tg, tg.push_text("/stats", user=editor))).result["text"]
    assert f"Newer version {broken} failed to load" in text and "passages.faiss" in text
    assert "inline: 1 answered" in text and re.search(r"built 0 h \d+ min ago", text)

    def unreadable() -> frozenset[str]:
        raise OSError("vocab.txt: permission denied")

    monkeypatch.setattr(engine_module, "english_dictionary", unreadable)
    monkeypatch.setattr(health, "_problems", {})
    (corpus / PRISONERS).unlink()
    await asyncio.to_thread(build_index, corpus, index, models)  # a good, newer version
    await wait_for_version(app, read_manifest(index).version)
    text = (await reply_to(tg, tg.push_text("/stats", user=editor))).result["text"]
    assert "failed to load" not in text
    assert "Degraded: spelling dictionary: cannot be read (OSError" in text


async def test_an_oversize_article_file_is_refused_before_downloading(tg, editable) -> None:
    content = (TEST_CORPUS / PRISONERS).read_bytes() + "Слово за словом. ".encode() * 30_000
    msg = tg.push_document("huge.md", content, user=editable["editor"])
    call = await reply_to(tg, msg)
    assert call.result["text"].startswith("That file is larger than 500,000 bytes")
    assert tg.calls_to("getFile") == []
    assert not (editable["corpus"] / "huge.md").exists()
