"""Choosing the gate's thresholds on a labelled set: each question is taken up to the gate once
(pipeline.rank), then its Trace is replayed through gate() for every point of a grid, and its
quotes composed for each route and threshold that decides them. `talks eval FILE --sweep
--write` stores the choice in calibration.json, stamped with the set's hash and the models."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from index.answering import AnswerParams, GateThresholds, Ranked, gate, rank
from index.answering.compose import compose
from index.answering.params import CalibrationRecord, calibration_path
from index.engine import Engine

Grid = dict[str, list[float]]
ENGLISH_GRID: Grid = {
    "min_score": [round(0.20 + 0.025 * i, 3) for i in range(15)],  # 0.20 … 0.55
    "confident_score": [round(0.40 + 0.025 * i, 3) for i in range(17)],  # 0.40 … 0.80
    "min_coverage": [round(0.1 * i, 1) for i in range(1, 10)],  # 0.1 … 0.9
}
RERANK_GRID: Grid = {
    "rerank_min_score": [round(-2.0 + 0.25 * i, 2) for i in range(41)],  # -2 … 8
}
MULTILINGUAL_GRID: Grid = {"ml_min_score": [round(0.70 + 0.005 * i, 3) for i in range(41)]}
# An unanswerable question counts as declined only if it still is with every threshold lowered
# by this much: a question scoring just under a threshold is one rewording (or one CPU's
# rounding) away from a wrong answer.
SAFETY_MARGIN = {
    "rerank_min_score": 0.25,
    "min_score": 0.01,
    "confident_score": 0.01,
    "min_coverage": 0.05,
    "ml_min_score": 0.005,
}
# The threshold that decides a route's quotes (compose filters by it).
_ROUTE_THRESHOLD = {
    "plain": "min_score",
    "rerank": "rerank_min_score",
    "multilingual": "ml_min_score",
}


@dataclass
class Calibration:
    """The thresholds a sweep chose, with what they achieve on the labelled set."""

    values: dict[str, float]
    hits: int  # answerable questions answered with an expected word in the top-k quotes
    answerable: int
    abstained: int  # unanswerable questions declined
    unanswerable: int
    plateau: int  # how many grid points score as well (the choice is the middle of them)
    # Two-fold check: thresholds chosen on every other question, scored on the rest (and the
    # other way round), so an over-fitted choice shows.
    held_out_hits: int = 0
    held_out_abstained: int = 0

    def to_text(self) -> str:
        values = ", ".join(f"{name} {value:g}" for name, value in self.values.items())
        return (
            f"{values}: hit@k {self.hits}/{self.answerable}, declined with margin "
            f"{self.abstained}/{self.unanswerable} (best of {self.plateau} equal grid points); "
            f"held out (2-fold): hit@k {self.held_out_hits}/{self.answerable}, abstained "
            f"{self.held_out_abstained}/{self.unanswerable}"
        )


Case = tuple[dict, Ranked]
Outcome = Callable[[int, dict[str, float]], tuple[bool, bool]]


def _grid(grid: Grid) -> list[dict[str, float]]:
    names = list(grid)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*grid.values())]


def _choose(cases: list[int], items: list[dict], grid: Grid, outcome: Outcome) -> Calibration:
    """The grid point that declines the most unanswerable questions (by SAFETY_MARGIN) and then
    answers the most answerable ones correctly; among equal points, the one nearest the middle
    of them."""
    scored = []
    for point in _grid(grid):
        lowered = {name: value - SAFETY_MARGIN.get(name, 0.0) for name, value in point.items()}
        hits = abstained = 0
        for n in cases:
            if items[n]["expect"]:
                hits += outcome(n, point)[1]
            else:
                abstained += not outcome(n, lowered)[0]
        scored.append(((abstained, hits), point))
    best_key = max(key for key, _ in scored)
    plateau = [point for key, point in scored if key == best_key]
    spans = {n: (max(v) - min(v)) or 1.0 for n, v in grid.items()}
    centre = {n: statistics.mean(p[n] for p in plateau) for n in grid}
    chosen = min(plateau, key=lambda p: sum(((p[n] - centre[n]) / spans[n]) ** 2 for n in grid))
    return Calibration(
        values=chosen,
        hits=best_key[1],
        answerable=sum(bool(items[n]["expect"]) for n in cases),
        abstained=best_key[0],
        unanswerable=sum(not items[n]["expect"] for n in cases),
        plateau=len(plateau),
    )


def _held_out(cases: list[int], items: list[dict], grid: Grid, outcome: Outcome) -> Calibration:
    """_choose on all cases, plus the two-fold held-out figures."""
    result = _choose(cases, items, grid, outcome)
    for fold in (0, 1):
        train = [n for position, n in enumerate(cases) if position % 2 == fold]
        if not train:
            continue
        point = _choose(train, items, grid, outcome).values
        for position, n in enumerate(cases):
            if position % 2 != fold:
                answered, hit = outcome(n, point)
                result.held_out_hits += bool(items[n]["expect"]) and hit
                result.held_out_abstained += not items[n]["expect"] and not answered
    return result


class _Replay:
    """The outcome of one question at one grid point: its trace through gate(), its quotes
    composed once per route and deciding threshold."""

    def __init__(self, ranked: list[Ranked], items: list[dict], engine: Engine, params, k: int):
        self.ranked, self.items, self.engine, self.params, self.k = ranked, items, engine, params, k
        self.base: dict[str, float] = params.gate.model_dump()
        self._quotes: dict[tuple, str] = {}

    def __call__(self, n: int, point: dict[str, float]) -> tuple[bool, bool]:
        # model_construct: the sweep may set a threshold out of its bounds (inf: "off")
        thresholds = GateThresholds.model_construct(**{**self.base, **point})
        ranked = self.ranked[n]
        route = gate(ranked.trace, thresholds)
        if route is None:
            return False, False
        name = _ROUTE_THRESHOLD.get(route)
        key = (n, route, getattr(thresholds, name) if name else 0.0)
        if key not in self._quotes:
            params = self.params.model_copy(update={"gate": thresholds})
            result = compose(ranked.candidates, ranked.query, self.engine, params, route)
            self._quotes[key] = " ".join(q.text for q in result.quotes[: self.k]).lower()
        quotes = self._quotes[key]
        expect = self.items[n]["expect"]
        return bool(quotes), any(w.lower() in quotes for w in expect)


def calibrate(
    questions: list[dict], engine: Engine, params: AnswerParams, k: int = 3
) -> dict[str, Calibration]:
    """Sweep the gate's thresholds over a labelled set. English questions choose min_score,
    confident_score and min_coverage (the cosine route, also the cross-encoder's fallback), then
    rerank_min_score with those in place; Ukrainian/Russian ones ml_min_score."""
    params = params.with_changes(quotes={"max_quotes": k, "extra_quotes": 0})
    ranked = [rank(item["q"], engine, params) for item in questions]
    english = [n for n, r in enumerate(ranked) if not r.trace.multilingual]
    multilingual = [n for n, r in enumerate(ranked) if r.trace.multilingual]
    replay = _Replay(ranked, questions, engine, params, k)
    out = {}
    if english:
        replay.base["rerank_min_score"] = float("inf")  # first without the cross-encoder
        out["english"] = _held_out(english, questions, ENGLISH_GRID, replay)
        if params.scoring.rerank and engine.models.cross_encoder is not None:
            replay.base.update(out["english"].values)
            replay.base["rerank_min_score"] = params.gate.rerank_min_score
            out["english, cross-encoder"] = _held_out(english, questions, RERANK_GRID, replay)
    if multilingual:
        out["multilingual"] = _held_out(multilingual, questions, MULTILINGUAL_GRID, replay)
    return out


def chosen_thresholds(chosen: dict[str, Calibration], current: GateThresholds) -> GateThresholds:
    values = current.model_dump()
    for calibration in chosen.values():
        values.update(calibration.values)
    return GateThresholds(**values)


def calibration_text(chosen: dict[str, Calibration], current: GateThresholds) -> str:
    """The sweep's choice, what the current settings give, and the lines to set it."""
    lines = [f"{name}: {calibration.to_text()}" for name, calibration in chosen.items()]
    lines.append("")
    lines.append(
        "current settings: "
        + ", ".join(f"{n} {getattr(current, n):g}" for c in chosen.values() for n in c.values)
    )
    lines.append("to use the sweep's choice:")
    for calibration in chosen.values():
        for n, value in calibration.values.items():
            lines.append(f"  TALKS_GATE__{n.upper()}={value:g}")
    return "\n".join(lines)


def write_calibration(
    chosen: dict[str, Calibration],
    current: GateThresholds,
    eval_file: Path,
    questions: list[dict],
    k: int,
    engine: Engine,
    path: Path | None = None,
) -> Path:
    """Store the sweep's choice as calibration.json (the defaults of GateThresholds from the next
    start), stamped with the eval set's hash and the identities of the models it was made with."""
    target = Path(str(path or calibration_path()))
    record = CalibrationRecord(
        thresholds=chosen_thresholds(chosen, current).model_dump(),
        eval_set={
            "path": eval_file.as_posix(),
            "sha256": hashlib.sha256(Path(eval_file).read_bytes()).hexdigest(),
            "questions": len(questions),
            "k": k,
        },
        models=engine.models.identities(),
        chosen_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        results={name: c.to_text() for name, c in chosen.items()},
    )
    tmp = target.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record.model_dump(), indent=2) + "\n", encoding="utf-8")
    tmp.replace(target)
    return target
