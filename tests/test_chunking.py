"""Chunking keeps the article's exact text and offsets, respects paragraphs, drops duplicates."""

from __future__ import annotations

import datetime as dt

from index.chunking import blocks, chunk_corpus, sentence_key, sentence_spans
from index.corpus import load_corpus
from index.models import Article, ChunkingParams

from .conftest import SEED_CORPUS, TEST_CORPUS


def article(body: str, id: str = "a", language: str = "en") -> Article:
    return Article(
        id=id,
        title="t",
        published=dt.date(2025, 1, 1),
        path=f"{id}.md",
        sha256="0",
        body=body,
        language=language,
    )


def spans(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text, 0, len(text))]


def test_abbreviations_do_not_end_sentences() -> None:
    text = "Mr. Umerov met U.S. envoys at 3 p.m. in Istanbul. Talks ended. Gen. J. Smith left."
    assert spans(text) == [
        "Mr. Umerov met U.S. envoys at 3 p.m. in Istanbul.",
        "Talks ended.",
        "Gen. J. Smith left.",
    ]


def test_hard_wrapped_lines_stay_in_one_sentence() -> None:
    text = "Negotiators said a second round could follow\nin June. No date was fixed."
    assert spans(text) == [
        "Negotiators said a second round could follow\nin June.",
        "No date was fixed.",
    ]


def test_cyrillic_sentences_and_offsets() -> None:
    body = "Делегацію очолив Рустем Умєров. Переговори тривали дві години!\n\nНаступна зустріч — у липні."
    chunks = chunk_corpus([article(body, language="uk")])
    texts = [body[s.start : s.end] for s in chunks.sentences]
    assert texts == [
        "Делегацію очолив Рустем Умєров.",
        "Переговори тривали дві години!",
        "Наступна зустріч — у липні.",
    ]


def test_blocks_split_paragraphs_lists_and_headings_without_markers() -> None:
    body = (
        "## Heading here\n\n- first item\n- second item\n\nPara line one\nline two.\n\n1. numbered"
    )
    got = [body[s:e] for s, e in blocks(body)]
    assert got == [
        "Heading here",
        "first item",
        "second item",
        "Para line one\nline two.",
        "numbered",
    ]


def test_every_passage_and_sentence_is_verbatim_and_inside_one_paragraph() -> None:
    corpus = load_corpus(SEED_CORPUS)
    extra = load_corpus(TEST_CORPUS)
    articles = corpus.articles + extra.articles
    by_id = {a.id: a for a in articles}
    chunks = chunk_corpus(articles)
    assert chunks.passages and chunks.sentences
    for passage in chunks.passages:
        body = by_id[passage.article_id].body
        assert body[passage.start : passage.end] == passage.text
        assert "\n\n" not in passage.text  # never across paragraphs
        assert passage.text == passage.text.strip()
        first, last = (
            chunks.sentences[passage.sentence_ids[0]],
            chunks.sentences[passage.sentence_ids[-1]],
        )
        assert (first.start, last.end) == (passage.start, passage.end)
    for sentence in chunks.sentences:
        text = by_id[sentence.article_id].body[sentence.start : sentence.end]
        assert text and text == text.strip()


def test_windows_respect_size_and_overlap() -> None:
    body = " ".join(f"Sentence number {i} is here." for i in range(10))
    chunks = chunk_corpus([article(body)], ChunkingParams(window=3, overlap=1))
    assert [p.sentence_ids for p in chunks.passages] == [
        [0, 1, 2],
        [2, 3, 4],
        [4, 5, 6],
        [6, 7, 8],
        [8, 9],
    ]
    chunks = chunk_corpus([article(body)], ChunkingParams(window=4, overlap=0))
    assert [p.sentence_ids for p in chunks.passages] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    long = " ".join(f"Sentence {n} " + "word " * 60 + "end." for n in range(3))
    chunks = chunk_corpus([article(long)], ChunkingParams(window=3, overlap=0, max_chars=400))
    assert all(len(p.text) <= 400 for p in chunks.passages) and len(chunks.passages) == 3


def test_seed_article_repeated_block_is_indexed_once() -> None:
    [seed] = load_corpus(SEED_CORPUS).articles
    repeated = "The long and arduous road to peace will require a willingness to engage in genuine dialogue"
    assert seed.body.count(repeated) == 2  # the article really repeats the block
    chunks = chunk_corpus([seed])
    keys = [sentence_key(seed.body[s.start : s.end]) for s in chunks.sentences]
    assert len(keys) == len(set(keys))  # no sentence is indexed twice
    assert sum(repeated in p.text for p in chunks.passages) == 1
    assert chunks.duplicate_sentences == 5


def test_near_duplicate_passage_from_another_article_is_dropped() -> None:
    original = (
        "Ukraine's delegation was led by Defence Minister Rustem Umerov on Monday. "
        "The Russian side was headed by Vladimir Medinsky, an aide to Putin. "
        "The talks lasted just over an hour."
    )
    copy = original.replace("on Monday", "on Monday afternoon")  # a wire copy, lightly edited
    chunks = chunk_corpus([article(original, "first"), article(copy, "second")])
    assert {p.article_id for p in chunks.passages} == {"first"}
    assert chunks.near_duplicate_passages == 1 or chunks.duplicate_sentences >= 2


def test_different_articles_on_the_same_topic_are_kept() -> None:
    a = article("The delegations met in Istanbul on Monday for a second round of talks.", "a")
    b = article("Prisoner exchanges were the only agreement reached at the Istanbul meeting.", "b")
    chunks = chunk_corpus([a, b])
    assert {p.article_id for p in chunks.passages} == {"a", "b"}


def test_overlong_sentences_are_cut_at_spaces_and_stay_verbatim() -> None:
    body = "Intro sentence here. " + " ".join(f"item{i}" for i in range(400)) + " end"
    chunks = chunk_corpus([article(body)], ChunkingParams(max_sentence_chars=200))
    texts = [body[s.start : s.end] for s in chunks.sentences]
    assert all(len(t) <= 200 for t in texts)
    assert " ".join(texts).split() == body.split()  # nothing lost, nothing reordered
    unbroken = "".join(chr(97 + i % 26) for i in range(1000))  # no space to cut at
    chunks = chunk_corpus([article(unbroken)], ChunkingParams(max_sentence_chars=300))
    assert "".join(unbroken[s.start : s.end] for s in chunks.sentences) == unbroken


def test_a_paragraph_the_splitter_drops_is_still_indexed() -> None:
    """pysbd returns no segment at all for some text ("x \xa0. . . ."): the paragraph used to be
    lost from the index without a word; the plain rule now takes over."""
    text = "Umerov \xa0. . . ."
    found = spans(text)
    assert found and "".join("".join(found).split()) == "".join(text.split())
    chunks = chunk_corpus([article(".\n\n" + text + "\n\nTalks ended.")])
    assert any("Umerov" in p.text for p in chunks.passages)
