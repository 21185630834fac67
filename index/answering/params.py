"""Every tunable of answering, nested by the stage that reads it. The gate's thresholds default
to the values in calibration.json, which `talks eval FILE --sweep --write` chooses and stamps."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from index.errors import CalibrationError

from .confidence import ConfidenceModels

CALIBRATION_FILE = "calibration.json"


class CalibrationRecord(BaseModel):
    """calibration.json: the thresholds a sweep chose, what they were chosen on and with."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    thresholds: dict[str, float]
    confidence: ConfidenceModels
    eval_set: dict[str, Any]  # path, sha256, questions, k, split
    models: dict[str, dict[str, object] | None]  # identities, as Models.identities() gives
    chosen_at: str
    results: dict[str, str]  # the sweep's report per route
    # the verifier's models and the others come from two sweeps: eval_set, models and
    # chosen_at are the verifier's sweep; `before` the same for the models of the route of
    # before (TALKS_SCORING__VERIFY=false)
    before: dict[str, Any] | None = None


def calibration_path():
    return files("index").joinpath(CALIBRATION_FILE)


@cache
def calibration() -> CalibrationRecord:
    """The calibration shipped with the package."""
    path = calibration_path()
    try:
        return CalibrationRecord.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, ValidationError) as exc:
        raise CalibrationError(
            f"Cannot read {path} ({str(exc).splitlines()[0][:200]}): reinstall with "
            "`pip install -e .`, or recalibrate with `talks eval tests/data/real/questions.jsonl "
            "--corpus tests/data/real/corpus --split cal --k 3 --sweep --write`."
        ) from exc


def _calibrated(name: str, default: float | None = None) -> float:
    thresholds = calibration().thresholds
    if default is not None and name not in thresholds:
        return default
    return float(thresholds[name])


def confidence_models() -> ConfidenceModels:
    """The fitted abstention models shipped with the package."""
    return calibration().confidence


class _Stage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RetrievalParams(_Stage):
    """Which passages are candidates."""

    # dense vectors only, BM25 only, or both fused by reciprocal rank fusion (the default:
    # better than either on the project's eval set, `talks eval --compare`).
    mode: Literal["hybrid", "dense", "bm25"] = "hybrid"
    # 12: with the verifier reading 10-15 candidates, a right sentence is among them more often
    # than from 8 passages (cal part of tests/data/news, English: 84% against 82% in the first
    # ten, 88% against 84% in the first fifteen)
    top_k: int = Field(default=12, ge=1, le=100, description="passages retrieved per question")
    per_article: int = Field(default=5, ge=1, le=100, description="of one article among top_k")
    fusion_depth: int = Field(default=50, ge=1, le=10_000, description="ranks fused, per side")
    rrf_k: int = Field(default=60, ge=1, le=10_000, description="reciprocal rank fusion constant")
    multilingual: bool = Field(default=True, description="e5 vectors for uk/ru questions")
    # e5 rates any two texts in the same script as close: a Cyrillic question scores Cyrillic
    # passages ~0.05-0.08 higher whatever they say. Taken back before ranking and the gate.
    same_script_offset: float = Field(default=0.08, ge=0, le=1)
    # Dates in questions filter the candidates ("in June", "last week") and "the latest" keeps
    # the newest articles on the subject; off: named dates only reorder them (as before).
    time_aware: bool = Field(default=True, description="dates in questions filter candidates")


class ScoringParams(_Stage):
    """How candidate sentences are ranked: their cosine, their best passage's cosine and the
    IDF-weighted share of question terms they contain (names and numbers the embedding
    blurs); then, for English questions, the cross-encoder reads the best few."""

    sentence_weight: float = 0.5
    passage_weight: float = 0.3
    lexical_weight: float = 0.2
    rerank: bool = Field(default=True, description="cross-encoder for English questions")
    rerank_depth: int = Field(default=5, ge=1, le=50, description="sentences it reads")
    # the trained answer verifier (index.verifier) reads the first verify_depth candidates of
    # every question; off (the default until its gate answers the seed article's questions:
    # README, "The answer verifier"), English questions are read by the packaged cross-encoder
    verify: bool = Field(default=False, description="the trained verifier picks the answer")
    verify_depth: int = Field(default=int(_calibrated("verify_depth")), ge=1, le=60)


class GateThresholds(_Stage):
    """Whether the sources answer, and what else may be quoted; defaults from calibration.json.
    min_confidence and ml_min_confidence are the operating points of the confidence models
    (the probability that an answer is right, English and Ukrainian/Russian questions);
    rerank_min_score is the cross-encoder logit from which its pick is the answer; min_score
    (all-MiniLM-L6-v2) and ml_min_score (multilingual-e5) are cosine floors for further quotes."""

    # None: the operating point the model was fitted with
    min_confidence: float | None = Field(default=None, ge=0, le=1)
    ml_min_confidence: float | None = Field(default=None, ge=0, le=1)
    rerank_min_score: float = Field(default=_calibrated("rerank_min_score"), ge=-20, le=20)
    min_score: float = Field(default=_calibrated("min_score"), ge=-1, le=1)
    ml_min_score: float = Field(default=_calibrated("ml_min_score"), ge=-1, le=1)
    # The fitted models themselves (None: calibration.json's); tests give their own.
    confidence: ConfidenceModels | None = None

    def models(self) -> ConfidenceModels:
        return self.confidence or confidence_models()

    def operating_point(
        self, multilingual: bool, reranked: bool = True, verified: bool = False
    ) -> float:
        chosen = self.ml_min_confidence if multilingual else self.min_confidence
        if chosen is not None:
            return chosen
        return self.models().of(multilingual, reranked, verified).threshold


class QuoteParams(_Stage):
    """How many quotes, how close to the answer they must score, how long they may be."""

    max_quotes: int = Field(default=3, ge=1, le=10, description="quotes per answer")
    # Further quotes for a "more sources" view: looser margin, same relevance floor.
    extra_quotes: int = Field(default=0, ge=0, le=10)
    quote_margin: float = Field(default=0.10, ge=0)  # cosine route: within this of the best
    extra_margin: float = Field(default=0.20, ge=0)
    rerank_margin: float = Field(default=4.0, ge=0)  # cross-encoder route, in logits
    max_quote_chars: int = Field(default=450, ge=50, description="a quote with its context")
    # A story that moves every week: an answer whose newest source on the subject is older
    # than this says so ("my newest source on this is from …").
    stale_after_days: int = Field(default=30, ge=1, description="age of an old source")


class AnswerParams(_Stage):
    """All answering settings, by stage."""

    retrieval: RetrievalParams = RetrievalParams()
    scoring: ScoringParams = ScoringParams()
    gate: GateThresholds = GateThresholds()
    quotes: QuoteParams = QuoteParams()
    max_question_chars: int = Field(default=1000, ge=10, le=100_000)

    def with_changes(self, **stages: dict[str, Any]) -> AnswerParams:
        """A copy with some fields of some stages changed:
        params.with_changes(quotes={"max_quotes": 5}, gate={"min_score": 0.3})."""
        update: dict[str, Any] = {}
        for name, changes in stages.items():
            stage = getattr(self, name)
            if isinstance(stage, BaseModel):
                update[name] = stage.model_validate({**stage.model_dump(), **changes})
            else:
                update[name] = changes
        return self.model_validate({**self.model_dump(), **update})
