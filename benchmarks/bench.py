"""Prints speed and memory figures for talks. Not a test: run it and read the numbers.

    python benchmarks/bench.py                 # corpus/ + the test articles + a synthetic corpus
    python benchmarks/bench.py --synthetic 500 # a larger synthetic corpus for build throughput

Figures: model load time, index build throughput (texts/s and passages/s), query latency p50/p95
over the dev questions (warm; everything on: hybrid retrieval, cross-encoder for English,
multilingual-e5 for Ukrainian/Russian), the same with 2 torch threads and without the
cross-encoder, the wall time of `talks ask` as a whole process (model load included), and peak
memory.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def synthetic_corpus(folder: Path, n: int, seed: int = 7) -> None:
    """n articles made of seed-article sentences with numbers woven in, so none is a duplicate."""
    from index.chunking import sentence_spans
    from index.corpus import load_corpus

    [seed_article] = load_corpus(ROOT / "corpus").articles
    body = seed_article.body
    sentences = [body[s:e] for s, e in sentence_spans(body, 0, len(body)) if e - s > 40]
    rng = random.Random(seed)
    for i in range(n):
        paragraphs = []
        for p in range(4):
            picked = rng.sample(sentences, 5)
            picked = [f"{s[:-1]}, report {i}-{p}-{j} said." for j, s in enumerate(picked)]
            paragraphs.append(" ".join(picked))
        (folder / f"synthetic-{i:04d}.md").write_text(
            "---\n"
            f'title: "Synthetic article {i}"\n'
            "published: 2025-06-02\n"
            f'url: "https://example.org/synthetic/{i}"\n'
            'source: "Synthetic benchmark text"\n'
            "---\n\n" + "\n\n".join(paragraphs) + "\n",
            encoding="utf-8",
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", type=int, default=100, help="synthetic articles to build")
    parser.add_argument("--repeats", type=int, default=10, help="timed runs per dev question")
    args = parser.parse_args()
    figures: dict[str, object] = {}

    started = time.perf_counter()
    from index.encoders import MiniLMEncoder, Models, load_models

    encoder = MiniLMEncoder(threads=2)
    figures["model_load_s"] = round(time.perf_counter() - started, 2)

    from index.answering import answer
    from index.builder import build_index
    from index.engine import open_engine

    work = Path(tempfile.mkdtemp(prefix="talks-bench-"))
    try:
        # Build throughput on a synthetic corpus (2 threads, as `talks index` uses).
        corpus = work / "synthetic"
        corpus.mkdir()
        synthetic_corpus(corpus, args.synthetic)
        report = build_index(corpus, work / "synthetic-index", Models(minilm=encoder))
        m = report.manifest
        figures["build_articles"] = m.articles
        figures["build_passages"] = m.passages
        figures["build_sentences"] = m.sentences
        figures["build_s"] = round(report.seconds, 2)
        figures["build_passages_per_s"] = round(m.passages / report.seconds, 1)
        # texts MiniLM read: passages (their sentences are pooled from those runs)
        figures["build_texts_embedded_per_s"] = round(report.embedded / report.seconds, 1)

        # Query latency over the dev questions on the real corpus, everything on (hybrid
        # retrieval, cross-encoder for English, multilingual-e5 for Ukrainian/Russian), then
        # without the cross-encoder.
        from index.answering import AnswerParams

        index_dir = work / "seed-index"
        models = load_models(threads=2)  # the MiniLM above, plus e5 and the cross-encoder
        build_index(ROOT / "corpus", index_dir, models)
        engine = open_engine(index_dir, models)
        questions_file = ROOT / "tests" / "data" / "dev_questions.jsonl"
        questions = [json.loads(x)["q"] for x in questions_file.read_text().splitlines() if x]
        runs = [("", AnswerParams()), ("_no_rerank", AnswerParams(scoring={"rerank": False}))]
        for label, params in runs:  # questions on one thread (load_models' query_threads)
            for q in questions:  # warm-up
                answer(q, engine, params)
            total = []
            for _ in range(args.repeats):
                for q in questions:
                    t0 = time.perf_counter()
                    answer(q, engine, params)
                    total.append((time.perf_counter() - t0) * 1000)
            figures[f"query_ms_p50{label}"] = round(statistics.median(total), 1)
            figures[f"query_ms_p95{label}"] = round(percentile(total, 0.95), 1)
        embed = []
        for q in questions * args.repeats:
            t0 = time.perf_counter()
            models.minilm.encode_query(q)
            embed.append((time.perf_counter() - t0) * 1000)
        figures["embed_only_ms_p50"] = round(statistics.median(embed), 1)
        figures["peak_rss_mb (this process)"] = round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0
        )

        # `talks ask` as a whole process, index already built.
        talks = shutil.which("talks")
        command = [talks] if talks else [sys.executable, "-m", "bot"]
        walls = []
        for _ in range(3):
            t0 = time.perf_counter()
            subprocess.run(
                [
                    *command,
                    "ask",
                    "who leads Ukraine's delegation",
                    "--index",
                    str(index_dir),
                    "--corpus",
                    str(ROOT / "corpus"),
                ],
                check=True,
                capture_output=True,
            )
            walls.append(time.perf_counter() - t0)
        figures["talks_ask_process_wall_s_median"] = round(statistics.median(walls), 2)
        child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        figures["talks_ask_peak_rss_mb"] = round(child, 0)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
