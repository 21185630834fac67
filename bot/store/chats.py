"""ChatStore: everything the bot keeps about conversations, in one database that every replica
of `talks serve` shares: the previous question of each chat (follow-ups), the quotes behind the
buttons, feedback, and the log of what readers asked.

SQLite in the data folder by default (nothing to install; WAL, so a killed process loses no
committed row), PostgreSQL when TALKS_DATABASE_URL names one. Synchronous (SQLAlchemy Core):
handlers call it off the event loop. Chats are known only by a keyed hash of their id; no user
id, name or token is written.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sqlalchemy import (
    Engine,
    create_engine,
    delete,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from bot.store import schema
from bot.store.schema import (
    StoreError,
    answers,
    buttons,
    chat_turns,
    deployment,
    prompts,
    questions,
)
from index.models import Answer, Quote

SQLITE_NAME = "chats.sqlite3"
Feedback = Literal["recorded", "already", "gone"]


@dataclass(frozen=True)
class LoggedQuestion:
    """One row of the log, as `talks log` and the export read it."""

    id: int
    asked_at: float
    message: str
    question: str
    follow_up: bool
    language: str
    answered: bool
    answer: str | None
    sources: list[dict]
    index_version: str | None
    feedback: int | None
    correction: str | None


class ChatStore:
    """The bot's shared state. Thread-safe: each call takes its own connection."""

    def __init__(
        self,
        engine: Engine,
        *,
        log_questions: bool = True,
        retention_days: float = 90.0,
        chat_key: str | None = None,
    ) -> None:
        self.engine = engine
        self.log_questions = log_questions
        self.retention_days = retention_days
        with self._write() as conn:
            schema.migrate(conn)
            stored = conn.execute(
                select(deployment.c.value).where(deployment.c.name == "chat_key")
            ).scalar_one()
        self._key = (chat_key or stored).encode()

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(
        cls,
        url: str | None,
        data_dir: Path,
        *,
        log_questions: bool = True,
        retention_days: float = 90.0,
        chat_key: str | None = None,
    ) -> ChatStore:
        """The store at `url` (SQLAlchemy URL: postgresql+psycopg://…), or SQLite in
        `data_dir`. Migrates the schema. Raises StoreError saying what to fix."""
        engine = _engine(url, data_dir)
        try:
            return cls(
                engine,
                log_questions=log_questions,
                retention_days=retention_days,
                chat_key=chat_key,
            )
        except OperationalError as exc:
            engine.dispose()
            where = engine.url.render_as_string(hide_password=True)
            raise StoreError(
                f"Cannot open the chat store at {where} ({driver_line(exc)}): check "
                "TALKS_DATABASE_URL and that the database server is running and reachable."
            ) from None

    def close(self) -> None:
        self.engine.dispose()

    def _write(self):
        return self.engine.begin()

    # --------------------------------------------------------------- identities
    def chat(self, chat_id: int) -> str:
        """The chat's id as stored: HMAC-SHA256 with this deployment's key, 32 hex digits."""
        return hmac.new(self._key, str(chat_id).encode(), hashlib.sha256).hexdigest()[:32]

    # ---------------------------------------------------------------- follow-ups
    def previous_question(
        self, chat_id: int, within: float, now: float | None = None
    ) -> str | None:
        """The chat's last question if it was asked less than `within` seconds ago."""
        now = time.time() if now is None else now
        with self.engine.connect() as conn:
            row = conn.execute(
                select(chat_turns.c.question, chat_turns.c.asked_at).where(
                    chat_turns.c.chat == self.chat(chat_id)
                )
            ).first()
        if row is None or now - row.asked_at >= within:
            return None
        return row.question

    def remember_question(self, chat_id: int, question: str, now: float | None = None) -> None:
        """The chat's last question is now `question` (as answered: completed)."""
        now = time.time() if now is None else now
        values = {"question": question, "asked_at": now}
        with self._write() as conn:
            upsert = _insert(conn)(chat_turns).values(chat=self.chat(chat_id), **values)
            conn.execute(upsert.on_conflict_do_update(index_elements=["chat"], set_=values))

    def remember_answer(
        self, chat_id: int, message_ids: Sequence[int], question: str, now: float | None = None
    ) -> None:
        """The bot's messages `message_ids` answered `question`: a reply to one continues it."""
        now = time.time() if now is None else now
        chat = self.chat(chat_id)
        rows = [
            {"chat": chat, "message_id": m, "question": question, "sent_at": now}
            for m in message_ids
        ]
        if rows:
            with self._write() as conn:
                conn.execute(_insert(conn)(answers).values(rows).on_conflict_do_nothing())

    def answered_by(self, chat_id: int, message_id: int) -> str | None:
        """The question the bot's message `message_id` answered, if it is one of its answers."""
        with self.engine.connect() as conn:
            return conn.execute(
                select(answers.c.question).where(
                    answers.c.chat == self.chat(chat_id), answers.c.message_id == message_id
                )
            ).scalar()

    # -------------------------------------------------------------------- the log
    def log(
        self,
        chat_id: int,
        message: str,
        result: Answer,
        index_version: str | None,
        now: float | None = None,
    ) -> int | None:
        """Log a question and what was answered; its row id (None when the log is off)."""
        if not self.log_questions:
            return None
        sources = [_source(q) for q in result.quotes] if result.answered else []
        row = {
            "chat": self.chat(chat_id),
            "asked_at": time.time() if now is None else now,
            "message": message,
            "question": result.question,
            "follow_up": result.asked is not None,
            "language": result.language,
            "answered": result.answered,
            "answer": result.answer if result.answered else None,
            "sources": json.dumps(sources, ensure_ascii=False),
            "index_version": index_version,
        }
        with self._write() as conn:
            return conn.execute(insert(questions).values(**row)).inserted_primary_key[0]

    def feedback(
        self, question_id: int, value: int, now: float | None = None, *, chat_id: int | None = None
    ) -> Feedback:
        """A 👍 (1) or 👎 (-1): recorded once; a second press (a double tap, the other
        button, a button from before a restart) changes nothing. With `chat_id`, only a press
        in the chat the question was asked in counts (a forged button from another is "gone")."""
        now = time.time() if now is None else now
        where = [questions.c.id == question_id]
        if chat_id is not None:
            where.append(questions.c.chat == self.chat(chat_id))
        with self._write() as conn:
            done = conn.execute(
                update(questions)
                .where(*where, questions.c.feedback.is_(None))
                .values(feedback=value, feedback_at=now)
            ).rowcount
            if done:
                return "recorded"
            exists = conn.execute(select(questions.c.id).where(*where)).first()
        return "already" if exists else "gone"

    def await_correction(self, chat_id: int, message_id: int, question_id: int) -> None:
        """The bot asked for the right answer in message `message_id`: a reply to it is one."""
        with self._write() as conn:
            conn.execute(
                insert(prompts).values(
                    chat=self.chat(chat_id),
                    message_id=message_id,
                    question_id=question_id,
                    sent_at=time.time(),
                )
            )

    def correct(self, chat_id: int, replied_to: int, correction: str) -> bool:
        """A reply to a correction prompt: kept on the question's row (the first reply only).
        False when `replied_to` is no prompt of this chat."""
        chat = self.chat(chat_id)
        where = (prompts.c.chat == chat, prompts.c.message_id == replied_to)
        with self._write() as conn:
            question_id = conn.execute(select(prompts.c.question_id).where(*where)).scalar()
            if question_id is None:
                return False
            if not conn.execute(delete(prompts).where(*where)).rowcount:
                return False  # another replica took the prompt meanwhile (a reply sent twice)
            conn.execute(
                update(questions)
                .where(questions.c.id == question_id, questions.c.correction.is_(None))
                .values(correction=correction)
            )
        return True

    def questions(
        self, since: float = 0.0, *, only_failed: bool = False, limit: int | None = None
    ) -> list[LoggedQuestion]:
        """Logged questions asked since `since` (epoch seconds), oldest first; `only_failed`:
        declined or given a 👎."""
        query = select(questions).where(questions.c.asked_at >= since).order_by(questions.c.id)
        if only_failed:
            query = query.where((questions.c.answered.is_(False)) | (questions.c.feedback == -1))
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            LoggedQuestion(
                id=r.id,
                asked_at=r.asked_at,
                message=r.message,
                question=r.question,
                follow_up=r.follow_up,
                language=r.language,
                answered=r.answered,
                answer=r.answer,
                sources=json.loads(r.sources),
                index_version=r.index_version,
                feedback=r.feedback,
                correction=r.correction,
            )
            for r in rows
        ]

    # -------------------------------------------------------------------- buttons
    def keep_quotes(self, quotes: Sequence[Quote], now: float | None = None) -> str:
        """Keep quotes for a "More sources" button; the key for its callback data."""
        key = secrets.token_hex(8)
        payload = json.dumps([q.model_dump(mode="json") for q in quotes], ensure_ascii=False)
        with self._write() as conn:
            conn.execute(
                insert(buttons).values(
                    key=key, payload=payload, created_at=time.time() if now is None else now
                )
            )
        return key

    def take_quotes(self, key: str) -> list[Quote] | None:
        """The quotes kept under `key`, once (a second press finds none)."""
        with self._write() as conn:
            payload = conn.execute(select(buttons.c.payload).where(buttons.c.key == key)).scalar()
            if payload is None:
                return None
            if not conn.execute(delete(buttons).where(buttons.c.key == key)).rowcount:
                return None  # another replica took them meanwhile
        return [Quote.model_validate(q) for q in json.loads(payload)]

    # ------------------------------------------------------------------ retention
    def prune(self, now: float | None = None, *, buttons_days: float = 7.0) -> int:
        """Delete what is older than the retention: logged questions (and their prompts) after
        retention_days, chat turns and answer messages after a day, button payloads after
        `buttons_days`. The number of logged questions deleted."""
        now = time.time() if now is None else now
        cutoff = now - self.retention_days * 86400
        with self._write() as conn:
            old = select(questions.c.id).where(questions.c.asked_at < cutoff)
            conn.execute(delete(prompts).where(prompts.c.question_id.in_(old)))
            deleted = conn.execute(delete(questions).where(questions.c.asked_at < cutoff)).rowcount
            conn.execute(delete(chat_turns).where(chat_turns.c.asked_at < now - 86400))
            conn.execute(delete(answers).where(answers.c.sent_at < now - 86400))
            conn.execute(delete(buttons).where(buttons.c.created_at < now - buttons_days * 86400))
        return deleted


def _insert(conn):
    """INSERT … ON CONFLICT of the connection's dialect (SQLite and PostgreSQL both have it)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert
    return sqlite.insert


def _source(quote: Quote) -> dict:
    return {
        "article": quote.article_id,
        "title": quote.title,
        "url": quote.url,
        "published": quote.published.isoformat() if quote.published else None,
        "quote": quote.text,
    }


def _engine(url: str | None, data_dir: Path) -> Engine:
    if url:
        if url.startswith(("postgres://", "postgresql://")):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]  # psycopg 3, not psycopg2
        try:
            return create_engine(url, pool_pre_ping=True)
        except (SQLAlchemyError, ValueError) as exc:
            raise StoreError(
                f"TALKS_DATABASE_URL is not a database URL this bot can use ({type(exc).__name__}):"
                " use postgresql://USER:PASSWORD@HOST:PORT/DATABASE, or leave it unset for SQLite "
                "in the data folder."
            ) from None
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{data_dir / SQLITE_NAME}", poolclass=NullPool)
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection, _record) -> None:
    """WAL (readers never wait; a killed process loses no committed row), wait for a busy
    writer rather than fail, and let SQLAlchemy say when transactions begin."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=10000")
    # A new file is switched to WAL by whichever connection comes first; two switching at once
    # deadlock, and SQLite fails one at once ("database is locked") instead of waiting: retry,
    # the file is in WAL mode by then and the switch is a no-op.
    for attempt in range(200):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as exc:
            if attempt == 199 or "locked" not in str(exc):
                raise
            time.sleep(0.05)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(conn) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")  # take the write lock first: no upgrade deadlocks


def driver_line(exc: SQLAlchemyError) -> str:
    """The database driver's first line (its kind when it has none), with no URL or password."""
    orig = getattr(exc, "orig", None)
    line = str(orig).strip().splitlines()[0] if orig and str(orig).strip() else type(exc).__name__
    return line[:200]
