"""How candidates.jsonl.gz was made: for every question of questions.jsonl, the candidate sentences
the pipeline retrieves (before any cross-encoder or verifier reads them), in its order, each as
the verifier reads it (index.verifier.pairs.candidate_pair), with the gold sentences added when
retrieval missed them. Labels came after, from subagents reading them (see README.md, `by`);
the scripts that batched and merged those judgements were not kept. Not run by the tests.

    talks index --corpus tests/data/news/corpus --index /work/idx/news
    python tests/data/news/make_candidates.py /work/idx/news [--part N/M]

Retrieval reads deeper than answering does (TOP_K passages, DEPTH sentences), so the labels
cover any depth the verifier may be given. Questions are asked on TODAY, the day after the
newest article ("last week" counts from there).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

HERE = Path(__file__).parent
TOP_K = 16
DEPTH = 30
TODAY = dt.date(2017, 4, 1)


def main() -> None:
    from index.answering import AnswerParams
    from index.answering.pipeline import rank
    from index.encoders import ModelLoader
    from index.engine import open_engine
    from index.errors import QuestionError
    from index.verifier.pairs import candidate_pair

    parser = argparse.ArgumentParser()
    parser.add_argument("index")
    parser.add_argument("--part", default="1/1")
    parser.add_argument("--out", default=str(HERE / "candidates.raw.jsonl"))
    args = parser.parse_args()
    part, parts = (int(x) for x in args.part.split("/"))
    engine = open_engine(Path(args.index), ModelLoader(rerank=False, verify=False)())
    params = AnswerParams().with_changes(
        retrieval={"top_k": TOP_K}, scoring={"rerank": False, "verify": False}
    )
    row_at = {(s.article_id, s.start): n for n, s in enumerate(engine.sentences)}
    article_of = {a.split("-")[3]: a for a in engine.articles}
    questions = [json.loads(x) for x in (HERE / "questions.jsonl").read_text().splitlines()]
    with open(f"{args.out}.{part}", "w", encoding="utf-8") as out:
        for n, item in enumerate(questions):
            if n % parts != part - 1:
                continue
            try:
                ranked = rank(item["q"], engine, params, today=TODAY)
                rows = [int(ranked.candidates.sentence[i]) for i in ranked.candidates.order]
            except QuestionError:
                rows = []
            rows = rows[:DEPTH]
            article = article_of[item["article"]]
            gold = [row_at.get((article, g["start"])) for g in item["gold"]]
            extra = [g for g in gold if g is not None and g not in rows]
            candidates = []
            for rank_at, row in enumerate([*rows, *extra]):
                pair = candidate_pair(item["q"], engine, row)
                s = engine.sentences[row]
                candidates.append({
                    "article": s.article_id, "start": s.start, "end": s.end,
                    "rank": rank_at if row in rows else None, "gold": row in gold,
                    "sentence": pair.sentence, "context": pair.context,
                })  # fmt: skip
            out.write(
                json.dumps({"id": item["id"], "candidates": candidates}, ensure_ascii=False) + "\n"
            )
            if n % 200 == 0:
                print(n, file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
