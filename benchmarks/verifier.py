"""The answer verifier on real news, measured. Not a test: run it and read.

    talks index --corpus tests/data/news/corpus --index N
    python benchmarks/verifier.py --index N [--split test] [--depths 5,10,20,30] \
        [--landed DIR [--landed-index M]]

tests/data/news/questions.jsonl (900 NewsArticles articles, 6,300 questions; English, Ukrainian,
Russian; fair and unanswerable; split by story, see its README), asked on 1 April 2017, the day
after the newest article. Three ways on the same index, per language and kind:
- verifier: TALKS_SCORING__VERIFY=true (the trained verifier reads the first verify_depth
  candidates and picks, its gate decides);
- off: as shipped, TALKS_SCORING__VERIFY=false (the packaged cross-encoder reads five windows
  of English questions, e5's cosines pick for Ukrainian and Russian ones, the gate of before);
- landed (with --landed DIR): the same questions answered by another checkout of the project
  (the code and calibration that landed before) with its default settings, in a child process,
  from the index M that checkout built (--landed-index; default N);
- naive: dense top-3 windows (MiniLM + FAISS), the best sentence by cosine, always answering.
A fair question is right when an expected string is in the answer sentence; an unanswerable one
when it is declined. Then candidate recall: for fair questions, whether a sentence that gives
the answer (its gold sentence, one a judge marked as answering in candidates.jsonl.gz, or one
holding an expected string) is among the first D candidates the verifier would read, per
language: a miss there is retrieval's, not the verifier's. With --depths, the verifier's figures
for each depth (what `verify_depth` buys) and the query latency p50.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NEWS = ROOT / "tests" / "data" / "news"
TODAY = dt.date(2017, 4, 1)


def group_of(item: dict) -> list[str]:
    """The rows a question counts in: its family and kind, its family's total, its language's."""
    family = "en" if item["lang"] == "en" else "uk/ru"
    side = "fair" if item["expect"] else "unanswerable"
    kind = item["kind"]
    if kind == "unanswerable" and item["expect"]:
        kind = "near miss answered elsewhere"  # relabelled answerable by the judges
    groups = [f"{family} {kind}", f"{family} ALL {side}"]
    if family != "en":
        groups.append(f"{item['lang']} ALL {side}")
    return groups


def judged_answers() -> dict[str, set[tuple[str, int]]]:
    """question id → (NewsArticles id, start) of every sentence labelled as answering it."""
    from index.verifier.training import COLUMNS, labelled_bytes

    found: dict[str, set[tuple[str, int]]] = defaultdict(set)
    for line in labelled_bytes(NEWS / "candidates.jsonl.gz").decode("utf-8").splitlines():
        item = json.loads(line)
        for row in item["candidates"]:
            c = dict(zip(COLUMNS, row, strict=True))
            if c["label"]:
                found[item["id"]].add((str(c["article"]), c["start"]))
    return found


def run(questions, engine, params) -> dict[str, dict]:
    from index.answering import answer

    out = {}
    for item in questions:
        started = time.perf_counter()
        result = answer(item["q"], engine, params, today=TODAY)
        ms = (time.perf_counter() - started) * 1000
        statement = (result.answer or "").lower()
        right = any(w.lower() in statement for w in item["expect"])
        out[item["id"]] = {"answered": result.answered, "right": right, "ms": ms}
    return out


# answers the questions with the code of the checkout it runs in (argv: index, questions, split)
LANDED = """
import datetime as dt, json, sys, time
from pathlib import Path
import index
from bot.indexing import open_for_answering
from bot.settings import Settings
from index.answering import answer
from index.evaluation import read_questions
index_dir, questions, split, today = sys.argv[1:]
print("landed code:", Path(index.__file__).parent, file=sys.stderr)
questions = Path(questions)
settings = Settings.from_env().model_copy(
    update={"corpus_dir": questions.parent / "corpus", "index_dir": Path(index_dir)}
)
engine = open_for_answering(settings)
params = settings.answer_params()
out = {}
for item in read_questions(questions, split):
    started = time.perf_counter()
    result = answer(item["q"], engine, params, today=dt.date.fromisoformat(today))
    ms = (time.perf_counter() - started) * 1000
    statement = (result.answer or "").lower()
    right = any(w.lower() in statement for w in item["expect"])
    out[item["id"]] = {"answered": result.answered, "right": right, "ms": ms}
print(json.dumps(out))
"""


def landed(checkout: Path, index: Path, split: str) -> subprocess.Popen:
    """The same questions answered by the code and calibration of another checkout with its
    default settings, in a child process running beside this one (collect with `collected`);
    `index`: one that checkout built (another version's models may need their own)."""
    command = [sys.executable, "-c", LANDED, str(index.resolve()), str(NEWS / "questions.jsonl")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TALKS_")}
    return subprocess.Popen(
        [*command, split, TODAY.isoformat()],
        cwd=checkout,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def collected(child: subprocess.Popen) -> dict[str, dict]:
    out, err = child.communicate()
    if child.returncode != 0:
        raise SystemExit(f"the landed checkout failed:\n{err[-2000:]}")
    print(err.strip().splitlines()[0], file=sys.stderr)
    return json.loads(out.strip().splitlines()[-1])


def naive(questions, engine) -> dict[str, dict]:
    from index.evaluation import baseline

    report = baseline(questions, engine, k=3)
    return {r.id: {"answered": True, "right": r.answer_ok, "ms": r.ms} for r in report.rows}


def recall(questions, engine, params, depths: list[int]) -> dict[str, dict[int, float]]:
    """Per language: the share of fair questions with an answering sentence among the first D
    candidates."""
    from index.answering.pipeline import rank

    answers = judged_answers()
    hits: dict[str, dict[int, list[bool]]] = defaultdict(lambda: defaultdict(list))
    deep = params.with_changes(retrieval={"top_k": 16}, scoring={"verify_depth": max(depths)})
    for item in questions:
        if not item["expect"]:
            continue
        cands = rank(item["q"], engine, deep, today=TODAY).candidates
        good = []
        for i in cands.order:
            s = engine.sentences[int(cands.sentence[i])]
            text = engine.articles[s.article_id].body[s.start : s.end].lower()
            key = (s.article_id.split("-")[3], s.start)
            good.append(
                key in answers.get(item["id"], set())
                or any(w.lower() in text for w in item["expect"])
            )
        for d in depths:
            hits[item["lang"]][d].append(any(good[:d]))
    return {lang: {d: sum(v) / len(v) for d, v in by.items()} for lang, by in hits.items()}


def table(runs: dict[str, dict[str, dict]], questions: list[dict]) -> list[str]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for item in questions:
        for g in group_of(item):
            groups[g].append(item)
    lines = [f"{'group':<36}{'n':>5}" + "".join(f"{name:>10}" for name in runs)]
    for name in sorted(groups):
        items = groups[name]
        cells = []
        for rows in runs.values():
            if items[0]["expect"]:
                value = sum(rows[i["id"]]["right"] for i in items) / len(items)
            else:
                value = sum(not rows[i["id"]]["answered"] for i in items) / len(items)
            cells.append(f"{100 * value:.0f}%")
        lines.append(f"{name:<36}{len(items):>5}" + "".join(f"{c:>10}" for c in cells))
    for name, rows in runs.items():
        ms = statistics.median(r["ms"] for r in rows.values())
        lines.append(f"latency p50 {name}: {ms:.1f} ms")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--split", choices=("train", "cal", "test"), default="test")
    parser.add_argument("--depths", help="comma-separated verify depths to compare, e.g. 5,10,20")
    parser.add_argument("--landed", type=Path, help="another checkout to answer the same questions")
    parser.add_argument(
        "--landed-index", type=Path, help="the index the landed checkout built (default: --index)"
    )
    parser.add_argument("--skip", default="", help="runs to leave out: off, naive, recall")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from bot.indexing import open_for_answering
    from bot.settings import Settings
    from index.evaluation import read_questions

    os.environ["TALKS_SCORING__VERIFY"] = "true"  # loads the verifier; `off` turns it off
    settings = Settings.from_env().model_copy(
        update={"corpus_dir": NEWS / "corpus", "index_dir": args.index}
    )
    questions = read_questions(NEWS / "questions.jsonl", args.split)
    engine = open_for_answering(settings)
    params = settings.answer_params()
    landed_index = args.landed_index or args.index
    child = landed(args.landed, landed_index, args.split) if args.landed else None
    runs = {"verifier": run(questions, engine, params)}
    if "off" not in args.skip:
        runs["off"] = run(questions, engine, params.with_changes(scoring={"verify": False}))
    if child is not None:
        runs["landed"] = collected(child)
    if "naive" not in args.skip:
        runs["naive"] = naive(questions, engine)
    depths = [int(d) for d in args.depths.split(",")] if args.depths else []
    for d in depths:
        runs[f"depth {d}"] = run(
            questions, engine, params.with_changes(scoring={"verify_depth": d})
        )
    found = {}
    if "recall" not in args.skip:
        found = recall(questions, engine, params, sorted({5, 10, 20, 30, *depths}))
    if args.json:
        print(json.dumps({"runs": runs, "recall": found}))
        return 0
    print(f"{args.split} part: {len(questions)} questions")
    print("\n".join(table(runs, questions)))
    print("\ncandidate recall (a sentence that answers among the first D candidates):")
    for lang, by in sorted(found.items()):
        print(f"  {lang}: " + ", ".join(f"@{d} {100 * v:.0f}%" for d, v in sorted(by.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
