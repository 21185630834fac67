"""Settings come from TALKS_* variables; tests pass a dict."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError


def test_defaults_and_overrides_from_a_dict() -> None:
    assert Settings.from_env({}).index_dir == Path(".talks-index")
    settings = Settings.from_env(
        {"TALKS_INDEX_DIR": "/tmp/x", "TALKS_TOP_K": "5", "TALKS_MIN_SCORE": "0.4", "HOME": "/"}
    )
    assert settings.index_dir == Path("/tmp/x")
    params = settings.answer_params()
    assert params.top_k == 5 and params.min_score == 0.4


def test_bad_value_and_unknown_name_are_reported_by_variable() -> None:
    with pytest.raises(SettingsError, match="TALKS_TOP_K"):
        Settings.from_env({"TALKS_TOP_K": "0"})
    with pytest.raises(SettingsError, match="Unknown setting TALKS_TOPK"):
        Settings.from_env({"TALKS_TOPK": "3"})


def test_settings_are_frozen() -> None:
    settings = Settings.from_env({})
    with pytest.raises(ValueError):
        settings.top_k = 3  # type: ignore[misc]


def test_answering_defaults_are_the_calibrated_ones_and_can_be_overridden() -> None:
    from index.answering import AnswerParams

    defaults, params = AnswerParams(), Settings.from_env({}).answer_params()
    for name in (
        "min_score",
        "confident_score",
        "min_coverage",
        "rerank",
        "rerank_min_score",
        "ml_min_score",
        "retrieval",
        "multilingual",
    ):
        assert getattr(params, name) == getattr(defaults, name), name
    assert params.retrieval == "hybrid" and params.rerank is True
    changed = Settings.from_env(
        {"TALKS_RERANK": "false", "TALKS_RERANK_MIN_SCORE": "2.5", "TALKS_RETRIEVAL": "bm25"}
    ).answer_params()
    assert changed.rerank is False and changed.rerank_min_score == 2.5
    assert changed.retrieval == "bm25"
    with pytest.raises(SettingsError, match="TALKS_RETRIEVAL"):
        Settings.from_env({"TALKS_RETRIEVAL": "fancy"})
