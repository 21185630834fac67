"""The whole ingest in one place: corpus → sentences and passages → vectors → published index."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from index.chunking import chunk_corpus, embedding_text
from index.corpus import load_corpus
from index.encoder import Encoder, model_identity
from index.errors import CorpusError
from index.models import ChunkingParams
from index.store import Manifest, write_index


@dataclass
class BuildReport:
    """What a build did, for the one-line summary."""

    manifest: Manifest
    problems: list[str]
    seconds: float
    embedded: int

    def summary(self, index_dir: Path) -> str:
        m = self.manifest
        skipped = f", {len(self.problems)} skipped" if self.problems else ""
        return (
            f"Indexed {m.articles} article{'s' if m.articles != 1 else ''}{skipped}: "
            f"{m.passages} passages, {m.sentences} sentences "
            f"({m.duplicate_sentences} duplicate sentences and {m.near_duplicate_passages} "
            f"near-duplicate passages dropped) in {self.seconds:.1f} s → {index_dir}"
        )


def talks_version() -> str:
    try:
        return metadata.version("talks")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def _published_key(article) -> tuple:
    return (article.published or dt.date.max, article.id)


def build_index(
    corpus_dir: Path,
    index_dir: Path,
    encoder: Encoder,
    *,
    chunking: ChunkingParams | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BuildReport:
    """Read the corpus, chunk, embed passages and sentences, and publish a new index version.

    progress(done, total) is called after each embedded batch. Raises CorpusError when no article
    can be read; malformed articles are listed in the report and skipped.
    """
    started = time.perf_counter()
    chunking = chunking or ChunkingParams()
    corpus = load_corpus(Path(corpus_dir))
    if not corpus.articles:
        raise CorpusError(
            f"No article in {corpus_dir} could be read:\n  "
            + "\n  ".join(corpus.problems)
            + "\nFix the files above (see corpus/README.md) and run `talks index` again."
        )
    # Oldest first, so the first publication of a repeated passage is the one kept.
    articles = sorted(corpus.articles, key=_published_key)
    chunks = chunk_corpus(articles, chunking)
    by_id = {a.id: a for a in articles}
    passage_texts = [embedding_text(p.text) for p in chunks.passages]
    sentence_texts = [
        embedding_text(by_id[s.article_id].body[s.start : s.end]) for s in chunks.sentences
    ]
    total = len(passage_texts) + len(sentence_texts)
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, total)

    passage_vectors = encoder.encode(passage_texts, progress=step)
    sentence_vectors = encoder.encode(sentence_texts, progress=step)
    manifest = write_index(
        Path(index_dir),
        articles=articles,
        passages=chunks.passages,
        sentences=chunks.sentences,
        passage_vectors=passage_vectors,
        sentence_vectors=sentence_vectors,
        manifest_fields={
            "talks_version": talks_version(),
            "model": model_identity(),
            "chunking": chunking,
            "corpus_fingerprint": corpus.fingerprint,
            "skipped": corpus.problems,
            "duplicate_sentences": chunks.duplicate_sentences,
            "near_duplicate_passages": chunks.near_duplicate_passages,
        },
    )
    return BuildReport(
        manifest=manifest,
        problems=corpus.problems,
        seconds=time.perf_counter() - started,
        embedded=total,
    )
