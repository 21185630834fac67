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

import datetime as dt
import json
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from index.answering import AnswerParams, answer
from index.engine import Engine
from index.errors import EvalFileError


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


def read_questions(path: Path, split: str | None = None) -> list[dict]:
    """Questions from a JSONL file, checked line by line; only those of one part ("cal",
    "test") if split is given."""
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
        if split is None or item.get("split") == split:
            questions.append(item)
    if not questions:
        where = f" in part {split!r}" if split else ""
        raise EvalFileError(f"{path} has no questions{where}.")
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
    questions: list[dict],
    engine: Engine,
    params: AnswerParams,
    k: int = 5,
    today: dt.date | None = None,
) -> Report:
    """Answer every question (after one warm-up) and score the answers. `today`: the day the
    questions are asked (relative dates count from it; default: the system's date)."""
    params = params.with_changes(quotes={"max_quotes": k, "extra_quotes": 0})
    answer(questions[0]["q"], engine, params, today=today)  # warm-up
    rows = []
    for item in questions:
        started = time.perf_counter()
        result = answer(item["q"], engine, params, today=today)
        ms = (time.perf_counter() - started) * 1000
        quotes = " ".join(q.text for q in result.quotes[:k])
        rows.append(_row(item, result.answered, quotes, result.answer or "", ms))
    return _report(rows, k)


def _row(item: dict, answered: bool, quotes: str, statement: str, ms: float) -> Row:
    expect = [w.lower() for w in item["expect"]]
    return Row(
        id=str(item["id"]),
        kind=_kind(item),
        question=item["q"],
        expect=item["expect"],
        answered=answered,
        hit=any(w in quotes.lower() for w in expect),
        answer_ok=any(w in statement.lower() for w in expect),
        ms=round(ms, 2),
    )


def baseline(questions: list[dict], engine: Engine, k: int = 3) -> Report:
    """The naive reference on the same questions: MiniLM + FAISS, the top-k passages as quotes
    and their best sentence by cosine as the answer, every question answered (no abstention,
    no BM25, no cross-encoder, no multilingual model)."""
    rows = []
    space = engine.english
    for item in questions:
        started = time.perf_counter()
        vector = engine.models.minilm.encode_query(item["q"])
        hits = space.search(vector, k)
        sentences = np.array(
            [s for hit in hits for s in engine.passages[hit.row].sentence_ids], dtype=np.int64
        )
        best = int(sentences[int(np.argmax(space.sentence_scores(vector, sentences)))])
        ms = (time.perf_counter() - started) * 1000
        quotes = " ".join(engine.passages[hit.row].text for hit in hits)
        rows.append(_row(item, True, quotes, engine.sentence_text(best), ms))
    return _report(rows, k)


def _kind(item: dict) -> str:
    """The row's group: its kind, prefixed with its language when the file labels one other than
    English ("uk:paraphrase")."""
    kind = str(item["kind"])
    language = item.get("lang")
    return f"{language}:{kind}" if language and language != "en" and ":" not in kind else kind


def _report(rows: list[Row], k: int) -> Report:
    kinds = sorted({r.kind for r in rows})
    by_kind = {kind: _figures([r for r in rows if r.kind == kind]) for kind in kinds}
    languages = {r.kind.split(":")[0] for r in rows if ":" in r.kind}
    if languages:  # a total per language: English rows have no prefix
        by_kind["ALL en"] = _figures([r for r in rows if ":" not in r.kind])
        for language in sorted(languages):
            by_kind[f"ALL {language}"] = _figures(
                [r for r in rows if r.kind.startswith(f"{language}:")]
            )
    return Report(k=k, total=_figures(rows), by_kind=by_kind, rows=rows)


def compare_text(reports: dict[str, Report]) -> str:
    """Several modes side by side: hit@k, answer accuracy and abstention recall per kind and
    total, then latency."""
    modes = list(reports)
    k = next(iter(reports.values())).k
    kinds = sorted({kind for r in reports.values() for kind in r.by_kind})
    columns = [f"hit@{k}", "answer", "abst.R"]
    head = f"{'kind':<20}{'n':>4}" + "".join(f"{m + ' ' + c:>16}" for m in modes for c in columns)
    lines = [head, "-" * len(head)]
    for kind in [*kinds, "TOTAL"]:
        figs = [r.total if kind == "TOTAL" else r.by_kind[kind] for r in reports.values()]
        cells = [
            _pct(value)
            for f in figs
            for value in (f.hit_at_k, f.answer_accuracy, f.abstention_recall)
        ]
        lines.append(f"{kind:<20}{figs[0].questions:>4}" + "".join(f"{c:>16}" for c in cells))
    lines.append("")
    lines.append(
        "latency p50/p95 ms: "
        + ", ".join(
            f"{m} {_num(r.total.latency_ms_p50)}/{_num(r.total.latency_ms_p95)}"
            for m, r in reports.items()
        )
    )
    return "\n".join(lines)
