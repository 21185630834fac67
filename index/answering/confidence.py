"""The abstention decision as a calibrated model: a logistic regression over the signals the
candidates come down to (the Trace), fitted on a labelled set of real articles by `talks eval
--sweep --write` and stored in calibration.json. It gives the probability that the answer the
route would send is right; the gate answers above the operating point chosen for precision.

Names and numbers the answer's article lacks, a question's unknown names, the kind of answer
it expects and whether the answer offers one are features here, not vetoes: the model learns
how much each weighs, which is what holds up on text nobody tuned rules on (Kamath, Jia and
Liang, "Selective Question Answering under Domain Shift", ACL 2020)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from .gate import Trace

NO_RERANK = -12.0  # the cross-encoder's logit when it read nothing (below any it gives)


def features(trace: Trace) -> dict[str, float]:
    """Every signal as a number (both models pick theirs by name)."""
    expects_unmet = trace.expects is not None and not trace.offers
    return {
        "rerank": trace.best_rerank if trace.best_rerank is not None else NO_RERANK,
        "rerank_margin": min(trace.rerank_margin, 8.0),
        "relevance": trace.relevance,
        "passage_relevance": trace.passage_relevance,
        "cosine_margin": trace.cosine_margin,
        "coverage": trace.coverage,
        "lexical": trace.lexical,
        "dense_top": 1.0 / (1 + trace.dense_rank),
        "lexical_top": 1.0 / (1 + trace.lexical_rank),
        "missing": float(len(trace.missing)),
        "missing_share": len(trace.missing) / max(1, trace.names),
        "unknown": float(len(trace.unknown)),
        "expects_unmet": float(expects_unmet),
        "defines": float(trace.defines),
        "outlet": float(trace.outlet),
        "date_mismatch": float(trace.date_mismatch),
    }


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
    """English questions (cross-encoder and cosines) and Ukrainian/Russian ones (e5)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    english: Confidence
    multilingual: Confidence

    def of(self, trace: Trace) -> Confidence:
        return self.multilingual if trace.multilingual else self.english
