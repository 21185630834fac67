"""Thin Telegram handlers: read the update, call the pure core off the event loop, send HTML.

Answering lives in index.answering, formatting in bot.formatting; nothing here decides what an
answer says.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatAction, ChatType, MessageEntityType, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from bot import formatting
from bot.state import BotState
from index.answering import answer, validate_question
from index.errors import QuestionError, TalksError

log = logging.getLogger(__name__)
MORE_PREFIX = "more:"


def _state(context: ContextTypes.DEFAULT_TYPE) -> BotState:
    return context.application.bot_data["state"]


async def send_html(
    context: ContextTypes.DEFAULT_TYPE,
    chat_id: int,
    text: str,
    *,
    reply_to: int | None = None,
    reply_markup: InlineKeyboardMarkup | None = None,
) -> Message:
    """Send HTML; if Telegram cannot parse it, send the same words as plain text rather than
    lose the answer."""
    reply = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
    try:
        return await context.bot.send_message(
            chat_id,
            text,
            parse_mode=ParseMode.HTML,
            reply_parameters=reply,
            reply_markup=reply_markup,
            link_preview_options={"is_disabled": True},
        )
    except BadRequest as exc:
        if "entit" not in str(exc).lower():  # can't parse entities, Entities_too_long, …
            raise
        log.warning("Telegram could not parse our HTML (%s); sending plain text", exc)
        return await context.bot.send_message(
            chat_id,
            formatting.to_plain(text),
            reply_parameters=reply,
            reply_markup=reply_markup,
            link_preview_options={"is_disabled": True},
        )


async def send_blocks(
    context: ContextTypes.DEFAULT_TYPE,
    chat_id: int,
    blocks: list[str],
    *,
    reply_to: int | None = None,
    reply_markup: InlineKeyboardMarkup | None = None,
) -> None:
    """Pack blocks into messages under the limit; the first replies, the last gets the buttons."""
    messages = formatting.pack(blocks)
    for i, text in enumerate(messages):
        await send_html(
            context,
            chat_id,
            text,
            reply_to=reply_to if i == 0 else None,
            reply_markup=reply_markup if i == len(messages) - 1 else None,
        )


def _coverage(state: BotState) -> tuple[int, object]:
    if state.retriever is None:
        return 0, None
    articles = list(state.retriever.data.articles.values())
    dates = [a.published for a in articles if a.published]
    return len(articles), max(dates) if dates else None


def _user_language(update: Update) -> str:
    """uk/ru from the user's Telegram language, else en."""
    code = (update.effective_user.language_code or "") if update.effective_user else ""
    return code[:2] if code[:2] in ("uk", "ru") else "en"


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start and /help: what the bot knows, with example questions."""
    count, newest = _coverage(_state(context))
    await send_html(
        context,
        update.effective_chat.id,
        formatting.help_text(count, newest, _user_language(update)),
        reply_to=update.effective_message.message_id,
    )


async def sources(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/sources: the articles in the index, newest first."""
    state = _state(context)
    articles = list(state.retriever.data.articles.values()) if state.retriever else []
    await send_blocks(
        context,
        update.effective_chat.id,
        formatting.sources_blocks(articles),
        reply_to=update.effective_message.message_id,
    )


def addressed_to_bot(message: Message, username: str, bot_id: int) -> bool:
    """In a group: the bot is @mentioned, or the message replies to one of the bot's."""
    reply = message.reply_to_message
    if reply and reply.from_user and reply.from_user.id == bot_id:
        return True
    mention = f"@{username}".lower()
    for entity, text in {**message.parse_entities(), **message.parse_caption_entities()}.items():
        if entity.type == MessageEntityType.MENTION and text.lower() == mention:
            return True
        if (
            entity.type == MessageEntityType.TEXT_MENTION
            and entity.user
            and entity.user.id == bot_id
        ):
            return True
    return False


def strip_mention(text: str, username: str) -> str:
    return re.sub(rf"@{re.escape(username)}\b", " ", text, flags=re.IGNORECASE).strip()


async def question(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A text message (or a captioned photo): answer it. In groups only when addressed."""
    message = update.effective_message
    chat = update.effective_chat
    if message.via_bot and message.via_bot.id == context.bot.id:
        return  # one of our own inline answers, posted into the chat: not a question
    text = message.text or message.caption or ""
    if chat.type != ChatType.PRIVATE:
        if not addressed_to_bot(message, context.bot.username, context.bot.id):
            return
        text = strip_mention(text, context.bot.username)
    await _answer(update, context, text)


async def _answer(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
    state = _state(context)
    message = update.effective_message
    chat_id = update.effective_chat.id
    user = update.effective_user
    if user is not None:
        allowed, wait = state.limiter.allow(user.id)
        if not allowed:
            if state.limiter.should_warn(user.id):
                await message.reply_text(
                    f"You are asking faster than I can answer well: please wait {wait:.0f} s "
                    "and ask again."
                )
            return
    try:
        text = validate_question(text, state.params.max_question_chars)
    except QuestionError as exc:
        await message.reply_text(str(exc).replace("`", ""))
        return
    with contextlib.suppress(TelegramError):
        await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
    retriever = state.retriever  # one retriever for the whole question, even if it is swapped
    result = await asyncio.to_thread(answer, text, retriever, state.params)
    if result.answered:
        state.answered += 1
    else:
        state.abstained += 1
    shown, extra = result.quotes[: state.shown_quotes], result.quotes[state.shown_quotes :]
    markup = None
    if extra:
        key = state.remember_more(extra)
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        f"More sources ({len(extra)})", callback_data=MORE_PREFIX + key
                    )
                ]
            ]
        )
    await send_blocks(
        context,
        chat_id,
        formatting.answer_blocks(result, shown),
        reply_to=message.message_id,
        reply_markup=markup,
    )


async def more_sources(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The "More sources" button: send the quotes that did not fit the first reply."""
    query = update.callback_query
    key = (query.data or "")[len(MORE_PREFIX) :]
    quotes = _state(context).more.pop(key, None)
    if quotes is None:
        await query.answer("That answer is too old for more sources: please ask again.")
        return
    await query.answer()
    chat_id = query.message.chat.id if query.message else query.from_user.id
    reply_to = query.message.message_id if query.message else None
    await send_blocks(context, chat_id, formatting.more_blocks(quotes), reply_to=reply_to)
    if query.message:
        with contextlib.suppress(TelegramError):
            await query.edit_message_reply_markup(reply_markup=None)


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """@bot question in any chat: offer the answer as one result."""
    state = _state(context)
    query = update.inline_query
    text = query.query.strip()
    if not text:
        await query.answer([], cache_time=0)
        return
    allowed, _ = state.inline_limiter.allow(query.from_user.id)
    if not allowed:
        await query.answer([], cache_time=0)
        return
    try:
        text = validate_question(text, state.params.max_question_chars)
    except QuestionError as exc:
        await query.answer([], cache_time=0)
        log.info("inline question refused: %s", exc)
        return
    result = await asyncio.to_thread(answer, text, state.retriever, state.params)
    result = result.model_copy(update={"quotes": result.quotes[: state.shown_quotes]})
    message = formatting.pack(formatting.answer_blocks(result))[0]
    result_id = hashlib.sha256(text.encode()).hexdigest()[:32]
    article = InlineQueryResultArticle(
        id=result_id,
        title=formatting.inline_title(result),
        description=text[:100],
        input_message_content=InputTextMessageContent(
            message, parse_mode=ParseMode.HTML, link_preview_options={"is_disabled": True}
        ),
    )
    await query.answer([article], cache_time=60)


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command we do not have. In groups, only answered when it is addressed to us."""
    message = update.effective_message
    command = (message.text or "").split()[0]
    name, _, target = command.partition("@")
    if update.effective_chat.type != ChatType.PRIVATE and (
        target.lower() != context.bot.username.lower()
    ):
        return
    await message.reply_text(f"I don't know the command {name[:64]}. Send /help to see what I do.")


async def not_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Photos without captions, stickers, voice notes, files… in a private chat."""
    await update.effective_message.reply_text(
        "I can only read questions written as text. Send me your question as a message, "
        "for example: Who leads Ukraine's delegation?"
    )


async def error_handler(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the traceback; tell the user something went wrong (never the details)."""
    log.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat and update.effective_message:
        with contextlib.suppress(TelegramError):
            await context.bot.send_message(
                update.effective_chat.id,
                "Sorry, something went wrong while answering. Please try again in a moment.",
            )


# --- editors: TALKS_ADMIN_IDS ----------------------------------------------------------------

ADMIN_ONLY = "Sorry, only the bot's editors can do that."
DOCUMENT_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm")
MAX_DOCUMENT_BYTES = 5_000_000


async def _admin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    user = update.effective_user
    if user is not None and user.id in _state(context).admin_ids:
        return True
    await update.effective_message.reply_text(ADMIN_ONLY)
    return False


async def _reindex(context: ContextTypes.DEFAULT_TYPE) -> str:
    """Update the index from the corpus and start serving it; returns a summary for the chat."""
    from bot.app import reload_index
    from bot.service import build

    state = _state(context)
    settings = context.application.bot_data["settings"]
    async with state.reindexing:
        report = await asyncio.to_thread(
            build,
            settings,
            state.retriever.encoder,
            quiet=True,
            threads=settings.query_threads,
        )
        await reload_index(context.application)
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


async def reindex(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reindex (editors): bring the index in line with the corpus folder."""
    if not await _admin(update, context):
        return
    message = update.effective_message
    try:
        summary = await _reindex(context)
    except TalksError as exc:
        summary = f"Reindexing failed; still serving the previous index. {exc}"
    await message.reply_text(summary)


async def add(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/add URL (editors): fetch a public web page, add it to the corpus, reindex."""
    if not await _admin(update, context):
        return
    message = update.effective_message
    if not context.args:
        await message.reply_text(
            "Usage: /add https://… (a public article page), or send me an .md, .txt or .html file."
        )
        return
    await _add_with(update, context, lambda: _draft_from_url(context.args[0]))


def _draft_from_url(url: str):
    from index.ingest import draft_from_page, fetch

    return draft_from_page(fetch(url))


async def add_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An .md/.txt/.html file sent by an editor in a private chat: add it, reindex."""
    message = update.effective_message
    document = message.document
    name = (document.file_name or "").lower()
    if update.effective_user is None or update.effective_user.id not in _state(context).admin_ids:
        await not_text(update, context)
        return
    if not name.endswith(DOCUMENT_SUFFIXES):
        await message.reply_text("I can add .md, .txt and .html files as articles.")
        return
    if (document.file_size or 0) > MAX_DOCUMENT_BYTES:
        await message.reply_text(f"That file is larger than {MAX_DOCUMENT_BYTES:,} bytes.")
        return
    file = await document.get_file()
    data = bytes(await file.download_as_bytearray())

    def draft():
        import tempfile
        from pathlib import Path

        from index.ingest import draft_from_file

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / Path(document.file_name or "article.txt").name
            path.write_bytes(data[: MAX_DOCUMENT_BYTES + 1])
            return draft_from_file(path)

    await _add_with(update, context, draft)


async def _add_with(update: Update, context: ContextTypes.DEFAULT_TYPE, make_draft) -> None:
    from index.ingest import add_article

    message = update.effective_message
    settings = context.application.bot_data["settings"]
    try:
        draft = await asyncio.to_thread(make_draft)
        async with _state(context).reindexing:  # one writer at a time: duplicates are caught
            path = await asyncio.to_thread(add_article, settings.corpus_dir, draft)
    except TalksError as exc:
        await message.reply_text(f"Not added: {exc}")
        return
    try:
        summary = await _reindex(context)
    except TalksError as exc:
        summary = f"Reindexing failed; still serving the previous index. {exc}"
    await message.reply_text(f"Added {path.name} ({draft.title}). {summary}")


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats (editors): what is served and how it has been answering."""
    if not await _admin(update, context):
        return
    import datetime as dt
    import time

    state = _state(context)
    m = state.retriever.data.manifest
    created = dt.datetime.fromisoformat(m.created_at)
    age = dt.datetime.now(dt.UTC) - created
    hours, rest = divmod(int(age.total_seconds()), 3600)
    up = int(time.time() - state.started)
    await update.effective_message.reply_text(
        f"Articles: {m.articles} ({len(m.skipped)} skipped as malformed)\n"
        f"Passages: {m.passages}, sentences: {m.sentences}\n"
        f"Index version: {m.version}, built {hours} h {rest // 60} min ago\n"
        f"Since start ({up // 3600} h {up % 3600 // 60} min): {state.answered} answered, "
        f"{state.abstained} not in my sources"
    )
