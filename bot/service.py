"""Loading the answering core for an application: the encoder, the index (built on first use)
and the retriever. Shared by `talks ask` and `talks serve`."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from index.errors import IndexNotFoundError, TalksError

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from bot.settings import Settings
    from index.builder import BuildReport
    from index.encoder import Encoder
    from index.retriever import Retriever


def load_encoder(threads: int) -> Encoder:
    from index.encoder import MiniLMEncoder

    return MiniLMEncoder(threads=threads)


def _e5_loader(threads: int) -> Callable[[], Encoder]:
    def load() -> Encoder:
        from index.encoder import E5Encoder

        return E5Encoder(threads=threads)

    return load


def build(
    settings: Settings,
    encoder: Encoder | Callable[[], Encoder],
    *,
    full: bool = False,
    quiet: bool = False,
    threads: int | None = None,
) -> BuildReport:
    """Update (or with full=True rebuild) the index, with a progress bar on a terminal and a
    one-line summary on stderr. `encoder` may be a loader, called only if there is text to embed."""
    from tqdm import tqdm

    from index.builder import build_index
    from index.encoder import set_threads

    set_threads(threads or settings.index_threads)
    bar = tqdm(
        total=0, unit="text", desc="Embedding", file=sys.stderr, disable=quiet or None, leave=False
    )

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        report = build_index(
            settings.corpus_dir,
            settings.index_dir,
            encoder,
            progress=progress,
            full=full,
            multilingual=_e5_loader(threads or settings.index_threads)
            if settings.multilingual
            else None,
        )
    finally:
        bar.close()
        set_threads(settings.query_threads)
    if not quiet:
        for problem in report.problems:
            print(f"talks: skipped {problem}", file=sys.stderr)
        print(report.summary(settings.index_dir), file=sys.stderr)
    return report


def open_retriever(settings: Settings, *, refresh: bool = False) -> Retriever:
    """The retriever for settings.index_dir, building the index first if there is none.

    refresh=False (`talks ask`): a damaged, mismatched or stale index raises a TalksError whose
    message says how to fix it. refresh=True (`talks serve`): the index is brought in line with
    the corpus first (incrementally; a damaged or mismatched one is rebuilt), so a restarted bot
    serves what the corpus holds."""
    from index.corpus import fingerprint
    from index.encoder import set_threads
    from index.retriever import Retriever
    from index.store import read_manifest

    corpus_check = True
    if refresh:
        encoder = load_encoder(settings.query_threads)
        try:
            build(settings, encoder)
        except TalksError as exc:
            # Serve what is published rather than not at all (a build running elsewhere, a
            # corpus that cannot be read…); with no usable index this raises below.
            log.warning("could not update the index at start-up (%s); serving the current one", exc)
            corpus_check = False
    else:
        try:
            read_manifest(settings.index_dir)
            encoder = load_encoder(settings.query_threads)
        except IndexNotFoundError:
            print(
                f"talks: no index at {settings.index_dir} yet: building it from "
                f"{settings.corpus_dir} (first run)",
                file=sys.stderr,
            )
            encoder = load_encoder(settings.index_threads)
            build(settings, encoder)
    corpus_print = fingerprint(settings.corpus_dir) if settings.corpus_dir.is_dir() else None
    if not corpus_check:
        corpus_print = None
    set_threads(settings.query_threads)
    retriever = Retriever.open(settings.index_dir, encoder, corpus_fingerprint=corpus_print)
    retriever.warm(rerank=settings.rerank)
    return retriever


def reopen(settings: Settings, current: Retriever) -> Retriever | None:
    """A retriever for the index version now published, or None if it is the one being served.
    Reuses the loaded model; raises a TalksError if the new version cannot be loaded."""
    from index.retriever import Retriever
    from index.store import read_manifest

    if read_manifest(settings.index_dir).version == current.data.manifest.version:
        return None
    retriever = Retriever.open(settings.index_dir, current.encoder)
    retriever.warm(rerank=settings.rerank, models_from=current)
    return retriever
