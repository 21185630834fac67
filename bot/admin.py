"""Editors' commands (the Telegram user ids in TALKS_ADMIN_IDS): /add, documents, /reindex,
/stats, /follow, /unfollow, /feeds, /asked. Everyone else is politely refused and nothing
happens."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable

from telegram import Update
from telegram.ext import ContextTypes

from bot.formatting import esc
from bot.handlers import not_text
from bot.indexing import build
from bot.replies import send_blocks, state_of, untrusted
from bot.settings import Settings
from bot.store import report
from bot.texts import text as fixed
from bot.watcher import IndexWatcher
from index import feeds
from index.corpus import ARTICLE_SUFFIXES, MAX_ARTICLE_BYTES, MAX_CORPUS_FILE_BYTES
from index.errors import TalksError
from index.health import problems, recovered
from index.ingest import (
    Draft,
    add_article,
    draft_from_page,
    draft_from_upload,
    fetch,
    safe_file_name,
)

EDITOR_BLOCK_CHARS = 3000  # lines of an editor reply grouped into blocks of about this size


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
    """Update the index from the corpus and start serving it; returns a summary for the chat
    that says which version is served, whatever happened."""
    state = state_of(context)
    settings = _settings(context)
    async with state.reindexing:
        try:
            report = await asyncio.to_thread(build, settings, state.engine.models, quiet=True)
        except TalksError as exc:
            return fixed("reindex_failed", error=exc) + await _switch_note(context)
        switch = await _switch_note(context)
    recovered("index update")
    m = report.manifest
    served = state.engine.manifest
    if report.up_to_date and served.version == m.version:
        return f"The index is already up to date: {m.articles} articles, {m.passages} passages."
    skipped = (
        "\nSkipped (malformed):\n" + "\n".join(f"• {p}" for p in report.problems)
        if report.problems
        else ""
    )
    return (
        f"Index updated in {report.seconds:.1f} s: {len(report.added)} added, "
        f"{len(report.changed)} changed, {len(report.removed)} removed, {report.unchanged} "
        f"unchanged; {report.embedded_passages} passages embedded. Now serving {served.articles} "
        f"articles, {served.passages} passages (version {served.version}).{switch}{skipped}"
    )


async def _switch_note(context: ContextTypes.DEFAULT_TYPE) -> str:
    """Serve the published version if it is newer; '' when it is served, else why not."""
    try:
        await _watcher(context).reload()
    except TalksError as exc:
        return f" The bot could not switch to the new version and serves the previous one: {exc}"
    return ""


async def reply(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
    """A plain-text reply to an editor, in as many messages as it takes (a summary naming
    60 malformed files is longer than one Telegram message)."""
    blocks: list[str] = []
    for line in text.split("\n"):
        if blocks and len(blocks[-1]) + len(line) < EDITOR_BLOCK_CHARS:
            blocks[-1] += "\n" + line
        else:
            blocks.append(line)
    await send_blocks(
        context,
        update.effective_chat.id,
        [esc(block) for block in blocks],
        reply_to=update.effective_message.message_id,
    )


async def reindex(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reindex (editors): bring the index in line with the corpus folder."""
    if not await _admin(update, context):
        return
    await reply(update, context, await _reindex(context))


async def add(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/add URL (editors): fetch a public web page, add it to the corpus, reindex."""
    if not await _admin(update, context):
        return
    if not context.args:
        await update.effective_message.reply_text(fixed("add_usage"))
        return
    url = untrusted(context.args[0])
    await _add_with(update, context, lambda: draft_from_page(fetch(url)))


async def add_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An .md/.txt/.html file sent by an editor in a private chat: add it, reindex."""
    message = update.effective_message
    document = message.document
    name = safe_file_name(document.file_name).lower()
    if update.effective_user is None or update.effective_user.id not in state_of(context).admin_ids:
        await not_text(update, context)
        return
    if not name.endswith(ARTICLE_SUFFIXES):
        await message.reply_text(fixed("add_suffixes"))
        return
    limit = MAX_ARTICLE_BYTES if name.endswith((".html", ".htm")) else MAX_CORPUS_FILE_BYTES
    if (document.file_size or 0) > limit:  # refused before downloading it
        await message.reply_text(fixed("add_too_large", limit=limit))
        return
    file = await document.get_file()
    data = bytes(await file.download_as_bytearray())
    await _add_with(update, context, lambda: draft_from_upload(document.file_name, data))


async def _add_with(
    update: Update, context: ContextTypes.DEFAULT_TYPE, make_draft: Callable[[], Draft]
) -> None:
    settings = _settings(context)
    try:
        draft = await asyncio.to_thread(make_draft)
        async with state_of(context).reindexing:  # one writer at a time: duplicates are caught
            path = await asyncio.to_thread(add_article, settings.corpus_dir, draft)
    except TalksError as exc:
        await reply(update, context, f"Not added: {exc}")
        return
    summary = await _reindex(context)
    await reply(update, context, f"Added {path.name} ({draft.title}). {summary}")


async def follow(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/follow URL (editors): follow an RSS/Atom feed and poll it at once."""
    if not await _admin(update, context):
        return
    if not context.args:
        await update.effective_message.reply_text(fixed("follow_usage"))
        return
    source = untrusted(context.args[0])
    try:
        state = await asyncio.to_thread(
            feeds.follow, _settings(context).corpus_dir, source, files=False
        )
    except TalksError as exc:
        await reply(update, context, f"Not followed: {exc}")
        return
    poller = context.application.bot_data["feed_poller"]
    try:
        reports = await poller.poll_once(due_only=False, only=state.source)
    except TalksError as exc:
        await reply(update, context, f"Following {state.source}; the first poll failed: {exc}")
        return
    summary = feeds.poll_summary(reports)
    await reply(update, context, f"Following {state.source}. First poll: {summary}")


async def unfollow(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/unfollow URL (editors): stop following a feed; its articles stay."""
    if not await _admin(update, context):
        return
    if not context.args:
        await update.effective_message.reply_text(fixed("unfollow_usage"))
        return
    try:
        state = await asyncio.to_thread(
            feeds.unfollow, _settings(context).corpus_dir, untrusted(context.args[0]), files=False
        )
    except TalksError as exc:
        await reply(update, context, f"Not changed: {exc}")
        return
    await reply(
        update,
        context,
        f"No longer following {state.source}; its {state.articles_added} articles stay.",
    )


async def list_feeds(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/feeds (editors): the followed feeds, their last poll, items seen and errors."""
    if not await _admin(update, context):
        return
    try:
        followed = await asyncio.to_thread(feeds.load_feeds, _settings(context).corpus_dir)
    except TalksError as exc:
        await reply(update, context, str(exc))
        return
    await reply(update, context, feeds.feeds_summary(followed))


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats (editors): what is served and how it has been answering."""
    if not await _admin(update, context):
        return
    state = state_of(context)
    m = state.engine.manifest
    age = dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(m.created_at)
    up = int(time.time() - state.started)
    lines = [
        f"Articles: {m.articles} ({len(m.skipped)} skipped as malformed)",
        f"Passages: {m.passages}, sentences: {m.sentences}",
        f"Index version: {m.version}, built {_duration(age.total_seconds())} ago",
        f"Since start ({_duration(up)}): {state.answered} answered, {state.abstained} not in "
        f"my sources; inline: {state.inline_answered} answered, {state.inline_busy} given no "
        "result while busy",
    ]
    watcher = _watcher(context)
    if watcher.failed_version:
        lines.append(f"Newer version {watcher.failed_version} failed to load: {watcher.failure}")
    lines += [f"Degraded: {what}: {why}" for what, why in problems().items()]
    await reply(update, context, "\n".join(lines))


ASKED_DAYS = 7.0  # /asked without a number: the last week


async def asked(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/asked [days] (editors): the questions readers asked that were declined or given a 👎,
    grouped by wording, most frequent first: what the articles should cover."""
    if not await _admin(update, context):
        return
    store = state_of(context).store
    arg = (context.args or [str(ASKED_DAYS)])[0]
    try:
        days = float(arg)
        if not 0 < days <= 3650:
            raise ValueError
    except ValueError:
        await reply(update, context, "Usage: /asked [days], e.g. /asked 30 (default 7).")
        return
    if store is None or not store.log_questions:
        await reply(update, context, "The question log is off (TALKS_QUESTION_LOG=off).")
        return
    rows = await asyncio.to_thread(store.questions, time.time() - days * 86400, only_failed=True)
    await reply(update, context, "\n".join(report.lines(report.group(rows), days)))


def _duration(seconds: float) -> str:
    minutes = int(seconds) // 60
    if minutes >= 48 * 60:
        return f"{minutes // (24 * 60)} days {minutes // 60 % 24} h"
    return f"{minutes // 60} h {minutes % 60} min"
