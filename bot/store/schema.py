"""The chat store's tables and their migrations (SQLAlchemy Core, the same on SQLite and
PostgreSQL).

A migration is a numbered function; `migrate` applies those a database lacks, in order, in one
transaction, and records each in `schema_version`. Two replicas starting at once take turns: on
PostgreSQL an advisory lock, on SQLite the write lock of BEGIN IMMEDIATE. Tables are never
changed in place: a new migration adds to the list below.

No table holds a user id, a name or a chat id: chats are known by a keyed hash (store.chats).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
    text,
)

from index.errors import TalksError


class StoreError(TalksError):
    """The chat store cannot be opened or used; the message says what to do."""


metadata = MetaData()

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("applied_at", Float, nullable=False),
)

deployment = Table(  # one row: what this deployment's chat hashes are keyed with
    "deployment",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", Text, nullable=False),
)

chat_turns = Table(  # the last question of each chat, for follow-ups
    "chat_turns",
    metadata,
    Column("chat", String(64), primary_key=True),
    Column("question", Text, nullable=False),
    Column("asked_at", Float, nullable=False),
)

answers = Table(  # the bot's answer messages and the question each answered: a reply continues it
    "answers",
    metadata,
    Column("chat", String(64), primary_key=True),
    Column("message_id", Integer, primary_key=True),
    Column("question", Text, nullable=False),
    Column("sent_at", Float, nullable=False, index=True),
)

questions = Table(  # what readers asked: the log
    "questions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("chat", String(64), nullable=False, index=True),
    Column("asked_at", Float, nullable=False, index=True),
    Column("message", Text, nullable=False),  # as typed
    Column("question", Text, nullable=False),  # as answered (a follow-up completed)
    Column("follow_up", Boolean, nullable=False),
    Column("language", String(8), nullable=False),
    Column("answered", Boolean, nullable=False),
    Column("answer", Text),
    Column("sources", Text, nullable=False),  # JSON: the quoted articles
    Column("index_version", String(64)),
    Column("feedback", Integer),  # 1 👍, -1 👎, NULL none
    Column("feedback_at", Float),
    Column("correction", Text),  # the reader's own answer after a 👎
)

prompts = Table(  # "reply with the right answer" messages waiting for a reply
    "prompts",
    metadata,
    Column("chat", String(64), primary_key=True),
    Column("message_id", Integer, primary_key=True),
    Column("question_id", Integer, nullable=False),
    Column("sent_at", Float, nullable=False),
)

buttons = Table(  # what a button under an answer needs (the quotes behind "More sources")
    "buttons",
    metadata,
    Column("key", String(32), primary_key=True),
    Column("payload", Text, nullable=False),  # JSON
    Column("created_at", Float, nullable=False, index=True),
)


def _v1(conn: Connection) -> None:
    for table in (deployment, chat_turns, questions, prompts, buttons):
        table.create(conn)
    conn.execute(insert(deployment).values(name="chat_key", value=secrets.token_hex(32)))


def _v2(conn: Connection) -> None:
    answers.create(conn)


MIGRATIONS: list[Callable[[Connection], None]] = [_v1, _v2]  # version n is MIGRATIONS[n - 1]
LATEST = len(MIGRATIONS)
_LOCK_ID = 0x74616C6B  # "talk": the advisory lock replicas migrate under


def migrate(conn: Connection) -> int:
    """Bring the database up to LATEST inside the caller's transaction; the version it was at
    before. A database newer than this code is refused (an older replica must not write to it)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
    schema_version.create(conn, checkfirst=True)
    current = (
        conn.execute(
            select(schema_version.c.version).order_by(schema_version.c.version.desc()).limit(1)
        ).scalar()
        or 0
    )
    if current > LATEST:
        raise StoreError(
            f"The chat store is at schema version {current}, newer than this talks knows "
            f"({LATEST}): upgrade talks on this machine before serving from that database."
        )
    for version in range(current + 1, LATEST + 1):
        MIGRATIONS[version - 1](conn)
        conn.execute(insert(schema_version).values(version=version, applied_at=time.time()))
    return current
