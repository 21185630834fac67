"""Editors' commands (the Telegram user ids in TALKS_ADMIN_IDS): /add, documents, /reindex,
/stats. Everyone else is politely refused and nothing happens."""

from __future__ import annotations

import asyncio
import datetime as dt
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from telegram import Update
from telegram.ext import ContextTypes

from bot.handlers import not_text
from bot.indexing import build
from bot.replies import state_of
from bot.settings import Settings
from bot.texts import text as fixed
from bot.watcher import IndexWatcher
from index.corpus import ARTICLE_SUFFIXES, MAX_ARTICLE_BYTES
from index.errors import TalksError
from index.ingest import Draft, add_article, draft_from_file, draft_from_page, fetch


def _settings(context: ContextTypes.DEFAULT_TYPE) -> Settings:
    return context.application.bot_data["settings"]


def _watcher(context: ContextTypes.DEFAULT_TYPE) -> IndexWatcher:
    return context.application.bot_data["watcher"]


async def _admin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    user = update.effective_user
    if user is not None and user.id in state_of(context).admin_ids:
        return True
    await update.effective_message.reply_text(fixed("admin_only"))
    return False


async def _reindex(context: ContextTypes.DEFAULT_TYPE) -> str:
    """Update the index from the corpus and start serving it; returns a summary for the chat."""
    state = state_of(context)
    settings = _settings(context)
    async with state.reindexing:
        report = await asyncio.to_thread(
            build, settings, state.engine.models, quiet=True, threads=settings.query_threads
        )
        try:
            await _watcher(context).reload()
        except TalksError as exc:
            return (
                f"The index was updated (version {report.manifest.version}), but the bot could "
                f"not switch to it and still serves the previous one: {exc}"
            )
    m = report.manifest
    if report.up_to_date:
        return f"The index is already up to date: {m.articles} articles, {m.passages} passages."
    skipped = f" Skipped (malformed): {'; '.join(report.problems)}." if report.problems else ""
    return (
        f"Index updated in {report.seconds:.1f} s: {len(report.added)} added, "
        f"{len(report.changed)} changed, {len(report.removed)} removed, {report.unchanged} "
        f"unchanged; {report.embedded_passages} passages embedded. Now serving {m.articles} "
        f"articles, {m.passages} passages (version {m.version}).{skipped}"
    )


async def _reindex_summary(context: ContextTypes.DEFAULT_TYPE) -> str:
    try:
        return await _reindex(context)
    except TalksError as exc:
        return fixed("reindex_failed", error=exc)


async def reindex(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reindex (editors): bring the index in line with the corpus folder."""
    if not await _admin(update, context):
        return
    await update.effective_message.reply_text(await _reindex_summary(context))


async def add(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/add URL (editors): fetch a public web page, add it to the corpus, reindex."""
    if not await _admin(update, context):
        return
    if not context.args:
        await update.effective_message.reply_text(fixed("add_usage"))
        return
    url = context.args[0]
    await _add_with(update, context, lambda: draft_from_page(fetch(url)))


async def add_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An .md/.txt/.html file sent by an editor in a private chat: add it, reindex."""
    message = update.effective_message
    document = message.document
    name = (document.file_name or "").lower()
    if update.effective_user is None or update.effective_user.id not in state_of(context).admin_ids:
        await not_text(update, context)
        return
    if not name.endswith(ARTICLE_SUFFIXES):
        await message.reply_text(fixed("add_suffixes"))
        return
    if (document.file_size or 0) > MAX_ARTICLE_BYTES:
        await message.reply_text(fixed("add_too_large", limit=MAX_ARTICLE_BYTES))
        return
    file = await document.get_file()
    data = bytes(await file.download_as_bytearray())
    file_name = Path(document.file_name or "article.txt").name

    def draft() -> Draft:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / file_name
            path.write_bytes(data[: MAX_ARTICLE_BYTES + 1])
            return draft_from_file(path)

    await _add_with(update, context, draft)


async def _add_with(
    update: Update, context: ContextTypes.DEFAULT_TYPE, make_draft: Callable[[], Draft]
) -> None:
    message = update.effective_message
    settings = _settings(context)
    try:
        draft = await asyncio.to_thread(make_draft)
        async with state_of(context).reindexing:  # one writer at a time: duplicates are caught
            path = await asyncio.to_thread(add_article, settings.corpus_dir, draft)
    except TalksError as exc:
        await message.reply_text(f"Not added: {exc}")
        return
    summary = await _reindex_summary(context)
    await message.reply_text(f"Added {path.name} ({draft.title}). {summary}")


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats (editors): what is served and how it has been answering."""
    if not await _admin(update, context):
        return
    state = state_of(context)
    m = state.engine.manifest
    age = dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(m.created_at)
    hours, rest = divmod(int(age.total_seconds()), 3600)
    up = int(time.time() - state.started)
    await update.effective_message.reply_text(
        f"Articles: {m.articles} ({len(m.skipped)} skipped as malformed)\n"
        f"Passages: {m.passages}, sentences: {m.sentences}\n"
        f"Index version: {m.version}, built {hours} h {rest // 60} min ago\n"
        f"Since start ({up // 3600} h {up % 3600 // 60} min): {state.answered} answered, "
        f"{state.abstained} not in my sources"
    )
