"""The trained part of a verifier, as it lives in the repository: a low-rank adapter (peft's
LoRA on every linear layer of the kept transformer layers, plus the pooler and classifier it
trains in full) in `adapters/<family>/`, with `training.json` saying what it was trained on, with
what, and how it scored. `merged()` puts it onto the packaged base weights; the result is
exported to int8 ONNX once per machine (export.py).

The adapter files are plain safetensors and JSON (no pickle); their sha256 is part of the
exported model's identity, so a retrained adapter makes a new ONNX file and a new calibration is
required (the calibration check names the adapter it was fitted with).
"""

from __future__ import annotations

import hashlib
import json
from importlib.resources import files
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from index.errors import ModelError

from .pairs import FamilyName

ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")
TRAINING_FILE = "training.json"
# every linear layer of a BERT layer; the pooler and classifier are trained in full
TARGET_MODULES = ["query", "key", "value", "dense"]
SAVED_MODULES = ["classifier", "pooler"]


class Training(BaseModel):
    """training.json: what an adapter is, where it came from and what it scored."""

    model_config = ConfigDict(extra="forbid")

    family: FamilyName
    base: dict[str, object]  # the packaged model's identity
    layers: int  # transformer layers kept from the base
    rank: int
    alpha: int
    epochs: float
    learning_rate: float
    batch_size: int
    seed: int
    threads: int
    data: dict[str, object]  # labelled files (path, sha256), pairs, questions, split
    seconds: float
    metrics: dict[str, float]  # on the cal part (never trained on)
    trained_at: str


def adapter_dir(family: FamilyName) -> Path:
    return Path(str(files("index.verifier").joinpath("adapters", family)))


def shipped(family: FamilyName) -> bool:
    """Whether the package carries a trained adapter for `family` (without one, its questions
    take the route of before)."""
    return (adapter_dir(family) / TRAINING_FILE).is_file()


def read_training(folder: Path) -> Training:
    try:
        return Training.model_validate_json((folder / TRAINING_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(
            f"The verifier adapter in {folder} is missing or damaged ({str(exc)[:160]}): "
            "reinstall with `pip install -e .`, or retrain it with `talks verifier train`."
        ) from exc


def digest(folder: Path) -> str:
    """sha256 over the adapter's files (names and bytes)."""
    h = hashlib.sha256()
    for name in (*ADAPTER_FILES, TRAINING_FILE):
        try:
            h.update(name.encode() + b"\0" + (folder / name).read_bytes())
        except OSError as exc:
            raise ModelError(
                f"The verifier adapter file {folder / name} cannot be read ({exc.strerror}): "
                "reinstall with `pip install -e .`, or retrain it with `talks verifier train`."
            ) from exc
    return h.hexdigest()


def lora_config(rank: int, alpha: int, dropout: float = 0.1) -> Any:
    from peft import LoraConfig, TaskType

    return LoraConfig(
        task_type=TaskType.SEQ_CLS, r=rank, lora_alpha=alpha, lora_dropout=dropout,
        target_modules=TARGET_MODULES, modules_to_save=SAVED_MODULES,
    )  # fmt: skip


def base_model(family: FamilyName, layers: int) -> Any:
    from .bases import english_base, multilingual_base

    return english_base(layers) if family == "en" else multilingual_base(layers)


def merged(folder: Path) -> Any:
    """The base with the adapter in `folder` merged into its weights: a plain
    BertForSequenceClassification."""
    from peft import PeftModel
    from safetensors import SafetensorError

    training = read_training(folder)
    base = base_model(training.family, training.layers)
    try:
        model = PeftModel.from_pretrained(base, str(folder))
    except (OSError, ValueError, KeyError, RuntimeError, SafetensorError) as exc:
        raise ModelError(
            f"The verifier adapter in {folder} does not fit its base ({str(exc)[:160]}): "
            "retrain it with `talks verifier train`."
        ) from exc
    return model.merge_and_unload().eval()


def save(model: Any, folder: Path, training: Training) -> None:
    """The adapter's files and training.json, written into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(folder))
    for extra in folder.iterdir():
        if extra.name not in (*ADAPTER_FILES, TRAINING_FILE):
            extra.unlink() if extra.is_file() else None
    (folder / TRAINING_FILE).write_text(
        json.dumps(training.model_dump(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
