"""Cuts articles into sentences and passages that keep the article's exact text and offsets.

Paragraph (blank line, list item or heading) → sentences (pysbd, rule-based, offline) → windows of
a few consecutive sentences, never across paragraphs. A sentence already seen earlier in the corpus
is dropped (articles repeat blocks; wire copies repeat each other), and a passage whose word
3-shingles are mostly contained in an earlier passage is dropped as a near-duplicate.
"""

from __future__ import annotations

import hashlib
import math
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from index.models import Article, ChunkingParams, Passage, Sentence

# A list item or heading marker at the start of a line: its text is the block, the marker is not.
_MARKER = re.compile(r"^[ \t]*(?:#{1,6}[ \t]+|[-*+•][ \t]+|\d{1,3}[.)][ \t]+|>[ \t]?)")
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass
class Chunks:
    """Sentences and passages of a whole corpus, in article order."""

    sentences: list[Sentence] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    duplicate_sentences: int = 0
    near_duplicate_passages: int = 0
    # Sentence spans of every paragraph of every article, before dedup, keyed by segment_key():
    # stored with the index so unchanged articles are not segmented again.
    segments: dict[str, list[list[tuple[int, int]]]] = field(default_factory=dict)


def blocks(body: str) -> Iterator[tuple[int, int]]:
    """Character spans of the paragraphs of body: blank-line separated, list items and headings
    on their own, markers excluded, surrounding whitespace excluded."""
    pos = 0
    para_start: int | None = None
    para_end = 0
    for line in body.split("\n"):
        line_start, line_end = pos, pos + len(line)
        pos = line_end + 1
        marker = _MARKER.match(line)
        if not line.strip() or marker:
            if para_start is not None:
                yield para_start, para_end
                para_start = None
            if marker and line[marker.end() :].strip():
                start = line_start + marker.end()
                yield _trim(body, start, line_end)
            continue
        if para_start is None:
            para_start = line_start
        para_end = line_end
    if para_start is not None:
        yield para_start, para_end


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


@lru_cache(maxsize=8)
def _segmenter(language: str):
    import pysbd

    try:
        return pysbd.Segmenter(language=language, clean=False)
    except ValueError:  # a language pysbd does not know
        return pysbd.Segmenter(language="en", clean=False)


def sentence_spans(text: str, start: int, end: int, language: str = "en") -> list[tuple[int, int]]:
    """Sentence spans inside text[start:end], as offsets into text."""
    # Newlines inside a paragraph are hard wraps, not sentence ends: hide them from the
    # segmenter. Replacing one character by one keeps every offset valid.
    block = text[start:end].replace("\n", " ")
    spans: list[tuple[int, int]] = []
    cursor = 0
    for segment in _segmenter(language).segment(block):
        piece = segment.strip()
        if not piece:
            continue
        found = block.find(piece, cursor)
        if found < 0:  # the segmenter altered the text: fall back to a plain rule for this block
            return _regex_spans(text, start, end)
        spans.append((start + found, start + found + len(piece)))
        cursor = found + len(piece)
    if _visible(block) != "".join(_visible(text[s:e]) for s, e in spans):
        # pysbd dropped text (it returns nothing for "x \xa0. . . ."): never lose a paragraph
        return _regex_spans(text, start, end)
    return spans


def _visible(text: str) -> str:
    return "".join(text.split())


def _regex_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans = []
    for match in re.finditer(r"\S.*?(?:[.!?…]+[\"'”»)]*(?=\s)|$)", text[start:end], re.S):
        s, e = _trim(text, start + match.start(), start + match.end())
        if e > s:
            spans.append((s, e))
    return spans


def sentence_key(text: str) -> str:
    """What counts as 'the same sentence': case, spacing and punctuation ignored."""
    return " ".join(_WORD.findall(text.lower()))


def _shingles(text: str) -> set[int]:
    words = _WORD.findall(text.lower())
    if len(words) < 3:
        return {zlib.crc32(" ".join(words).encode())}
    return {zlib.crc32(" ".join(words[i : i + 3]).encode()) for i in range(len(words) - 2)}


class _NearDuplicates:
    """Is a passage mostly (by word 3-shingles) contained in one passage kept so far? Containment
    rather than Jaccard, so a lightly edited copy of part of a passage counts too. Overlapping
    windows of the same article share sentences on purpose and are not compared.

    Candidates come from a prefix filter: a passage holding at least `need` of the candidate's
    n shingles must hold one of any n - need + 1 of them, so only the rarest few are looked up.
    """

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self.postings: dict[int, list[int]] = {}
        self.spans: list[tuple[str, int, int]] = []
        self.sets: list[set[int]] = []

    def seen(self, article_id: str, start: int, end: int, text: str) -> bool:
        shingles = _shingles(text)
        need = max(1, math.ceil(self.threshold * len(shingles)))
        rarest = sorted(shingles, key=lambda s: len(self.postings.get(s, ())))
        candidates: set[int] = set()
        for shingle in rarest[: len(shingles) - need + 1]:
            candidates.update(self.postings.get(shingle, ()))
        for other in candidates:
            a, s, e = self.spans[other]
            if a == article_id and s < end and start < e:
                continue
            if len(shingles & self.sets[other]) >= need:
                return True
        return False

    def add(self, article_id: str, start: int, end: int, text: str) -> None:
        shingles = _shingles(text)
        idx = len(self.spans)
        self.spans.append((article_id, start, end))
        self.sets.append(shingles)
        for shingle in shingles:
            self.postings.setdefault(shingle, []).append(idx)


def _cap_lengths(text: str, spans: list[tuple[int, int]], limit: int) -> Iterator[tuple[int, int]]:
    """The spans, with any longer than `limit` cut at whitespace into pieces that fit."""
    for s, e in spans:
        while e - s > limit:
            cut = text.rfind(" ", s + 1, s + limit)
            if cut <= s:
                cut = s + limit  # one unbroken word: cut anyway
            yield _trim(text, s, cut)
            s, _ = _trim(text, cut, e)
        if e > s:
            yield s, e


def _windows(run: list[tuple[int, int]], params: ChunkingParams) -> Iterator[list[int]]:
    """Index windows over a run of sentence spans: up to `window` sentences and `max_chars`
    characters, neighbouring windows sharing `overlap` sentences."""
    i = 0
    while i < len(run):
        j = i + 1
        while j < len(run) and j - i < params.window and run[j][1] - run[i][0] <= params.max_chars:
            j += 1
        yield list(range(i, j))
        if j >= len(run):
            break
        i = max(i + 1, j - params.overlap)


def segment_key(article: Article, params: ChunkingParams) -> str:
    """What the sentence spans depend on: the splitter, the language and the body text."""
    material = f"{params.splitter}\0{article.language}\0{article.body}"
    return hashlib.sha256(material.encode()).hexdigest()


def segment(article: Article) -> list[list[tuple[int, int]]]:
    """Sentence spans of the article, paragraph by paragraph."""
    body = article.body
    return [sentence_spans(body, s, e, article.language) for s, e in blocks(body)]


def chunk_corpus(
    articles: Iterable[Article],
    params: ChunkingParams | None = None,
    segments: Mapping[str, list[list[tuple[int, int]]]] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Chunks:
    """Sentences and passages for all articles; earlier articles win duplicates, so pass them
    oldest first. `segments` (from a previous run, by segment_key) skips re-segmenting;
    progress(1) is called after each article."""
    params = params or ChunkingParams()
    segments = segments or {}
    out = Chunks()
    seen_sentences: set[str] = set()
    near = _NearDuplicates(params.near_duplicate_containment)
    for article in articles:
        body = article.body
        sentence_ids: dict[int, int] = {}  # sentence start offset -> id, within this article
        key = segment_key(article, params)
        article_segments = segments.get(key)
        if article_segments is None:
            article_segments = segment(article)
        out.segments[key] = article_segments
        for block_spans in article_segments:
            # Runs of consecutive sentences not seen before; a duplicate breaks the run.
            runs: list[list[tuple[int, int]]] = [[]]
            for s, e in _cap_lengths(body, block_spans, params.max_sentence_chars):
                key = sentence_key(body[s:e])
                if not key:
                    continue
                if len(key) >= 20 and key in seen_sentences:
                    out.duplicate_sentences += 1
                    if runs[-1]:
                        runs.append([])
                    continue
                seen_sentences.add(key)
                runs[-1].append((s, e))
            for run in runs:
                for window in _windows(run, params):
                    start, end = run[window[0]][0], run[window[-1]][1]
                    text = body[start:end]
                    if near.seen(article.id, start, end, text):
                        out.near_duplicate_passages += 1
                        continue
                    near.add(article.id, start, end, text)
                    ids = []
                    for k in window:
                        s, e = run[k]
                        if s not in sentence_ids:  # else shared with the previous window
                            sentence_ids[s] = len(out.sentences)
                            out.sentences.append(Sentence(article_id=article.id, start=s, end=e))
                        ids.append(sentence_ids[s])
                    out.passages.append(
                        Passage(
                            article_id=article.id, start=start, end=end, text=text, sentence_ids=ids
                        )
                    )
        if progress:
            progress(1)
    return out


def embedding_text(text: str) -> str:
    """Whitespace collapsed, for the encoder only; the stored text stays verbatim."""
    return " ".join(text.split())
