"""The chat store (bot.store.ChatStore) on SQLite and on PostgreSQL: follow-ups, buttons and
feedback shared by replicas, corrections, the question log and its retention, keyed chat hashes
instead of chat ids, migrations, and what a bad TALKS_DATABASE_URL says.

Every test of the `store` fixture runs on both databases (PostgreSQL: a fresh database of the
server tests/pgserver.py starts; skipped where none is installed). Time is passed as `now=`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import tempfile
import threading
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, inspect, select

from bot.settings import Settings
from bot.store import ChatStore, StoreError, schema
from bot.store.chats import SQLITE_NAME
from index.models import Answer, Quote

from .pgserver import fresh_database

NOW = 1_750_000_000.0  # 2025-06-15 15:06 UTC
DAY = 86400.0
CHAT = 123456789  # a private chat (the user's id)
GROUP = -1001234567890  # a supergroup
UMEROV = "Делегацию Украины возглавил министр обороны Рустем Умеров."

Database = tuple[str | None, Path]  # (TALKS_DATABASE_URL or None for SQLite, data folder)


# --- helpers -------------------------------------------------------------------------------------


def quote(text: str = UMEROV, article: str = "2025-06-02-istanbul") -> Quote:
    return Quote(
        text=text,
        title="Переговоры в Стамбуле",
        url="https://example.org/istanbul",
        published=date(2025, 6, 2),
        article_id=article,
        start=120,
        end=120 + len(text),
        score=0.8125,
        sentence_start=120,
        sentence_end=120 + len(text),
    )


def answered(question: str, *, asked: str | None = None, language: str = "ru") -> Answer:
    """An answer with one quote; `asked`: the follow-up the reader typed."""
    return Answer(
        question=question,
        answered=True,
        answer=UMEROV,
        quotes=[quote()],
        language=language,
        asked=asked,
    )


def declined(question: str, *, language: str = "ru") -> Answer:
    return Answer(question=question, answered=False, answer=None, quotes=[], language=language)


def rows(store: ChatStore, table) -> list:
    with store.engine.connect() as conn:
        return list(conn.execute(select(table)))


def every_value(store: ChatStore) -> list[str]:
    """Every value of every table of the schema, as text."""
    return [
        str(v) for table in schema.metadata.sorted_tables for r in rows(store, table) for v in r
    ]


def versions(store: ChatStore) -> list[tuple]:
    with store.engine.connect() as conn:
        return list(conn.execute(select(schema.schema_version).order_by("version")))


def together(n: int, task: Callable[[int], object]) -> list[object]:
    """Run task(0) … task(n - 1) in n threads released at the same moment."""
    barrier = threading.Barrier(n)

    def run(i: int) -> object:
        barrier.wait()
        return task(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def database(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    """An empty database of the backend."""
    if backend == "sqlite":
        return None, tmp_path
    return request.getfixturevalue("postgres_url"), tmp_path


@pytest.fixture
def fresh(backend: str, request: pytest.FixtureRequest, tmp_path: Path):
    """Makes more empty databases of the backend: fresh() -> (url, folder)."""
    with ExitStack() as stack:

        def make() -> Database:
            folder = Path(tempfile.mkdtemp(dir=tmp_path))
            if backend == "sqlite":
                return None, folder
            server = request.getfixturevalue("postgres_server")
            return stack.enter_context(fresh_database(server)), folder

        yield make


@pytest.fixture
def second_database(fresh) -> Database:
    """Another empty database of the backend: a second deployment."""
    return fresh()


@pytest.fixture
def opened() -> Iterator[Callable[..., ChatStore]]:
    """ChatStore.open(url, folder, **options), closed after the test."""
    stores: list[ChatStore] = []

    def open_(db: Database, **options) -> ChatStore:
        stores.append(ChatStore.open(*db, **options))
        return stores[-1]

    yield open_
    for store in stores:
        store.close()


@pytest.fixture
def store(database: Database, opened) -> ChatStore:
    return opened(database)


@pytest.fixture
def replica(database: Database, store: ChatStore, opened) -> ChatStore:
    """A second store on the same database: another replica of `talks serve`."""
    return opened(database)


# --- follow-ups and buttons ----------------------------------------------------------------------


def test_previous_question_is_the_chats_last_while_recent(store: ChatStore) -> None:
    """Only the chat's own question, only within `within` seconds; remembering replaces it."""
    store.remember_question(CHAT, "Кто возглавляет делегацию Украины?", now=NOW)
    assert store.previous_question(CHAT, 600, now=NOW + 599) == "Кто возглавляет делегацию Украины?"
    assert store.previous_question(CHAT, 600, now=NOW + 600) is None
    assert store.previous_question(GROUP, 600, now=NOW + 1) is None

    store.remember_question(CHAT, "А кто возглавляет делегацию России?", now=NOW + 700)
    assert (
        store.previous_question(CHAT, 600, now=NOW + 701) == "А кто возглавляет делегацию России?"
    )
    assert len(rows(store, schema.chat_turns)) == 1


def test_replicas_share_follow_ups_and_button_quotes(store: ChatStore, replica: ChatStore) -> None:
    """What one replica writes the other reads; a button's quotes are taken once."""
    store.remember_question(GROUP, "Где прошли переговоры?", now=NOW)
    assert replica.previous_question(GROUP, 600, now=NOW + 1) == "Где прошли переговоры?"

    kept = [quote(), quote("Российскую делегацию возглавил Владимир Мединский.", "2025-06-03-x")]
    key = store.keep_quotes(kept)
    assert replica.take_quotes(key) == kept
    assert store.take_quotes(key) is None
    assert replica.take_quotes(key) is None
    assert replica.take_quotes("0" * 16) is None


# --- feedback and corrections --------------------------------------------------------------------


def test_feedback_is_recorded_once(store: ChatStore) -> None:
    """The first press counts; a second (same or other button) is "already"; no row is "gone"."""
    qid = store.log(CHAT, "Кто возглавил делегацию?", answered("Кто возглавил делегацию?"), "v1")
    assert store.feedback(qid, -1) == "recorded"
    assert store.feedback(qid, -1) == "already"
    assert store.feedback(qid, 1) == "already"
    assert store.feedback(qid + 1000, 1) == "gone"
    assert [r.feedback for r in store.questions()] == [-1]


def test_one_of_many_presses_at_once_is_recorded(store: ChatStore, replica: ChatStore) -> None:
    """Eight presses landing together on two replicas: exactly one records, and its value stays."""
    qid = store.log(CHAT, "Кто возглавил делегацию?", answered("Кто возглавил делегацию?"), "v1")
    values = [1 if i % 2 else -1 for i in range(8)]
    results = together(8, lambda i: (store, replica)[i % 2].feedback(qid, values[i]))
    assert sorted(results) == ["already"] * 7 + ["recorded"]
    assert [r.feedback for r in store.questions()] == [values[results.index("recorded")]]


def test_a_reply_to_the_prompt_is_kept_as_the_correction_once(store: ChatStore) -> None:
    """Only a reply to the prompt of that chat counts, and only the first one."""
    qid = store.log(CHAT, "Кто возглавил делегацию?", answered("Кто возглавил делегацию?"), "v1")
    store.feedback(qid, -1)
    store.await_correction(CHAT, message_id=42, question_id=qid)

    assert not store.correct(GROUP, 42, "Другой чат")  # the same message id in another chat
    assert not store.correct(CHAT, 41, "Другое сообщение")
    assert store.correct(CHAT, 42, "Рустем Умеров")
    assert not store.correct(CHAT, 42, "Ещё раз")
    assert [r.correction for r in store.questions()] == ["Рустем Умеров"]
    assert rows(store, schema.prompts) == []


def test_one_of_many_replies_at_once_is_the_correction(
    store: ChatStore, replica: ChatStore
) -> None:
    """Eight replies to one prompt landing together on two replicas: one is taken (True), and it
    is the one kept; the others are told False (three rounds: the race is not always lost)."""
    texts = [f"Ответ читателя {i}" for i in range(8)]
    for message_id in (100, 101, 102):
        qid = store.log(CHAT, "Кто возглавил делегацию?", answered("Кто возглавил делегацию?"), "v")
        store.await_correction(CHAT, message_id, qid)
        taken = together(8, _reply(store, replica, message_id, texts))
        assert taken.count(True) == 1, taken
        assert store.questions()[-1].correction == texts[taken.index(True)]


def _reply(store: ChatStore, replica: ChatStore, message_id: int, texts: list[str]):
    """Reply i: texts[i] to `message_id`, through the store or the replica by turns."""
    return lambda i: (store, replica)[i % 2].correct(CHAT, message_id, texts[i])


# --- the log -------------------------------------------------------------------------------------


def test_the_log_keeps_the_question_as_typed_and_as_answered(store: ChatStore) -> None:
    """Message, completed question, language, answer and sources; `only_failed`: declined or 👎."""
    follow_up = answered("А кто возглавил делегацию России?", asked="А России?")
    first = store.log(CHAT, "А России?", follow_up, "idx-7", now=NOW)
    next_round = "Когда следующий раунд?"
    refused = store.log(CHAT, next_round, declined(next_round), "idx-7", now=NOW + 1)
    english = answered("who leads the ukrainian delegation?", language="en")
    disliked = store.log(GROUP, "who leads the ukrainian delegation?", english, None, now=NOW + 2)
    liked = store.log(GROUP, "who leads it?", english, None, now=NOW + 3)
    store.feedback(disliked, -1)
    store.feedback(liked, 1)

    logged = store.questions()
    assert [r.id for r in logged] == [first, refused, disliked, liked]
    row = logged[0]
    assert (row.message, row.question, row.follow_up) == (
        "А России?",
        "А кто возглавил делегацию России?",
        True,
    )
    assert (row.language, row.answered, row.answer, row.index_version, row.asked_at) == (
        "ru",
        True,
        UMEROV,
        "idx-7",
        NOW,
    )
    assert row.sources == [
        {
            "article": "2025-06-02-istanbul",
            "title": "Переговоры в Стамбуле",
            "url": "https://example.org/istanbul",
            "published": "2025-06-02",
            "quote": UMEROV,
        }
    ]
    no = logged[1]
    assert (no.follow_up, no.answered, no.answer, no.sources) == (False, False, None, [])
    assert logged[2].language == "en"

    assert [r.id for r in store.questions(only_failed=True)] == [refused, disliked]
    assert [r.id for r in store.questions(NOW + 1, only_failed=True, limit=1)] == [refused]
    assert [r.id for r in store.questions(NOW + 2)] == [disliked, liked]


def test_with_the_log_off_nothing_is_logged(database: Database, opened) -> None:
    """log_questions=False: log() returns None and the table stays empty."""
    store = opened(database, log_questions=False)
    assert (
        store.log(CHAT, "Где прошли переговоры?", declined("Где прошли переговоры?"), "v1") is None
    )
    assert store.questions() == []
    assert rows(store, schema.questions) == []


def test_prune_deletes_what_is_past_the_retention(database: Database, opened) -> None:
    """Logged rows (and their prompts) older than retention_days go, newer ones stay; chat turns
    and answer messages go after a day, button quotes after buttons_days."""
    store = opened(database, retention_days=30)
    old = store.log(CHAT, "Старый вопрос?", declined("Старый вопрос?"), "v1", now=NOW - 31 * DAY)
    new = store.log(CHAT, "Новый вопрос?", declined("Новый вопрос?"), "v1", now=NOW - 29 * DAY)
    store.await_correction(CHAT, 7, old)
    store.await_correction(CHAT, 8, new)
    store.remember_question(CHAT, "Вчерашний вопрос?", now=NOW - DAY - 1)
    store.remember_question(GROUP, "Сегодняшний вопрос?", now=NOW - DAY + 60)
    store.remember_answer(CHAT, [70], "Вчерашний вопрос?", now=NOW - DAY - 1)
    store.remember_answer(CHAT, [80], "Сегодняшний вопрос?", now=NOW - DAY + 60)
    stale = store.keep_quotes([quote()], now=NOW - 8 * DAY)
    fresh = store.keep_quotes([quote()], now=NOW - 6 * DAY)

    assert store.prune(now=NOW) == 1
    assert [r.id for r in store.questions()] == [new]
    assert [r.question_id for r in rows(store, schema.prompts)] == [new]
    assert [r.question for r in rows(store, schema.chat_turns)] == ["Сегодняшний вопрос?"]
    assert [store.answered_by(CHAT, 70), store.answered_by(CHAT, 80)] == [
        None,
        "Сегодняшний вопрос?",
    ]
    assert store.take_quotes(stale) is None
    assert store.take_quotes(fresh) == [quote()]
    assert store.prune(now=NOW) == 0


# --- no identities -------------------------------------------------------------------------------


def test_no_chat_id_is_stored_anywhere(store: ChatStore) -> None:
    """Every value of every table: neither chat id appears, chats are 32-hex HMACs."""
    for chat in (CHAT, GROUP):
        qid = store.log(chat, "Кто возглавил делегацию?", answered("Кто возглавил делегацию?"), "v")
        store.feedback(qid, -1)
        store.await_correction(chat, 99, qid)
        store.remember_question(chat, "Кто возглавил делегацию?", now=NOW)
        store.remember_answer(chat, [100, 101], "Кто возглавил делегацию?", now=NOW)
    store.correct(CHAT, 99, "Умеров")
    store.keep_quotes([quote()])

    values = every_value(store)
    assert values and not [v for v in values if "123456789" in v or "1001234567890" in v]
    hashes = {r.chat for r in rows(store, schema.questions)}
    assert hashes == {store.chat(CHAT), store.chat(GROUP)}
    assert all(re.fullmatch(r"[0-9a-f]{32}", h) for h in hashes)
    [(_, key)] = rows(store, schema.deployment)
    expected = hmac.new(key.encode(), str(GROUP).encode(), hashlib.sha256).hexdigest()[:32]
    assert store.chat(GROUP) == expected


def test_deployments_hash_chats_apart_unless_given_one_key(
    database: Database, second_database: Database, opened
) -> None:
    """Each fresh database makes its own key; an explicit chat_key gives the same hashes."""
    assert opened(database).chat(CHAT) != opened(second_database).chat(CHAT)
    key = "shared-deployment-key"
    expected = hmac.new(key.encode(), str(CHAT).encode(), hashlib.sha256).hexdigest()[:32]
    assert opened(database, chat_key=key).chat(CHAT) == expected
    assert opened(second_database, chat_key=key).chat(CHAT) == expected


# --- migrations ----------------------------------------------------------------------------------


def test_a_fresh_database_is_migrated_once(database: Database, store: ChatStore, opened) -> None:
    """Fresh: every migration, recorded; opened again: nothing applied, rows and key kept."""
    before = versions(store)
    assert [v.version for v in before] == list(range(1, schema.LATEST + 1))
    qid = store.log(CHAT, "Где прошли переговоры?", declined("Где прошли переговоры?"), "v1")

    again = opened(database)
    assert versions(again) == before
    assert [r.id for r in again.questions()] == [qid]
    assert again.chat(CHAT) == store.chat(CHAT)
    with again.engine.begin() as conn:
        assert schema.migrate(conn) == schema.LATEST


RELEASED_V1 = ("deployment", "chat_turns", "questions", "prompts", "buttons")  # as first released


def test_a_database_of_the_first_release_gains_every_table(database: Database, opened) -> None:
    """A database at version 1 as first released (its five tables) is brought up to every table
    this code uses: a new table comes with a new migration, never by editing an applied one."""
    url, folder = database
    engine = create_engine(url or f"sqlite:///{folder / SQLITE_NAME}")
    with engine.begin() as conn:
        schema.schema_version.create(conn)
        for name in RELEASED_V1:
            schema.metadata.tables[name].create(conn)
        conn.execute(insert(schema.schema_version).values(version=1, applied_at=NOW))
        conn.execute(insert(schema.deployment).values(name="chat_key", value="k" * 64))
    engine.dispose()

    store = opened(database)
    assert set(inspect(store.engine).get_table_names()) == set(schema.metadata.tables)
    assert [v.version for v in versions(store)] == list(range(1, schema.LATEST + 1))


def test_a_database_newer_than_this_code_is_refused(database: Database, store: ChatStore) -> None:
    """A schema_version this code does not know: StoreError saying to upgrade."""
    with store.engine.begin() as conn:
        conn.execute(
            insert(schema.schema_version).values(version=schema.LATEST + 1, applied_at=NOW)
        )
    newer = rf"schema version {schema.LATEST + 1}, newer .* upgrade talks"
    with pytest.raises(StoreError, match=newer):
        ChatStore.open(*database)


def test_replicas_starting_together_migrate_once(backend: str, fresh, opened) -> None:
    """Four stores opening one fresh database at once all open, with one key, and each version
    applied once (repeated on new databases: a lost race is not lost every time)."""
    for _ in range(40 if backend == "sqlite" else 4):
        database = fresh()
        stores = together(4, _opening(opened, database))
        assert [v.version for v in versions(stores[0])] == list(range(1, schema.LATEST + 1))
        assert len(rows(stores[0], schema.deployment)) == 1
        assert len({s.chat(CHAT) for s in stores}) == 1


def _opening(opened, database: Database) -> Callable[[int], ChatStore]:
    return lambda _: opened(database)


# --- settings ------------------------------------------------------------------------------------


def test_an_unreachable_database_is_named_without_its_password(tmp_path: Path) -> None:
    """The host and what to check are said; the password is not, not even in the traceback."""
    settings = Settings.from_env(
        {
            "TALKS_DATABASE_URL": "postgresql://talks:secretpw@127.0.0.1:1/nope",
            "TALKS_DATA_DIR": str(tmp_path),
        }
    )
    with pytest.raises(StoreError) as caught:
        settings.open_store()
    message = str(caught.value)
    assert "127.0.0.1" in message and "TALKS_DATABASE_URL" in message, message
    assert "reachable" in message, message
    assert "secretpw" not in "".join(traceback.format_exception(caught.value))


def test_a_url_of_no_usable_database_says_what_to_write(tmp_path: Path) -> None:
    """A URL SQLAlchemy cannot use: the form to write is shown, the password is not."""
    settings = Settings.from_env(
        {"TALKS_DATABASE_URL": "nosuchdb://talks:secretpw@db/x", "TALKS_DATA_DIR": str(tmp_path)}
    )
    with pytest.raises(StoreError, match="postgresql://USER:PASSWORD@HOST") as caught:
        settings.open_store()
    assert "secretpw" not in "".join(traceback.format_exception(caught.value))


def test_settings_open_sqlite_in_the_data_folder(tmp_path: Path) -> None:
    """No URL: SQLite in TALKS_DATA_DIR, with the log switch, retention and chat key applied."""
    settings = Settings.from_env(
        {
            "TALKS_DATA_DIR": str(tmp_path / "data"),
            "TALKS_QUESTION_LOG": "off",
            "TALKS_QUESTION_LOG_DAYS": "30",
            "TALKS_CHAT_KEY": "ключ",
        }
    )
    store = settings.open_store()
    try:
        assert (tmp_path / "data" / "chats.sqlite3").is_file()
        assert store.engine.dialect.name == "sqlite"
        assert store.log(CHAT, "Вопрос?", declined("Вопрос?"), "v1") is None
        assert store.retention_days == 30
        key = "ключ".encode()
        assert store.chat(CHAT) == hmac.new(key, b"123456789", hashlib.sha256).hexdigest()[:32]
    finally:
        store.close()


def test_settings_open_postgresql_by_url(postgres_url: str, tmp_path: Path) -> None:
    """TALKS_DATABASE_URL (postgresql://, as providers give it): PostgreSQL, nothing in the folder."""
    url = "postgresql://" + postgres_url.split("://", 1)[1]
    settings = Settings.from_env({"TALKS_DATABASE_URL": url, "TALKS_DATA_DIR": str(tmp_path)})
    store = settings.open_store()
    try:
        assert store.engine.dialect.name == "postgresql"
        qid = store.log(CHAT, "Вопрос?", declined("Вопрос?"), "v1")
        assert [r.id for r in store.questions()] == [qid]
        assert not (tmp_path / "chats.sqlite3").exists()
    finally:
        store.close()
