"""All settings in one pydantic model, read from the environment (tests pass a dict).

Field `x` is read from TALKS_X; fields named `telegram_*` from TELEGRAM_* (TELEGRAM_BOT_TOKEN, the
name BotFather's docs and most deployments use).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from index.answering import AnswerParams
from index.errors import TalksError

# Answering defaults live in AnswerParams (the thresholds there are calibrated by
# index.evaluation.calibrate, `talks eval … --sweep`); the settings only expose them.
_DEFAULTS = {name: field.default for name, field in AnswerParams.model_fields.items()}
PREFIX = "TALKS_"
TELEGRAM_PREFIX = "TELEGRAM_"
TELEGRAM_API = "https://api.telegram.org/bot"
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


class SettingsError(TalksError):
    """An environment variable has a bad value or an unknown name."""


class Settings(BaseModel):
    """Configuration of `talks`; see env_name() for the variable each field is read from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    corpus_dir: Path = Field(default=Path("corpus"), description="folder of article files")
    index_dir: Path = Field(default=Path(".talks-index"), description="where the index is kept")
    query_threads: int = Field(default=1, ge=1, le=64, description="torch threads per question")
    index_threads: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        le=64,
        description="torch threads to build",
    )
    top_k: int = Field(
        default=_DEFAULTS["top_k"], ge=1, le=100, description="passages retrieved per question"
    )
    max_quotes: int = Field(
        default=_DEFAULTS["max_quotes"], ge=1, le=10, description="quotes per answer"
    )
    min_score: float = Field(
        default=_DEFAULTS["min_score"], ge=-1, le=1, description="below: not in my sources"
    )
    confident_score: float = Field(
        default=_DEFAULTS["confident_score"], ge=-1, le=1, description="above: no word check"
    )
    min_coverage: float = Field(
        default=_DEFAULTS["min_coverage"], ge=0, le=1, description="grey-zone term share"
    )
    max_question_chars: int = Field(default=1000, ge=10, le=100_000)
    retrieval: Literal["dense", "hybrid", "bm25"] = Field(
        default=_DEFAULTS["retrieval"], description="ranking"
    )
    multilingual: bool = Field(
        default=_DEFAULTS["multilingual"], description="e5 vectors for uk/ru questions"
    )
    rerank: bool = Field(default=_DEFAULTS["rerank"], description="cross-encoder for English")
    rerank_min_score: float = Field(
        default=_DEFAULTS["rerank_min_score"], ge=-20, le=20, description="its abstention logit"
    )
    ml_min_score: float = Field(
        default=_DEFAULTS["ml_min_score"], ge=-1, le=1, description="e5 abstention threshold"
    )

    # Telegram bot (`talks serve`)
    telegram_bot_token: SecretStr | None = Field(default=None, description="from @BotFather")
    telegram_base_url: str = Field(default=TELEGRAM_API, description="Bot API base URL")
    telegram_webhook_url: str | None = Field(default=None, description="public https URL")
    telegram_webhook_secret: SecretStr | None = Field(
        default=None, description="1-256 [A-Za-z0-9_-]"
    )
    telegram_webhook_listen: str = Field(default="0.0.0.0", description="webhook bind address")
    telegram_webhook_port: int = Field(default=8443, ge=1, le=65535)
    telegram_poll_timeout: int = Field(default=30, ge=0, le=50, description="long-poll seconds")
    rate_limit_questions: int = Field(default=6, ge=1, description="per user per window")
    rate_limit_seconds: float = Field(default=60.0, gt=0, description="the window")
    concurrent_updates: int = Field(default=8, ge=1, le=256, description="updates handled at once")
    reload_seconds: float = Field(
        default=5.0, gt=0, description="how often to look for a new index"
    )
    admin_ids: str = Field(default="", description="comma-separated Telegram user ids")

    @field_validator("corpus_dir", "index_dir", mode="before")
    @classmethod
    def _path_given(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("telegram_bot_token", "telegram_webhook_secret", "telegram_webhook_url")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        if isinstance(value, SecretStr):
            return value if value.get_secret_value().strip() else None
        return value.strip() or None if isinstance(value, str) else value

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _secret_chars(cls, value: SecretStr | None) -> SecretStr | None:
        import re

        if value is not None and not re.fullmatch(
            r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()
        ):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @property
    def telegram_base_file_url(self) -> str:
        """File URL that goes with telegram_base_url (…/bot → …/file/bot)."""
        base = self.telegram_base_url.rstrip("/")
        head, _, tail = base.rpartition("/")
        return f"{head}/file/{tail}"

    @staticmethod
    def env_name(field: str) -> str:
        """The environment variable a field is read from."""
        if field.startswith("telegram_"):
            return field.upper()
        return PREFIX + field.upper()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from the environment. An unknown TALKS_ name is an error (catches typos);
        TELEGRAM_* names this app does not use are left alone."""
        environ = os.environ if environ is None else environ
        by_env = {cls.env_name(f): f for f in cls.model_fields}
        values: dict[str, str] = {}
        for key, value in environ.items():
            if key in by_env:
                values[by_env[key]] = value
            elif key.startswith(PREFIX):
                known = ", ".join(n for n in by_env if n.startswith(PREFIX))
                raise SettingsError(f"Unknown setting {key}: known settings are {known}.")
        try:
            return cls(**values)
        except ValidationError as exc:
            # Never echo the value: it may be the token.
            lines = [f"{cls.env_name(str(err['loc'][0]))}: {err['msg']}" for err in exc.errors()]
            raise SettingsError("Bad settings:\n  " + "\n  ".join(lines)) from exc

    def admin_id_set(self) -> frozenset[int]:
        """TALKS_ADMIN_IDS as numbers."""
        ids = set()
        for part in re.split(r"[,\s;]+", self.admin_ids.strip()):
            if part:
                ids.add(int(part))
        return frozenset(ids)

    @field_validator("admin_ids")
    @classmethod
    def _numeric_ids(cls, value: str) -> str:
        for part in re.split(r"[,\s;]+", value.strip()):
            if part and not re.fullmatch(r"-?\d+", part):
                raise ValueError(f"{part!r} is not a numeric Telegram user id")
        return value

    def answer_params(self) -> AnswerParams:
        return AnswerParams(
            top_k=self.top_k,
            max_quotes=self.max_quotes,
            min_score=self.min_score,
            confident_score=self.confident_score,
            min_coverage=self.min_coverage,
            retrieval=self.retrieval,
            multilingual=self.multilingual,
            ml_min_score=self.ml_min_score,
            rerank=self.rerank,
            rerank_min_score=self.rerank_min_score,
            max_question_chars=self.max_question_chars,
        )
