"""All settings in one pydantic model, read from TALKS_* variables (tests pass a dict)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from index.answering import AnswerParams
from index.errors import TalksError

PREFIX = "TALKS_"


class SettingsError(TalksError):
    """An environment variable has a bad value or an unknown name."""


class Settings(BaseModel):
    """Configuration of `talks`. Each field `x` is read from the variable TALKS_X."""

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
    top_k: int = Field(default=8, ge=1, le=100, description="passages retrieved per question")
    max_quotes: int = Field(default=3, ge=1, le=10, description="quotes per answer")
    min_score: float = Field(default=0.35, ge=-1, le=1, description="below: not in my sources")
    confident_score: float = Field(default=0.5, ge=-1, le=1, description="above: no word check")
    min_coverage: float = Field(default=0.5, ge=0, le=1, description="grey-zone term share")
    max_question_chars: int = Field(default=1000, ge=10, le=100_000)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from TALKS_* variables; an unknown TALKS_ name is an error (catches typos)."""
        environ = os.environ if environ is None else environ
        values: dict[str, str] = {}
        for key, value in environ.items():
            if not key.startswith(PREFIX):
                continue
            name = key[len(PREFIX) :].lower()
            if name not in cls.model_fields:
                known = ", ".join(PREFIX + f.upper() for f in cls.model_fields)
                raise SettingsError(f"Unknown setting {key}: known settings are {known}.")
            values[name] = value
        try:
            return cls(**values)
        except ValidationError as exc:
            lines = [f"{PREFIX}{str(err['loc'][0]).upper()}: {err['msg']}" for err in exc.errors()]
            raise SettingsError("Bad settings:\n  " + "\n  ".join(lines)) from exc

    def answer_params(self) -> AnswerParams:
        return AnswerParams(
            top_k=self.top_k,
            max_quotes=self.max_quotes,
            min_score=self.min_score,
            confident_score=self.confident_score,
            min_coverage=self.min_coverage,
            max_question_chars=self.max_question_chars,
        )
