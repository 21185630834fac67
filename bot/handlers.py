"""Thin Telegram handlers for everyone: read the update, call the pure core off the event loop,
send HTML. Editors' commands are in bot.admin.

Answering lives in index.answering, formatting in bot.formatting, fixed texts in bot.texts;
nothing here decides what an answer says.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
from collections.abc import Iterator

from sqlalchemy.exc import SQLAlchemyError
from telegram import (
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatAction, ChatType, MessageEntityType, ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot import formatting
from bot.conversation import take_turn
from bot.delivery import describe, lost_in_transit
from bot.replies import send_blocks, send_html, state_of, untrusted, user_language
from bot.state import BotState
from bot.texts import text as fixed
from index.answering import answer, validate_question
from index.errors import QuestionError
from index.models import Answer

log = logging.getLogger(__name__)
MORE_PREFIX = "more:"
FEEDBACK_PREFIX = "fb:"  # fb:1:<question id> 👍, fb:-1:<question id> 👎
FEEDBACK_PATTERN = rf"^{FEEDBACK_PREFIX}(-1|1):\d{{1,9}}$"  # ids fit a 32-bit column
MAX_CORRECTION_CHARS = 1000


def _coverage(state: BotState) -> tuple[int, object]:
    if state.engine is None:
        return 0, None
    articles = list(state.engine.articles.values())
    dates = [a.published for a in articles if a.published]
    return len(articles), max(dates) if dates else None


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start and /help: what the bot knows, with example questions."""
    count, newest = _coverage(state_of(context))
    await send_html(
        context,
        update.effective_chat.id,
        formatting.help_text(count, newest, user_language(update)),
        reply_to=update.effective_message.message_id,
    )


async def sources(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/sources: the articles in the index, newest first."""
    state = state_of(context)
    articles = list(state.engine.articles.values()) if state.engine else []
    await send_blocks(
        context,
        update.effective_chat.id,
        formatting.sources_blocks(articles),
        reply_to=update.effective_message.message_id,
    )


LATEST_COUNT = 10  # articles /latest lists


async def latest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/latest: the newest articles in the index, with their dates and links."""
    state = state_of(context)
    articles = list(state.engine.articles.values()) if state.engine else []
    await send_blocks(
        context,
        update.effective_chat.id,
        formatting.latest_blocks(articles, LATEST_COUNT, user_language(update)),
        reply_to=update.effective_message.message_id,
    )


def addressed_to_bot(message: Message, username: str, bot_id: int) -> bool:
    """In a group: the bot is @mentioned, or the message replies to one of the bot's."""
    reply = message.reply_to_message
    if reply and reply.from_user and reply.from_user.id == bot_id:
        return True
    mention = f"@{username}".lower()
    for entity, text in _entities(message):
        if entity.type == MessageEntityType.MENTION and text.lower() == mention:
            return True
        if (
            entity.type == MessageEntityType.TEXT_MENTION
            and entity.user
            and entity.user.id == bot_id
        ):
            return True
    return False


def _entities(message: Message) -> Iterator[tuple[MessageEntity, str]]:
    """The message's entities with their text; one whose offsets split a character (Telegram
    does not send these, a forged update can) is skipped."""
    for entity in message.entities:
        with contextlib.suppress(UnicodeError):
            yield entity, message.parse_entity(entity)
    for entity in message.caption_entities:
        with contextlib.suppress(UnicodeError):
            yield entity, message.parse_caption_entity(entity)


def strip_mention(text: str, username: str) -> str:
    return re.sub(rf"@{re.escape(username)}\b", " ", text, flags=re.IGNORECASE).strip()


async def question(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A text message (or a captioned photo): answer it. In groups only when addressed."""
    message = update.effective_message
    chat = update.effective_chat
    if message.via_bot and message.via_bot.id == context.bot.id:
        return  # one of our own inline answers, posted into the chat: not a question
    text = untrusted(message.text or message.caption)
    replies_to_bot = _replies_to_bot(message, context.bot.id)
    if chat.type != ChatType.PRIVATE:
        if not addressed_to_bot(message, context.bot.username, context.bot.id):
            return
        text = strip_mention(text, context.bot.username)
    if replies_to_bot and await _took_correction(update, context, text):
        return
    # In a group, a message continues the conversation only when it replies to the bot.
    await _answer(
        update,
        context,
        text,
        follow_ups=chat.type == ChatType.PRIVATE or replies_to_bot,
        replies_to=message.reply_to_message.message_id if replies_to_bot else None,
    )


def _replies_to_bot(message: Message, bot_id: int) -> bool:
    reply = message.reply_to_message
    return bool(reply and reply.from_user and reply.from_user.id == bot_id)


async def _took_correction(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> bool:
    """A reply to "reply with the right answer": kept for the editors, not answered."""
    state = state_of(context)
    message = update.effective_message
    correction = text.strip()[:MAX_CORRECTION_CHARS]
    if state.store is None or not correction:
        return False
    taken = await asyncio.to_thread(
        state.store.correct,
        update.effective_chat.id,
        message.reply_to_message.message_id,
        correction,
    )
    if taken:
        await message.reply_text(fixed("correction_thanks", user_language(update)))
    return taken


async def _answer(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    text: str,
    *,
    follow_ups: bool = True,
    replies_to: int | None = None,
) -> None:
    state = state_of(context)
    message = update.effective_message
    chat_id = update.effective_chat.id
    user = update.effective_user
    if user is not None:
        allowed, wait = state.limiter.allow(user.id)
        if not allowed:
            if state.limiter.should_warn(user.id):
                await message.reply_text(
                    fixed("too_fast", user_language(update), wait=f"{wait:.0f}")
                )
            return
    try:
        text = validate_question(text, state.params.max_question_chars)
    except QuestionError as exc:
        await message.reply_text(str(exc).replace("`", ""))
        return
    with contextlib.suppress(TelegramError):
        await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
    engine = state.engine  # one engine for the whole question, even if it is swapped meanwhile
    turn = await asyncio.to_thread(
        take_turn,
        state.store,
        engine,
        state.params,
        chat_id,
        text,
        language=user_language(update),
        follow_ups=follow_ups,
        within=state.follow_up_seconds,
        replies_to=replies_to,
    )
    result = turn.result
    if result.answered:
        state.answered += 1
    else:
        state.abstained += 1
    shown, extra = result.quotes[: state.shown_quotes], result.quotes[state.shown_quotes :]
    markup = await _buttons(state, result, extra, turn.question_id)
    sent = await send_blocks(
        context,
        chat_id,
        formatting.answer_blocks(result, shown),
        reply_to=message.message_id,
        reply_markup=markup,
    )
    if state.store is not None:  # a reply to this answer continues its question
        with contextlib.suppress(SQLAlchemyError):
            ids = [m.message_id for m in sent]
            await asyncio.to_thread(state.store.remember_answer, chat_id, ids, result.question)


async def _buttons(
    state: BotState, result: Answer, extra: list, question_id: int | None
) -> InlineKeyboardMarkup | None:
    """ "More sources (n)" when quotes did not fit, 👍 / 👎 when the question was logged."""
    rows = []
    if extra and state.store is not None:
        try:
            key = await asyncio.to_thread(state.store.keep_quotes, extra)
        except SQLAlchemyError as exc:  # the answer goes out without the button
            log.warning("could not keep the extra quotes: %s", type(exc).__name__)
        else:
            label = fixed("more_sources", result.language, count=len(extra))
            rows.append([InlineKeyboardButton(label, callback_data=MORE_PREFIX + key)])
    if question_id is not None:
        rows.append(
            [
                InlineKeyboardButton("👍", callback_data=f"{FEEDBACK_PREFIX}1:{question_id}"),
                InlineKeyboardButton("👎", callback_data=f"{FEEDBACK_PREFIX}-1:{question_id}"),
            ]
        )
    return InlineKeyboardMarkup(rows) if rows else None


def _without(markup: InlineKeyboardMarkup | None, prefix: str) -> InlineKeyboardMarkup | None:
    """The keyboard less the buttons whose data starts with `prefix` (None when none remain)."""
    if markup is None:
        return None
    rows = [
        [b for b in row if not (b.callback_data or "").startswith(prefix)]
        for row in markup.inline_keyboard
    ]
    rows = [row for row in rows if row]
    return InlineKeyboardMarkup(rows) if rows else None


async def more_sources(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The "More sources" button: send the quotes that did not fit the first reply."""
    query = update.callback_query
    key = (query.data or "")[len(MORE_PREFIX) :]
    store = state_of(context).store
    quotes = await asyncio.to_thread(store.take_quotes, key) if store else None
    if quotes is None:
        await query.answer(fixed("more_expired", user_language(update)))
        return
    await query.answer()
    chat_id = query.message.chat.id if query.message else query.from_user.id
    reply_to = query.message.message_id if query.message else None
    blocks = formatting.more_blocks(quotes, user_language(update))
    await send_blocks(context, chat_id, blocks, reply_to=reply_to)
    if query.message:
        with contextlib.suppress(TelegramError):
            await query.edit_message_reply_markup(
                reply_markup=_without(query.message.reply_markup, MORE_PREFIX)
            )


async def feedback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """👍 / 👎 under an answer: recorded once (a double tap or a button from before a restart
    changes nothing); after a 👎 the reader is asked for the right answer."""
    query = update.callback_query
    state = state_of(context)
    language = user_language(update)
    _, value, question_id = (query.data or "").split(":")
    if state.store is None or query.message is None:
        await query.answer(fixed("feedback_gone", language))
        return
    outcome = await asyncio.to_thread(
        state.store.feedback, int(question_id), int(value), chat_id=query.message.chat.id
    )
    await query.answer(
        fixed(f"feedback_{'thanks' if outcome == 'recorded' else outcome}", language)
    )
    if outcome != "recorded":
        return
    with contextlib.suppress(TelegramError):
        await query.edit_message_reply_markup(
            reply_markup=_without(query.message.reply_markup, FEEDBACK_PREFIX)
        )
    if int(value) < 0:
        prompt = await send_html(
            context,
            query.message.chat.id,
            formatting.esc(fixed("correction_prompt", language)),
            reply_to=query.message.message_id,
            reply_markup=ForceReply(selective=True),
        )
        await asyncio.to_thread(
            state.store.await_correction, query.message.chat.id, prompt.message_id, int(question_id)
        )


async def stale_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any other button press (an old keyboard, forged data): answered, so the client stops
    its spinner."""
    await update.callback_query.answer(fixed("more_expired", user_language(update)))


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """@bot question in any chat: offer the answer as one result."""
    state = state_of(context)
    query = update.inline_query
    text = untrusted(query.query).strip()
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
    if state.inline_slots.locked():  # typing fast: later keystrokes bring newer queries
        state.inline_busy += 1
        await query.answer([], cache_time=0)
        return
    async with state.inline_slots:
        result = await asyncio.to_thread(
            answer, text, state.engine, state.params, user_language(update)
        )
    state.inline_answered += 1
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
    command = (untrusted(message.text).split() or ["/"])[0]
    name, _, target = command.partition("@")
    if update.effective_chat.type != ChatType.PRIVATE and (
        target.lower() != context.bot.username.lower()
    ):
        return
    await message.reply_text(fixed("unknown_command", user_language(update), command=name[:64]))


async def not_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Photos without captions, stickers, voice notes, files… in a private chat."""
    await update.effective_message.reply_text(fixed("text_only", user_language(update)))


async def error_handler(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the traceback; tell the user something went wrong (never the details). A network
    failure while fetching updates is one line: PTB keeps polling with backoff."""
    if lost_in_transit(context.error):
        # Fetching updates (PTB polls again with backoff), or a reply that failed on the way
        # out after its retries (bot.delivery): an apology would meet the same network, or be
        # sent next to an answer that did arrive.
        what = "fetching updates" if update is None else "sending a reply"
        log.warning("%s failed: %s", what, describe(context.error))
        return
    log.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat and update.effective_message:
        with contextlib.suppress(TelegramError):
            await context.bot.send_message(
                update.effective_chat.id, fixed("went_wrong", user_language(update))
            )
