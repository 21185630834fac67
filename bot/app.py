"""The Telegram application: factory, start-up, polling or webhook. `talks serve` runs serve()."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import sys
import time
from urllib.parse import urlparse

from sqlalchemy.exc import SQLAlchemyError
from telegram import Bot, BotCommand, Update
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot import admin, handlers
from bot.delivery import DeliveryLimiter, Probe, api_probe, describe, lost_in_transit
from bot.following import FeedPoller
from bot.indexing import open_for_answering
from bot.settings import Settings
from bot.state import BotState, RateLimiter
from bot.store import ChatStore
from bot.watcher import IndexWatcher
from index.answering import AnswerParams
from index.engine import Engine
from index.errors import TalksError
from index.feeds import Fetcher

log = logging.getLogger(__name__)
EXTRA_QUOTES = 3  # kept for the "More sources" button
COMMANDS = [
    BotCommand("start", "What I know and how to ask"),
    BotCommand("help", "Example questions"),
    BotCommand("sources", "The articles I answer from"),
    BotCommand("latest", "The newest articles"),
]
PRUNE_SECONDS = 6 * 3600  # how often the question log's retention is applied


class RedactSecrets(logging.Filter):
    """Replaces secrets (the bot token) in every log record, whatever logged it."""

    def __init__(self, *secrets_: str) -> None:
        super().__init__()
        self.secrets = [s for s in secrets_ if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(s in message for s in self.secrets):
            for s in self.secrets:
                message = message.replace(s, "[redacted]")
            record.msg, record.args = message, None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            if any(s in text for s in self.secrets):
                for s in self.secrets:
                    text = text.replace(s, "[redacted]")
                record.exc_info, record.exc_text = None, text
        return True


class DropInvalidToken(logging.Filter):
    """PTB logs a rejected token with a traceback; serve() reports it in one line instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], InvalidToken))


class BriefNetworkErrors(logging.Filter):
    """PTB logs network failures it recovers from (polling, the last getUpdates at shutdown)
    with a 30-line traceback; one line with the cause says the same."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and lost_in_transit(error):
            record.msg, record.args = f"{record.getMessage()} ({describe(error)})", None
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def configure_logging(settings: Settings, level: int = logging.INFO) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # logs every URL, token included
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    token = settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else ""
    secret = (
        settings.telegram_webhook_secret.get_secret_value()
        if settings.telegram_webhook_secret
        else ""
    )
    redact = RedactSecrets(token, secret, _database_password(settings))
    for handler in logging.getLogger().handlers:
        handler.addFilter(DropInvalidToken())  # before redaction, which rewrites exc_info
        handler.addFilter(BriefNetworkErrors())
        handler.addFilter(redact)


def _database_password(settings: Settings) -> str:
    """The password in TALKS_DATABASE_URL, if any (redacted from every log line)."""
    if settings.database_url is None:
        return ""
    return urlparse(settings.database_url.get_secret_value()).password or ""


def answer_params(settings: Settings) -> AnswerParams:
    return settings.answer_params().with_changes(quotes={"extra_quotes": EXTRA_QUOTES})


def _probe(settings: Settings) -> Probe:
    """getMe through the settings' Bot API: is it reachable (bot.delivery)?"""
    token = settings.telegram_bot_token.get_secret_value()
    return api_probe(settings.telegram_base_url, token)


def _state(settings: Settings, engine: Engine | None, store: ChatStore | None) -> BotState:
    return BotState(
        params=answer_params(settings),
        shown_quotes=settings.quotes.max_quotes,
        limiter=RateLimiter(settings.rate_limit_questions, settings.rate_limit_seconds),
        inline_limiter=RateLimiter(settings.rate_limit_questions * 4, settings.rate_limit_seconds),
        engine=engine,
        store=store if store is not None else settings.open_store(),
        follow_up_seconds=settings.follow_up_seconds,
        admin_ids=settings.admin_id_set(),
        inline_slots=asyncio.Semaphore(settings.inline_concurrency),
    )


def build_application(
    settings: Settings,
    *,
    engine: Engine | None = None,
    fetcher: Fetcher | None = None,
    store: ChatStore | None = None,
) -> Application:
    """The bot, ready to run. The engine is opened in post_init unless one is given (tests
    share one across applications); `fetcher` fetches the feeds (tests give one that reaches
    their local server); the chat store is the one the settings name unless one is given.
    Raises StoreError when the chat store cannot be opened."""
    if settings.telegram_bot_token is None:
        raise TalksError(
            "TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather in Telegram and set "
            "TELEGRAM_BOT_TOKEN to the token it gives you."
        )
    state = _state(settings, engine, store)
    watcher = IndexWatcher(state, settings.index_dir)
    poller = FeedPoller(state, settings, watcher, fetcher)

    async def post_init(app: Application) -> None:
        if state.engine is None:
            log.info("loading the index from %s", settings.index_dir)
            state.engine = await asyncio.to_thread(open_for_answering, settings, refresh=True)
        manifest = state.engine.manifest
        log.info(
            "serving %d articles, %d passages (index version %s) as @%s",
            manifest.articles,
            manifest.passages,
            manifest.version,
            app.bot.username,
        )
        try:
            await app.bot.set_my_commands(COMMANDS)
        except TelegramError as exc:  # the menu is a nicety; answering still works
            log.warning("could not set the command menu: %s", exc)
        app.bot_data["watching"] = asyncio.create_task(
            watcher.run(settings.reload_seconds), name="talks-index-watcher"
        )
        app.bot_data["polling_feeds"] = asyncio.create_task(
            poller.run(settings.feed_poll_seconds), name="talks-feed-poller"
        )
        app.bot_data["pruning"] = asyncio.create_task(
            _prune_log(state.store, PRUNE_SECONDS), name="talks-log-retention"
        )

    async def post_shutdown(app: Application) -> None:
        for name in ("watching", "polling_feeds", "pruning"):
            task = app.bot_data.pop(name, None)
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if store is None:  # the one this application opened
            state.store.close()

    app = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(settings.telegram_base_url)
        .base_file_url(settings.telegram_base_file_url)
        .concurrent_updates(settings.concurrent_updates)
        # Replies quote the question, and still arrive if the user deleted it meanwhile.
        .defaults(Defaults(do_quote=True, allow_sending_without_reply=True))
        .rate_limiter(DeliveryLimiter(max_retries=3, probe=_probe(settings)))
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        .build()
    )
    app.bot_data["state"] = state
    app.bot_data["settings"] = settings
    app.bot_data["watcher"] = watcher
    app.bot_data["feed_poller"] = poller
    _add_handlers(app)
    return app


async def _prune_log(store: ChatStore, every: float) -> None:
    """Apply the question log's retention now and every `every` seconds."""
    while True:
        try:
            deleted = await asyncio.to_thread(store.prune)
            if deleted:
                log.info("question log: %d rows older than the retention deleted", deleted)
        except SQLAlchemyError as exc:
            log.warning("could not apply the question log's retention: %s", type(exc).__name__)
        await asyncio.sleep(every)


def _add_handlers(app: Application) -> None:
    """Commands first, then messages (a captioned file from an editor before questions)."""
    messages = filters.UpdateType.MESSAGE | filters.UpdateType.EDITED_MESSAGE
    app.add_handler(CommandHandler(["start", "help"], handlers.start))
    app.add_handler(CommandHandler("sources", handlers.sources))
    app.add_handler(CommandHandler("latest", handlers.latest))
    app.add_handler(CommandHandler("add", admin.add))
    app.add_handler(CommandHandler("reindex", admin.reindex))
    app.add_handler(CommandHandler("stats", admin.stats))
    app.add_handler(CommandHandler("follow", admin.follow))
    app.add_handler(CommandHandler("unfollow", admin.unfollow))
    app.add_handler(CommandHandler("feeds", admin.list_feeds))
    app.add_handler(CommandHandler("asked", admin.asked))
    app.add_handler(MessageHandler(messages & filters.COMMAND, handlers.unknown_command))
    private = filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE
    # Before questions: a captioned file from an editor is an article, not a question.
    app.add_handler(MessageHandler(private & filters.Document.ALL, admin.add_document))
    app.add_handler(MessageHandler(messages & (filters.TEXT | filters.CAPTION), handlers.question))
    app.add_handler(MessageHandler(private & filters.ATTACHMENT, handlers.not_text))
    app.add_handler(CallbackQueryHandler(handlers.more_sources, pattern=f"^{handlers.MORE_PREFIX}"))
    app.add_handler(CallbackQueryHandler(handlers.feedback, pattern=handlers.FEEDBACK_PATTERN))
    app.add_handler(CallbackQueryHandler(handlers.stale_button))
    app.add_handler(InlineQueryHandler(handlers.inline_query))
    app.add_error_handler(handlers.error_handler)


def reach_api(settings: Settings) -> None:
    """At start-up, wait for the Bot API (a bot started during an outage keeps trying for
    TELEGRAM_STARTUP_WAIT seconds, a line per attempt). Raises NetworkError when it gives up and
    InvalidToken at once."""
    host = urlparse(settings.telegram_base_url).netloc

    async def probe() -> None:
        deadline = time.monotonic() + settings.telegram_startup_wait
        delay = 1.0
        while True:
            bot = Bot(
                settings.telegram_bot_token.get_secret_value(),
                base_url=settings.telegram_base_url,
                base_file_url=settings.telegram_base_file_url,
            )
            try:
                async with bot:  # getMe
                    return
            except NetworkError as exc:
                if time.monotonic() + delay > deadline:
                    raise
                log.warning(
                    "cannot reach the Telegram Bot API at %s (%s); trying again in %.0f s",
                    host,
                    describe(exc),
                    delay,
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)

    asyncio.run(probe())


def serve(settings: Settings) -> int:
    """Run until SIGINT/SIGTERM. Long polling, or a webhook when TELEGRAM_WEBHOOK_URL is set."""
    configure_logging(settings)
    app = build_application(settings)
    try:
        reach_api(settings)
        if settings.telegram_webhook_url:
            url = settings.telegram_webhook_url
            secret = (
                settings.telegram_webhook_secret.get_secret_value()
                if settings.telegram_webhook_secret
                else secrets.token_urlsafe(32)
            )
            log.info("receiving updates by webhook at %s", url)
            app.run_webhook(
                bootstrap_retries=5,
                listen=settings.telegram_webhook_listen,
                port=settings.telegram_webhook_port,
                url_path=urlparse(url).path.lstrip("/"),
                webhook_url=url,
                secret_token=secret,
                allowed_updates=Update.ALL_TYPES,
            )
        else:
            log.info("receiving updates by long polling")
            app.run_polling(
                allowed_updates=Update.ALL_TYPES,
                timeout=settings.telegram_poll_timeout,
                bootstrap_retries=5,
            )
    except InvalidToken:
        # The exception text contains the token: never print it.
        raise TalksError(
            "Telegram rejected TELEGRAM_BOT_TOKEN: check it with @BotFather (/mybots → API Token)."
        ) from None
    except NetworkError as exc:
        raise TalksError(
            f"Cannot reach the Telegram Bot API at {urlparse(settings.telegram_base_url).netloc} "
            f"({describe(exc)}) after trying for {settings.telegram_startup_wait:.0f} s: check "
            "the network or TELEGRAM_BASE_URL."
        ) from None
    except KeyboardInterrupt:  # Ctrl-C while waiting for the API
        return 0
    return 0
