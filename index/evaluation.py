"""Measuring answer quality on a labelled question file (the format of dev_questions.jsonl).

Each line: {"id", "q", "expect": [words…], "kind"}. An empty `expect` means the sources do not
answer and the right reply is "not in my sources". Figures, per kind and in total:
- hit@k: an expected word occurs in the top-k quotes (answerable questions);
- answer accuracy: an expected word occurs in the answer statement (answerable questions);
- abstention precision and recall: of the questions declined, how many should have been; of
  those that should have been, how many were;
- latency p50/p95 of answering (warm).
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import SimpleNamespace

from index.answering import AnswerParams, answer
from index.errors import TalksError
from index.retriever import Retriever


class EvalFileError(TalksError):
    """The question file cannot be read."""


@dataclass
class Row:
    id: str
    kind: str
    question: str
    expect: list[str]
    answered: bool
    hit: bool  # an expected word in the top-k quotes
    answer_ok: bool  # an expected word in the answer statement
    ms: float


@dataclass
class Figures:
    questions: int = 0
    answerable: int = 0
    unanswerable: int = 0
    hit_at_k: float | None = None
    answer_accuracy: float | None = None
    abstention_precision: float | None = None
    abstention_recall: float | None = None
    latency_ms_p50: float | None = None
    latency_ms_p95: float | None = None


@dataclass
class Report:
    k: int
    total: Figures
    by_kind: dict[str, Figures] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(
            {
                "k": self.k,
                "total": asdict(self.total),
                "by_kind": {k: asdict(v) for k, v in self.by_kind.items()},
                "misses": [asdict(r) for r in self.rows if not _correct(r)],
            },
            ensure_ascii=False,
        )

    def to_text(self) -> str:
        head = (
            f"{'kind':<18}{'n':>4}  {'hit@' + str(self.k):>7}  {'answer':>7}  "
            f"{'abst.P':>7}  {'abst.R':>7}  {'p50 ms':>7}  {'p95 ms':>7}"
        )
        lines = [head, "-" * len(head)]
        for name, f in [*sorted(self.by_kind.items()), ("TOTAL", self.total)]:
            lines.append(
                f"{name:<18}{f.questions:>4}  {_pct(f.hit_at_k):>7}  {_pct(f.answer_accuracy):>7}  "
                f"{_pct(f.abstention_precision):>7}  {_pct(f.abstention_recall):>7}  "
                f"{_num(f.latency_ms_p50):>7}  {_num(f.latency_ms_p95):>7}"
            )
        misses = [r for r in self.rows if not _correct(r)]
        if misses:
            lines.append("")
            lines.append(f"{len(misses)} wrong:")
            for r in misses:
                want = ", ".join(r.expect) if r.expect else "not in my sources"
                got = "answered" if r.answered else "declined"
                lines.append(f"  {r.id} [{r.kind}] {r.question!r}: expected {want}; {got}")
        return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _correct(row: Row) -> bool:
    return row.hit if row.expect else not row.answered


def read_questions(path: Path) -> list[dict]:
    """Questions from a JSONL file, checked line by line."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise EvalFileError(f"Cannot read {path}: {exc.strerror}.") from exc
    questions = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            if not isinstance(item.get("q"), str) or not isinstance(item.get("expect"), list):
                raise ValueError("needs a string 'q' and a list 'expect'")
        except (ValueError, AttributeError) as exc:
            raise EvalFileError(f"{path}, line {number}: {exc}.") from exc
        item.setdefault("id", f"line{number}")
        item.setdefault("kind", "unlabelled")
        questions.append(item)
    if not questions:
        raise EvalFileError(f"{path} has no questions.")
    return questions


def _figures(rows: list[Row]) -> Figures:
    answerable = [r for r in rows if r.expect]
    unanswerable = [r for r in rows if not r.expect]
    declined = [r for r in rows if not r.answered]
    latencies = sorted(r.ms for r in rows)
    figures = Figures(
        questions=len(rows), answerable=len(answerable), unanswerable=len(unanswerable)
    )
    if answerable:
        figures.hit_at_k = sum(r.hit for r in answerable) / len(answerable)
        figures.answer_accuracy = sum(r.answer_ok for r in answerable) / len(answerable)
    if declined:
        figures.abstention_precision = sum(not r.expect for r in declined) / len(declined)
    if unanswerable:
        figures.abstention_recall = sum(not r.answered for r in unanswerable) / len(unanswerable)
    if latencies:
        figures.latency_ms_p50 = statistics.median(latencies)
        figures.latency_ms_p95 = latencies[
            min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))
        ]
    return figures


def evaluate(
    questions: list[dict], retriever: Retriever, params: AnswerParams, k: int = 5
) -> Report:
    """Answer every question (after one warm-up) and score the answers."""
    params = params.model_copy(update={"max_quotes": k, "extra_quotes": 0})
    answer(questions[0]["q"], retriever, params)  # warm-up
    rows = []
    for item in questions:
        started = time.perf_counter()
        result = answer(item["q"], retriever, params)
        ms = (time.perf_counter() - started) * 1000
        expect = [w.lower() for w in item["expect"]]
        quotes = " ".join(q.text for q in result.quotes[:k]).lower()
        statement = (result.answer or "").lower()
        rows.append(
            Row(
                id=str(item["id"]),
                kind=str(item["kind"]),
                question=item["q"],
                expect=item["expect"],
                answered=result.answered,
                hit=any(w in quotes for w in expect),
                answer_ok=any(w in statement for w in expect),
                ms=round(ms, 2),
            )
        )
    kinds = sorted({r.kind for r in rows})
    return Report(
        k=k,
        total=_figures(rows),
        by_kind={kind: _figures([r for r in rows if r.kind == kind]) for kind in kinds},
        rows=rows,
    )


def compare_text(reports: dict[str, Report]) -> str:
    """Several retrieval modes side by side: hit@k and abstention recall per kind and total."""
    modes = list(reports)
    k = next(iter(reports.values())).k
    kinds = sorted({kind for r in reports.values() for kind in r.by_kind})
    head = f"{'kind':<18}" + "".join(f"{m + ' hit@' + str(k):>14}" for m in modes)
    head += "".join(f"{m + ' abst.R':>14}" for m in modes)
    lines = [head, "-" * len(head)]
    for kind in [*kinds, "TOTAL"]:
        figs = [r.total if kind == "TOTAL" else r.by_kind[kind] for r in reports.values()]
        lines.append(
            f"{kind:<18}"
            + "".join(f"{_pct(f.hit_at_k):>14}" for f in figs)
            + "".join(f"{_pct(f.abstention_recall):>14}" for f in figs)
        )
    lines.append("")
    lines.append(
        "latency p50/p95 ms: "
        + ", ".join(
            f"{m} {_num(r.total.latency_ms_p50)}/{_num(r.total.latency_ms_p95)}"
            for m, r in reports.items()
        )
    )
    return "\n".join(lines)


# --- Calibration: choosing the abstention thresholds on a labelled set ---------------------------

ENGLISH_GRID = {
    "min_score": [round(0.20 + 0.025 * i, 3) for i in range(15)],  # 0.20 … 0.55
    "confident_score": [round(0.40 + 0.025 * i, 3) for i in range(17)],  # 0.40 … 0.80
    "min_coverage": [round(0.1 * i, 1) for i in range(1, 10)],  # 0.1 … 0.9
}
RERANK_GRID = {
    "rerank_min_score": [round(-2.0 + 0.25 * i, 2) for i in range(41)],  # -2 … 8
}
MULTILINGUAL_GRID = {"ml_min_score": [round(0.70 + 0.005 * i, 3) for i in range(41)]}  # … 0.90
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


def _grid(grid: dict[str, list[float]]) -> list[dict[str, float]]:
    import itertools

    names = list(grid)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*grid.values())]


def _choose(
    cases: list[tuple[dict, object]],
    grid: dict[str, list[float]],
    outcome,
) -> Calibration:
    """The grid point that declines the most unanswerable questions (by SAFETY_MARGIN) and then
    answers the most answerable ones correctly; among equal points, the one nearest the middle
    of them."""
    scored = []
    for point in _grid(grid):
        lowered = {name: value - SAFETY_MARGIN.get(name, 0.0) for name, value in point.items()}
        hits = abstained = 0
        for item, ranking in cases:
            if item["expect"]:
                hits += outcome(item, ranking, point)[1]
            else:
                abstained += not outcome(item, ranking, lowered)[0]
        scored.append(((abstained, hits), point))
    best_key = max(key for key, _ in scored)
    plateau = [point for key, point in scored if key == best_key]
    spans = {n: (max(v) - min(v)) or 1.0 for n, v in grid.items()}
    centre = {n: statistics.mean(p[n] for p in plateau) for n in grid}
    chosen = min(plateau, key=lambda p: sum(((p[n] - centre[n]) / spans[n]) ** 2 for n in grid))
    return Calibration(
        values=chosen,
        hits=best_key[1],
        answerable=sum(bool(item["expect"]) for item, _ in cases),
        abstained=best_key[0],
        unanswerable=sum(not item["expect"] for item, _ in cases),
        plateau=len(plateau),
    )


def calibrate(
    questions: list[dict], retriever: Retriever, params: AnswerParams, k: int = 3
) -> dict[str, Calibration]:
    """Sweep the abstention thresholds over a labelled set: each question is ranked once and
    its gate and quotes replayed for every grid point. English questions choose
    rerank_min_score and min_score (with the cross-encoder) or min_score, confident_score and
    min_coverage (without); Ukrainian/Russian ones (multilingual-e5) ml_min_score."""
    from index.answering import compose, gate, rank

    params = params.model_copy(update={"max_quotes": k, "extra_quotes": 0})
    english, multilingual = [], []
    for item in questions:
        ranking = rank(item["q"], retriever, params)
        (multilingual if ranking.multilingual else english).append((item, ranking))
    quotes_cache: dict[tuple, str] = {}

    def outcome(item: dict, ranking, point: dict[str, float]) -> tuple[bool, bool]:
        trial = SimpleNamespace(**{**base, **point})  # cheap: the gate only reads attributes
        route = gate(ranking, trial)
        if route is None:
            return False, False
        threshold = {
            "plain": trial.min_score,
            "define": 0.0,
            "rerank": trial.rerank_min_score,
            "multilingual": trial.ml_min_score,
        }[route]
        key = (id(ranking), route, threshold)
        if key not in quotes_cache:
            result = compose(ranking, retriever, AnswerParams(**{**base, **point}), route)
            quotes_cache[key] = " ".join(q.text for q in result.quotes[:k]).lower()
        quotes = quotes_cache[key]
        return bool(quotes), any(w.lower() in quotes for w in item["expect"])

    def chosen(cases, grid) -> Calibration:
        result = _choose(cases, grid, outcome)
        for fold in (0, 1):
            train = [c for n, c in enumerate(cases) if n % 2 == fold]
            if not train:
                continue
            point = _choose(train, grid, outcome).values
            for n, (item, ranking) in enumerate(cases):
                if n % 2 != fold:
                    answered, hit = outcome(item, ranking, point)
                    result.held_out_hits += bool(item["expect"]) and hit
                    result.held_out_abstained += not item["expect"] and not answered
        return result

    out = {}
    base = params.model_dump()
    if english:
        # First the thresholds without the cross-encoder (also its fallback: an answer it rates
        # low may still pass them), then its own threshold with those in place.
        base["rerank_min_score"] = float("inf")
        out["english"] = chosen(english, ENGLISH_GRID)
        if params.rerank:
            base.update(out["english"].values)
            base["rerank_min_score"] = params.rerank_min_score
            out["english, cross-encoder"] = chosen(english, RERANK_GRID)
    if multilingual:
        out["multilingual"] = chosen(multilingual, MULTILINGUAL_GRID)
    return out


def calibration_text(chosen: dict[str, Calibration], current: AnswerParams) -> str:
    """The sweep's choice, what the current settings give, and the lines to set it."""
    lines = []
    for name, calibration in chosen.items():
        lines.append(f"{name}: {calibration.to_text()}")
    lines.append("")
    lines.append(
        "current settings: "
        + ", ".join(f"{n} {getattr(current, n):g}" for c in chosen.values() for n in c.values)
    )
    lines.append("to use the sweep's choice:")
    for calibration in chosen.values():
        for n, value in calibration.values.items():
            lines.append(f"  TALKS_{n.upper()}={value:g}")
    return "\n".join(lines)
