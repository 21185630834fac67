"""Questions about time on real news, measured. Not a test: run it and read.

    talks index --corpus tests/data/real/corpus --index R
    python benchmarks/time_questions.py --index R [--split test] [--json]

tests/data/real/time_questions.jsonl: "the latest on …", "in <month>", "last week", "since
Monday", "yesterday" (each with the day it is asked, `today`), in English, Ukrainian and
Russian, over the 95 real articles of tests/data/real/corpus. `articles` are the NewsArticles ids
that answer it: for "the latest", the newest articles on the subject; for a month or a relative
date, the articles on the subject published then. Split by story: `cal` holds the stories the
time handling was developed on (Astana, Geneva, Donbass), `test` the others.

Each question is answered three ways on the same index:
- talks: as shipped (dates filter the candidates, "the latest" keeps the newest on the subject);
- before: TALKS_RETRIEVAL__TIME_AWARE=false (named dates only reorder the candidates, "latest"
  and relative dates are ordinary words), the behaviour before time questions were handled;
- naive: dense top-3 windows (MiniLM + FAISS), always answering from the best one.
right = answered, and the first quote's article is one of `articles`; wrong = answered from
another article; declined = "not in my sources".
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "tests" / "data" / "real" / "time_questions.jsonl"
CORPUS = ROOT / "tests" / "data" / "real" / "corpus"


def news_id(engine, article_id: str) -> str:
    """The NewsArticles id in a real corpus file's name (2017-02-07-153-…)."""
    return engine.articles[article_id].path.split("-")[3]


def naive_article(engine, question: str) -> str:
    vector = engine.models.minilm.encode_query(question)
    (hit,) = engine.english.search(vector, 1)
    return engine.passage_articles[hit.row]


def judge(found: str | None, expected: list[str]) -> str:
    if found is None:
        return "declined"
    return "right" if found in expected else "wrong"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--split", choices=("cal", "test"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from bot.indexing import open_for_answering
    from bot.settings import Settings
    from index.answering import answer

    settings = Settings(corpus_dir=CORPUS, index_dir=args.index)
    engine = open_for_answering(settings)
    shipped = settings.answer_params()
    before = shipped.with_changes(retrieval={"time_aware": False})
    items = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines()]
    items = [i for i in items if args.split in (None, i["split"])]
    rows = []
    for item in items:
        today = dt.date.fromisoformat(item["today"])
        row = {"id": item["id"], "kind": item["kind"], "lang": item["lang"], "split": item["split"]}
        for name, params in (("talks", shipped), ("before", before)):
            result = answer(item["q"], engine, params, today=today)
            found = news_id(engine, result.quotes[0].article_id) if result.answered else None
            row[name] = judge(found, item["articles"])
            row[f"{name}_article"] = found
        row["naive"] = judge(news_id(engine, naive_article(engine, item["q"])), item["articles"])
        rows.append(row)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    print_table(rows)
    return 0


def print_table(rows: list[dict]) -> None:
    systems = ("talks", "before", "naive")
    groups = [("ALL", rows)]
    for split in ("cal", "test"):
        groups.append((split, [r for r in rows if r["split"] == split]))
    for kind in ("latest", "month", "relative"):
        groups.append((kind, [r for r in rows if r["kind"] == kind]))
    groups.append(("uk/ru", [r for r in rows if r["lang"] != "en"]))
    head = f"{'group':<10}{'n':>4}" + "".join(f"{s + ' right/wrong/decl':>26}" for s in systems)
    print(head)
    print("-" * len(head))
    for name, group in groups:
        if not group:
            continue
        cells = []
        for s in systems:
            c = Counter(r[s] for r in group)
            cells.append(f"{c['right']:>12}/{c['wrong']}/{c['declined']}".rjust(26))
        print(f"{name:<10}{len(group):>4}" + "".join(cells))
    print()
    for r in rows:
        marks = " ".join(f"{s}={r[s]}" for s in systems)
        print(f"{r['id']:<7} {r['kind']:<9} {r['lang']} {marks}  talks→{r['talks_article']}")


if __name__ == "__main__":
    sys.exit(main())
