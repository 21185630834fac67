"""Telegram HTML (pure): escaping, highlighting, splitting. Every message is checked with the
stand-in server's HTML parser, which fails the way Telegram does."""

from __future__ import annotations

import datetime as dt

import pytest

from bot import formatting
from index.models import Answer, Article, Quote

from .fake_telegram.formatting import parse_text


def quote(
    text: str,
    *,
    title: str = "Title",
    url: str | None = "https://example.org/a?x=1&y=2",
    sentence: tuple[int, int] | None = None,
) -> Quote:
    start = 100
    s, e = sentence or (0, len(text))
    return Quote(
        text=text,
        title=title,
        url=url,
        published=dt.date(2025, 6, 2),
        article_id="a",
        start=start,
        end=start + len(text),
        score=0.5,
        sentence_start=start + s,
        sentence_end=start + e,
    )


def parsed(message: str) -> tuple[str, list[dict]]:
    text, entities = parse_text(message, "HTML")
    assert len(text.encode("utf-16-le")) // 2 <= 4096
    return text, entities


def test_everything_from_articles_is_escaped_and_parses() -> None:
    nasty = "Tom & Jerry <b>said</b> \"5 < 6\" — </blockquote><a href='x'>"
    q = quote(nasty, title="<i>Title</i> & co", url='https://e.org/?q="x"&a=<1>')
    answer = Answer(question="q", answered=True, answer=nasty, quotes=[q])
    [message] = formatting.pack(formatting.answer_blocks(answer))
    text, entities = parsed(message)
    assert nasty in text  # the user sees the article's exact characters
    assert "<i>Title</i> & co" in text
    link = next(e for e in entities if e["type"] == "text_link")
    assert link["url"] == 'https://e.org/?q="x"&a=<1>'


def test_answer_sentence_is_bold_inside_its_blockquote() -> None:
    text = "Before it. The answer sentence. After it."
    q = quote(text, sentence=(11, 31))
    blocks = formatting.answer_blocks(
        Answer(question="q", answered=True, answer=text[11:31], quotes=[q])
    )
    plain, entities = parsed("\n\n".join(blocks))
    bq = next(e for e in entities if e["type"] == "blockquote")
    bold = next(e for e in entities if e["type"] == "bold")
    assert plain[bold["offset"] : bold["offset"] + bold["length"]] == "The answer sentence."
    assert (
        bq["offset"] <= bold["offset"]
        and bold["offset"] + bold["length"] <= bq["offset"] + bq["length"]
    )
    assert "2 June 2025" in plain


def test_later_quotes_are_expandable() -> None:
    quotes = [quote(f"Quote number {i}.") for i in range(3)]
    blocks = formatting.answer_blocks(
        Answer(question="q", answered=True, answer="x", quotes=quotes)
    )
    _, entities = parsed("\n\n".join(blocks))
    kinds = [e["type"] for e in entities if "blockquote" in e["type"]]
    assert kinds == ["blockquote", "expandable_blockquote", "expandable_blockquote"]


def test_not_answered_says_so() -> None:
    [message] = formatting.pack(
        formatting.answer_blocks(Answer(question="q", answered=False, answer=None, quotes=[]))
    )
    assert parsed(message)[0].startswith("Not in my sources")


def test_non_http_urls_are_not_linked() -> None:
    block = formatting.quote_block(quote("x y z.", url="javascript:alert(1)"), expandable=False)
    _, entities = parsed(block)
    assert not any(e["type"] == "text_link" for e in entities)


@pytest.mark.parametrize("emoji", ["", "🇺🇦"])
def test_long_replies_split_on_block_boundaries_under_the_limit(emoji: str) -> None:
    quotes = [quote((f"Sentence {i} & <more> {emoji} " * 30).strip()) for i in range(40)]
    answer = Answer(question="q", answered=True, answer="Short answer.", quotes=quotes)
    blocks = formatting.answer_blocks(answer)
    messages = formatting.pack(blocks)
    assert len(messages) > 1
    seen_quotes = 0
    for message in messages:
        text, entities = parsed(message)  # every piece is valid HTML on its own
        assert len(text.encode("utf-16-le")) // 2 <= formatting.MESSAGE_LIMIT
        seen_quotes += sum(1 for e in entities if "blockquote" in e["type"])
    assert seen_quotes == 40  # no quote was cut in two or lost
    assert "".join(messages).count("<blockquote") == 40


def test_a_block_longer_than_a_message_is_cut_into_plain_pieces() -> None:
    long = "word " * 2000 + "&<end>"
    messages = formatting.pack([formatting.esc(long)])
    assert len(messages) >= 3
    pieces = [parsed(m)[0] for m in messages]
    assert " ".join(pieces).split() == long.split()


def test_help_and_sources_parse() -> None:
    parsed(formatting.help_text(3, dt.date(2025, 6, 2)))
    articles = [
        Article(
            id=f"a{i}",
            title=f"Title <{i}> & more",
            published=dt.date(2025, 6, i + 1),
            url="https://e.org/a?x=1&y=2",
            source="Outlet & Co",
            path="a.md",
            sha256="0",
            body="Body text here with words.",
        )
        for i in range(5)
    ] + [
        Article(
            id="z", title="No date", path="z.txt", sha256="0", body="Body text here with words."
        )
    ]
    messages = formatting.pack(formatting.sources_blocks(articles))
    text = "\n".join(parsed(m)[0] for m in messages)
    assert text.index("5 June 2025") < text.index("1 June 2025") < text.index("date unknown")
    assert "Title <4> & more" in text


def test_to_plain_keeps_the_words_without_markup() -> None:
    message = formatting.quote_block(quote("A & B <c>."), expandable=True)
    plain = formatting.to_plain(message)
    assert "A & B <c>." in plain and "<blockquote" not in plain


def test_cutting_a_huge_block_is_fast() -> None:
    import time

    started = time.perf_counter()
    messages = formatting.pack([formatting.esc("word " * 200_000)])
    assert time.perf_counter() - started < 5
    assert all(formatting.visible_length(m) <= formatting.MESSAGE_LIMIT for m in messages)


def test_many_links_are_spread_over_messages_within_entity_limits() -> None:
    articles = [
        Article(
            id=f"a{i}",
            title=f"T{i}",
            published=dt.date(2025, 6, 1),
            path="a.md",
            sha256="0",
            url=f"https://example.org/{'long-path/' * 12}{i}",
            body="Body text with words here.",
        )
        for i in range(300)
    ]
    messages = formatting.pack(formatting.sources_blocks(articles))
    assert len(messages) > 3
    for message in messages:
        _, entities = parsed(message)
        assert len(entities) <= formatting.MAX_ENTITIES
        assert len(message) <= formatting.MAX_HTML_CHARS
    links = [e for m in messages for e in parsed(m)[1] if e["type"] == "text_link"]
    assert len(links) == 300


@pytest.mark.parametrize("blank", ["", " \n ", None])
def test_an_answer_with_nothing_to_show_still_sends_one_message(blank: str | None) -> None:
    """pack() used to return no message at all for answer="" (the inline handler takes [0]) and
    a whitespace-only message for " \\n " (Telegram: "message text is empty")."""
    result = Answer(question="q", answered=True, answer=blank, quotes=[])
    [message] = formatting.pack(formatting.answer_blocks(result))
    assert parsed(message)[0].startswith("Not in my sources")
    assert formatting.inline_title(result) == "Not in my sources"
    with_quote = Answer(question="q", answered=True, answer=blank, quotes=[quote("Said it.")])
    [message] = formatting.pack(formatting.answer_blocks(with_quote))
    assert parsed(message)[0].startswith("Said it.")


def test_lone_surrogates_are_replaced_not_sent() -> None:
    message = formatting.quote_block(quote("a\ud800b"), expandable=False)
    assert "a\ufffdb" in parsed(message)[0]
    assert formatting.visible_length("\udc00") == 1  # measuring never raises
