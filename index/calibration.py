"""Fitting the gate on a labelled set (`talks eval FILE --split cal --sweep --write`).

Each question is taken up to the gate once (pipeline.rank) and the answer its route would send
is composed and judged (an expected word in the answer or its quotes). Then, for English and
for Ukrainian/Russian questions separately:
- rerank_min_score, the logit from which the cross-encoder's pick is the answer, is the grid
  point under which the most answerable questions get a right answer;
- a logistic regression (scikit-learn) over the Trace's features predicts "the answer is
  right"; its L2 penalty and operating point are chosen on out-of-fold probabilities (5 folds),
  so the figures reported are not the fit's own: the threshold maximises right answers −
  WRONG_ANSWER_COST × wrong answers (a wrong answer, or any answer to a question the sources
  do not answer, costs more than a decline).
The result is stored in calibration.json, stamped with the set's hash and the models."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.answering import AnswerParams, Ranked, rank
from index.answering.compose import compose
from index.answering.confidence import Confidence, ConfidenceModels
from index.answering.gate import features, route_of, trace
from index.answering.params import CalibrationRecord, calibration, calibration_path
from index.engine import Engine
from index.errors import CalibrationError

WRONG_ANSWER_COST = 2.0
ENGLISH_FEATURES = (
    "rerank", "rerank_margin", "relevance", "passage_relevance", "cosine_margin", "coverage",
    "lexical", "dense_top", "lexical_top", "missing", "missing_share", "unknown",
    "expects_unmet", "expects_unmet_sentence", "defines", "outlet", "date_mismatch",
    "plain_relevance",
)  # fmt: skip
PLAIN_FEATURES = tuple(
    n for n in ENGLISH_FEATURES if n not in ("rerank", "rerank_margin", "plain_relevance")
)  # English without the cross-encoder
MULTILINGUAL_FEATURES = (
    "relevance", "passage_relevance", "cosine_margin", "dense_top", "lexical_top", "missing",
    "missing_share", "unknown", "expects_unmet", "expects_unmet_sentence", "outlet",
    "date_mismatch", "names_found",
)  # fmt: skip
# The trained verifier's logit decides; these few signals stay beside it (the rest were measured
# to add nothing once it reads the candidates: README, "The answer verifier").
VERIFIED_FEATURES = ("rerank", "rerank_margin", "missing_share", "unknown", "date_mismatch")
DEPTH_GRID = (5, 8, 10, 12, 15)  # candidates the verifier may read (see benchmarks/speed.py)
RERANK_GRID = [round(-4.0 + 0.5 * i, 2) for i in range(21)] + [20.0]  # -4 … 6, and off
FOLDS = 5
# scikit-learn's C (the inverse of the L2 penalty): the one whose out-of-fold gain is best
REGULARISATION_GRID = (0.03, 0.1, 0.3, 1.0, 3.0)


@dataclass
class Fit:
    """One model's choice, with what it achieves out of fold on the labelled set."""

    model: Confidence
    answerable: int
    unanswerable: int
    right: int  # answerable questions answered right at the operating point (out of fold)
    wrong: int  # answerable questions answered wrongly
    declined: int  # unanswerable questions declined
    auc: float  # out of fold: right answers against everything else
    regularisation: float = 1.0

    def to_text(self) -> str:
        return (
            f"threshold {self.model.threshold:.3f} (C {self.regularisation:g}): out of fold, "
            f"{self.right}/{self.answerable} "
            f"answerable answered right ({self.wrong} wrong), {self.declined}/"
            f"{self.unanswerable} unanswerable declined; AUC {self.auc:.3f}"
        )


@dataclass
class Calibration:
    """What a sweep fitted: with the verifier on, its two models (the others are kept from
    calibration.json); with it off, the three models of the cross-encoder and e5 routes."""

    rerank_min_score: float | None = None
    english: Fit | None = None
    english_plain: Fit | None = None
    multilingual: Fit | None = None
    verified: Fit | None = None
    verified_ml: Fit | None = None
    verify_depth: int | None = None
    compared: dict[str, str] | None = None  # the verifier's gates with every signal (reported)

    def fits(self) -> dict[str, Fit]:
        names = ("english", "english_plain", "multilingual", "verified", "verified_ml")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}

    def to_text(self) -> str:
        lines = (
            [] if self.rerank_min_score is None else [f"rerank_min_score {self.rerank_min_score:g}"]
        )
        lines += [f"{name}: {fit.to_text()}" for name, fit in self.fits().items()]
        return "\n".join(lines)


def _judge(
    ranked: Ranked, item: dict, engine: Engine, params: AnswerParams, k: int, route=None
) -> bool:
    """Whether the answer the route would send holds an expected word in the answer sentence or
    its first k quotes (False if the question is unanswerable)."""
    route = route or ranked.trace.route
    if not item["expect"] or route is None:
        return False
    result = compose(ranked.candidates, ranked.query, engine, params, route)
    text = " ".join([result.answer or "", *(q.text for q in result.quotes[:k])]).lower()
    return any(w.lower() in text for w in item["expect"])


def _choose_switch(
    ranked: list[Ranked], items: list[dict], engines: list[Engine], params: AnswerParams, k: int
) -> float:
    """The rerank_min_score under which most answerable English questions get a right answer
    (ties: the lowest)."""
    best, best_right = params.gate.rerank_min_score, -1
    english = [n for n, r in enumerate(ranked) if not r.trace.multilingual and items[n]["expect"]]
    for value in RERANK_GRID:
        p = params.with_changes(gate={"rerank_min_score": value})
        right = 0
        for n in english:
            route = route_of(ranked[n].candidates, ranked[n].query, p)
            right += _judge(ranked[n], items[n], engines[n], p, k, route)
        if right > best_right:
            best, best_right = value, right
    return best


def _fit(rows: list[dict[str, float]], labels: list[int], answerable: list[bool], names) -> Fit:
    """The logistic regression on standardised features, its C and operating point chosen on
    out-of-fold probabilities (5 folds, stratified)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    x = np.array([[row[n] for n in names] for row in rows], dtype=np.float64)
    y = np.array(labels, dtype=np.int64)
    if len(set(labels)) < 2 or min(np.bincount(y)) < FOLDS:
        raise CalibrationError(
            f"Too few questions to fit ({int(y.sum())} answered right, {len(y) - int(y.sum())} "
            "not): label more, at least a few dozen of each."
        )
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    z = (x - mean) / scale
    best = max(
        ((_gain(oof, y, _operating_point(oof, y)), c, oof) for c in REGULARISATION_GRID
         for oof in [_out_of_fold(z, y, c)]),
        key=lambda t: t[0],
    )  # fmt: skip
    _, c, oof = best
    final = LogisticRegression(C=c, max_iter=1000).fit(z, y)
    threshold = _operating_point(oof, y)
    answered = oof >= threshold
    is_answerable = np.array(answerable)
    model = Confidence(
        features=tuple(names),
        mean=tuple(float(v) for v in mean),
        scale=tuple(float(v) for v in scale),
        coef=tuple(float(v) for v in final.coef_[0]),
        intercept=float(final.intercept_[0]),
        threshold=float(threshold),
    )
    return Fit(
        model=model,
        answerable=int(is_answerable.sum()),
        unanswerable=int((~is_answerable).sum()),
        right=int((answered & (y == 1)).sum()),
        wrong=int((answered & (y == 0) & is_answerable).sum()),
        declined=int((~answered & ~is_answerable).sum()),
        auc=float(roc_auc_score(y, oof)),
        regularisation=c,
    )


def _out_of_fold(z: np.ndarray, y: np.ndarray, c: float) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    oof = np.zeros(len(y))
    for train, test in StratifiedKFold(FOLDS, shuffle=True, random_state=0).split(z, y):
        fold = LogisticRegression(C=c, max_iter=1000).fit(z[train], y[train])
        oof[test] = fold.predict_proba(z[test])[:, 1]
    return oof


def _gain(probabilities: np.ndarray, labels: np.ndarray, cut: float) -> float:
    answered = probabilities >= cut
    right = (answered & (labels == 1)).sum()
    return float(right - WRONG_ANSWER_COST * (answered & (labels == 0)).sum())


def _operating_point(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The cut that maximises right − WRONG_ANSWER_COST × wrong answers; among equal cuts, the
    middle of the two probabilities it falls between."""
    best, best_gain = 1.0, 0.0
    for cut in np.unique(probabilities):
        gain = _gain(probabilities, labels, float(cut))
        if gain > best_gain:
            best, best_gain = float(cut), gain
    below = probabilities[probabilities < best]
    return (best + float(below.max())) / 2 if below.size else best


def calibrate(
    questions: list[dict],
    engine: Engine,
    params: AnswerParams,
    k: int = 3,
    also: Sequence[tuple[list[dict], Engine]] = (),
    today: dt.date | None = None,
) -> Calibration:
    """Fit the gate on the labelled questions (and on those of `also`, each set answered from
    its own index), asked on `today` (`also`'s on the system's date; a question's own `today`
    wins): with the verifier on, its
    English and Ukrainian/Russian models and how deep it reads; with it off
    (TALKS_SCORING__VERIFY=false), rerank_min_score and the three models of before."""
    params = params.with_changes(quotes={"max_quotes": k, "extra_quotes": 0})
    if params.scoring.verify:
        params = params.with_changes(scoring={"verify_depth": max(DEPTH_GRID)})
    sets = [(questions, engine, today), *((items, e, None) for items, e in also)]
    questions = [item for items, _, _ in sets for item in items]
    engines = [e for items, e, _ in sets for _ in items]
    days = [_asked_on(item) or day for items, _, day in sets for item in items]
    ranked = [
        rank(item["q"], e, params, today=day)
        for item, e, day in zip(questions, engines, days, strict=True)
    ]
    if any(r.trace.verified for r in ranked):
        return _calibrate_verified(ranked, questions, engines, params, k)
    return _calibrate_before(ranked, questions, engines, params, k)


def _asked_on(item: dict):
    """The day a labelled question is asked (its `today`, else the system's date)."""
    return dt.date.fromisoformat(item["today"]) if item.get("today") else None


def _calibrate_verified(ranked, questions, engines, params, k: int) -> Calibration:
    """The verifier's two gate models, at the depth (of DEPTH_GRID, read by the verifier) whose
    out-of-fold gain (right − WRONG_ANSWER_COST × wrong answers, both families) is highest; a
    depth reads the first d of the candidates the deepest one read (the verifier scores each
    pair alone, so a shallower read is a prefix)."""
    best: tuple[float, int, dict[str, Fit]] | None = None
    for depth in DEPTH_GRID:
        shallow = [_read_to(r, e, params, depth) for r, e in zip(ranked, engines, strict=True)]
        labels = [  # right: an expected word in what the reader sees (answer and k quotes)
            int(_judge(r, item, e, params, k))
            for r, item, e in zip(shallow, questions, engines, strict=True)
        ]
        chosen = {
            name: _fit_cases(shallow, labels, questions, cases, VERIFIED_FEATURES)
            for name, cases in _verified_cases(shallow).items()
        }
        gain = sum(f.right - WRONG_ANSWER_COST * (f.wrong + f.unanswerable - f.declined)
                   for f in chosen.values())  # fmt: skip
        if best is None or gain > best[0]:
            best = (gain, depth, chosen)
    assert best is not None
    _, depth, chosen = best
    return Calibration(
        verified=chosen.get("verified"),
        verified_ml=chosen.get("verified_ml"),
        verify_depth=depth,
        compared=_with_every_signal(ranked, questions, engines, params, depth, k),
    )


def _with_every_signal(ranked, questions, engines, params, depth: int, k: int) -> dict[str, str]:
    """What the gate would achieve at that depth with all nineteen signals of before beside the
    verifier's logit (reported, not used: the rules behind them add little once it reads)."""
    shallow = [_read_to(r, e, params, depth) for r, e in zip(ranked, engines, strict=True)]
    labels = [
        int(_judge(r, item, e, params, k))
        for r, item, e in zip(shallow, questions, engines, strict=True)
    ]
    every = tuple(dict.fromkeys([*VERIFIED_FEATURES, *ENGLISH_FEATURES, "names_found"]))
    return {
        name: _fit_cases(shallow, labels, questions, cases, every).to_text()
        for name, cases in _verified_cases(shallow).items()
    }


def _verified_cases(ranked: list[Ranked]) -> dict[str, list[int]]:
    """The questions the verifier of each family read, by gate model name (a family without a
    shipped adapter reads none and keeps the model of before)."""
    cases: dict[str, list[int]] = {}
    for n, r in enumerate(ranked):
        if r.trace.verified:
            cases.setdefault("verified_ml" if r.trace.multilingual else "verified", []).append(n)
    return cases


def _read_to(ranked: Ranked, engine: Engine, params: AnswerParams, depth: int) -> Ranked:
    """The question as if the verifier had read only its first `depth` candidates."""
    cands = ranked.candidates
    if not cands.verified:
        return ranked
    read = [i for i in cands.order[:depth] if i in cands.rerank]
    logits = {i: cands.rerank[i] for i in read}
    reranked = tuple(sorted(logits, key=lambda i: -logits[i]))
    cands = cands.with_(rerank=logits, reranked=reranked)
    return Ranked(ranked.query, cands, trace(cands, ranked.query, engine, params))


def _calibrate_before(ranked, questions, engines, params, k: int) -> Calibration:
    switch = _choose_switch(ranked, questions, engines, params, k)
    params = params.with_changes(gate={"rerank_min_score": switch})
    ranked = [
        Ranked(r.query, r.candidates, trace(r.candidates, r.query, e, params))
        for r, e in zip(ranked, engines, strict=True)
    ]
    labels = [
        int(_judge(r, item, e, params, k))
        for r, item, e in zip(ranked, questions, engines, strict=True)
    ]
    english = [n for n, r in enumerate(ranked) if not r.trace.multilingual]
    multilingual = [n for n, r in enumerate(ranked) if r.trace.multilingual]
    fit = {
        "english": _fit_cases(ranked, labels, questions, english, ENGLISH_FEATURES),
        "multilingual": _fit_cases(ranked, labels, questions, multilingual, MULTILINGUAL_FEATURES),
    }
    # the same English questions without the cross-encoder (TALKS_SCORING__RERANK=false)
    plain = params.with_changes(scoring={"rerank": False})
    again = [rank(questions[n]["q"], engines[n], plain) for n in english]
    again_labels = [
        int(_judge(r, questions[n], engines[n], plain, k))
        for r, n in zip(again, english, strict=True)
    ]
    fit["english_plain"] = _fit(
        [features(r.trace) for r in again],
        again_labels,
        [bool(questions[n]["expect"]) for n in english],
        PLAIN_FEATURES,
    )
    return Calibration(switch, fit["english"], fit["english_plain"], fit["multilingual"])


def _fit_cases(ranked, labels, questions, chosen: list[int], names) -> Fit:
    return _fit(
        [features(ranked[n].trace) for n in chosen],
        [labels[n] for n in chosen],
        [bool(questions[n]["expect"]) for n in chosen],
        names,
    )


def calibration_text(chosen: Calibration) -> str:
    lines = [chosen.to_text(), "", "to override the operating points:"]
    english = chosen.verified or chosen.english
    multilingual = chosen.verified_ml or chosen.multilingual
    if english is not None:
        lines.append(f"  TALKS_GATE__MIN_CONFIDENCE={english.model.threshold:.3f}")
    if multilingual is not None:
        lines.append(f"  TALKS_GATE__ML_MIN_CONFIDENCE={multilingual.model.threshold:.3f}")
    return "\n".join(lines)


def write_calibration(
    chosen: Calibration,
    eval_file: Path,
    split: str | None,
    questions: list[dict],
    k: int,
    engine: Engine,
    path: Path | None = None,
    also: Sequence[tuple[Path, int]] = (),
) -> Path:
    """Store the fit as calibration.json (the gate's defaults from the next start), stamped with
    the labelled sets' hashes (`also`: further files and how many questions each gave) and the
    identities of the models it was made with."""
    target = Path(str(path or calibration_path()))
    current = calibration()
    thresholds = dict(current.thresholds)
    if chosen.rerank_min_score is not None:
        thresholds["rerank_min_score"] = chosen.rerank_min_score
    if chosen.verify_depth is not None:
        thresholds["verify_depth"] = chosen.verify_depth
    kept = current.confidence.model_dump()
    fitted = {name: fit.model.model_dump() for name, fit in chosen.fits().items()}
    results = {**current.results, **{name: fit.to_text() for name, fit in chosen.fits().items()}}
    stamp = {
        "eval_set": {
            "path": eval_file.as_posix(),
            "sha256": hashlib.sha256(Path(eval_file).read_bytes()).hexdigest(),
            "split": split,
            "questions": len(questions),
            "k": k,
            "also": [
                {
                    "path": Path(file).as_posix(),
                    "sha256": hashlib.sha256(Path(file).read_bytes()).hexdigest(),
                    "questions": count,
                }
                for file, count in also
            ],
        },
        "models": engine.models.identities(),
        "chosen_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    earlier = {
        "eval_set": current.eval_set,
        "models": current.models,
        "chosen_at": current.chosen_at,
    }
    if chosen.verified is not None:  # the verifier's sweep; the models of before keep theirs
        main, before = stamp, current.before or earlier
    else:
        main, before = (earlier, stamp) if current.before else (stamp, None)
    record = CalibrationRecord(
        thresholds=thresholds,
        confidence=ConfidenceModels.model_validate({**kept, **fitted}),
        **main,
        results=results,
        before=before,
    )
    tmp = target.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record.model_dump(), indent=2) + "\n", encoding="utf-8")
    tmp.replace(target)
    return target
