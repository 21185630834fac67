"""Answering: question → the sentences that answer it, as verified verbatim quotes. Pure: no
Telegram, no printing. The stages are modules, in the order a question passes them:

query (analysis) → candidates → scoring (and filters) → rerank → gate → compose; pipeline
runs them. params holds every tunable, nested by stage.
"""

from .compose import verify_quote
from .followup import FollowUp, complete
from .gate import Route, Trace, gate
from .params import AnswerParams, GateThresholds, QuoteParams, RetrievalParams, ScoringParams
from .pipeline import Ranked, answer, answer_after, rank
from .query import Query, validate_question

__all__ = [
    "AnswerParams",
    "FollowUp",
    "GateThresholds",
    "Query",
    "QuoteParams",
    "Ranked",
    "RetrievalParams",
    "Route",
    "ScoringParams",
    "Trace",
    "answer",
    "answer_after",
    "complete",
    "gate",
    "rank",
    "validate_question",
    "verify_quote",
]
