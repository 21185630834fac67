"""The whole ingest in one place: corpus → sentences and passages → vectors → published index.

Incremental by content: an unchanged article is not segmented again, and a passage or sentence
whose text is unchanged keeps its stored vectors, so only new or changed text is embedded.
Removed articles simply are not in the new version. `full=True` ignores the previous index.
One build at a time per index folder (a lock file); the build removes what killed builds left
behind (store.clean_leftovers) once it holds the lock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from index.chunking import chunk_corpus
from index.corpus import Corpus, load_corpus
from index.encoders import ModelLoader, Models, pooled_sentences
from index.errors import (
    CorpusError,
    IndexBusyError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
)
from index.models import Article, ChunkingParams
from index.reuse import Texts, VectorReuse
from index.search import Bm25
from index.store import (
    SPACES,
    IndexData,
    Manifest,
    check_compatible,
    clean_leftovers,
    fault_point,
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
    embedded: int  # texts MiniLM read (passages; their sentences are pooled from those runs)
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
            f"near-duplicate passages dropped) in {self.seconds:.1f} s ({self.rate()}) → "
            f"{index_dir}"
        )

    def rate(self) -> str:
        """Articles per second: all of them for a full build, else those added or changed."""
        seconds = max(self.seconds, 1e-6)
        if self.full:
            return f"{self.manifest.articles / seconds:.1f} articles/s"
        return f"{(len(self.added) + len(self.changed)) / seconds:.1f} new or changed articles/s"


def talks_version() -> str:
    try:
        return metadata.version("talks")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def _published_key(article: Article) -> tuple:
    return (article.published or dt.date.max, article.id)


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


def _previous(
    index_dir: Path, chunking: ChunkingParams, identities: dict[str, dict[str, object] | None]
) -> tuple[IndexData | None, str]:
    """The current index if it can be reused, else (None, why not)."""
    try:
        manifest = read_manifest(index_dir)
        check_compatible(manifest, index_dir=index_dir, models=identities, chunking=chunking)
        return load_index(index_dir), ""
    except IndexNotFoundError:
        return None, ""
    except IndexCorruptError:
        return None, "the previous index is damaged"
    except IndexMismatchError:
        return None, "the previous index was built with another model, chunking or format"


def _up_to_date(old: IndexData | None, corpus: Corpus, spaces: list[str]) -> bool:
    return (
        old is not None
        and old.manifest.corpus_fingerprint == corpus.fingerprint
        and old.manifest.skipped == corpus.problems
        and old.manifest.spaces() == spaces
    )


def _read_corpus(corpus_dir: Path) -> Corpus:
    corpus = load_corpus(Path(corpus_dir))
    if not corpus.articles:
        raise CorpusError(
            f"No article in {corpus_dir} could be read:\n  "
            + "\n  ".join(corpus.problems)
            + "\nFix the files above (see corpus/README.md) and run `talks index` again."
        )
    return corpus


Progress = Callable[[str, int, int], None]  # (stage, done, total)


class _Progress:
    """progress(stage, done, total) over one stage: "reading" (articles segmented and cut into
    passages) or "embedding" (every text a model reads)."""

    def __init__(self, stage: str, total: int, report: Progress | None) -> None:
        self.stage, self.total, self.done, self.report = stage, total, 0, report

    def __call__(self, n: int) -> None:
        self.done += n
        if self.report:
            self.report(self.stage, self.done, self.total)
        if self.stage == "embedding":
            fault_point("embedding")


def build_index(
    corpus_dir: Path,
    index_dir: Path,
    models: Models | ModelLoader,
    *,
    chunking: ChunkingParams | None = None,
    progress: Progress | None = None,
    full: bool = False,
) -> BuildReport:
    """Bring the index in line with the corpus and publish it as a new version.

    `models`: loaded Models, or a ModelLoader (then models are only loaded if there is text to
    embed). Vectors are stored for MiniLM, and for multilingual-e5 when the models include it;
    texts whose vectors the previous version holds are not embedded again.
    progress(stage, done, total) is called after each article read and each text embedded.
    Raises CorpusError when no article can be read (malformed ones are listed in the report and
    skipped) and IndexBusyError when another build holds the lock.
    """
    started = time.perf_counter()
    chunking = chunking or ChunkingParams()
    index_dir = Path(index_dir)
    identities = models.identities()
    spaces = [space for space in SPACES if identities.get(space)]
    with build_lock(index_dir):
        fault_point("locked")
        removed = clean_leftovers(index_dir)  # no other build runs: these are a killed one's
        if removed:
            log.info("removed what an interrupted build left in %s: %s", index_dir, removed)
        # Read the corpus under the lock, so a build that started later cannot publish an older
        # snapshot of it over a newer one.
        corpus = _read_corpus(corpus_dir)
        old, reason = (None, "") if full else _previous(index_dir, chunking, identities)
        if old is not None and _up_to_date(old, corpus, spaces):
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
        reading = _Progress("reading", len(articles), progress)
        chunks = chunk_corpus(
            articles, chunking, segments=old.segments if old else None, progress=reading
        )
        by_id = {a.id: a for a in articles}
        texts = Texts.of(
            chunks.passages,
            [by_id[s.article_id].body[s.start : s.end] for s in chunks.sentences],
        )
        vectors, embedded, embedded_passages = _vectors(
            models, identities, spaces, old, texts, progress
        )
        manifest = write_index(
            index_dir,
            articles=articles,
            passages=chunks.passages,
            sentences=chunks.sentences,
            segments=chunks.segments,
            vectors=vectors,
            write_bm25=Bm25.build(texts.passage_texts).save,
            manifest_fields={
                "talks_version": talks_version(),
                "models": {name: identities.get(name) for name in (*SPACES, "cross_encoder")},
                "chunking": chunking,
                "corpus_fingerprint": corpus.fingerprint,
                "skipped": corpus.problems,
                "duplicate_sentences": chunks.duplicate_sentences,
                "near_duplicate_passages": chunks.near_duplicate_passages,
            },
        )
    return _report(manifest, corpus, old, articles, started, embedded, embedded_passages, reason)


def _vectors(
    models: Models | ModelLoader,
    identities: dict[str, dict[str, object] | None],
    spaces: list[str],
    old: IndexData | None,
    texts: Texts,
    progress: Progress | None,
) -> tuple[dict[str, tuple], int, int]:
    """Passage and sentence vectors for every space, the previous version's reused; the models
    are loaded only if something is new. progress counts every text a model reads (a passage
    whose sentences are pooled from its run counts once). Returns the vectors, the number of
    texts MiniLM read, and of those the passages (pooled: all of them, those read again for a
    sentence whose home passage changed included)."""
    old_texts = Texts.of_index(old) if old is not None else None
    reuse = {
        space: VectorReuse.of(
            old,
            old_texts,
            space,
            int(identities[space]["dim"]),  # type: ignore[index, call-overload]
            pooled=pooled_sentences(identities[space]),
        )
        for space in spaces
    }
    new_passages = reuse["minilm"].passages_to_read(texts)
    reads = {space: r.to_read(texts) for space, r in reuse.items()}
    step = _Progress("embedding", sum(reads.values()), progress)
    loaded: list[Models] = []

    def model() -> Models:
        if not loaded:
            loaded.append(models if isinstance(models, Models) else models())
        return loaded[0]

    vectors = {}
    for space in spaces:
        encoder = lambda space=space: getattr(model(), space)  # noqa: E731
        vectors[space] = reuse[space].space_vectors(texts, encoder, step)
    return vectors, reads["minilm"], new_passages


def _report(
    manifest: Manifest,
    corpus: Corpus,
    old: IndexData | None,
    articles: list[Article],
    started: float,
    embedded: int,
    embedded_passages: int,
    reason: str,
) -> BuildReport:
    old_shas = {a.id: a.sha256 for a in old.articles.values()} if old else {}
    new_shas = {a.id: a.sha256 for a in articles}
    return BuildReport(
        manifest=manifest,
        problems=corpus.problems,
        seconds=time.perf_counter() - started,
        embedded=embedded,
        embedded_passages=embedded_passages,
        reused_passages=manifest.passages - embedded_passages,
        added=sorted(set(new_shas) - set(old_shas)),
        changed=sorted(a for a in new_shas if a in old_shas and old_shas[a] != new_shas[a]),
        removed=sorted(set(old_shas) - set(new_shas)),
        unchanged=sum(1 for a in new_shas if old_shas.get(a) == new_shas[a]),
        full=old is None,
        reason=reason,
    )
