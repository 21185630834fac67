"""The verifier's labelled data (tests/data/news) holds what its README promises: real articles,
none reserved for independent checks, every expected string verbatim in its gold sentence,
splits by story, and candidate labels that name real sentences of the corpus."""

from __future__ import annotations

import collections
import json
from pathlib import Path

import pytest

from index.corpus import load_corpus

NEWS = Path(__file__).parent / "data" / "news"
HELDOUT = Path(__file__).parents[2] / "shared" / "heldout_article_ids.txt"


@pytest.fixture(scope="module")
def articles():
    corpus = load_corpus(NEWS / "corpus")
    assert not corpus.problems
    return {a.id.split("-")[3]: a for a in corpus.articles}


@pytest.fixture(scope="module")
def questions():
    return [json.loads(line) for line in (NEWS / "questions.jsonl").read_text("utf-8").splitlines()]


def stories() -> dict[str, tuple[str, str]]:
    lines = (NEWS / "stories.tsv").read_text("utf-8").splitlines()[1:]
    return {a: (s, p) for a, s, p in (line.split("\t") for line in lines)}


def test_articles_are_never_reserved_ones(articles):
    reserved = set(HELDOUT.read_text().split()) if HELDOUT.is_file() else set()
    assert len(articles) >= 800
    assert not reserved & set(articles)
    assert set(stories()) == set(articles)


def test_every_expected_string_is_verbatim_in_its_gold_sentence(articles, questions):
    for q in questions:
        # a near miss a judge found answered by another article names that one (relabelled)
        body = articles[q.get("gold_article", q["article"])].body
        gold = " ".join(body[g["start"] : g["end"]] for g in q["gold"])
        for g in q["gold"]:
            assert 0 <= g["start"] < g["end"] <= len(body), q["id"]
        assert bool(q["expect"]) == bool(q["gold"]), q["id"]
        for word in q["expect"]:
            assert word.lower() in gold.lower(), (q["id"], word)


def test_the_set_is_as_large_and_as_mixed_as_promised(questions):
    count = collections.Counter(q["lang"] for q in questions)
    assert len(questions) >= 5000
    assert len({q["article"] for q in questions}) >= 800
    assert (count["uk"] + count["ru"]) / len(questions) >= 0.30
    assert sum(not q["expect"] for q in questions) >= 1500
    assert all(q["gold"] and q["expect"] for q in questions if q.get("relabelled"))
    assert all(q["lang"] != "uk" or not set(q["q"]) & set("ыэъёЫЭЪЁ") for q in questions)
    assert all(q["lang"] != "ru" or not set(q["q"]) & set("іїєґІЇЄҐ") for q in questions)


def test_candidate_labels_name_real_sentences(articles, questions):
    """Every labelled candidate names a sentence of a corpus article by its offsets (the
    sentence, and the one before it, end to end in the body); a gold one lies in the gold
    passage; every answerable question has a positive, no unanswerable one has any."""
    from index.verifier.training import COLUMNS, labelled_bytes, news_id

    by_id = {q["id"]: q for q in questions}
    lines = labelled_bytes(NEWS / "candidates.jsonl.gz").decode("utf-8").splitlines()
    assert len(lines) == len(questions)
    by_news_id = {news_id(a.id): a for a in articles.values()}
    for line in lines:
        item = json.loads(line)
        q = by_id[item["id"]]
        assert item["split"] == q["split"] and item["expect"] == q["expect"]
        rows = [dict(zip(COLUMNS, row, strict=True)) for row in item["candidates"]]
        for c in rows:
            body = by_news_id[c["article"]].body
            sentence = body[c["start"] : c["end"]]
            assert sentence.strip() == sentence != "", item["id"]
            if c["previous_start"] is not None:
                assert c["previous_start"] < c["previous_end"] <= c["start"], item["id"]
            assert c["by"] in ("gold", "judge", "rule") and c["label"] in (0, 1)
            if c["by"] == "gold":  # a sentence of the gold passage the writer quoted
                spans = q["gold"]
                assert c["label"] and any(
                    c["start"] < g["end"] and g["start"] < c["end"] for g in spans
                ), item["id"]
        assert any(c["label"] for c in rows) == bool(q["expect"]), item["id"]


def test_splits_follow_stories(questions):
    by_story = stories()
    parts = collections.defaultdict(set)
    for q in questions:
        story, split = by_story[q["article"]]
        assert q["split"] == split and str(q["story"]) == story, q["id"]
        parts[story].add(split)
    assert all(len(p) == 1 for p in parts.values())
