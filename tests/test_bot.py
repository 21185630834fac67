"""End to end: the real python-telegram-bot, over real HTTP, against the stand-in Bot API server
(tests/fake_telegram), which parses our HTML the way Telegram does and enforces its limits."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.app import build_application

from .conftest import (
    BOT_USERNAME,
    DEV_ANSWERED_SHARE,
    bot_settings,
    dev_questions,
    start_polling,
    stop_polling,
)
from .helpers import assert_silent, entity_text, is_reply_to, quotes_in, reply_to

pytestmark = pytest.mark.model
ANSWERABLE = [
    q for q in dev_questions() if q["expect"] and not q["kind"].startswith("multilingual")
]
UNANSWERABLE = [q for q in dev_questions() if not q["expect"]]


async def still_serving(tg) -> None:
    msg = tg.push_text("who leads Ukraine's delegation", user=tg.make_user("Check"))
    call = await reply_to(tg, msg)
    assert "Umerov" in call.result["text"]


async def test_dev_questions_answered_with_expected_words_inside_quotes(tg, bot) -> None:
    """Each fair English dev question through Telegram: answered with its expected words inside
    linked, dated quotes, or declined (no more often than DEV_ANSWERED_SHARE allows)."""
    answered = 0
    for q in ANSWERABLE:
        msg = tg.push_text(q["q"])
        call = await reply_to(tg, msg)
        assert call.params["parse_mode"] == "HTML"
        if call.result["text"].startswith("Not in my sources"):
            continue
        answered += 1
        quotes = " ".join(quotes_in(call.result)).lower()
        assert any(word.lower() in quotes for word in q["expect"]), call.result["text"]
        # typing… was shown first, and every source is linked
        typing = [
            c for c in tg.calls_to("sendChatAction", ok=True) if c.params["action"] == "typing"
        ]
        assert typing
        links = [e for e in call.result.get("entities", []) if e["type"] == "text_link"]
        assert links and all(e["url"].startswith("https://") for e in links)
        assert "June 2025" in call.result["text"]
    assert answered >= DEV_ANSWERED_SHARE * len(ANSWERABLE), answered


@pytest.mark.parametrize("q", UNANSWERABLE, ids=[q["id"] for q in UNANSWERABLE])
async def test_unanswerable_dev_question_says_not_in_sources(tg, bot, q) -> None:
    msg = tg.push_text(q["q"])
    call = await reply_to(tg, msg)
    assert call.result["text"].startswith("Not in my sources")
    assert quotes_in(call.result) == []


async def test_answer_highlights_the_answer_sentence_inside_its_quote(tg, bot) -> None:
    msg = tg.push_text("Who is Vladimir Medinsky?")
    call = await reply_to(tg, msg)
    result = call.result
    first_quote = next(e for e in result["entities"] if e["type"] == "blockquote")
    bold = [
        e
        for e in result["entities"]
        if e["type"] == "bold"
        and first_quote["offset"] <= e["offset"]
        and e["offset"] + e["length"] <= first_quote["offset"] + first_quote["length"]
    ]
    assert bold and "Medinsky" in entity_text(result, bold[0])
    # the statement before the quotes is that same sentence
    assert result["text"].startswith(entity_text(result, bold[0]))


async def test_group_message_without_mention_gets_no_reply(tg, bot) -> None:
    group = tg.group_chat()
    tg.push_text("who leads Ukraine's delegation", chat=group)
    await assert_silent(tg, group["id"])


async def test_group_mention_and_reply_to_the_bot_are_answered(tg, bot) -> None:
    group = tg.group_chat()
    text = f"@{BOT_USERNAME} who leads Ukraine's delegation"
    msg = tg.push_text(text, chat=group)
    msg["entities"] = [{"type": "mention", "offset": 0, "length": len(BOT_USERNAME) + 1}]
    call = await reply_to(tg, msg)
    assert "Umerov" in call.result["text"]
    follow_up = tg.push_text("and who leads Russia's delegation?", chat=group, reply_to=call.result)
    call = await reply_to(tg, follow_up)
    assert "Medinsky" in call.result["text"]


async def test_start_help_and_sources(tg, bot) -> None:
    for command in ("/start", "/help"):
        msg = tg.push_text(command)
        call = await reply_to(tg, msg)
        text = call.result["text"]
        assert "Who leads Ukraine's delegation?" in text and "Articles in my index: 1" in text
    msg = tg.push_text("/sources")
    call = await reply_to(tg, msg)
    assert "2 June 2025" in call.result["text"]
    assert "Ukraine and Russia meet in Turkey" in call.result["text"]
    assert tg.calls_to("setMyCommands", ok=True)  # the command menu was registered


async def test_commands_with_bot_suffix_in_groups_and_unknown_commands(tg, bot) -> None:
    group = tg.group_chat()
    msg = tg.push_text(f"/help@{BOT_USERNAME}", chat=group)
    call = await reply_to(tg, msg)
    assert "Ask me about" in call.result["text"]
    tg.push_text("/weather", chat=group)  # for some other bot
    tg.push_text("/help@some_other_bot", chat=group)
    await assert_silent_except(tg, group["id"], allowed=1)
    msg = tg.push_text("/weather")
    call = await reply_to(tg, msg)
    assert "don't know the command /weather" in call.result["text"]


async def assert_silent_except(tg, chat_id: int, allowed: int) -> None:
    await asyncio.sleep(1.5)
    sent = [c for c in tg.calls_to("sendMessage") if c.params.get("chat_id") == chat_id]
    assert len(sent) == allowed, sent


@pytest.mark.parametrize(
    "content",
    [
        {"photo": [{"file_id": "p1", "file_unique_id": "u1", "width": 10, "height": 10}]},
        {
            "sticker": {
                "file_id": "s",
                "file_unique_id": "s",
                "type": "regular",
                "width": 5,
                "height": 5,
                "is_animated": False,
                "is_video": False,
            }
        },
        {"voice": {"file_id": "v", "file_unique_id": "v", "duration": 3}},
        {
            "photo": [{"file_id": "p1", "file_unique_id": "u1", "width": 10, "height": 10}],
            "caption": "",
        },
    ],
    ids=["photo", "sticker", "voice", "empty-caption"],
)
async def test_non_text_messages_get_a_polite_reply_in_private(tg, bot, content) -> None:
    user = tg.default_user
    chat = tg.private_chat(user)
    message = {"message_id": 900, "date": int(time.time()), "chat": chat, "from": user, **content}
    tg.messages[(chat["id"], 900)] = message
    tg.push_update({"message": message})
    call = await reply_to(tg, message)
    assert "only read questions written as text" in call.result["text"]
    await still_serving(tg)


async def test_photo_with_a_question_caption_is_answered(tg, bot) -> None:
    user = tg.default_user
    chat = tg.private_chat(user)
    message = {
        "message_id": 901,
        "date": int(time.time()),
        "chat": chat,
        "from": user,
        "photo": [{"file_id": "p1", "file_unique_id": "u1", "width": 10, "height": 10}],
        "caption": "Where did the delegations meet?",
    }
    tg.messages[(chat["id"], 901)] = message
    tg.push_update({"message": message})
    call = await reply_to(tg, message)
    assert "Istanbul" in call.result["text"]


async def test_non_text_in_a_group_is_ignored(tg, bot) -> None:
    group = tg.group_chat()
    message = {
        "message_id": 5,
        "date": int(time.time()),
        "chat": group,
        "from": tg.default_user,
        "sticker": {
            "file_id": "s",
            "file_unique_id": "s",
            "type": "regular",
            "width": 5,
            "height": 5,
            "is_animated": False,
            "is_video": False,
        },
    }
    tg.push_update({"message": message})
    await assert_silent(tg, group["id"])


async def test_edited_question_gets_a_new_answer(tg, bot) -> None:
    msg = tg.push_text("who leads Ukraines delegaton")
    await reply_to(tg, msg)
    edited = {**msg, "text": "Where did the delegations meet?", "edit_date": int(time.time())}
    tg.push_update({"edited_message": edited})
    call = await tg.wait_for_call(
        "sendMessage", lambda c: is_reply_to(c, msg) and "Istanbul" in c.result["text"], timeout=20
    )
    assert call.ok


async def test_long_question_is_refused_politely(tg, bot) -> None:
    msg = tg.push_text("Why? " * 800)  # 4,000 characters
    call = await reply_to(tg, msg)
    assert "at most 1,000 characters" in call.result["text"]
    await still_serving(tg)


async def test_mention_alone_is_an_empty_question(tg, bot) -> None:
    group = tg.group_chat()
    msg = tg.push_text(f"@{BOT_USERNAME}", chat=group)
    msg["entities"] = [{"type": "mention", "offset": 0, "length": len(BOT_USERNAME) + 1}]
    call = await reply_to(tg, msg)
    assert "empty" in call.result["text"]


@pytest.mark.parametrize(
    "text",
    [
        "<b>who</b> leads Ukraine's delegation & why?",
        "*who* _leads_ [Ukraine's](http://x) delegation ~`|>#+-=|{}.!",
        "who leads Ukraine's delegation </blockquote><a href='x'>",
        "&amp; &lt;script&gt; who leads Ukraine's delegation",
    ],
)
async def test_markup_characters_in_questions_are_harmless(tg, bot, text: str) -> None:
    msg = tg.push_text(text)
    call = await reply_to(tg, msg)
    assert "Umerov" in call.result["text"]
    assert not tg.calls_to("sendMessage", ok=False)  # the HTML we sent always parsed


async def test_more_sources_button(tg, bot) -> None:
    msg = tg.push_text("What happened in the talks?")
    call = await reply_to(tg, msg)
    markup = call.params.get("reply_markup")
    assert markup, "expected more quotes than fit the first reply"
    data = markup["inline_keyboard"][0][0]["callback_data"]
    assert len(data.encode()) <= 64
    tg.push_callback_query(call.result, data)
    more = await reply_to(tg, call.result)
    assert more.result["text"].startswith("More from the sources:")
    assert quotes_in(more.result)
    # the answer it came from no longer shows the button; a second press says it is used up
    await tg.wait_for_call("editMessageReplyMarkup", timeout=10)
    tg.push_callback_query(call.result, data)
    answered = await tg.wait_for_call(
        "answerCallbackQuery", lambda c: "too old" in c.params.get("text", ""), timeout=10
    )
    assert answered.ok


async def test_inline_mode_offers_the_answer(tg, bot) -> None:
    qid = tg.push_inline_query("who leads Ukraine's delegation")
    call = await tg.wait_for_call("answerInlineQuery", timeout=20)
    assert call.ok and call.params["inline_query_id"] == qid
    [result] = call.params["results"]
    assert "Umerov" in result["title"]
    assert result["input_message_content"]["parse_mode"] == "HTML"
    assert "Umerov" in result["input_message_content"]["message_text"]
    tg.push_inline_query("")
    empty = await tg.wait_for_call(
        "answerInlineQuery", lambda c: c.params["results"] == [], timeout=10
    )
    assert empty.ok


async def test_flood_control_429_is_retried_and_the_answer_arrives(tg, bot) -> None:
    tg.fail_next("sendMessage", 429, retry_after=1)
    msg = tg.push_text("Where did the delegations meet?")
    call = await reply_to(tg, msg, timeout=30)
    assert "Istanbul" in call.result["text"]
    assert tg.calls_to("sendMessage", ok=False)[0].status == 429


async def test_cant_parse_entities_falls_back_to_plain_text(tg, bot) -> None:
    tg.fail_next(
        "sendMessage",
        400,
        'Bad Request: can\'t parse entities: Unsupported start tag "x" at byte offset 0',
    )
    msg = tg.push_text("Where did the delegations meet?")
    call = await reply_to(tg, msg)
    assert "parse_mode" not in call.params
    assert "Istanbul" in call.result["text"] and "<b>" not in call.result["text"]


async def test_network_errors_while_polling_are_survived(tg, bot) -> None:
    tg.fail_next("getUpdates", 502, "Bad Gateway", times=2)
    tg._new_update.set()  # end the parked long poll so the failures are served next
    await asyncio.sleep(0.2)
    msg = tg.push_text("Where did the delegations meet?")
    call = await reply_to(tg, msg, timeout=30)
    assert "Istanbul" in call.result["text"]


async def test_inbound_rate_limit_per_user(tg, seed_engine, seed_index) -> None:
    app = build_application(
        bot_settings(tg, seed_index, rate_limit_questions=2), engine=seed_engine
    )
    await start_polling(app)
    try:
        alice, bob = tg.make_user("Alice"), tg.make_user("Bob")
        for _ in range(2):
            await reply_to(tg, tg.push_text("Where did the delegations meet?", user=alice))
        third = tg.push_text("Where did the delegations meet?", user=alice)
        call = await reply_to(tg, third)
        assert "faster than I can answer" in call.result["text"]
        fourth = tg.push_text("Where did the delegations meet?", user=alice)
        await asyncio.sleep(1.0)
        assert not [c for c in tg.calls if is_reply_to(c, fourth)]  # told once, then quiet
        call = await reply_to(tg, tg.push_text("Where did the delegations meet?", user=bob))
        assert "Istanbul" in call.result["text"]  # other users are not affected
    finally:
        await stop_polling(app)


async def test_a_failing_handler_tells_the_user_and_the_bot_keeps_serving(tg, bot) -> None:
    state = bot.bot_data["state"]
    good = state.engine

    class Broken:
        articles = good.articles
        manifest = good.manifest

        def __getattr__(self, name: str) -> object:
            raise RuntimeError("simulated failure inside retrieval")

    state.engine = Broken()
    msg = tg.push_text("Where did the delegations meet?")
    call = await tg.wait_for_call(
        "sendMessage", lambda c: "something went wrong" in c.params.get("text", ""), timeout=20
    )
    assert call.ok and call.params["chat_id"] == msg["chat"]["id"]
    assert "simulated" not in call.params["text"]
    state.engine = good
    await still_serving(tg)


async def test_slow_question_does_not_block_others(tg, bot, monkeypatch) -> None:
    import bot.conversation as conversation
    from index.answering import answer_after as real_answer

    def maybe_slow(question: str, *args: object, **kwargs: object):
        if "slow" in question:
            time.sleep(3)
        return real_answer(question, *args, **kwargs)

    monkeypatch.setattr(conversation, "answer_after", maybe_slow)
    slow = tg.push_text("slow: where did the delegations meet?", user=tg.make_user("Slow"))
    fast = tg.push_text("Where did the delegations meet?", user=tg.make_user("Fast"))
    fast_call = await reply_to(tg, fast)
    assert not [c for c in tg.calls if is_reply_to(c, slow)]  # the fast one did not wait
    slow_call = await reply_to(tg, slow)
    assert slow_call.at > fast_call.at


async def test_webhook_mode_with_secret_token(
    tg, seed_engine, seed_index, unused_tcp_port: int
) -> None:
    app = build_application(bot_settings(tg, seed_index), engine=seed_engine)
    await app.initialize()
    await app.post_init(app)
    await app.start()
    await app.updater.start_webhook(
        listen="127.0.0.1",
        port=unused_tcp_port,
        url_path="telegram",
        webhook_url=f"http://127.0.0.1:{unused_tcp_port}/telegram",
        secret_token="s3cret_token-1",
    )
    try:
        assert tg.webhook["secret_token"] == "s3cret_token-1"
        msg = tg.push_text("Where did the delegations meet?")
        call = await reply_to(tg, msg)
        assert "Istanbul" in call.result["text"]
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
        await app.post_shutdown(app)


async def test_reply_longer_than_one_message_is_split_between_quotes(tg, bot) -> None:
    state = bot.bot_data["state"]
    state.params = state.params.with_changes(
        quotes={
            "max_quotes": 10,
            "quote_margin": 1.0,
            "max_quote_chars": 900,
            "rerank_margin": 100.0,
        },
        retrieval={"top_k": 30},
        scoring={"rerank_depth": 30},  # the cross-encoder reads them all and lets all through
        # this test is about splitting the reply: always answer, through the cross-encoder
        gate={"min_confidence": 0.0, "rerank_min_score": -20.0},
    )
    state.shown_quotes = 10
    msg = tg.push_text("What psychological factors stand in the way of peace?")
    first = await reply_to(tg, msg)
    await asyncio.sleep(1.0)  # the rest of the reply follows the first part
    chat_id = msg["chat"]["id"]
    parts = [c for c in tg.calls_to("sendMessage") if c.params.get("chat_id") == chat_id]
    assert len(parts) >= 2, [len(c.params["text"]) for c in parts]
    assert all(c.ok for c in parts)  # each part parsed and fit Telegram's limit
    assert parts[0] is first
    quotes = [q for c in parts for q in quotes_in(c.result)]
    assert len(quotes) >= 8
    body = next(iter(state.engine.articles.values())).body
    for q in quotes:
        assert q in body  # every quote arrived whole and verbatim


async def test_our_own_inline_answer_posted_in_the_chat_is_not_a_question(tg, bot) -> None:
    user = tg.default_user
    chat = tg.private_chat(user)
    message = {
        "message_id": 902,
        "date": int(time.time()),
        "chat": chat,
        "from": user,
        "via_bot": tg.bot_user,
        "text": "The Ukrainian delegation, led by Defense Minister Rustem Umerov, …",
    }
    tg.push_update({"message": message})
    await assert_silent(tg, chat["id"])


async def test_service_messages_get_no_reply(tg, bot) -> None:
    user = tg.default_user
    chat = tg.private_chat(user)
    message = {
        "message_id": 903,
        "date": int(time.time()),
        "chat": chat,
        "from": user,
        "message_auto_delete_timer_changed": {"message_auto_delete_time": 86400},
    }
    tg.push_update({"message": message})
    await assert_silent(tg, chat["id"])


async def test_reply_arrives_even_if_the_question_was_deleted(tg, bot) -> None:
    msg = tg.push_text("Where did the delegations meet?")
    del tg.messages[(msg["chat"]["id"], msg["message_id"])]  # the user deleted it
    call = await reply_to(tg, msg)
    assert call.ok and "Istanbul" in call.result["text"]
    too_long = tg.push_text("Why? " * 800)
    del tg.messages[(too_long["chat"]["id"], too_long["message_id"])]
    call = await reply_to(tg, too_long)
    assert call.ok and "at most 1,000 characters" in call.result["text"]


async def test_ukrainian_and_russian_questions_in_chat(tg, bot) -> None:
    uk = tg.push_text("Хто очолює делегацію Росії?", user=tg.make_user("Олена", language_code="uk"))
    call = await reply_to(tg, uk)
    assert "Medinsky" in " ".join(quotes_in(call.result))  # quotes stay verbatim, in English
    declined = tg.push_text("Яка погода в Києві завтра?")
    call = await reply_to(tg, declined)
    assert call.result["text"].startswith("Цього немає в моїх джерелах")
    declined = tg.push_text("Кто президент Франции?")
    call = await reply_to(tg, declined)
    assert call.result["text"].startswith("Этого нет в моих источниках")


async def test_the_users_language_settles_ukrainian_or_russian(tg, bot) -> None:
    """A Cyrillic name alone says nothing about the language: the reply follows the user's
    Telegram language."""
    for code, opening in (("uk", "Цього немає в моїх джерелах"), ("ru", "Этого нет в моих")):
        msg = tg.push_text("Шмигаль?", user=tg.make_user("Олег", language_code=code))
        call = await reply_to(tg, msg)
        assert call.result["text"].startswith(opening), (code, call.result["text"])


async def test_help_follows_the_users_telegram_language(tg, bot) -> None:
    msg = tg.push_text("/start", user=tg.make_user("Олег", language_code="uk"))
    call = await reply_to(tg, msg)
    assert call.result["text"].startswith("Запитуйте мене про мирні переговори")
    msg = tg.push_text("/help", user=tg.make_user("Ivan", language_code="ru"))
    call = await reply_to(tg, msg)
    assert call.result["text"].startswith("Спрашивайте меня")
