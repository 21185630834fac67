"""Answering parameters nested by stage, and calibration.json: the gate's defaults, stamped
with the eval set and the models they were chosen with."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from index.answering import AnswerParams, GateThresholds, ScoringParams
from index.answering.params import CalibrationRecord, calibration
from index.encoders import ModelLoader

from .conftest import EVAL_QUESTIONS, REAL_QUESTIONS, ROOT
from .fakes import fake_confidence

NEWS_QUESTIONS = ROOT / "tests" / "data" / "news" / "questions.jsonl"


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
    gate = GateThresholds()
    for name, value in record.thresholds.items():
        if name != "verify_depth":
            assert getattr(gate, name) == value
    assert ScoringParams().verify_depth == record.thresholds["verify_depth"]
    models = gate.models()
    assert models == record.confidence
    assert gate.operating_point(False) == models.english.threshold
    assert gate.operating_point(True) == models.multilingual.threshold
    assert gate.operating_point(False, reranked=False) == models.english_plain.threshold
    assert models.verified is not None
    for model in (models.english, models.english_plain, models.multilingual, models.verified):
        assert len(model.features) == len(model.coef) == len(model.mean) == len(model.scale)
        assert 0 < model.threshold < 1


def _stamp_matches(eval_set: dict, path: Path, split: str) -> None:
    assert eval_set["path"] == path.relative_to(ROOT).as_posix()
    assert eval_set["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest(), "changed: refit"
    assert eval_set["split"] == split
    marker = f'"split": "{split}"'
    assert eval_set["questions"] == sum(marker in line for line in path.open(encoding="utf-8"))


def test_calibration_file_matches_the_models_and_the_labelled_set() -> None:
    """calibration.json must have been fitted with the models this code answers with: the
    verifier's gate and depth on the cal part of tests/data/news, the models of before
    (TALKS_SCORING__VERIFY=false) on the cal part of the real-article set and the project's own
    eval set, all as they are now; if not, refit (README, "Calibration")."""
    record = calibration()
    assert record.models == ModelLoader().identities(), "models changed: refit"
    _stamp_matches(record.eval_set, NEWS_QUESTIONS, "cal")
    assert {"english", "english_plain", "multilingual", "verified"} <= set(record.results)
    before = record.before
    assert before is not None
    _stamp_matches(before["eval_set"], REAL_QUESTIONS, "cal")
    [also] = before["eval_set"]["also"]
    assert also["path"] == EVAL_QUESTIONS.relative_to(ROOT).as_posix()
    assert also["sha256"] == hashlib.sha256(EVAL_QUESTIONS.read_bytes()).hexdigest()
    loaded = {k: v for k, v in ModelLoader(verify=False).identities().items() if v is not None}
    assert {k: v for k, v in before["models"].items() if v is not None} == loaded


def test_write_calibration_round_trip(fake_engine, tmp_path: Path) -> None:
    """A sweep of the route of before writes its three models and its own stamp (`before`),
    keeping the verifier's; a sweep with the verifier writes its model, depth and stamp, keeping
    the models of before and their stamp."""
    from index.calibration import Calibration, Fit, write_calibration

    shipped = calibration()
    models = fake_confidence()
    questions_file = tmp_path / "q.jsonl"
    questions_file.write_text('{"q": "Хто?", "expect": [], "split": "cal"}\n', encoding="utf-8")
    digest = hashlib.sha256(questions_file.read_bytes()).hexdigest()

    def written(chosen: Calibration, name: str) -> CalibrationRecord:
        target = write_calibration(
            chosen, questions_file, "cal", [{}], 3, fake_engine, tmp_path / name
        )
        return CalibrationRecord.model_validate(json.loads(target.read_text(encoding="utf-8")))

    before = written(
        Calibration(
            rerank_min_score=1.5,
            english=Fit(models.english, 5, 2, 4, 1, 2, 0.9),
            english_plain=Fit(models.english_plain, 5, 2, 3, 1, 2, 0.8),
            multilingual=Fit(models.multilingual, 1, 1, 1, 0, 1, 0.8),
        ),
        "before.json",
    )
    assert before.confidence == shipped.confidence.model_copy(
        update={n: getattr(models, n) for n in ("english", "english_plain", "multilingual")}
    )
    assert before.thresholds == {**shipped.thresholds, "rerank_min_score": 1.5}
    assert before.before is not None and before.before["eval_set"]["sha256"] == digest
    assert before.before["models"] == fake_engine.models.identities()
    assert before.eval_set == shipped.eval_set and before.models == shipped.models
    assert "4/5 answerable answered right (1 wrong)" in before.results["english"]

    verified = written(
        Calibration(verified=Fit(models.verified, 5, 3, 4, 1, 2, 0.9), verify_depth=8),
        "verified.json",
    )
    assert verified.confidence == shipped.confidence.model_copy(
        update={"verified": models.verified}
    )
    assert verified.thresholds == {**shipped.thresholds, "verify_depth": 8}
    assert verified.eval_set["sha256"] == digest and verified.eval_set["split"] == "cal"
    assert verified.models == fake_engine.models.identities()
    assert verified.before == shipped.before
    assert "4/5 answerable answered right (1 wrong)" in verified.results["verified"]
