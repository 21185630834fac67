"""A message in a conversation, answered: completed from the chat's previous question when it is
a follow-up, remembered for the next one, and logged. Runs off the event loop (the store and
the models are synchronous); no Telegram here.

The chat store failing (a database restarting) costs follow-ups and the log for that message,
never the answer: the failure is logged and the message is answered alone.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from bot.store import ChatStore
from bot.store.chats import driver_line
from index.answering import AnswerParams, answer_after
from index.engine import Engine
from index.models import Answer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Turn:
    """The answer, and its row in the question log (None when the log is off or failed)."""

    result: Answer
    question_id: int | None


def take_turn(
    store: ChatStore | None,
    engine: Engine,
    params: AnswerParams,
    chat_id: int,
    message: str,
    *,
    language: str | None = None,
    follow_ups: bool = True,
    within: float = 600.0,
    replies_to: int | None = None,
    today: dt.date | None = None,
) -> Turn:
    """Answer `message` in chat `chat_id`. `follow_ups`: it may continue the chat's previous
    question (asked less than `within` seconds ago); False in a group unless it replies to
    the bot. `replies_to`: the bot's message it replies to; when that is an answer (of the
    last day), the question it answered is the one continued, however long ago."""
    previous = _previous(store, chat_id, within, replies_to) if follow_ups else None
    result = answer_after(message, previous, engine, params, language, today)
    question_id = None
    if store is not None:
        try:
            store.remember_question(chat_id, result.question)
            question_id = store.log(chat_id, message, result, engine.manifest.version)
        except SQLAlchemyError as exc:
            log.warning("could not record the question in the chat store: %s", _brief(exc))
    return Turn(result, question_id)


def _previous(
    store: ChatStore | None, chat_id: int, within: float, replies_to: int | None
) -> str | None:
    if store is None:
        return None
    try:
        if replies_to is not None:
            answered = store.answered_by(chat_id, replies_to)
            if answered is not None:
                return answered
        return store.previous_question(chat_id, within) if within > 0 else None
    except SQLAlchemyError as exc:
        log.warning("could not read the chat's previous question: %s", _brief(exc))
        return None


def _brief(exc: SQLAlchemyError) -> str:
    """The error's kind and the driver's first line (no URL, no password)."""
    return f"{type(exc).__name__}: {driver_line(exc)}"
