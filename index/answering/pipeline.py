"""answer(): the stages in order, each a function of the one before.

analyze → (a time after the newest article: declined with its date) → (a question for the
news with no subject: headlines) → gather → combine →
keep_statements → prefer_names → prefer_dates → verify (read_candidates) →
defining → per_passage → trace → gate → compose.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from index.engine import Engine
from index.models import Answer

from . import headlines, scoring, verify
from .candidates import Candidates, gather
from .compose import compose, not_answered
from .followup import complete
from .gate import Trace, gate, trace
from .params import AnswerParams
from .query import Query, analyze


@dataclass(frozen=True)
class Ranked:
    """A question taken up to the gate: its analysis, its candidates and what the gate sees."""

    query: Query
    candidates: Candidates
    trace: Trace


def rank(
    question: str,
    engine: Engine,
    params: AnswerParams,
    language: str | None = None,
    today: dt.date | None = None,
) -> Ranked:
    """Every stage before the gate. `language` is the user's (Telegram's language code, uk or
    ru), which decides between Ukrainian and Russian when the letters do not; `today` what
    relative dates count from (the system's date). Raises QuestionError on bad input."""
    return rank_query(analyze(question, engine, params, language, today), engine, params)


def rank_query(query: Query, engine: Engine, params: AnswerParams) -> Ranked:
    """rank() for a question already analysed."""
    cands = gather(engine, query, params)
    cands = scoring.combine(cands, query, params)
    cands = scoring.keep_statements(cands)
    cands = scoring.prefer_names(cands, query, engine)
    cands = scoring.prefer_dates(cands, query, engine, params)
    cands = verify.read_candidates(cands, query, engine, params)
    cands = scoring.defining(cands, query)
    cands = scoring.per_passage(cands, engine)
    return Ranked(query, cands, trace(cands, query, engine, params))


def answer(
    question: str,
    engine: Engine,
    params: AnswerParams | None = None,
    language: str | None = None,
    today: dt.date | None = None,
) -> Answer:
    """Answer from the index, or say the sources do not cover it. `language`: the user's
    (see rank). Raises QuestionError on bad input."""
    params = params or AnswerParams()
    query = analyze(question, engine, params, language, today)
    if query.beyond is not None:
        return not_answered(query.text, query.language).model_copy(
            update={"newest_source": query.beyond, "beyond_sources": True}
        )
    if params.retrieval.time_aware and headlines.applies(query):
        return headlines.answer(query, engine, params)
    ranked = rank_query(query, engine, params)
    route = gate(ranked.trace, params.gate)
    return compose(ranked.candidates, ranked.query, engine, params, route)


def answer_after(
    message: str,
    previous: str | None,
    engine: Engine,
    params: AnswerParams | None = None,
    language: str | None = None,
    today: dt.date | None = None,
) -> Answer:
    """answer() for a message of a conversation: a follow-up ("and ukraine's?") is completed
    from `previous`, the question answered before it (None: none, or too long ago), and the
    answer says what the reader typed (Answer.asked) beside what was answered."""
    follow_up = complete(message, previous, is_name=engine.lexicon.is_name)
    result = answer(follow_up.question, engine, params, language, today)
    return result.model_copy(update={"asked": message}) if follow_up.completed else result
