"""How a candidate answer is shown to a verifier, the same in training and at answer time.

A pair is the question, the candidate sentence, and its context: the article's title and the
sentence before it ("Talks lasted less than two hours." answers "how long did the first round
last" only after "The first round opened in Istanbul."). The model reads three segments,

    [CLS] question [SEP] sentence [SEP] title. previous sentence [SEP]      (English, BERT)
    <s> query: question </s> passage: sentence </s> title. previous </s>   (multilingual, e5)

so it knows which sentence it judges (the first after the question) and which only explains it.
Each segment is capped in tokens (QUESTION_TOKENS, SENTENCE_TOKENS, MAX_TOKENS in all): the
context is cut first, then the sentence's tail, never the question's start.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

FamilyName = Literal["en", "ml"]
QUESTION_TOKENS = 40
SENTENCE_TOKENS = 72
MAX_TOKENS = 144
CONTEXT_CHARS = 300  # of the previous sentence, from its end


@dataclass(frozen=True)
class Pair:
    """A question with one candidate: `sentence` is judged, `context` only explains it."""

    question: str
    sentence: str
    context: str = ""


def context_of(title: str, previous: str) -> str:
    """The context segment: the article's title, then the tail of the sentence before."""
    previous = " ".join(previous.split())
    if len(previous) > CONTEXT_CHARS:
        cut = previous[-CONTEXT_CHARS:]
        previous = "…" + cut[cut.find(" ") + 1 :] if " " in cut else cut
    title = " ".join(title.split())
    if title and previous:
        return f"{title}. {previous}" if title[-1:] not in ".!?" else f"{title} {previous}"
    return title or previous


@dataclass(frozen=True)
class Family:
    """One verifier's input conventions: its special tokens and the prefixes e5 was trained
    with."""

    name: FamilyName
    start: int  # [CLS] / <s>
    separator: int  # [SEP] / </s>
    pad: int
    question_prefix: str = ""
    sentence_prefix: str = ""

    def assemble(
        self, question: list[int], sentence: list[int], context: list[int]
    ) -> tuple[list[int], list[int]]:
        """Token ids and token types of one pair, from its three segments' content ids."""
        question = question[:QUESTION_TOKENS]
        sentence = sentence[:SENTENCE_TOKENS]
        room = MAX_TOKENS - len(question) - len(sentence) - 4
        context = context[: max(0, room)]
        first = [self.start, *question, self.separator]
        second = [*sentence, self.separator, *context, self.separator] if context else [
            *sentence, self.separator
        ]  # fmt: skip
        return first + second, [0] * len(first) + [1] * len(second)

    def texts(self, pair: Pair) -> tuple[str, str, str]:
        """The three segments' texts as this family reads them."""
        return (
            self.question_prefix + " ".join(pair.question.split()),
            self.sentence_prefix + pair.sentence,
            pair.context,
        )


FAMILIES: dict[str, Family] = {
    "en": Family("en", start=101, separator=102, pad=0),
    "ml": Family("ml", start=0, separator=2, pad=1, question_prefix="query: ",
                 sentence_prefix="passage: "),
}  # fmt: skip


def batch(rows: list[tuple[list[int], list[int]]], pad: int) -> dict[str, np.ndarray]:
    """Assembled pairs padded into one batch (training; answering runs pairs one by one)."""
    longest = max(len(ids) for ids, _ in rows)
    ids = np.full((len(rows), longest), pad, dtype=np.int64)
    types = np.zeros((len(rows), longest), dtype=np.int64)
    mask = np.zeros((len(rows), longest), dtype=np.int64)
    for n, (row, kinds) in enumerate(rows):
        ids[n, : len(row)] = row
        types[n, : len(row)] = kinds
        mask[n, : len(row)] = 1
    return {"input_ids": ids, "token_type_ids": types, "attention_mask": mask}


def candidate_pair(question: str, engine, row: int) -> Pair:
    """Sentence `row` of the index as a verifier reads it: the sentence, and as context its
    article's title and the sentence before it in the article (when the index holds it)."""
    sentence = engine.sentences[row]
    article = engine.articles[sentence.article_id]
    previous = ""
    if row > 0 and engine.sentences[row - 1].article_id == sentence.article_id:
        before = engine.sentences[row - 1]
        previous = article.body[before.start : before.end]
    return Pair(
        question, article.body[sentence.start : sentence.end], context_of(article.title, previous)
    )
