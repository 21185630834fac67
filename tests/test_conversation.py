"""Conversations through the real python-telegram-bot and the stand-in Bot API, answering from
real news articles (tests/data/real, the REAL_SUBSET): follow-ups in three languages, what is
not merged, chats kept apart, the time limit, groups, and 👍/👎 with the reader's correction.

Article 922 (DW, 8 February 2017) reports that the separatist commander Givi was killed in a
bombing and that Motorola was killed the same way in October.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from bot.app import build_application

from .conftest import TOKEN, bot_settings, start_polling, stop_polling
from .helpers import callback_answers, reply_to

pytestmark = pytest.mark.model
GIVI = "2017-02-08-922-top-ukraine-separatist-commander-assassinated"
MOTOROLA = "Motorola"  # in the quote that answers about him
GIVI_QUOTE = "Givi, was killed"


@pytest.fixture
async def chat_bot(tg, real_engine):
    """The bot on the real subset, with its own SQLite chat store (TALKS_DATA_DIR)."""
    app = await _started(tg, real_engine)
    yield app
    await stop_polling(app)


async def _started(tg, engine, **settings):
    app = build_application(bot_settings(tg, engine.index_dir, **settings), engine=engine)
    await start_polling(app)
    await tg.wait_until_polling()
    return app


async def ask(tg, text: str, *, user: dict, chat: dict | None = None, reply: dict | None = None):
    """Send `text` as `user`; the bot's reply (its sendMessage result). A leading @mention is
    marked as one, as Telegram does."""
    mention = re.match(r"@\w+", text)
    entities = [{"type": "mention", "offset": 0, "length": mention.end()}] if mention else None
    msg = tg.push_text(text, user=user, chat=chat, reply_to=reply, entities=entities)
    return (await reply_to(tg, msg, timeout=60)).result


def answering(reply: dict) -> str | None:
    """The completed question the reply says it answered, if any."""
    match = re.match(r"(?:Answering|Відповідаю на|Отвечаю на): (.+)", reply["text"])
    return match.group(1).strip() if match else None


def sources(tg, reply: dict) -> str:
    """The reply's text with its article links (the quotes' sources)."""
    links = " ".join(e.get("url", "") for e in reply.get("entities", []))
    return reply["text"] + " " + links


# (message, the question it is completed to, words of the article's answer)
CONVERSATIONS = {
    "en": [
        ("when was givi killed?", None, GIVI_QUOTE),
        ("and motorola?", "when was motorola killed?", MOTOROLA),
        ("how?", "how was motorola killed?", MOTOROLA),
    ],
    "ru": [
        ("как погиб гиви?", None, GIVI_QUOTE),
        ("а моторола?", "как погиб моторола?", MOTOROLA),
        ("когда?", "когда погиб моторола?", MOTOROLA),
    ],
    # article 3459 (TASS, 27 March 2017): Syria's UN envoys before de Mistura
    "uk": [
        ("Коли Лахдар Брахімі пішов з посади спецпосланника щодо Сирії?", None, "Brahimi"),
        ("а Кофі Аннан?", "Коли Кофі Аннан пішов з посади спецпосланника щодо Сирії?", "Annan"),
        ("а Брахімі?", "Коли Брахімі пішов з посади спецпосланника щодо Сирії?", "May 2014"),
    ],
}


@pytest.mark.parametrize("language", ["en", "ru", "uk"])
async def test_a_three_turn_conversation_follows_its_subject(tg, chat_bot, language) -> None:
    """Each follow-up is completed from the turn before, says so, is answered from the right
    article, and exactly as the completed question is when typed whole in a new chat."""
    reader = tg.make_user("Reader", language_code=language)
    for message, completed, answer_words in CONVERSATIONS[language]:
        reply = await ask(tg, message, user=reader)
        assert answering(reply) == completed
        assert answer_words in reply["text"]
        if completed is not None:
            fresh = await ask(tg, completed, user=tg.make_user("Fresh", language_code=language))
            assert reply["text"].split("\n\n", 1)[1] == fresh["text"]  # the same answer


async def test_a_new_question_in_between_is_not_merged(tg, chat_bot) -> None:
    reader = tg.make_user("Reader")
    await ask(tg, "when was givi killed?", user=reader)
    full = await ask(tg, "who is france's foreign minister?", user=reader)
    assert answering(full) is None  # a question of its own
    reply = await ask(tg, "and germany's?", user=reader)
    assert answering(reply) == "who is germany's foreign minister?"
    assert "Gabriel" in reply["text"]


async def test_two_chats_do_not_share_their_context(tg, chat_bot) -> None:
    alice, bob = tg.make_user("Alice"), tg.make_user("Bob")
    await ask(tg, "when was givi killed?", user=alice)
    await ask(tg, "who is france's foreign minister?", user=bob)
    reply = await ask(tg, "and motorola?", user=alice)
    assert answering(reply) == "when was motorola killed?"
    reply = await ask(tg, "and germany's?", user=bob)
    assert answering(reply) == "who is germany's foreign minister?"


async def test_after_the_time_limit_a_fragment_stands_alone(tg, real_engine) -> None:
    app = await _started(tg, real_engine, follow_up_seconds=3.0)
    try:
        reader = tg.make_user("Reader")
        await ask(tg, "when was givi killed?", user=reader)
        quick = await ask(tg, "and motorola?", user=reader)
        assert answering(quick) == "when was motorola killed?"
        await asyncio.sleep(3.5)  # the limit is the setting under test
        late = await ask(tg, "how?", user=reader)
        assert answering(late) is None
    finally:
        await stop_polling(app)


async def test_in_a_group_only_a_reply_to_the_bot_continues(tg, chat_bot) -> None:
    group = tg.group_chat()
    reader = tg.make_user("Reader")
    mention = "@news_test_bot"
    first = await ask(tg, f"{mention} when was givi killed?", user=reader, chat=group)
    alone = await ask(tg, f"{mention} and motorola?", user=reader, chat=group)
    assert answering(alone) is None  # addressed, but not a reply: a question of its own
    reply = await ask(tg, "and motorola?", user=reader, chat=group, reply=first)
    assert answering(reply) == "when was motorola killed?"  # the question `first` answered


def _buttons(reply: dict) -> dict[str, str]:
    rows = reply.get("reply_markup", {}).get("inline_keyboard", [])
    return {b["text"]: b["callback_data"] for row in rows for b in row if "callback_data" in b}


async def test_feedback_is_recorded_once_and_a_correction_is_kept(tg, chat_bot) -> None:
    store = chat_bot.bot_data["state"].store
    reader = tg.make_user("Reader", id=734958612, username="reader_handle", last_name="Surname")
    reply = await ask(tg, "when was givi killed?", user=reader)
    buttons = _buttons(reply)
    assert set(buttons) >= {"👍", "👎"}
    down = buttons["👎"]
    for _ in range(2):  # a double tap
        tg.push_callback_query(reply, down, user=reader)
    prompt = await tg.wait_for_call(
        "sendMessage", lambda c: "reply to this message" in c.params.get("text", ""), timeout=20
    )
    answers = await callback_answers(tg, 2)
    assert sorted(answers) == ["Thanks for telling me.", "You have already rated this answer."]
    tg.push_callback_query(reply, buttons["👍"], user=reader)  # a change of mind: not counted
    await callback_answers(tg, 3)
    prompts = [m for m in tg.sent_messages() if "reply to this message" in m["text"]]
    assert len(prompts) == 1
    edited = tg.messages[(reply["chat"]["id"], reply["message_id"])]
    assert "👎" not in str(edited.get("reply_markup", {}))  # rated: the buttons are gone
    thanks = await ask(tg, "It was a rocket fired at his office", user=reader, reply=prompt.result)
    assert "the editors will see" in thanks["text"]
    [row] = store.questions()
    assert (row.feedback, row.correction) == (-1, "It was a rocket fired at his office")
    assert row.sources and row.sources[0]["article"] == GIVI
    _no_identity(store, reader, reply["chat"]["id"])


async def test_a_button_from_before_a_restart_still_counts_once(tg, real_engine) -> None:
    first = await _started(tg, real_engine)
    reader = tg.make_user("Reader")
    reply = await ask(tg, "when was givi killed?", user=reader)
    await stop_polling(first)
    second = await _started(tg, real_engine)  # the same chat store (TALKS_DATA_DIR)
    try:
        tg.push_callback_query(reply, _buttons(reply)["👍"], user=reader)
        tg.push_callback_query(reply, _buttons(reply)["👍"], user=reader)
        answers = await callback_answers(tg, 2)
        assert sorted(answers) == ["Thanks for telling me.", "You have already rated this answer."]
        [row] = second.bot_data["state"].store.questions()
        assert row.feedback == 1
    finally:
        await stop_polling(second)


async def test_with_the_log_off_nothing_is_kept_and_no_rating_is_offered(tg, real_engine) -> None:
    app = await _started(tg, real_engine, question_log=False)
    try:
        reader = tg.make_user("Reader")
        reply = await ask(tg, "when was givi killed?", user=reader)
        assert "👍" not in _buttons(reply)
        follow = await ask(tg, "and motorola?", user=reader)  # follow-ups still work
        assert answering(follow) == "when was motorola killed?"
        assert app.bot_data["state"].store.questions() == []
    finally:
        await stop_polling(app)


async def test_editors_see_what_readers_asked_that_the_articles_lack(tg, real_engine) -> None:
    editor = tg.make_user("Editor")
    app = await _started(tg, real_engine, admin_ids=str(editor["id"]))
    try:
        for name in ("A", "B", "C"):
            declined = await ask(
                tg, "who won the 2016 eurovision song contest?", user=tg.make_user(name)
            )
            assert "Not in my sources" in declined["text"]
        await ask(tg, "when was givi killed?", user=tg.make_user("D"))
        listing = await ask(tg, "/asked", user=editor)
        assert "3× who won the 2016 eurovision song contest?" in listing["text"]
        assert "givi" not in listing["text"]  # answered and not rated: not listed
        refused = await ask(tg, "/asked", user=tg.make_user("Reader"))
        assert "only the bot's editors" in refused["text"]
    finally:
        await stop_polling(app)


def _no_identity(store, user: dict, chat_id: int) -> None:
    """No user id, chat id, name, username or token anywhere in the store."""
    from sqlalchemy import select

    from bot.store.schema import metadata

    with store.engine.connect() as conn:
        values = [
            str(value)
            for table in metadata.sorted_tables
            for row in conn.execute(select(table))
            for value in row
        ]
    dump = " ".join(values)
    for secret in (str(user["id"]), str(chat_id), user["first_name"], user["username"],
                   user["last_name"], TOKEN, TOKEN.split(":")[1]):  # fmt: skip
        assert secret not in dump


async def test_a_button_forged_in_another_chat_rates_nothing(tg, chat_bot) -> None:
    alice, bob = tg.make_user("Alice"), tg.make_user("Bob")
    hers = await ask(tg, "when was givi killed?", user=alice)
    his = await ask(tg, "when was givi killed?", user=bob)
    tg.push_callback_query(his, _buttons(hers)["👎"], user=bob)  # her question's id, his chat
    assert await callback_answers(tg, 1) == ["That answer is too old to rate now."]
    rows = chat_bot.bot_data["state"].store.questions()
    assert [r.feedback for r in rows] == [None, None]


async def test_with_the_database_down_questions_are_still_answered(tg, chat_bot, caplog) -> None:
    """The chat store unreachable: answered alone, without buttons or the log, no apology."""
    from sqlalchemy import create_engine

    store = chat_bot.bot_data["state"].store
    store.engine = create_engine("postgresql+psycopg://talks:pw@127.0.0.1:1/gone")
    reader = tg.make_user("Reader")
    reply = await ask(tg, "when was givi killed?", user=reader)
    assert GIVI_QUOTE in reply["text"] and "👍" not in _buttons(reply)
    follow = await ask(tg, "and motorola?", user=reader)
    assert answering(follow) is None  # no previous question to complete it from
    assert not [m for m in tg.sent_messages() if "went wrong" in m["text"]]
    assert "could not" in caplog.text and "pw@" not in caplog.text
