"""Passage search: FAISS vector spaces (position = id), BM25 saved and loaded, fusion, the cap."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from index.search import Bm25, VectorSpace, diversify, rrf
from index.store import StoredVectors
from index.text.tokens import term_list


def space(vectors: np.ndarray, non_latin=None) -> VectorSpace:
    import faiss

    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return VectorSpace(StoredVectors(index, vectors.astype(np.float32)), non_latin=non_latin)


def unit(*values: float) -> np.ndarray:
    v = np.array(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_vector_space_ranks_by_inner_product_and_rows_are_ids() -> None:
    vectors = np.stack([unit(1, 0, 0), unit(0.9, 0.1, 0), unit(0, 1, 0), unit(0, 0, 1)])
    found = space(vectors).search(unit(1, 0, 0), 3)
    assert [h.row for h in found] == [0, 1, 2]
    assert found[0].score == np.float32(1.0) and found[1].score > found[2].score
    assert len(space(vectors).search(unit(1, 0, 0), 99)) == 4  # depth capped at the size
    assert space(vectors).search(unit(1, 0, 0), 0) == []
    assert np.allclose(space(vectors).passage_vectors, vectors)  # read back from FAISS


def test_offset_lowers_non_latin_passages_and_sentences() -> None:
    vectors = np.stack([unit(1, 0.05, 0), unit(1, 0.3, 0), unit(0, 1, 0)])
    flags = (np.array([True, False, False]), np.array([True, False, False]))
    plain = space(vectors, flags).search(unit(1, 0, 0), 3)
    lowered = space(vectors, flags).search(unit(1, 0, 0), 3, offset=0.2)
    assert [h.row for h in plain][:2] == [0, 1]
    assert [h.row for h in lowered][:2] == [1, 0]
    assert abs(lowered[1].score - (plain[0].score - 0.2)) < 1e-6
    scores = space(vectors, flags).sentence_scores(unit(1, 0, 0), np.array([0, 1]), offset=0.2)
    assert scores[0] < scores[1]


def test_bm25_round_trip_gives_the_same_ranking(tmp_path: Path) -> None:
    texts = [
        "Delegations met in Istanbul for peace talks.",
        "Prisoners were exchanged at the border with Belarus.",
        "The city budget for parks grew.",
        "",  # a passage with no content term still gets a row
        "Делегації зустрілися в Стамбулі.",
    ]
    built = Bm25.build(texts)
    built.save(tmp_path)
    assert not any(p.suffix == ".pkl" for p in tmp_path.iterdir())
    loaded = Bm25.load(tmp_path, len(texts))
    for question in ["prisoners exchanged", "Istanbul talks", "делегації", "nothing here"]:
        terms = term_list(question)
        assert loaded.search(terms, 10) == built.search(terms, 10), question
    assert loaded.search(term_list("prisoners exchanged"), 10) == [1]
    assert loaded.search([], 10) == []


def test_rrf_and_the_per_article_cap() -> None:
    assert rrf([[1, 2, 3], [3, 1]]) == [1, 3, 2]
    articles = ["a", "a", "a", "b", "c"]
    assert diversify([0, 1, 2, 3, 4], articles, 3, per_article=1) == [0, 3, 4]
    assert diversify([0, 1, 2, 3, 4], articles, 4, per_article=2) == [0, 1, 3, 4]
    # one article only: held-back rows fill the places
    assert diversify([0, 1, 2], articles, 3, per_article=1) == [0, 1, 2]
