"""Sending replies: HTML with a plain-text fallback, long answers packed into several messages,
and the user's language for fixed texts."""

from __future__ import annotations

import logging
import re

from telegram import ForceReply, InlineKeyboardMarkup, Message, ReplyParameters, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot import formatting
from bot.state import BotState
from bot.texts import language_of

log = logging.getLogger(__name__)
_UNSENDABLE = re.compile("[\x00\ud800-\udfff]")  # NUL, and surrogates not in a pair


def untrusted(text: str | None) -> str:
    """Text from an update, safe to process and to echo: lone surrogates (which a JSON update
    can carry but no reply can be encoded with) and NUL bytes removed."""
    return _UNSENDABLE.sub("", text) if text else ""


def state_of(context: ContextTypes.DEFAULT_TYPE) -> BotState:
    return context.application.bot_data["state"]


def user_language(update: Update) -> str:
    """uk/ru from the user's Telegram language, else en."""
    return language_of(update.effective_user.language_code if update.effective_user else None)


async def send_html(
    context: ContextTypes.DEFAULT_TYPE,
    chat_id: int,
    text: str,
    *,
    reply_to: int | None = None,
    reply_markup: InlineKeyboardMarkup | ForceReply | None = None,
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
    reply_markup: InlineKeyboardMarkup | ForceReply | None = None,
) -> list[Message]:
    """Pack blocks into messages under the limit; the first replies, the last gets the buttons.
    The messages sent."""
    messages = formatting.pack(blocks)
    sent = []
    for i, text in enumerate(messages):
        sent.append(
            await send_html(
                context,
                chat_id,
                text,
                reply_to=reply_to if i == 0 else None,
                reply_markup=reply_markup if i == len(messages) - 1 else None,
            )
        )
    return sent
