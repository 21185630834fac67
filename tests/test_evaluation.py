"""`talks eval`: figures per kind and in total, on the dev questions and the project's set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.answering import AnswerParams
from index.evaluation import EvalFileError, evaluate, read_questions

from .conftest import DEV_ANSWERED_SHARE, DEV_QUESTIONS
from .fakes import fake_confidence
from .helpers import run, where

EVAL_SET = Path(__file__).resolve().parent / "data" / "eval" / "questions.jsonl"


@pytest.mark.model
def test_dev_questions_figures(seed_engine) -> None:
    report = evaluate(read_questions(DEV_QUESTIONS), seed_engine, AnswerParams(), k=3)
    total = report.total
    assert total.questions == 12 and total.unanswerable == 2
    assert total.abstention_recall == 1.0  # both unanswerable questions declined
    english = [r for r in report.rows if r.expect and not r.kind.startswith("multilingual")]
    hits = [r for r in english if r.hit]
    assert len(hits) >= DEV_ANSWERED_SHARE * len(english), [r.id for r in english if not r.hit]
    assert all(r.hit for r in english if r.answered), [r.id for r in english if r.answered]
    assert total.latency_ms_p50 is not None and total.latency_ms_p95 >= total.latency_ms_p50
    text = report.to_text()
    assert "TOTAL" in text and "hit@3" in text


def test_project_eval_set_is_large_and_labelled() -> None:
    questions = read_questions(EVAL_SET)
    assert len(questions) >= 80
    kinds = {q["kind"] for q in questions}
    assert {
        "fact",
        "paraphrase",
        "why",
        "typo",
        "multilingual-uk",
        "multilingual-ru",
        "unanswerable",
    } <= kinds
    assert len({q["id"] for q in questions}) == len(questions)


def test_eval_cli_json_and_bad_files(workspace: dict, tmp_path: Path) -> None:
    result = run("eval", str(DEV_QUESTIONS), "--json", "--k", "3", *where(workspace))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["k"] == 3 and data["total"]["questions"] == 12
    assert data["total"]["abstention_recall"] == 1.0
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"q": "who?", "expect": []}\nnot json\n')
    result = run("eval", str(bad), *where(workspace))
    assert result.returncode == 1 and "line 2" in result.stderr
    result = run("eval", str(tmp_path / "missing.jsonl"), *where(workspace))
    assert result.returncode == 1 and "Cannot read" in result.stderr
    result = run("eval", str(DEV_QUESTIONS), "--k", "0", *where(workspace))
    assert result.returncode == 2


def test_read_questions_rejects_malformed_lines(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"q": 5, "expect": []}\n')
    with pytest.raises(EvalFileError, match="line 1"):
        read_questions(path)
    path.write_text("\n\n")
    with pytest.raises(EvalFileError, match="no questions"):
        read_questions(path)


def test_eval_compare_runs_three_retrievals(workspace: dict) -> None:
    result = run("eval", str(DEV_QUESTIONS), "--compare", "--json", "--k", "3", *where(workspace))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"bm25", "dense", "hybrid"}
    for mode in data.values():
        assert mode["total"]["questions"] == 12
        assert mode["total"]["abstention_recall"] == 1.0


@pytest.mark.model
def test_retrieval_modes_rank_passages(seed_engine) -> None:
    from index.answering.candidates import gather
    from index.answering.query import analyze

    question = "Which Turkish minister attended?"
    assert (
        "Fidan" in seed_engine.passages[seed_engine.bm25.search(["turkish", "minist"], 5)[0]].text
    )
    for mode in ("dense", "bm25", "hybrid"):
        params = AnswerParams(retrieval={"mode": mode, "top_k": 5, "per_article": 2})
        hits = gather(seed_engine, analyze(question, seed_engine, params), params).hits
        # one article only: the cap does not starve the results (BM25 returns only passages
        # that share a word with the question)
        assert len(hits) == 5 if mode != "bm25" else 1 <= len(hits) <= 5
        vector = seed_engine.models.minilm.encode_query(question)
        for hit in hits:  # every hit carries its dense cosine, whatever ranked it
            assert hit.score == pytest.approx(
                float(seed_engine.english.passage_vectors[hit.row] @ vector)
            )


def test_fake_evaluation_counts_hits_and_abstentions(fake_engine) -> None:
    params = AnswerParams(
        gate={"min_score": 0.3, "rerank_min_score": 2.0, "confidence": fake_confidence()}
    )
    questions = [
        {
            "id": "a",
            "q": "How many prisoners of war will be exchanged?",
            "expect": ["1,000"],
            "kind": "fact",
        },
        {
            "id": "b",
            "q": "How many prisoners of war will be exchanged?",
            "expect": ["zebra"],
            "kind": "fact",
        },
        {"id": "u", "q": "asdf qwerty zxcv", "expect": [], "kind": "unanswerable"},
    ]
    report = evaluate(questions, fake_engine, params, k=3)
    assert report.total.questions == 3 and report.total.answerable == 2
    assert report.total.hit_at_k == 0.5 and report.total.abstention_recall == 1.0
    assert report.by_kind["fact"].hit_at_k == 0.5
    assert [r.id for r in report.rows if not r.hit and r.expect] == ["b"]
    assert "1 wrong:" in report.to_text() and json.loads(report.to_json())["misses"][0]["id"] == "b"


def test_eval_sweep_on_too_few_questions_says_so(workspace: dict) -> None:
    """Twelve questions cannot fit a model: one clear line, exit 1, no traceback."""
    result = run("eval", str(DEV_QUESTIONS), "--sweep", "--k", "3", *where(workspace))
    assert result.returncode == 1
    assert "Too few questions to fit" in result.stderr and "label more" in result.stderr
    assert "Traceback" not in result.stderr


def test_eval_baseline_and_split(workspace: dict, tmp_path: Path) -> None:
    result = run("eval", str(DEV_QUESTIONS), "--k", "3", "--baseline", *where(workspace))
    assert result.returncode == 0, result.stderr
    head = result.stdout.splitlines()[0]
    assert "hybrid hit@3" in head and "naive hit@3" in head and "naive abst.R" in head
    total = next(line for line in result.stdout.splitlines() if line.startswith("TOTAL"))
    assert total.split()[-1] == "0%"  # the naive reference declines nothing
    split = tmp_path / "split.jsonl"
    lines = DEV_QUESTIONS.read_text(encoding="utf-8").splitlines()
    split.write_text(
        "\n".join(
            line[:-1] + f', "split": "{"cal" if n % 2 else "test"}"}}'
            for n, line in enumerate(lines)
        ),
        encoding="utf-8",
    )
    result = run("eval", str(split), "--split", "test", "--json", *where(workspace))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["total"]["questions"] == (len(lines) + 1) // 2
    result = run("eval", str(split), "--split", "nope", *where(workspace))
    assert result.returncode == 1 and "no questions in part 'nope'" in result.stderr
