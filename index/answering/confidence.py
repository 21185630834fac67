"""The abstention decision as a calibrated model: a logistic regression over the signals the
candidates come down to (gate.features of the Trace), fitted on labelled questions about real
articles by `talks eval --sweep --write` and stored in calibration.json. It gives the
probability that the answer the route would send is right; the gate answers above the
operating point chosen for precision.

Names and numbers the answer's article lacks, a question's unknown names, the kind of answer
it expects and whether the answer offers one are features here, not vetoes: the model learns
how much each weighs, which is what holds up on text nobody tuned rules on (Kamath, Jia and
Liang, "Selective Question Answering under Domain Shift", ACL 2020)."""

from __future__ import annotations

import math
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict

from index.errors import CalibrationError


class Confidence(BaseModel):
    """One fitted model: standardised features, coefficients, the operating point."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float  # answer when the probability is at least this

    def probability(self, values: Mapping[str, float]) -> float:
        z = self.intercept
        for name, mean, scale, coef in zip(
            self.features, self.mean, self.scale, self.coef, strict=True
        ):
            z += coef * (values[name] - mean) / scale
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


class ConfidenceModels(BaseModel):
    """Questions judged by the trained verifier (English; Ukrainian/Russian), and, with it off
    (TALKS_SCORING__VERIFY=false), as before: English questions read by the packaged
    cross-encoder, English questions without it (TALKS_SCORING__RERANK=false: cosines and words
    only), Ukrainian/Russian ones (e5)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    english: Confidence
    english_plain: Confidence
    multilingual: Confidence
    verified: Confidence | None = None
    verified_ml: Confidence | None = None

    def of(self, multilingual: bool, reranked: bool = True, verified: bool = False) -> Confidence:
        if verified:
            chosen = self.verified_ml if multilingual else self.verified
            if chosen is None:
                raise CalibrationError(
                    "calibration.json has no fit for the answer verifier: recalibrate with "
                    "`talks eval tests/data/news/questions.jsonl --corpus tests/data/news/corpus "
                    "--split cal --sweep --write`."
                )
            return chosen
        if multilingual:
            return self.multilingual
        return self.english if reranked else self.english_plain
