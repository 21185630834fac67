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
CURRENT, so a crash at any point leaves the previous version served. The writer holds an flock
on the folder (and on the new CURRENT while it is being written) until it is published, so what a
killed build left behind is told from a running build's work and removed by the next build
(clean_leftovers). No pickle anywhere.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    NonNegativeInt,
    ValidationError,
    field_validator,
    model_validator,
)

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
MAX_MANIFEST_BYTES = 10_000_000  # a manifest lists a few dozen files; anything near this is damage
_VERSION_NAME = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]{0,127}")
# A file of a version: a plain name, or one inside a subfolder (bm25/); no "..", no absolute path.
_FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)?")
_SHA256 = re.compile(r"[0-9a-f]{64}")
TMP_PREFIX = ".tmp-"
POINTER_PREFIX = f".{CURRENT}."

# Test-only fault injection: a build SIGKILLs itself at the step this variable names (see
# fault_point), so the fault tests can kill `talks index` at an exact moment. Production never
# sets it; it is outside the TALKS_ settings on purpose.
KILL_AT_ENV = "_TALKS_TEST_KILL_AT"
FAULT_POINTS = ("locked", "embedding", "writing", "renamed", "pointer", "published")


def fault_point(step: str) -> None:
    """Test-only: die by SIGKILL here when _TALKS_TEST_KILL_AT names this step."""
    if os.environ.get(KILL_AT_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)


def space_files(space: str) -> tuple[str, str]:
    """The passage index and sentence vector files of a vector space."""
    suffix = "" if space == "minilm" else f"_{space}"
    return f"passages{suffix}.faiss", f"sentences{suffix}.npy"


class Manifest(BaseModel):
    """manifest.json: what the index was built from and with."""

    model_config = ConfigDict(extra="forbid", strict=True)  # a "12" where 12 belongs is damage

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
    articles: NonNegativeInt
    passages: NonNegativeInt
    sentences: NonNegativeInt
    skipped: list[str]
    duplicate_sentences: NonNegativeInt
    near_duplicate_passages: NonNegativeInt
    files: dict[str, str]  # name -> sha256

    @field_validator("files")
    @classmethod
    def _files_of_the_version(cls, files: dict[str, str]) -> dict[str, str]:
        for name, digest in files.items():
            if not _FILE_NAME.fullmatch(name):
                raise ValueError(f"{name[:60]!r} is not the name of a file in the version")
            if not _SHA256.fullmatch(digest):
                raise ValueError(f"the checksum of {name} is not a sha256")
        return files

    @model_validator(mode="after")
    def _vector_models(self) -> Manifest:
        if not self.models.get("minilm"):
            raise ValueError("no MiniLM model is named")
        for space in SPACES:
            identity = self.models.get(space)
            if identity is None:
                continue
            dim = identity.get("dim")
            if type(dim) is not int or dim <= 0 or not isinstance(identity.get("name"), str):
                raise ValueError(f"the {space} model needs a name and a positive whole dim")
        return self

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


@contextlib.contextmanager
def _held(path: Path, flags: int = os.O_RDONLY) -> Iterator[int]:
    """An exclusive flock on path (a folder or a file) until the block ends."""
    fd = os.open(path, flags, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)


@contextlib.contextmanager
def _if_unlocked(path: Path) -> Iterator[bool]:
    """True, holding its lock, if nobody holds path's flock (no running build is writing it)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # gone meanwhile
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


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
    tmp = versions / f"{TMP_PREFIX}{version}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        # Locked until published: clean_leftovers leaves a folder alone while it is held.
        with _held(tmp):
            manifest = _write_files(
                tmp,
                index_dir,
                version=version,
                created_at=now.isoformat(timespec="seconds"),
                records=(articles, passages, sentences, segments),
                vectors=vectors,
                write_bm25=write_bm25,
                manifest_fields=manifest_fields,
            )
            final = versions / version
            tmp.rename(final)
            _fsync_dir(versions)
            fault_point("renamed")
            _publish(index_dir, version)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if _current_name(index_dir) != version:  # renamed but not published
            shutil.rmtree(versions / version, ignore_errors=True)
        raise
    fault_point("published")
    _prune(index_dir, keep=keep_versions, current=version)
    return manifest


def _write_files(
    tmp: Path,
    index_dir: Path,
    *,
    version: str,
    created_at: str,
    records: tuple[list[Article], list[Passage], list[Sentence], dict],
    vectors: Mapping[str, tuple[np.ndarray, np.ndarray]],
    write_bm25: Callable[[Path], None],
    manifest_fields: dict[str, object],
) -> Manifest:
    """Every file of a version in tmp, synced and checked by loading it back."""
    articles, passages, sentences, segments = records
    _write_jsonl(tmp / "articles.jsonl", articles)
    _write_jsonl(tmp / "passages.jsonl", passages)
    _write_jsonl(tmp / "sentences.jsonl", sentences)
    with (tmp / "segments.jsonl").open("w", encoding="utf-8") as fh:
        for key, spans in segments.items():
            fh.write(json.dumps({"key": key, "spans": spans}) + "\n")
    names = list(RECORDS)
    for space, (passage_vectors, sentence_vectors) in vectors.items():
        names += _write_vectors(tmp, space, passage_vectors, sentence_vectors)
    fault_point("writing")
    (tmp / BM25_DIR).mkdir()
    write_bm25(tmp / BM25_DIR)
    names += sorted(f"{BM25_DIR}/{p.name}" for p in (tmp / BM25_DIR).iterdir())
    manifest = Manifest(
        version=version,
        created_at=created_at,
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
    return manifest


def _publish(index_dir: Path, version: str) -> None:
    """Name `version` in CURRENT: the one step that publishes it. A CURRENT that is a folder
    (damage) is replaced too."""
    pointer = index_dir / f"{POINTER_PREFIX}{uuid.uuid4().hex[:8]}"
    with _held(pointer, os.O_WRONLY | os.O_CREAT | os.O_EXCL) as fd:
        try:
            os.write(fd, (version + "\n").encode())
            os.fsync(fd)
            fault_point("pointer")
            current = index_dir / CURRENT
            if current.is_dir() and not current.is_symlink():
                shutil.rmtree(current)
            os.replace(pointer, current)
        except BaseException:
            pointer.unlink(missing_ok=True)
            raise
    _fsync_dir(index_dir)


def clean_leftovers(index_dir: Path) -> list[str]:
    """Remove what killed builds left behind, returning the names removed: temporary version
    folders, versions that were complete but never published (newer than CURRENT), and
    half-written CURRENT pointers. Anything a running build holds locked stays, and so does
    every complete version while CURRENT itself is damaged (they may be all that is left)."""
    index_dir = Path(index_dir)
    versions = index_dir / VERSIONS
    removed: list[str] = []
    current = _current_name(index_dir)
    if versions.is_dir():
        for path in sorted(versions.iterdir()):
            unpublished = (
                current is not None
                and not path.name.startswith(".")
                and path.name > current
                and _VERSION_NAME.fullmatch(path.name) is not None
            )
            if path.is_dir() and (path.name.startswith(TMP_PREFIX) or unpublished):
                with _if_unlocked(path) as free:
                    if free:
                        shutil.rmtree(path, ignore_errors=True)
                        removed.append(f"{VERSIONS}/{path.name}")
    for pointer in sorted(index_dir.glob(f"{POINTER_PREFIX}*")):
        with _if_unlocked(pointer) as free:
            if free and pointer.is_file():
                pointer.unlink(missing_ok=True)
                removed.append(pointer.name)
    return removed


def _prune(index_dir: Path, *, keep: int, current: str) -> None:
    """After publishing `current`: leftovers of killed builds go (clean_leftovers), and of the
    older versions the newest keep - 1 stay."""
    clean_leftovers(index_dir)
    versions = index_dir / VERSIONS
    older = sorted(
        p
        for p in versions.iterdir()
        if p.is_dir() and not p.name.startswith(".") and p.name < current
    )
    for old in older[: max(0, len(older) - (keep - 1))]:
        with _if_unlocked(old) as free:
            if free:
                shutil.rmtree(old, ignore_errors=True)


def _current_name(index_dir: Path) -> str | None:
    """The version CURRENT names, or None when it does not name one that exists."""
    try:
        return current_version_dir(index_dir).name
    except (IndexCorruptError, IndexNotFoundError):
        return None


def _has_versions(index_dir: Path) -> bool:
    versions = index_dir / VERSIONS
    try:
        return any(p.is_dir() and not p.name.startswith(".") for p in versions.iterdir())
    except OSError:
        return False


def current_version_dir(index_dir: Path) -> Path:
    """The folder of the version named in CURRENT."""
    index_dir = Path(index_dir)
    pointer = index_dir / CURRENT
    if not os.path.lexists(pointer):
        if _has_versions(index_dir):
            raise _damaged(index_dir, "CURRENT is missing, though versions/ holds built versions")
        raise IndexNotFoundError(f"No index at {index_dir}: build one with `talks index`.")
    if not pointer.is_file():
        raise _damaged(index_dir, "CURRENT is not a file")
    try:
        with pointer.open("rb") as fh:
            raw = fh.read(256)
    except OSError as exc:
        raise _damaged(index_dir, f"CURRENT cannot be read: {exc.strerror or exc}") from exc
    try:
        name = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise _damaged(index_dir, "CURRENT is not text") from None
    if not _VERSION_NAME.fullmatch(name):
        raise _damaged(index_dir, f"CURRENT does not name a version: {name[:40]!r}")
    path = index_dir / VERSIONS / name
    if not path.is_dir():
        raise _damaged(index_dir, f"CURRENT names missing version {name!r}")
    return path


def read_manifest(index_dir: Path) -> Manifest:
    """The manifest of the served version, parsed. An index written by another format version is
    a mismatch (rebuild), not damage."""
    return read_version_manifest(current_version_dir(index_dir), index_dir)


def check_index(index_dir: Path) -> Manifest:
    """The served version's manifest, after checking that every file it lists is there and
    matches its checksum (cheap: no model, no FAISS): damage is reported before anything slow
    is loaded."""
    path = current_version_dir(index_dir)
    manifest = read_version_manifest(path, index_dir)
    _check_files(path, index_dir, manifest)
    return manifest


def read_version_manifest(path: Path, index_dir: Path) -> Manifest:
    """The manifest of the version folder `path` (messages name index_dir)."""
    file = path / "manifest.json"
    try:
        if file.stat().st_size > MAX_MANIFEST_BYTES:
            raise _damaged(index_dir, "manifest.json is far too large")
        raw = json.loads(file.read_bytes())
    except OSError as exc:
        if file.exists() and not file.is_file():
            raise _damaged(index_dir, "manifest.json is not a file") from exc
        raise _damaged(index_dir, "manifest.json is missing") from exc
    except (ValueError, RecursionError) as exc:  # not UTF-8 or JSON; nested beyond reason
        raise _damaged(index_dir, "manifest.json is not JSON") from exc
    if not isinstance(raw, dict):
        raise _damaged(index_dir, "bad manifest.json")
    built_as = raw.get("format"), raw.get("format_version")
    if not isinstance(built_as[0], str) or type(built_as[1]) is not int:
        raise _damaged(index_dir, "bad manifest.json: no format and format version")
    if built_as != (FORMAT, FORMAT_VERSION):
        raise IndexMismatchError(
            f"Index at {index_dir} has format {built_as[0][:40]} v{built_as[1]}, "
            f"this version of talks reads {FORMAT} v{FORMAT_VERSION}: {REBUILD}."
        )
    try:
        return Manifest.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])[:60]
        what = first["msg"].removeprefix("Value error, ")[:120]
        raise _damaged(
            index_dir, f"bad manifest.json: {where + ': ' if where else ''}{what}"
        ) from exc


def _describe(identity: Mapping[str, object] | None) -> str:
    if not identity:
        return "none"
    runtime = f", {identity['runtime']}" if identity.get("runtime") else ""
    sentences = f", sentences {identity['sentences']}" if identity.get("sentences") else ""
    package = f"{identity.get('package')} {identity.get('version')}"
    return f"{identity.get('name')} ({package}{runtime}{sentences})"


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
        _check_bm25(path, manifest)
    except (OSError, ValueError, RuntimeError, KeyError, TypeError, EOFError, MemoryError) as exc:
        # RuntimeError covers FAISS's errors and RecursionError (JSON nested beyond reason)
        first = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        raise _damaged(index_dir, f"unreadable file: {first}") from exc
    data = IndexData(path, manifest, articles, passages, sentences, segments, vectors)
    _check_consistent(data, index_dir)
    return data


def _check_bm25(path: Path, manifest: Manifest) -> None:
    """The BM25 files are what bm25s will read: JSON objects, and numpy arrays without pickle
    (read through a memory map: only their headers and sizes are checked here)."""
    for name in manifest.files:
        if not name.startswith(f"{BM25_DIR}/"):
            continue
        if name.endswith(".json"):
            if not isinstance(json.loads((path / name).read_bytes()), dict):
                raise ValueError(f"{name} is not a JSON object")
        elif name.endswith(".npy"):
            np.load(path / name, mmap_mode="r", allow_pickle=False)


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
