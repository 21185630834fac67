"""Retraining a verifier from the labelled files (`talks verifier train`): pairs of a question
and a candidate sentence the pipeline retrieved, marked as giving what was asked or not, from
`tests/data/news/candidates.jsonl.gz` (see tests/data/news/README.md). The `train` part trains, the
`cal` part (other stories) measures; `test` is never read here.

PyTorch on the CPU, one thread by default (on 2 cores a second thread mostly waits when anything
else runs). Each batch holds pairs of similar length; the loss is binary cross-entropy on the
logit, positives weighted up to the negatives' count (at most POSITIVE_WEIGHT_CAP times).
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import math
import random
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.errors import EvalFileError

from .adapter import Training, base_model, lora_config, save
from .pairs import FamilyName, Pair, context_of
from .scorer import PairEncoder

POSITIVE_WEIGHT_CAP = 4.0
# negatives kept per question, the pipeline's best-ranked first: the near misses it would read
NEGATIVES_PER_QUESTION = 12
Log = Callable[[str], None]


@dataclass(frozen=True)
class Example:
    """One labelled pair."""

    question_id: str
    language: str
    split: str
    pair: Pair
    label: int
    answerable: bool  # the question has an answer somewhere


COLUMNS = ("article", "start", "end", "previous_start", "previous_end", "rank", "label", "by")


def read_examples(path: Path, corpus: Path | None = None) -> list[Example]:
    """Every labelled pair of a candidates file (one question per line; its candidates as rows
    of COLUMNS: the article's NewsArticles id, the sentence's and the previous sentence's
    offsets in its body, the pipeline's rank, the label and who gave it), the texts read from
    the articles of `corpus` (default: the `corpus` folder beside the file)."""
    from index.corpus import load_corpus

    articles = {news_id(a.id): a for a in load_corpus(corpus or path.parent / "corpus").articles}
    examples = []
    for number, line in enumerate(labelled_bytes(path).decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            answerable = bool(item["expect"])
            rows = [dict(zip(COLUMNS, row, strict=True)) for row in item["candidates"]]
            for c in _kept(rows):
                article = articles[c["article"]]
                body = article.body
                previous = ""
                if c["previous_start"] is not None:
                    previous = body[c["previous_start"] : c["previous_end"]]
                pair = Pair(
                    item["q"], body[c["start"] : c["end"]], context_of(article.title, previous)
                )
                label = int(c["label"])
                example = Example(
                    str(item["id"]), item["lang"], item["split"], pair, label, answerable
                )
                examples.append(example)
        except (ValueError, KeyError, TypeError) as exc:
            raise EvalFileError(f"{path}, line {number}: {exc!r}.") from exc
    return examples


def news_id(article_id: str) -> str:
    """How a candidates file names an article: the NewsArticles id, the fourth dash-separated
    part of its file name ("2017-02-07-153-…" → "153")."""
    return article_id.split("-")[3]


def _kept(candidates: list[dict]) -> list[dict]:
    """Every positive, and the NEGATIVES_PER_QUESTION best-ranked negatives."""
    negatives = sorted(
        (c for c in candidates if not c["label"]),
        key=lambda c: c["rank"] if c["rank"] is not None else 1_000,
    )
    return [c for c in candidates if c["label"]] + negatives[:NEGATIVES_PER_QUESTION]


def family_of(language: str) -> FamilyName:
    return "en" if language == "en" else "ml"


def selected(examples: Iterable[Example], family: FamilyName, split: str) -> list[Example]:
    """The pairs one family trains or is measured on: English questions for "en"; for "ml"
    Ukrainian and Russian ones and, to learn "gives what was asked" from more stories, half
    of the English ones too (all of them would double its training time)."""
    return [
        e for e in examples
        if e.split == split
        and (family_of(e.language) == family or (family == "ml" and _half(e.question_id)))
    ]  # fmt: skip


def _half(question_id: str) -> bool:
    """Every other English question (by a hash of its id, the same on every machine)."""
    return zlib.crc32(question_id.encode()) % 2 == 0


def _batches(
    examples: list[Example], rows: list[tuple[list[int], list[int]]], size: int, rng: random.Random
) -> list[list[int]]:
    """Whole questions per batch (their pairs together, so the listwise loss sees each
    question's candidates side by side), about `size` pairs each, questions of similar length
    together, the batches in random order."""
    groups: dict[str, list[int]] = {}
    for n, example in enumerate(examples):
        groups.setdefault(example.question_id, []).append(n)
    order = list(groups.values())
    rng.shuffle(order)
    chunk = 50
    batches: list[list[int]] = []
    for at in range(0, len(order), chunk):
        part = sorted(order[at : at + chunk], key=lambda g: max(len(rows[i][0]) for i in g))
        batch: list[int] = []
        for group in part:
            batch += group
            if len(batch) >= size:
                batches.append(batch)
                batch = []
        if batch:
            batches.append(batch)
    rng.shuffle(batches)
    return batches


@dataclass(frozen=True)
class Settings:
    layers: int = 6
    rank: int = 16
    alpha: int = 32
    epochs: float = 1.0
    learning_rate: float = 4e-4
    batch_size: int = 16
    seed: int = 13
    threads: int = 1
    # besides each pair's binary cross-entropy, the softmax over one question's candidates
    # against its answers: the verifier must pick, not only sort answers from the rest
    listwise: float = 1.0


def _loss(settings: Settings, examples: list[Example], weight: float):
    """The loss of one batch: binary cross-entropy per pair (positives weighted), plus
    `listwise` × the mean over its questions of −log(softmax mass on the answers)."""
    import torch

    bce = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(weight))

    def loss(logits, chunk: list[int], labels):
        value = bce(logits, labels)
        if not settings.listwise:
            return value
        groups: dict[str, list[int]] = {}
        for at, n in enumerate(chunk):
            groups.setdefault(examples[n].question_id, []).append(at)
        terms = []
        for at in groups.values():
            scores, answers = logits[at], labels[at] > 0.5
            if answers.any() and not answers.all():
                terms.append(torch.logsumexp(scores, 0) - torch.logsumexp(scores[answers], 0))
        return value + settings.listwise * torch.stack(terms).mean() if terms else value

    return loss


def fit(family: FamilyName, examples: list[Example], settings: Settings, log: Log = print):
    """A base model with a LoRA adapter trained on `examples` (returns the peft model)."""
    import torch
    from peft import get_peft_model

    torch.manual_seed(settings.seed)
    torch.set_num_threads(settings.threads)
    rng = random.Random(settings.seed)
    model = get_peft_model(
        base_model(family, settings.layers), lora_config(settings.rank, settings.alpha)
    )
    encoder = PairEncoder(family)
    rows = encoder.assembled([e.pair for e in examples])
    labels = torch.tensor([float(e.label) for e in examples])
    positives = max(1.0, float(labels.sum()))
    weight = min(POSITIVE_WEIGHT_CAP, (len(examples) - positives) / positives)
    loss_of = _loss(settings, examples, max(1.0, weight))
    epoch = _batches(examples, rows, settings.batch_size, rng)
    steps = max(1, math.ceil(settings.epochs * len(epoch)))
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=settings.learning_rate,
        weight_decay=0.01,
    )  # fmt: skip
    warmup = max(1, steps // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / (steps - warmup + 1)))
    )
    model.train()
    started, step, running = time.monotonic(), 0, 0.0
    while step < steps:
        for chunk in epoch:
            if step >= steps:
                break
            batch = encoder.inputs([rows[i] for i in chunk])
            logits = model(**{k: torch.from_numpy(v) for k, v in batch.items()}).logits.reshape(-1)
            loss = loss_of(logits, chunk, labels[chunk])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            value = loss.item()
            running = 0.98 * running + 0.02 * value if step > 1 else value
            if step % 50 == 0 or step == steps:
                spent = time.monotonic() - started
                log(f"step {step}/{steps} loss {running:.3f} {spent:.0f}s "
                    f"(~{spent / step * (steps - step) / 60:.0f} min left)")  # fmt: skip
        epoch = _batches(examples, rows, settings.batch_size, rng)
    return model.eval()


def scores(model, family: FamilyName, pairs: list[Pair], batch_size: int = 32) -> np.ndarray:
    """A (peft or merged) model's logits for `pairs`, in batches (for measuring only)."""
    import torch

    encoder = PairEncoder(family)
    rows = encoder.assembled(pairs)
    order = sorted(range(len(rows)), key=lambda i: len(rows[i][0]))
    out = np.zeros(len(rows), dtype=np.float32)
    with torch.no_grad():
        for at in range(0, len(order), batch_size):
            part = order[at : at + batch_size]
            inputs = {
                k: torch.from_numpy(v) for k, v in encoder.inputs([rows[i] for i in part]).items()
            }
            out[part] = model(**inputs).logits.reshape(-1).numpy()
    return out


def auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """The chance a positive scores above a negative (ties count half)."""
    if not len(positive) or not len(negative):
        return float("nan")
    both = np.concatenate([positive, negative])
    ranks = both.argsort().argsort().astype(np.float64) + 1
    _, inverse, counts = np.unique(both, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    ranks = (sums / counts)[inverse]
    u = ranks[: len(positive)].sum() - len(positive) * (len(positive) + 1) / 2
    return float(u / (len(positive) * len(negative)))


def measure(examples: list[Example], logits: np.ndarray) -> dict[str, float]:
    """On one part: pair AUC; answers against the best candidate of unanswerable questions;
    and how often the best-scored candidate of an answerable question is an answer."""
    by_question: dict[str, list[int]] = {}
    for n, e in enumerate(examples):
        by_question.setdefault(e.question_id, []).append(n)
    labels = np.array([e.label for e in examples])
    answers = logits[labels == 1]
    best_unanswerable, picked = [], []
    for rows in by_question.values():
        if not examples[rows[0]].answerable:
            best_unanswerable.append(float(logits[rows].max()))
        elif labels[rows].any():
            picked.append(labels[rows][int(np.argmax(logits[rows]))])
    return {
        "pairs": float(len(examples)),
        "auc_pairs": round(auc(answers, logits[labels == 0]), 4),
        "auc_answer_vs_unanswerable_top": round(auc(answers, np.array(best_unanswerable)), 4),
        "pick_accuracy": round(float(np.mean(picked)) if picked else float("nan"), 4),
    }


def labelled_bytes(path: Path) -> bytes:
    """A labelled candidates file's JSONL bytes (the file may be gzip-compressed: `.gz`)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise EvalFileError(f"Cannot read {path}: {exc.strerror}.") from exc
    return gzip.decompress(data) if path.suffix == ".gz" else data


def sha256(path: Path) -> str:
    """Of the JSONL text, compressed or not."""
    return hashlib.sha256(labelled_bytes(path)).hexdigest()


def train(
    family: FamilyName,
    labelled: Path,
    out: Path,
    settings: Settings = Settings(),
    log: Log = print,
    limit: int | None = None,
) -> Training:
    """Train on the `train` part of `labelled`, measure on its `cal` part, write the adapter
    and training.json into `out`. `limit`: only the first so many training pairs (a smoke
    test)."""
    from .bases import english_base  # noqa: F401  (fails early without torch/transformers)
    from .export import base_identity

    examples = read_examples(labelled)
    training = selected(examples, family, "train")[:limit]
    held = selected(examples, family, "cal")[: limit and max(limit, 8)]
    if not training:
        raise EvalFileError(f"{labelled} has no training pairs for the {family} verifier.")
    log(f"{family}: {len(training)} training pairs, {len(held)} cal pairs")
    started = time.monotonic()
    model = fit(family, training, settings, log)
    metrics = measure(held, scores(model, family, [e.pair for e in held])) if held else {}
    log(f"{family}: cal {metrics}")
    record = Training(
        family=family, base=base_identity(family), layers=settings.layers, rank=settings.rank,
        alpha=settings.alpha, epochs=settings.epochs, learning_rate=settings.learning_rate,
        batch_size=settings.batch_size, seed=settings.seed, threads=settings.threads,
        data={"path": labelled.name, "sha256": sha256(labelled), "pairs": len(training),
              "questions": len({e.question_id for e in training}), "split": "train"},
        seconds=round(time.monotonic() - started, 1), metrics=metrics,
        trained_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )  # fmt: skip
    save(model, out, record)
    return record
