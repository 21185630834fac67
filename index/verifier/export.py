"""A verifier made ready to answer: the packaged base weights with the repository's adapter
merged in (adapter.py), exported to ONNX by torch, quantized to int8 by onnxruntime, checked
against the merged PyTorch model and cached, once per machine, like the embedding models
(index.runtime)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from index.onnx_export import OPSET
from index.runtime import OnnxRecipe, cached_model

from .adapter import adapter_dir, digest, merged, read_training
from .pairs import FamilyName, Pair
from .scorer import PairEncoder, Verifier

EXPORT_FORMAT = 1
PROBES = (
    Pair("who leads ukraine's delegation", "The Ukrainian delegation was led by Defence "
         "Minister Rustem Umerov.", "Talks in Istanbul. The sides met on Monday."),
    Pair("how long did the talks last", "The talks lasted less than two hours.",
         "The first round opened in Istanbul."),
    Pair("how long did the talks last", "The weather in Istanbul was sunny.", ""),
    Pair("what does russia demand", "Russia demanded that Ukraine withdraw from four regions "
         "and renounce NATO membership.", "Memorandum handed over"),
    Pair("Хто очолює українську делегацію?", "Ukraine's delegation was headed by Rustem Umerov.",
         "Istanbul talks"),
    Pair("Скільки полонених обміняли?", "The sides agreed to exchange 1,000 prisoners each.", ""),
    Pair("Кто возглавляет российскую делегацию?", "Vladimir Medinsky, an aide to Putin, led "
         "Russia's team.", "Talks. Delegations arrived on Friday."),
    Pair("Сколько длились переговоры?", "Football fans gathered in the square.", ""),
    Pair("why did the talks stall", "Talks stalled because Moscow insisted on a memorandum "
         "first.", "Geneva"),
    Pair("when was the swap", "The swap took place on May 23, officials said.", "Swap"),
    Pair("who is lavrov", "Russian Foreign Minister Sergei Lavrov said the West had failed.",
         "Moscow, February 7."),
    Pair("ZNPP status & 30-day ceasefire (100%)?", "Zelensky   said:\tthe energy moratorium… "
         "did not hold. 🕊️", "«Ціни» — “quotes”"),
)  # fmt: skip


def identity(family: FamilyName, folder: Path | None = None) -> dict[str, object]:
    """The verifier's identity: its base, the layers kept and the adapter's sha256."""
    folder = folder or adapter_dir(family)
    training = read_training(folder)
    return {
        "name": f"talks answer verifier ({family})",
        "base": training.base,
        "layers": training.layers,
        "adapter_sha256": digest(folder),
        "export_format": EXPORT_FORMAT,
    }


def _wrapped(model, family: FamilyName):
    import torch

    class Logits(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, first, attention_mask, token_type_ids):
            key = "input_ids" if family == "en" else "inputs_embeds"
            return self.model(
                **{key: first}, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).logits

    return Logits().eval()


def export(folder: Path, family: FamilyName, path: Path) -> None:
    """The merged model as an fp32 ONNX graph."""
    import torch

    model = merged(folder)
    if family == "en":
        first = torch.ones((2, 8), dtype=torch.int64)
        names = ["input_ids", "attention_mask", "token_type_ids"]
    else:
        first = torch.zeros((2, 8, model.config.hidden_size))
        names = ["inputs_embeds", "attention_mask", "token_type_ids"]
    ids = torch.ones((2, 8), dtype=torch.int64)
    axes = {name: {0: "batch", 1: "tokens"} for name in names}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _wrapped(model, family), (first, ids, torch.zeros_like(ids)), str(path),
            input_names=names, output_names=["logits"], dynamic_axes=axes,
            opset_version=OPSET, dynamo=False,
        )  # fmt: skip


def reference_logits(folder: Path, family: FamilyName, pairs: list[Pair]) -> np.ndarray:
    """The merged PyTorch model's logits (what the int8 file must reproduce)."""
    import torch

    model = merged(folder)
    encoder = PairEncoder(family)
    out = []
    with torch.no_grad():
        for row in encoder.assembled(pairs):
            inputs = {k: torch.from_numpy(v) for k, v in encoder.inputs([row]).items()}
            out.append(float(model(**inputs).logits.reshape(-1)[0]))
    return np.array(out, dtype=np.float32)


def recipe(family: FamilyName, folder: Path | None = None) -> OnnxRecipe:
    """How the cached int8 file is made and checked: on each of PROBES, 1 − the int8 logit's
    distance from the merged model's, as a share of the reference logits' range (at least 1);
    every probe must reach the cache's floor (0.95: within 5% of the range; the packaged
    cross-encoder's own int8 file is within 2% of its fp32 weights)."""
    folder = folder or adapter_dir(family)
    ident = identity(family, folder)

    def make(path: Path) -> None:
        export(folder, family, path)

    def check(path: Path) -> np.ndarray:
        candidate = Verifier(family, path, ident).score(PROBES)
        reference = reference_logits(folder, family, list(PROBES))
        spread = max(1.0, float(reference.max() - reference.min()))
        return 1.0 - np.minimum(1.0, np.abs(candidate - reference) / spread)

    return OnnxRecipe(f"verifier-{family}-int8", ident, make, check)


def load_verifier(
    family: FamilyName, threads: int = 1, cache: Path | None = None, folder: Path | None = None
) -> Verifier:
    """The verifier of `family`, its int8 file made first if this machine has none."""
    rec = recipe(family, folder)
    return Verifier(family, cached_model(rec, cache), rec.identity, threads)


def base_identity(family: FamilyName) -> dict[str, object]:
    """The packaged weights a verifier of `family` starts from."""
    from index.packaged import (
        E5_NAME,
        E5_PACKAGE,
        RERANKER_NAME,
        RERANKER_PACKAGE,
        package_identity,
    )

    if family == "en":
        return package_identity(RERANKER_NAME, RERANKER_PACKAGE)
    return package_identity(E5_NAME, E5_PACKAGE)
