"""The index on disk: a folder of plain files plus a manifest, published atomically.

    INDEX_DIR/
      CURRENT                      name of the version being served (replaced in one step)
      versions/<version>/
        manifest.json              models, chunking, corpus fingerprint, counts, file hashes
        articles.jsonl             one Article per line (the text quotes are checked against)
        passages.jsonl             one Passage per line; line i is vector i of passages.faiss
        sentences.jsonl            one Sentence per line; line i is row i of sentences.npy
        segments.jsonl             sentence spans of every article (reused when it is unchanged)
        passages.faiss             faiss IndexFlatIP of the passages' MiniLM vectors (position =
                                   id: the i-th vector is the i-th passage)
        sentences.npy              float32 L2-normalized MiniLM vectors of the sentences (numpy,
                                   no pickle)
        passages_e5.faiss, sentences_e5.npy  the same texts by multilingual-e5 (present when the
                                   manifest names an e5 model)
        bm25/                      the BM25 index of the passages (bm25s's own files: JSON and
                                   numpy arrays, no pickle)

A version is written under a temporary name, renamed into versions/, and only then named in
CURRENT, so a crash at any point leaves the previous version served. No pickle anywhere.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from index.errors import (
    IndexBuildError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
)
from index.models import Article, ChunkingParams, Passage, Sentence

log = logging.getLogger(__name__)
FORMAT = "talks-index"
FORMAT_VERSION = 4
CURRENT = "CURRENT"
VERSIONS = "versions"
RECORDS = ("articles.jsonl", "passages.jsonl", "sentences.jsonl", "segments.jsonl")
BM25_DIR = "bm25"
REBUILD = "rebuild it with `talks index`"
# The vector spaces an index may hold: MiniLM always, multilingual-e5 when its model is named.
SPACES = ("minilm", "e5")


def space_files(space: str) -> tuple[str, str]:
    """The passage index and sentence vector files of a vector space."""
    suffix = "" if space == "minilm" else f"_{space}"
    return f"passages{suffix}.faiss", f"sentences{suffix}.npy"


class Manifest(BaseModel):
    """manifest.json: what the index was built from and with."""

    model_config = ConfigDict(extra="forbid")

    format: str = FORMAT
    format_version: int = FORMAT_VERSION
    version: str
    created_at: str
    talks_version: str
    # Every model's identity: "minilm" and "e5" (null when its vectors are not stored) made the
    # vectors; "cross_encoder" is the one the building process answers with.
    models: dict[str, dict[str, object] | None]
    chunking: dict[str, object]
    corpus_fingerprint: str
    articles: int
    passages: int
    sentences: int
    skipped: list[str]
    duplicate_sentences: int
    near_duplicate_passages: int
    files: dict[str, str]  # name -> sha256

    def spaces(self) -> list[str]:
        """The vector spaces stored in this version."""
        return [space for space in SPACES if self.models.get(space)]


@dataclass(frozen=True)
class StoredVectors:
    """One vector space of a version: passage vectors in a FAISS index (position = passage
    row) and sentence vectors (row = sentence row)."""

    passage_index: object  # faiss.IndexFlatIP
    sentence_vectors: np.ndarray

    def passage_vectors(self) -> np.ndarray:
        """The passage vectors, as stored in the FAISS index."""
        index = self.passage_index
        return index.reconstruct_n(0, index.ntotal)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class IndexData:
    """One version, loaded and checked: records, vectors and where its BM25 files are."""

    path: Path
    manifest: Manifest
    articles: dict[str, Article]
    passages: list[Passage]
    sentences: list[Sentence]
    segments: dict[str, list[list[tuple[int, int]]]]
    vectors: dict[str, StoredVectors]  # by space name

    @property
    def bm25_dir(self) -> Path:
        return self.path / BM25_DIR

    def sentence_text(self, row: int) -> str:
        sentence = self.sentences[row]
        return self.articles[sentence.article_id].body[sentence.start : sentence.end]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_jsonl(path: Path, records: list[BaseModel]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(record.model_dump_json())
            fh.write("\n")


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_vectors(
    folder: Path, space: str, passages: np.ndarray, sentences: np.ndarray
) -> list[str]:
    import faiss

    passage_file, sentence_file = space_files(space)
    vectors = np.ascontiguousarray(passages, dtype=np.float32)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    faiss.write_index(index, str(folder / passage_file))
    np.save(folder / sentence_file, np.ascontiguousarray(sentences, dtype=np.float32))
    return [passage_file, sentence_file]


def write_index(
    index_dir: Path,
    *,
    articles: list[Article],
    passages: list[Passage],
    sentences: list[Sentence],
    segments: dict[str, list[list[tuple[int, int]]]],
    vectors: Mapping[str, tuple[np.ndarray, np.ndarray]],
    write_bm25: Callable[[Path], None],
    manifest_fields: dict[str, object],
    keep_versions: int = 2,
) -> Manifest:
    """Write a new version and publish it; returns its manifest. `vectors`: (passage vectors,
    sentence vectors) by space; `write_bm25(folder)` writes the BM25 files into the folder."""
    for passage_vectors, sentence_vectors in vectors.values():
        if len(passages) != len(passage_vectors) or len(sentences) != len(sentence_vectors):
            raise ValueError("vectors and records differ in count")
    index_dir = Path(index_dir)
    versions = index_dir / VERSIONS
    versions.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    version = f"{now:%Y%m%dT%H%M%S%fZ}-{str(manifest_fields['corpus_fingerprint'])[:8]}"
    tmp = versions / f".tmp-{version}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        _write_jsonl(tmp / "articles.jsonl", articles)
        _write_jsonl(tmp / "passages.jsonl", passages)
        _write_jsonl(tmp / "sentences.jsonl", sentences)
        with (tmp / "segments.jsonl").open("w", encoding="utf-8") as fh:
            for key, spans in segments.items():
                fh.write(json.dumps({"key": key, "spans": spans}) + "\n")
        names = list(RECORDS)
        for space, (passage_vectors, sentence_vectors) in vectors.items():
            names += _write_vectors(tmp, space, passage_vectors, sentence_vectors)
        (tmp / BM25_DIR).mkdir()
        write_bm25(tmp / BM25_DIR)
        names += sorted(f"{BM25_DIR}/{p.name}" for p in (tmp / BM25_DIR).iterdir())
        manifest = Manifest(
            version=version,
            created_at=now.isoformat(timespec="seconds"),
            articles=len(articles),
            passages=len(passages),
            sentences=len(sentences),
            files={name: _sha256(tmp / name) for name in names},
            **{
                **manifest_fields,
                "chunking": ChunkingParams.model_validate(manifest_fields["chunking"]).model_dump(),
            },
        )
        (tmp / "manifest.json").write_text(manifest.model_dump_json(indent=2), encoding="utf-8")
        for name in (*names, "manifest.json"):
            with (tmp / name).open("rb") as fh:
                os.fsync(fh.fileno())
        _fsync_dir(tmp / BM25_DIR)
        _fsync_dir(tmp)
        try:  # the new version must load cleanly before anyone can be served from it
            load_version(tmp, index_dir, manifest)
        except IndexCorruptError as exc:
            raise IndexBuildError(
                f"The new index failed its own check, so nothing was published: {exc}"
            ) from exc
        final = versions / version
        tmp.rename(final)
        _fsync_dir(versions)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _publish(index_dir, version)
    _prune(versions, keep=keep_versions, current=version)
    return manifest


def _publish(index_dir: Path, version: str) -> None:
    """Name `version` in CURRENT: the one step that publishes it."""
    pointer = index_dir / f".{CURRENT}.{uuid.uuid4().hex[:8]}"
    pointer.write_text(version + "\n", encoding="utf-8")
    with pointer.open("rb") as fh:
        os.fsync(fh.fileno())
    os.replace(pointer, index_dir / CURRENT)
    _fsync_dir(index_dir)


def _prune(versions: Path, *, keep: int, current: str) -> None:
    """Delete old versions (and leftovers of crashed builds), keeping the newest `keep`."""
    done = sorted(p for p in versions.iterdir() if p.is_dir() and not p.name.startswith("."))
    for old in done[: max(0, len(done) - keep)]:
        if old.name != current:
            shutil.rmtree(old, ignore_errors=True)
    for leftover in versions.glob(".tmp-*"):
        # A build still running in another process would be writing its own tmp folder; only
        # remove ones older than an hour.
        try:
            age = dt.datetime.now().timestamp() - leftover.stat().st_mtime
        except FileNotFoundError:  # renamed or removed meanwhile
            continue
        if age > 3600:
            shutil.rmtree(leftover, ignore_errors=True)


def current_version_dir(index_dir: Path) -> Path:
    """The folder of the version named in CURRENT."""
    index_dir = Path(index_dir)
    pointer = index_dir / CURRENT
    if not pointer.exists():
        raise IndexNotFoundError(f"No index at {index_dir}: build one with `talks index`.")
    if not pointer.is_file():
        raise IndexCorruptError(
            f"Index at {index_dir} is damaged (CURRENT is not a file): {REBUILD}."
        )
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise IndexCorruptError(f"Index at {index_dir} is damaged ({exc}): {REBUILD}.") from exc
    path = index_dir / VERSIONS / name
    if not name or "/" in name or name.startswith(".") or not path.is_dir():
        raise IndexCorruptError(
            f"Index at {index_dir} is damaged (CURRENT names missing version {name!r}): {REBUILD}."
        )
    return path


def read_manifest(index_dir: Path) -> Manifest:
    """The manifest of the served version, parsed. An index written by another format version is
    a mismatch (rebuild), not damage."""
    return read_version_manifest(current_version_dir(index_dir), index_dir)


def read_version_manifest(path: Path, index_dir: Path) -> Manifest:
    """The manifest of the version folder `path` (messages name index_dir)."""
    try:
        raw = json.loads((path / "manifest.json").read_bytes())
    except OSError as exc:
        raise IndexCorruptError(
            f"Index at {index_dir} is damaged (manifest.json is missing): {REBUILD}."
        ) from exc
    except ValueError as exc:
        raise IndexCorruptError(
            f"Index at {index_dir} is damaged (manifest.json is not JSON): {REBUILD}."
        ) from exc
    if not isinstance(raw, dict):
        raise IndexCorruptError(f"Index at {index_dir} is damaged (bad manifest.json): {REBUILD}.")
    if raw.get("format") != FORMAT or raw.get("format_version") != FORMAT_VERSION:
        raise IndexMismatchError(
            f"Index at {index_dir} has format {raw.get('format')} v{raw.get('format_version')}, "
            f"this version of talks reads {FORMAT} v{FORMAT_VERSION}: {REBUILD}."
        )
    try:
        return Manifest.model_validate(raw)
    except ValidationError as exc:
        raise IndexCorruptError(
            f"Index at {index_dir} is damaged (bad manifest.json): {REBUILD}."
        ) from exc


def _describe(identity: Mapping[str, object] | None) -> str:
    if not identity:
        return "none"
    return f"{identity.get('name')} ({identity.get('package')} {identity.get('version')})"


def check_compatible(
    manifest: Manifest,
    *,
    index_dir: Path,
    models: Mapping[str, Mapping[str, object] | None],
    chunking: ChunkingParams,
    corpus_fingerprint: str | None = None,
) -> None:
    """Raise IndexMismatchError if the index was built by other code or from another corpus.

    models: the identities of the models this process uses (Models.identities()). The vectors'
    models must be the same (an e5 the process does not use is ignored; an index without e5
    vectors serves without them); another cross-encoder only gets a warning, since nothing
    stored depends on it."""
    for space in SPACES:
        built, used = manifest.models.get(space), models.get(space)
        if built is None or (used is None and space != "minilm"):
            continue
        if dict(built) != dict(used or {}):
            raise IndexMismatchError(
                f"Index at {index_dir} was built with {space} model {_describe(built)}, this "
                f"version of talks uses {_describe(used)}: {REBUILD}."
            )
    built, used = manifest.models.get("cross_encoder"), models.get("cross_encoder")
    if built and used and dict(built) != dict(used):
        log.warning(
            "the index at %s was built beside cross-encoder %s, this process uses %s",
            index_dir,
            _describe(built),
            _describe(used),
        )
    if manifest.chunking != chunking.model_dump():
        raise IndexMismatchError(
            f"Index at {index_dir} was built with chunking {manifest.chunking}, this "
            f"version of talks uses {chunking.model_dump()}: {REBUILD}."
        )
    if corpus_fingerprint is not None and manifest.corpus_fingerprint != corpus_fingerprint:
        raise IndexMismatchError(
            f"The corpus has changed since the index at {index_dir} was built "
            f"({manifest.articles} articles then): update it with `talks index`."
        )


def _read_jsonl(path: Path, model: type[BaseModel]) -> list:
    with path.open(encoding="utf-8") as fh:
        return [model.model_validate_json(line) for line in fh if line.strip()]


def load_index(index_dir: Path) -> IndexData:
    """Load the served version and check that its files are whole and consistent."""
    index_dir = Path(index_dir)
    return load_version(current_version_dir(index_dir), index_dir)


def _damaged(index_dir: Path, reason: str) -> IndexCorruptError:
    return IndexCorruptError(f"Index at {index_dir} is damaged ({reason}): {REBUILD}.")


def _check_files(path: Path, index_dir: Path, manifest: Manifest) -> None:
    """Every file the version needs is there and matches its checksum."""
    needed = [*RECORDS, *(f for space in manifest.spaces() for f in space_files(space))]
    if not any(name.startswith(f"{BM25_DIR}/") for name in manifest.files):
        raise _damaged(index_dir, "manifest.json lists no BM25 files")
    for name in [*needed, *(n for n in manifest.files if n not in needed)]:
        file = path / name
        if not file.is_file():
            raise _damaged(index_dir, f"{name} is missing")
        if _sha256(file) != manifest.files.get(name):
            raise _damaged(index_dir, f"{name} does not match its checksum in manifest.json")


def _read_segments(path: Path) -> dict[str, list[list[tuple[int, int]]]]:
    segments = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            segments[row["key"]] = [[tuple(s) for s in block] for block in row["spans"]]
    return segments


def _read_vectors(path: Path, space: str) -> StoredVectors:
    import faiss

    passage_file, sentence_file = space_files(space)
    return StoredVectors(
        passage_index=faiss.read_index(str(path / passage_file)),
        sentence_vectors=np.load(path / sentence_file, allow_pickle=False),
    )


def load_version(path: Path, index_dir: Path, manifest: Manifest | None = None) -> IndexData:
    """Load one version folder (CURRENT is read once, by the caller) and check it."""
    manifest = manifest or read_version_manifest(path, index_dir)
    _check_files(path, index_dir, manifest)
    try:
        articles = {a.id: a for a in _read_jsonl(path / "articles.jsonl", Article)}
        passages = _read_jsonl(path / "passages.jsonl", Passage)
        sentences = _read_jsonl(path / "sentences.jsonl", Sentence)
        vectors = {space: _read_vectors(path, space) for space in manifest.spaces()}
        segments = _read_segments(path / "segments.jsonl")
    except (OSError, ValueError, RuntimeError, KeyError, TypeError) as exc:
        raise _damaged(index_dir, f"unreadable file: {str(exc).splitlines()[0][:200]}") from exc
    data = IndexData(path, manifest, articles, passages, sentences, segments, vectors)
    _check_consistent(data, index_dir)
    return data


def _check_consistent(data: IndexData, index_dir: Path) -> None:
    """Counts, dimensions and texts agree with each other and with the manifest."""
    manifest = data.manifest
    if (
        len(data.articles) != manifest.articles
        or len(data.passages) != manifest.passages
        or len(data.sentences) != manifest.sentences
    ):
        raise _damaged(index_dir, "record and vector counts disagree with manifest.json")
    for space, stored in data.vectors.items():
        dim = int(manifest.models[space].get("dim", 0))  # type: ignore[union-attr]
        index = stored.passage_index
        if (
            index.ntotal != len(data.passages)  # type: ignore[attr-defined]
            or index.d != dim  # type: ignore[attr-defined]
            or stored.sentence_vectors.shape != (len(data.sentences), dim)
        ):
            raise _damaged(index_dir, "record and vector counts disagree with manifest.json")
    for passage in data.passages:
        article = data.articles.get(passage.article_id)
        if article is None or article.body[passage.start : passage.end] != passage.text:
            raise _damaged(index_dir, "a passage does not match its article text")
        if any(not 0 <= sid < len(data.sentences) for sid in passage.sentence_ids):
            raise _damaged(index_dir, "a passage names a sentence that does not exist")
    for sentence in data.sentences:
        article = data.articles.get(sentence.article_id)
        if article is None or not 0 <= sentence.start < sentence.end <= len(article.body):
            raise _damaged(index_dir, "a sentence lies outside its article")
