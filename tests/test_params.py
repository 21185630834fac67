"""Answering parameters nested by stage, and calibration.json: the gate's defaults, stamped
with the eval set and the models they were chosen with."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from index.answering import AnswerParams, GateThresholds
from index.answering.params import CalibrationRecord, calibration
from index.encoders import ModelLoader

from .conftest import EVAL_QUESTIONS, ROOT


def test_stages_and_changes() -> None:
    params = AnswerParams()
    assert params.retrieval.mode == "hybrid" and params.scoring.rerank
    changed = params.with_changes(quotes={"max_quotes": 5}, gate={"min_score": 0.3})
    assert changed.quotes.max_quotes == 5 and changed.gate.min_score == 0.3
    assert changed.quotes.max_quote_chars == params.quotes.max_quote_chars
    assert params.quotes.max_quotes == 3  # the original is unchanged (frozen)
    assert AnswerParams(scoring={"rerank": False}).scoring.rerank is False
    with pytest.raises(ValidationError):
        AnswerParams(retrieval={"top_k": 0})
    with pytest.raises(ValidationError):
        AnswerParams(gate={"min_scor": 0.3})  # a typo is an error, not ignored
    with pytest.raises(ValidationError):
        params.with_changes(quotes={"max_quotes": 99})


def test_gate_defaults_are_the_calibration_file() -> None:
    record = calibration()
    assert GateThresholds().model_dump() == record.thresholds


def test_calibration_file_matches_the_models_and_the_eval_set() -> None:
    """calibration.json must have been made with the models this code answers with, on the
    eval set as it is now; if not, recalibrate with `talks eval tests/data/eval/questions.jsonl
    --corpus tests/data/eval/corpus --k 3 --sweep --write`."""
    record = calibration()
    assert record.models == ModelLoader().identities(), "models changed: recalibrate"
    digest = hashlib.sha256(EVAL_QUESTIONS.read_bytes()).hexdigest()
    assert record.eval_set["sha256"] == digest, "the eval set changed: recalibrate"
    assert record.eval_set["path"] == EVAL_QUESTIONS.relative_to(ROOT).as_posix()
    assert record.eval_set["questions"] == sum(1 for line in EVAL_QUESTIONS.open() if line.strip())
    assert set(record.results) == {"english", "english, cross-encoder", "multilingual"}


def test_write_calibration_round_trip(fake_engine, tmp_path: Path) -> None:
    from index.calibration import Calibration, write_calibration

    chosen = {
        "english": Calibration(
            {"min_score": 0.3, "confident_score": 0.5, "min_coverage": 0.6}, 4, 5, 2, 2, 3
        ),
        "multilingual": Calibration({"ml_min_score": 0.72}, 1, 1, 1, 1, 1),
    }
    questions_file = tmp_path / "q.jsonl"
    questions_file.write_text('{"q": "Хто?", "expect": []}\n', encoding="utf-8")
    target = write_calibration(
        chosen, GateThresholds(), questions_file, [{}], 3, fake_engine, tmp_path / "c.json"
    )
    record = CalibrationRecord.model_validate(json.loads(target.read_text(encoding="utf-8")))
    assert record.thresholds["min_score"] == 0.3 and record.thresholds["ml_min_score"] == 0.72
    assert record.thresholds["rerank_min_score"] == GateThresholds().rerank_min_score  # kept
    assert record.models == fake_engine.models.identities()
    assert record.eval_set["sha256"] == hashlib.sha256(questions_file.read_bytes()).hexdigest()
    assert "hit@k 4/5" in record.results["english"]
