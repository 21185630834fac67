"""The whole ingest in one place: corpus → sentences and passages → vectors → published index.

Incremental by content: an unchanged article is not segmented again, and a passage or sentence
whose text is unchanged keeps its stored vector (and a passage keeps its FAISS id), so only new
or changed text is embedded. Removed articles simply are not in the new version. `full=True`
ignores the previous index. One build at a time per index folder (a lock file).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np

from index.chunking import chunk_corpus, embedding_text
from index.corpus import load_corpus
from index.encoder import Encoder, e5_identity, model_identity
from index.errors import (
    CorpusError,
    IndexBusyError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    TalksError,
)
from index.models import Article, ChunkingParams
from index.store import (
    IndexData,
    Manifest,
    check_compatible,
    load_index,
    read_manifest,
    write_index,
)

log = logging.getLogger(__name__)
LOCK_FILE = ".build.lock"


@dataclass
class BuildReport:
    """What a build did, for the one-line summary."""

    manifest: Manifest
    problems: list[str]
    seconds: float
    embedded: int  # texts sent to the model (passages + sentences)
    embedded_passages: int = 0
    reused_passages: int = 0
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    full: bool = True
    up_to_date: bool = False
    reason: str = ""  # why a full build was done when an incremental one was asked for

    def summary(self, index_dir: Path) -> str:
        m = self.manifest
        skipped = f", {len(self.problems)} skipped" if self.problems else ""
        if self.up_to_date:
            return (
                f"Index is up to date: {m.articles} article{'s' if m.articles != 1 else ''}"
                f"{skipped}, {m.passages} passages ({index_dir}, version {m.version})"
            )
        how = (
            f"{len(self.added)} added, {len(self.changed)} changed, "
            f"{len(self.removed)} removed, {self.unchanged} unchanged"
        )
        if self.full:
            how += "; full rebuild" + (f": {self.reason}" if self.reason else "")
        return (
            f"Indexed {m.articles} article{'s' if m.articles != 1 else ''}{skipped} [{how}]: "
            f"{m.passages} passages ({self.embedded_passages} embedded, "
            f"{self.reused_passages} reused), {m.sentences} sentences "
            f"({m.duplicate_sentences} duplicate sentences and {m.near_duplicate_passages} "
            f"near-duplicate passages dropped) in {self.seconds:.1f} s → {index_dir}"
        )


def talks_version() -> str:
    try:
        return metadata.version("talks")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def _published_key(article: Article) -> tuple:
    return (article.published or dt.date.max, article.id)


def _text_hash(text: str) -> str:
    return hashlib.sha256(embedding_text(text).encode()).hexdigest()


@contextlib.contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Exclusive, non-blocking: a second build of the same index fails at once, clearly. The
    kernel releases the lock when the process ends, however it ends."""
    index_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(index_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
            raise IndexBusyError(
                f"Another build of {index_dir} is running (pid {holder}): wait for it to finish; "
                "the current index keeps serving meanwhile."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)


def _previous(index_dir: Path, chunking: ChunkingParams) -> tuple[IndexData | None, str]:
    """The current index if it can be reused, else (None, why not)."""
    try:
        manifest = read_manifest(index_dir)
        check_compatible(manifest, index_dir=index_dir, model=model_identity(), chunking=chunking)
        return load_index(index_dir), ""
    except IndexNotFoundError:
        return None, ""
    except IndexCorruptError:
        return None, "the previous index is damaged"
    except IndexMismatchError:
        return None, "the previous index was built with another model, chunking or format"


def _e5_vectors(
    encoder: Encoder | Callable[[], Encoder],
    old: IndexData | None,
    passage_keys: list[str],
    sentence_keys: list[str],
    passage_texts: list[str],
    sentence_texts: list[str],
) -> tuple[np.ndarray, np.ndarray]:
    """Multilingual vectors for every passage and sentence, reusing the previous version's."""
    known: dict[str, np.ndarray] = {}
    if old is not None and old.passage_vectors_e5 is not None:
        for row, passage in enumerate(old.passages):
            known[_text_hash(passage.text)] = old.passage_vectors_e5[row]
        for row, sentence in enumerate(old.sentences):
            body = old.articles[sentence.article_id].body
            known[_text_hash(body[sentence.start : sentence.end])] = old.sentence_vectors_e5[row]
    out = []
    model = None
    for keys, texts in ((passage_keys, passage_texts), (sentence_keys, sentence_texts)):
        vectors = np.zeros((len(keys), int(e5_identity()["dim"])), dtype=np.float32)
        missing = [i for i, k in enumerate(keys) if k not in known]
        if missing:
            if model is None:
                model = encoder if hasattr(encoder, "encode") else encoder()
            vectors[missing] = model.encode([texts[i] for i in missing])
        for i, key in enumerate(keys):
            if key in known:
                vectors[i] = known[key]
        out.append(vectors)
    return out[0], out[1]


def _next_id(index_dir: Path) -> int:
    """The first passage id never handed out, from whatever manifest is readable."""
    try:
        return read_manifest(index_dir).next_passage_id
    except TalksError:
        return 0


def build_index(
    corpus_dir: Path,
    index_dir: Path,
    encoder: Encoder | Callable[[], Encoder],
    *,
    chunking: ChunkingParams | None = None,
    progress: Callable[[int, int], None] | None = None,
    full: bool = False,
    multilingual: Encoder | Callable[[], Encoder] | None = None,
) -> BuildReport:
    """Bring the index in line with the corpus and publish it as a new version.

    `encoder` may be a callable that loads it: it is then only loaded if there is text to embed.
    `multilingual` (the e5 encoder, or a loader) adds vectors for non-English questions; texts
    whose e5 vectors the previous version holds are not embedded again.
    progress(done, total) is called after each embedded batch. Raises CorpusError when no article
    can be read (malformed ones are listed in the report and skipped) and IndexBusyError when
    another build holds the lock.
    """
    started = time.perf_counter()
    chunking = chunking or ChunkingParams()
    index_dir = Path(index_dir)
    with build_lock(index_dir):
        # Read the corpus under the lock, so a build that started later cannot publish an older
        # snapshot of it over a newer one.
        corpus = load_corpus(Path(corpus_dir))
        if not corpus.articles:
            raise CorpusError(
                f"No article in {corpus_dir} could be read:\n  "
                + "\n  ".join(corpus.problems)
                + "\nFix the files above (see corpus/README.md) and run `talks index` again."
            )
        old, reason = (None, "") if full else _previous(index_dir, chunking)
        if (
            old is not None
            and old.manifest.corpus_fingerprint == corpus.fingerprint
            and old.manifest.skipped == corpus.problems
            and (old.manifest.multilingual is not None) == (multilingual is not None)
        ):
            return BuildReport(
                manifest=old.manifest,
                problems=corpus.problems,
                seconds=time.perf_counter() - started,
                embedded=0,
                reused_passages=old.manifest.passages,
                unchanged=old.manifest.articles,
                full=False,
                up_to_date=True,
            )
        # Oldest first, so the first publication of a repeated passage is the one kept.
        articles = sorted(corpus.articles, key=_published_key)
        chunks = chunk_corpus(articles, chunking, segments=old.segments if old else None)
        by_id = {a.id: a for a in articles}

        # What can be reused from the previous version, by text.
        old_passage_vectors: dict[str, np.ndarray] = {}
        old_sentence_vectors: dict[str, np.ndarray] = {}
        # An article may hold two passages with the same text: keep every id, hand each out once.
        old_ids: dict[tuple[str, str], list[int]] = {}
        next_id = _next_id(index_dir)  # ids stay unique across --full and damaged indexes too
        if old is not None:
            for row, passage in enumerate(old.passages):
                key = _text_hash(passage.text)
                old_passage_vectors[key] = old.passage_vectors[row]
                old_ids.setdefault((passage.article_id, key), []).append(passage.id)
            for row, sentence in enumerate(old.sentences):
                body = old.articles[sentence.article_id].body
                old_sentence_vectors[_text_hash(body[sentence.start : sentence.end])] = (
                    old.sentence_vectors[row]
                )

        passage_keys = [_text_hash(p.text) for p in chunks.passages]
        sentence_texts = [by_id[s.article_id].body[s.start : s.end] for s in chunks.sentences]
        sentence_keys = [_text_hash(t) for t in sentence_texts]
        new_passages = [i for i, k in enumerate(passage_keys) if k not in old_passage_vectors]
        new_sentences = [i for i, k in enumerate(sentence_keys) if k not in old_sentence_vectors]
        total = len(new_passages) + len(new_sentences)
        done = 0

        def step(n: int) -> None:
            nonlocal done
            done += n
            if progress:
                progress(done, total)

        model = encoder if hasattr(encoder, "encode") else (encoder() if total else None)
        dim = int(model_identity()["dim"])
        passage_vectors = np.zeros((len(chunks.passages), dim), dtype=np.float32)
        sentence_vectors = np.zeros((len(chunks.sentences), dim), dtype=np.float32)
        if new_passages:
            texts = [embedding_text(chunks.passages[i].text) for i in new_passages]
            passage_vectors[new_passages] = model.encode(texts, progress=step)
        if new_sentences:
            texts = [embedding_text(sentence_texts[i]) for i in new_sentences]
            sentence_vectors[new_sentences] = model.encode(texts, progress=step)
        for i, key in enumerate(passage_keys):
            if key in old_passage_vectors:
                passage_vectors[i] = old_passage_vectors[key]
        for i, key in enumerate(sentence_keys):
            if key in old_sentence_vectors:
                sentence_vectors[i] = old_sentence_vectors[key]

        e5_vectors = None
        if multilingual is not None:
            e5_vectors = _e5_vectors(
                multilingual,
                old,
                passage_keys,
                sentence_keys,
                [embedding_text(p.text) for p in chunks.passages],
                [embedding_text(s) for s in sentence_texts],
            )

        # FAISS ids: an unchanged passage of the same article keeps its id; new ones count up.
        passages = []
        for passage, key in zip(chunks.passages, passage_keys, strict=True):
            reusable = old_ids.get((passage.article_id, key))
            if reusable:
                pid = reusable.pop(0)
            else:
                pid, next_id = next_id, next_id + 1
            passages.append(passage.model_copy(update={"id": pid}))

        manifest = write_index(
            index_dir,
            articles=articles,
            passages=passages,
            sentences=chunks.sentences,
            passage_vectors=passage_vectors,
            sentence_vectors=sentence_vectors,
            segments=chunks.segments,
            e5_vectors=e5_vectors,
            manifest_fields={
                "multilingual": e5_identity() if e5_vectors is not None else None,
                "talks_version": talks_version(),
                "model": model_identity(),
                "chunking": chunking,
                "corpus_fingerprint": corpus.fingerprint,
                "skipped": corpus.problems,
                "duplicate_sentences": chunks.duplicate_sentences,
                "near_duplicate_passages": chunks.near_duplicate_passages,
                "next_passage_id": next_id,
            },
        )
    old_shas = {a.id: a.sha256 for a in old.articles.values()} if old else {}
    new_shas = {a.id: a.sha256 for a in articles}
    return BuildReport(
        manifest=manifest,
        problems=corpus.problems,
        seconds=time.perf_counter() - started,
        embedded=total,
        embedded_passages=len(new_passages),
        reused_passages=len(passages) - len(new_passages),
        added=sorted(set(new_shas) - set(old_shas)),
        changed=sorted(a for a in new_shas if a in old_shas and old_shas[a] != new_shas[a]),
        removed=sorted(set(old_shas) - set(new_shas)),
        unchanged=sum(1 for a in new_shas if old_shas.get(a) == new_shas[a]),
        full=old is None,
        reason=reason,
    )
