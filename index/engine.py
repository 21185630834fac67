"""An opened index version with the models it is answered with: everything a question needs,
built eagerly when the version is opened and never changed afterwards (safe to share between
threads). A newly published version is opened explicitly with reopen(), reusing the models."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.encoders import Models
from index.health import degraded
from index.lexicon import ArticleWords, Lexicon, Mentions
from index.models import Article, ChunkingParams, Passage, Sentence
from index.search import Bm25, VectorSpace
from index.store import (
    IndexData,
    Manifest,
    check_compatible,
    current_version_dir,
    load_version,
    read_version_manifest,
)
from index.text.dates import DateSpan, days_mentioned
from index.text.language import is_latin
from index.text.outlets import outlet_of
from index.text.spelling import Corrector, english_dictionary


@dataclass(frozen=True)
class Engine:
    """One index version, opened: its records, vector spaces, BM25, lexicon and models."""

    index_dir: Path
    data: IndexData
    models: Models
    english: VectorSpace
    multilingual: VectorSpace | None  # e5, when the index holds its vectors and e5 is loaded
    bm25: Bm25
    lexicon: Lexicon
    mentions: Mentions
    corrector: Corrector
    passage_articles: tuple[str, ...]  # the article of each passage row (for the per-article cap)
    outlets: dict[str, frozenset[str]]  # outlet (outlets.tsv's first form) → its articles
    newest: dt.date | None  # the newest article's publication date
    days: dict[str, frozenset[tuple[int, int]]]  # article → the (month, day) pairs it names
    article_sentences: dict[str, tuple[int, ...]]  # article → its sentence rows, in order

    def newest_or_today(self) -> dt.date:
        return self.newest or dt.date.today()

    def published_in(self, span: DateSpan) -> frozenset[str]:
        """The articles published in the span (or up to its slack days after it); for a day
        the question names, also those published later that name it ("on February 17")."""
        return frozenset(
            a.id
            for a in self.articles.values()
            if span.holds(a.published)
            or (
                span.day is not None
                and a.published is not None
                and a.published > span.last
                and span.day in self.days[a.id]
            )
        )

    @property
    def manifest(self) -> Manifest:
        return self.data.manifest

    @property
    def version(self) -> str:
        return self.data.manifest.version

    @property
    def articles(self) -> dict[str, Article]:
        return self.data.articles

    @property
    def passages(self) -> list[Passage]:
        return self.data.passages

    @property
    def sentences(self) -> list[Sentence]:
        return self.data.sentences

    def sentence_text(self, row: int) -> str:
        return self.data.sentence_text(row)

    def reopen(self, path: Path | None = None) -> Engine | None:
        """Another version opened with the same models: the one in folder `path`, or the one
        now published; None if it is this one. Raises a TalksError if it cannot be loaded."""
        path = path or current_version_dir(self.index_dir)
        if path.name == self.version:
            return None
        return _open(self.index_dir, path, self.models)


def open_engine(
    index_dir: Path,
    models: Models,
    *,
    corpus_fingerprint: str | None = None,
    chunking: ChunkingParams | None = None,
) -> Engine:
    """Open the published version of index_dir after checking it matches this code and these
    models (and the corpus, if its fingerprint is given)."""
    index_dir = Path(index_dir)
    path = current_version_dir(index_dir)  # read CURRENT once: a publish may follow
    return _open(index_dir, path, models, corpus_fingerprint, chunking)


def _open(
    index_dir: Path,
    path: Path,
    models: Models,
    corpus_fingerprint: str | None = None,
    chunking: ChunkingParams | None = None,
) -> Engine:
    manifest = read_version_manifest(path, index_dir)
    check_compatible(
        manifest,
        index_dir=index_dir,
        models=models.identities(),
        chunking=chunking or ChunkingParams(),
        corpus_fingerprint=corpus_fingerprint,
    )
    data = load_version(path, index_dir, manifest)
    lexicon = Lexicon(data.sentence_text(row) for row in range(len(data.sentences)))
    return Engine(
        index_dir=index_dir,
        data=data,
        models=models,
        english=VectorSpace(data.vectors["minilm"]),
        multilingual=_multilingual_space(data, models),
        bm25=Bm25.load(data.bm25_dir, len(data.passages)),
        lexicon=lexicon,
        mentions=Mentions(
            {a.id: ArticleWords.of(a.title, a.body, a.published) for a in data.articles.values()}
        ),
        corrector=Corrector(lexicon.words, lexicon.names, _dictionary()),
        passage_articles=tuple(p.article_id for p in data.passages),
        outlets=_outlets(data.articles),
        newest=max((a.published for a in data.articles.values() if a.published), default=None),
        days={a.id: days_mentioned(a.body) for a in data.articles.values()},
        article_sentences=_sentence_rows(data.sentences),
    )


def _sentence_rows(sentences: list[Sentence]) -> dict[str, tuple[int, ...]]:
    rows: dict[str, list[int]] = {}
    for row, sentence in enumerate(sentences):
        rows.setdefault(sentence.article_id, []).append(row)
    return {
        article: tuple(sorted(r, key=lambda i: sentences[i].start)) for article, r in rows.items()
    }


def _outlets(articles: dict[str, Article]) -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = {}
    for article in articles.values():
        outlet = outlet_of(article.source or "")
        if outlet:
            found.setdefault(outlet, set()).add(article.id)
    return {outlet: frozenset(ids) for outlet, ids in found.items()}


def _multilingual_space(data: IndexData, models: Models) -> VectorSpace | None:
    """The e5 space, knowing which texts are not in Latin script (e5's same-script bonus is
    taken back from them for Cyrillic questions)."""
    if models.e5 is None or "e5" not in data.vectors:
        return None
    passages = np.array([not is_latin(p.text) for p in data.passages], dtype=bool)
    sentences = np.array(
        [not is_latin(data.sentence_text(row)) for row in range(len(data.sentences))], dtype=bool
    )
    return VectorSpace(data.vectors["e5"], non_latin=(passages, sentences))


def _dictionary() -> frozenset[str]:
    """Everyday English words for the spelling guard; without them (a broken install) real words
    may be "corrected" into corpus words, which is logged once, loudly, and shown in /stats."""
    try:
        return english_dictionary()
    except (OSError, ImportError, UnicodeError) as exc:
        degraded(
            "spelling dictionary",
            f"cannot be read ({type(exc).__name__}: {exc}): real words may be corrected into "
            'corpus words ("weather" into "whether"); reinstall with `pip install -e .`',
        )
        return frozenset()
