"""Assertions shared by several test modules."""

from __future__ import annotations

from index.models import Answer


def assert_quotes_verbatim(result: Answer, engine) -> None:
    for quote in result.quotes:
        body = engine.articles[quote.article_id].body
        assert body[quote.start : quote.end] == quote.text
        assert quote.start <= quote.sentence_start < quote.sentence_end <= quote.end
    if result.answered:
        first = result.quotes[0]
        body = engine.articles[first.article_id].body
        assert result.answer == body[first.sentence_start : first.sentence_end]
    # No text twice: quotes from one article never overlap.
    for n, a in enumerate(result.quotes):
        for b in result.quotes[n + 1 :]:
            assert a.article_id != b.article_id or a.end <= b.start or b.end <= a.start
