"""Follow-up questions on real news, measured. Not a test: run it and read.

    talks index --corpus tests/data/real/corpus --index R
    python benchmarks/followups.py --index R [--split cal|test] [--misses]

tests/data/real/followups.jsonl: pairs of a question and the message a reader sent next ("who
is japan's foreign minister?" → "and china's?"), written by reading the 95 real articles of
tests/data/real/corpus (see its README), split by article. Asked on 2017-03-30, the day after
the newest article. Per kind and language:
- completion: for a follow-up, the completed question holds every `needs` word; for a new full
  question (`follow: false`), it is left as typed;
- answer, completed: the message answered after its previous question (answer_after, as the
  bot and `talks ask --after` do): an expected string in the answer sentence, or declined when
  the articles do not answer;
- answer, alone: the message answered on its own, as the bot did before;
- naive: dense top-3 windows (MiniLM + FAISS, always answering) on the completed question and
  on the message alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PAIRS = ROOT / "tests" / "data" / "real" / "followups.jsonl"
CORPUS = ROOT / "tests" / "data" / "real" / "corpus"
TODAY = dt.date(2017, 3, 30)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("--split", choices=["cal", "test"])
    p.add_argument("--misses", action="store_true", help="list every wrong completion")
    args = p.parse_args()

    from bot.indexing import open_for_answering
    from bot.settings import Settings
    from index.answering import answer, answer_after, complete
    from index.evaluation import baseline

    pairs = [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines() if line]
    if args.split:
        pairs = [p for p in pairs if p["split"] == args.split]
    settings = Settings(corpus_dir=CORPUS, index_dir=args.index)
    engine = open_for_answering(settings)
    params = settings.answer_params()

    rows = []
    for pair in pairs:
        done = complete(pair["q"], pair["prev"], is_name=engine.lexicon.is_name)
        after = answer_after(pair["q"], pair["prev"], engine, params, today=TODAY)
        alone = answer(pair["q"], engine, params, today=TODAY)
        rows.append(
            {
                "pair": pair,
                "completed": done.question,
                "completion_ok": _completion_ok(pair, done.question, done.completed),
                "after_ok": _answer_ok(pair, after),
                "alone_ok": _answer_ok(pair, alone),
            }
        )
    naive_after = baseline([_item(r["pair"], r["completed"]) for r in rows], engine, k=3)
    naive_alone = baseline([_item(r["pair"], r["pair"]["q"]) for r in rows], engine, k=3)
    for row, a, b in zip(rows, naive_after.rows, naive_alone.rows, strict=True):
        row["naive_after_ok"] = _naive_ok(row["pair"], a)
        row["naive_alone_ok"] = _naive_ok(row["pair"], b)
    print(_table(rows, args.split or "all"))
    if args.misses:
        for r in rows:
            if not r["completion_ok"]:
                pr = r["pair"]
                print(f"  {pr['id']} [{pr['kind']}/{pr['lang']}] {pr['prev']!r} + {pr['q']!r}")
                print(f"      → {r['completed']!r} (needs {pr['needs']}, follow={pr['follow']})")
    return 0


def _completion_ok(pair: dict, question: str, completed: bool) -> bool:
    if not pair["follow"]:
        return not completed
    low = question.lower()
    return completed and all(word in low for word in pair["needs"])


def _answer_ok(pair: dict, result) -> bool:
    if not pair["expect"]:
        return not result.answered
    statement = (result.answer or "").lower() if result.answered else ""
    return any(e.lower() in statement for e in pair["expect"])


def _item(pair: dict, question: str) -> dict:
    return {"id": pair["id"], "q": question, "expect": pair["expect"], "kind": pair["kind"]}


def _naive_ok(pair: dict, row) -> bool:
    return row.answer_ok if pair["expect"] else False  # the naive reference never declines


def _table(rows: list[dict], split: str) -> str:
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        groups[r["pair"]["kind"]].append(r)
        groups[f"lang {r['pair']['lang']}"].append(r)
        groups["TOTAL"].append(r)
    cols = ["completion_ok", "after_ok", "alone_ok", "naive_after_ok", "naive_alone_ok"]
    head = f"{'split ' + split:<18}{'n':>4}" + "".join(f"{c.removesuffix('_ok'):>13}" for c in cols)
    lines = [head, "-" * len(head)]
    order = sorted(k for k in groups if not k.startswith(("lang", "TOTAL")))
    order += [*sorted(k for k in groups if k.startswith("lang")), "TOTAL"]
    for name in order:
        g = groups[name]
        cells = "".join(f"{100 * sum(r[c] for r in g) / len(g):>12.0f}%" for c in cols)
        lines.append(f"{name:<18}{len(g):>4}{cells}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
