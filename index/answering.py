"""Pure answering core: question → the sentences that answer it, as verified verbatim quotes.

No Telegram, no printing. Steps:
1. embed the question, retrieve the nearest passages;
2. score every sentence of those passages (sentence cosine, blended with its passage's score);
3. decide whether the sources answer at all (calibrated cosine thresholds, plus word overlap in the
   grey zone between them) — if not, say so instead of quoting something unrelated;
4. take the best sentence as the answer and up to N quotes, each checked to be the exact text of
   its article at the stated offsets before it is returned.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from index.chunking import sentence_key
from index.errors import QuestionError
from index.models import Answer, Article, Quote
from index.retriever import Retriever

log = logging.getLogger(__name__)

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
# Function words, question words and words that describe the asking rather than the topic.
_STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "whose",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "wat",
        "wht",
        "whats",
        "who's",
        "what's",
        "there's",
        "is's",
        "tell",
        "say",
        "says",
        "said",
        "mention",
        "mentioned",
        "mentions",
        "article",
        "articles",
        "report",
        "reported",
        "reports",
        "happen",
        "happened",
        "happening",
        "regarding",
        "according",
        "know",
        "known",
        "describe",
        "described",
        "explain",
        "anything",
        "something",
        "thing",
        "things",
        "please",
    ]
)


class AnswerParams(BaseModel):
    """Tunable answering settings (thresholds are cosine similarities of all-MiniLM-L6-v2)."""

    model_config = ConfigDict(frozen=True)

    top_k: int = Field(default=8, ge=1, le=100)  # passages retrieved
    max_quotes: int = Field(default=3, ge=1, le=10)
    min_score: float = 0.35  # below: the sources do not answer
    confident_score: float = 0.50  # above: answer without asking for word overlap
    quote_margin: float = 0.10  # extra quotes must score within this of the best
    max_quote_chars: int = Field(default=450, ge=50)  # a quote with its context sentence
    max_question_chars: int = Field(default=1000, ge=10)


def validate_question(question: str, max_chars: int) -> str:
    """The question stripped, or QuestionError saying what is wrong with it."""
    text = (question or "").strip()
    if not text:
        raise QuestionError(
            "The question is empty: ask something, e.g. `who leads Ukraine's delegation`."
        )
    if len(text) > max_chars:
        raise QuestionError(
            f"The question is {len(text):,} characters long; please ask in at most {max_chars:,} "
            "characters."
        )
    if not _WORD.search(text):
        raise QuestionError(
            "The question has no words: ask something, e.g. `who leads Ukraine's delegation`."
        )
    return text


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    for suffix in ("'s", "’s", "ies", "ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def content_terms(text: str) -> set[str]:
    """Lower-cased stems of the words that carry meaning."""
    return {
        _stem(w)
        for w in (m.group().lower() for m in _WORD.finditer(text))
        if len(w) >= 3 and w not in _STOPWORDS
    }


def _within_edits(a: str, b: str, limit: int) -> bool:
    if abs(len(a) - len(b)) > limit:
        return False
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return False
        previous = current
    return previous[-1] <= limit


def shares_terms(question_terms: set[str], text: str) -> bool:
    """True if any question term occurs in text, allowing one typo in words of 5+ letters."""
    terms = content_terms(text)
    for q in question_terms:
        if q in terms:
            return True
        if len(q) >= 5 and any(_within_edits(q, t, 2 if len(q) >= 8 else 1) for t in terms):
            return True
    return False


def verify_quote(article: Article, start: int, end: int, text: str) -> bool:
    """The quote is the article's exact text at those offsets."""
    return 0 <= start < end <= len(article.body) and article.body[start:end] == text


def not_answered(question: str) -> Answer:
    return Answer(question=question, answered=False, answer=None, quotes=[])


def answer(question: str, retriever: Retriever, params: AnswerParams | None = None) -> Answer:
    """Answer from the index, or say the sources do not cover it. Raises QuestionError on bad
    input."""
    params = params or AnswerParams()
    question = validate_question(question, params.max_question_chars)
    data = retriever.data
    query = retriever.embed_question(question)
    hits = retriever.search(query, params.top_k)
    if not hits:
        return not_answered(question)

    # Every sentence of the retrieved passages, with the best score of a passage holding it.
    passage_of: dict[int, tuple[float, int]] = {}
    for hit in hits:
        for sid in data.passages[hit.passage_id].sentence_ids:
            if sid not in passage_of or hit.score > passage_of[sid][0]:
                passage_of[sid] = (hit.score, hit.passage_id)
    sids = np.fromiter(passage_of, dtype=np.int64)
    sentence_scores = data.sentence_vectors[sids] @ query
    passage_scores = np.array([passage_of[int(s)][0] for s in sids], dtype=np.float32)
    combined = 0.6 * sentence_scores + 0.4 * passage_scores

    def text_of(sid: int) -> tuple[Article, str]:
        sentence = data.sentences[sid]
        article = data.articles[sentence.article_id]
        return article, article.body[sentence.start : sentence.end]

    order = [int(i) for i in np.argsort(-combined, kind="stable")]
    # The answer must be a real statement, not a heading fragment.
    eligible = [i for i in order if len(_WORD.findall(text_of(int(sids[i]))[1])) >= 4] or order
    best = eligible[0]
    relevance = float(sentence_scores[best])
    if relevance < params.min_score:
        return not_answered(question)
    if relevance < params.confident_score:
        best_passage = data.passages[passage_of[int(sids[best])][1]]
        if not shares_terms(content_terms(question), best_passage.text):
            return not_answered(question)

    quotes: list[Quote] = []
    covered: list[tuple[str, int, int]] = []  # spans already quoted
    seen: set[str] = set()
    floor = float(combined[best]) - params.quote_margin
    # After the answer, one quote per retrieved passage, best passage first, so quotes cover
    # different parts of the coverage rather than neighbouring sentences of one.
    position = {int(sids[i]): i for i in range(len(sids))}
    per_passage = []
    for hit in hits:
        inside = [position[s] for s in data.passages[hit.passage_id].sentence_ids]
        inside = [i for i in inside if i in set(eligible)] or inside
        per_passage.append(max(inside, key=lambda i: combined[i]))
    for i in [best, *per_passage]:
        if len(quotes) >= params.max_quotes:
            break
        if i != best and (combined[i] < floor or sentence_scores[i] < params.min_score):
            continue
        sid = int(sids[i])
        sentence = data.sentences[sid]
        article, text = text_of(sid)
        key = sentence_key(text)
        if key in seen or any(
            a == sentence.article_id and s <= sentence.start and sentence.end <= e
            for a, s, e in covered
        ):
            continue
        start, end = _with_context(data, sid, query, params.max_quote_chars)
        quote_text = article.body[start:end]
        if not verify_quote(article, start, end, quote_text) or not verify_quote(
            article, sentence.start, sentence.end, text
        ):
            log.warning("dropped a quote that is not verbatim in %s", article.id)
            continue
        seen.add(key)
        covered.append((article.id, start, end))
        quotes.append(
            Quote(
                text=quote_text,
                title=article.title,
                url=article.url,
                published=article.published,
                article_id=article.id,
                start=start,
                end=end,
                score=round(float(combined[i]), 4),
                sentence_start=sentence.start,
                sentence_end=sentence.end,
            )
        )
    if not quotes:
        return not_answered(question)
    first = quotes[0]
    article = data.articles[first.article_id]
    best_text = article.body[first.sentence_start : first.sentence_end]
    return Answer(question=question, answered=True, answer=best_text, quotes=quotes)


def _same_paragraph(body: str, end: int, start: int) -> bool:
    gap = body[end:start]
    return not gap.strip() and "\n\n" not in gap


def _with_context(data, sid: int, query: np.ndarray, max_chars: int) -> tuple[int, int]:
    """The sentence's span widened by its neighbours in the same paragraph, closer one to the
    question first, while the whole fits in max_chars: the answer sentence alone often lacks its
    subject or its explanation."""
    sentence = data.sentences[sid]
    body = data.articles[sentence.article_id].body
    start, end = sentence.start, sentence.end
    neighbours = []
    for nid in (sid - 1, sid + 1):
        if 0 <= nid < len(data.sentences) and data.sentences[nid].article_id == sentence.article_id:
            neighbours.append((float(data.sentence_vectors[nid] @ query), nid))
    for _, nid in sorted(neighbours, reverse=True):
        other = data.sentences[nid]
        if nid < sid and _same_paragraph(body, other.end, start) and end - other.start <= max_chars:
            start = other.start
        elif (
            nid > sid and _same_paragraph(body, end, other.start) and other.end - start <= max_chars
        ):
            end = other.end
    return start, end
