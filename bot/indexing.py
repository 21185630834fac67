"""The index as the CLI and the bot use it: built with a progress bar and a summary line, and
opened for answering with the process's models (built first when there is none)."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

from index.answering.params import CALIBRATION_FILE, calibration
from index.builder import BuildReport, build_index
from index.corpus import fingerprint
from index.encoders import ModelLoader, Models
from index.engine import Engine, open_engine
from index.errors import IndexNotFoundError, TalksError
from index.health import degraded, recovered
from index.store import read_manifest

if TYPE_CHECKING:
    from bot.settings import Settings

log = logging.getLogger(__name__)


def model_loader(settings: Settings) -> ModelLoader:
    """The models these settings answer with, loaded when first needed: builds on
    index_threads, questions on query_threads."""
    return ModelLoader(
        threads=settings.index_threads,
        query_threads=settings.query_threads,
        cache=settings.model_cache,
        multilingual=settings.retrieval.multilingual,
        rerank=settings.scoring.rerank,
        verify=settings.scoring.verify,
    )


def build(
    settings: Settings,
    models: Models | ModelLoader,
    *,
    full: bool = False,
    quiet: bool = False,
) -> BuildReport:
    """Update (or with full=True rebuild) the index, with a progress bar on a terminal (reading
    the articles, then embedding, each with its rate and time left) and a one-line summary on
    stderr (articles/s included). A ModelLoader loads only if there is text to embed."""
    from tqdm import tqdm

    bar = tqdm(
        total=0, unit="article", desc="Reading", file=sys.stderr, disable=quiet or None, leave=False
    )
    units = {"reading": ("Reading", "article"), "embedding": ("Embedding", "text")}
    shown = ["reading"]

    def progress(stage: str, done: int, total: int) -> None:
        if stage != shown[0]:  # a new stage: its own count, rate and time left
            shown[0] = stage
            desc, bar.unit = units[stage]
            bar.set_description_str(desc, refresh=False)
            bar.reset(total)
        bar.total = total
        bar.update(done - bar.n)

    try:
        report = build_index(
            settings.corpus_dir, settings.index_dir, models, progress=progress, full=full
        )
    finally:
        bar.close()
    if not quiet:
        for problem in report.problems:
            print(f"talks: skipped {problem}", file=sys.stderr)
        print(report.summary(settings.index_dir), file=sys.stderr)
    return report


def open_for_answering(settings: Settings, *, refresh: bool = False) -> Engine:
    """The engine for settings.index_dir, building the index first if there is none.

    refresh=False (`talks ask`): a damaged, mismatched or stale index raises a TalksError whose
    message says how to fix it. refresh=True (`talks serve`): the index is brought in line with
    the corpus first (incrementally; a damaged or mismatched one is rebuilt), so a restarted bot
    serves what the corpus holds."""
    corpus_check = True
    if refresh:
        models = model_loader(settings)()
        try:
            build(settings, models)
            recovered("index update")
        except TalksError as exc:
            # Serve what is published rather than not at all (a build running elsewhere, a
            # corpus that cannot be read…); with no usable index this raises below.
            degraded(
                "index update",
                f"could not update the index at start-up ({exc}); serving the published "
                "version, which may be stale: fix this, then send /reindex or run `talks index`",
            )
            corpus_check = False
    else:
        try:
            read_manifest(settings.index_dir)
            models = model_loader(settings)()
        except IndexNotFoundError:
            print(
                f"talks: no index at {settings.index_dir} yet: building it from "
                f"{settings.corpus_dir} (first run)",
                file=sys.stderr,
            )
            models = model_loader(settings)()
            build(settings, models)
    corpus_print = None
    if corpus_check and settings.corpus_dir.is_dir():
        corpus_print = fingerprint(settings.corpus_dir)
    warn_if_uncalibrated(models)
    return open_engine(settings.index_dir, models, corpus_fingerprint=corpus_print)


def warn_if_uncalibrated(models: Models) -> None:
    """Log if the shipped thresholds were calibrated with other models than these (a model
    switched off is no mismatch)."""
    record = calibration()
    used = {name: identity for name, identity in models.identities().items() if identity}
    if any(record.models.get(name) != identity for name, identity in used.items()):
        log.warning(
            "the gate's thresholds in %s were calibrated with other models than these; "
            "recalibrate with `talks eval tests/data/eval/questions.jsonl --corpus "
            "tests/data/eval/corpus --k 3 --sweep --write`",
            CALIBRATION_FILE,
        )
