"""Time to add one article to a large corpus, incrementally, against a full rebuild.

    python benchmarks/lifecycle.py              # 1,000 synthetic articles
    python benchmarks/lifecycle.py --articles 200

Prints: the full build of N articles, the incremental build after adding one article (passages
embedded), the same after editing one paragraph and after removing the article, and a full
rebuild of the N+1 articles for comparison. The model load is excluded (loaded once, up front).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench import synthetic_corpus  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000)
    args = parser.parse_args()

    from index.builder import build_index
    from index.encoders import MiniLMEncoder, Models

    encoder = Models(minilm=MiniLMEncoder(threads=2))
    work = Path(tempfile.mkdtemp(prefix="talks-lifecycle-"))
    try:
        corpus, index = work / "corpus", work / "index"
        corpus.mkdir()
        synthetic_corpus(corpus, args.articles)
        rows = []

        def run(label: str, **kwargs: object) -> None:
            t0 = time.perf_counter()
            report = build_index(corpus, index, encoder, **kwargs)
            seconds = time.perf_counter() - t0
            m = report.manifest
            rows.append(
                (
                    label,
                    f"{seconds:8.2f} s",
                    f"{report.embedded_passages:6d} passages embedded",
                    f"{m.articles} articles / {m.passages} passages",
                )
            )

        run(f"full build, {args.articles} articles")
        article = ROOT / "tests" / "data" / "corpus" / "2025-05-16-prisoner-exchange.md"
        shutil.copy(article, corpus)
        run("add 1 article (incremental)")
        path = corpus / article.name
        path.write_text(path.read_text().replace("No ceasefire", "No truce"), encoding="utf-8")
        run("edit 1 paragraph (incremental)")
        run("nothing changed")
        path.unlink()
        run("remove 1 article (incremental)")
        shutil.copy(article, corpus)
        run(f"full rebuild, {args.articles + 1} articles", full=True)
        for row in rows:
            print("  ".join(f"{cell:<34}" if i == 0 else cell for i, cell in enumerate(row)))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
