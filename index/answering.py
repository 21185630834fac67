"""Pure answering core: question → the sentences that answer it, as verified verbatim quotes.

No Telegram, no printing. answer() = rank() → gate() → compose():
1. rank: correct misspelled words, retrieve passages (dense, BM25 or both fused), rank their
   sentences (cosines and the share of the question's words), drop sentences from articles that
   never mention a rare name or number the question asks about, and for English questions let a
   cross-encoder re-read the best few with their context;
2. gate: do the sources answer, and through which route — the cross-encoder's logit
   ("rerank"), a sentence naming everyone a "who is …?" asks about ("define"), the cosine
   thresholds with the word-share check in their grey zone ("plain"), or multilingual-e5's
   cosine for Ukrainian/Russian questions ("multilingual")? If none, say so instead of quoting
   something unrelated;
3. compose: the best sentence as the answer and up to N quotes, each checked to be the exact
   text of its article at the stated offsets before it is returned.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from index.chunking import sentence_key
from index.errors import QuestionError
from index.models import Answer, Article, Quote
from index.retriever import Retriever
from index.terms import STOPWORDS, WORD, bare, content_terms, numbers_in, question_names, term_list

log = logging.getLogger(__name__)
_EXAMPLE = "`who leads Ukraine's delegation`"


class AnswerParams(BaseModel):
    """Tunable answering settings. min_score and confident_score are all-MiniLM-L6-v2 cosines,
    ml_min_score a multilingual-e5 cosine, rerank_min_score a cross-encoder logit."""

    model_config = ConfigDict(frozen=True)

    top_k: int = Field(default=8, ge=1, le=100)  # passages retrieved
    max_quotes: int = Field(default=3, ge=1, le=10)
    # Further quotes for a "more sources" view: looser margin, same relevance floor.
    extra_quotes: int = Field(default=0, ge=0, le=10)
    extra_margin: float = 0.20
    # The thresholds are chosen by `talks eval tests/data/eval/questions.jsonl --corpus
    # tests/data/eval/corpus --k 3 --sweep`: the most right answers that keep every unanswerable
    # question declined with a safety margin (tests/test_quality.py checks they are these).
    min_score: float = 0.4  # below: the sources do not answer
    confident_score: float = 0.575  # above: answer without checking the question's terms
    # Between min_score and confident_score, the best passage must hold at least this share of
    # the question's IDF-weighted terms ("population of Ukraine" matches only "Ukraine": refused).
    min_coverage: float = Field(default=0.7, ge=0, le=1)
    # Non-English questions answered with multilingual-e5 (when the index holds its vectors):
    # the best sentence's e5 cosine must reach this (e5 cosines sit higher than MiniLM's).
    multilingual: bool = True
    ml_min_score: float = Field(default=0.81, ge=-1, le=1)
    ml_same_script_offset: float = Field(default=0.08, ge=0, le=1)
    quote_margin: float = 0.10  # extra quotes must score within this of the best
    max_quote_chars: int = Field(default=450, ge=50)  # a quote with its context sentence
    # How a sentence is ranked: its cosine, its best passage's cosine, and the IDF-weighted share
    # of question terms it contains (names and numbers the embedding blurs).
    sentence_weight: float = 0.5
    passage_weight: float = 0.3
    lexical_weight: float = 0.2
    max_question_chars: int = Field(default=1000, ge=10)
    # Candidate passages and sentence ranking: dense vectors only, BM25 and the question's words
    # only, or both (RRF over passages, cosines + word share over sentences). Hybrid beats
    # both on the project's eval set (`talks eval --compare`), so it is the default.
    retrieval: Literal["hybrid", "dense", "bm25"] = "hybrid"
    per_article: int = Field(default=5, ge=1, le=100)  # passages of one article among top_k
    # English questions: the best `rerank_depth` sentences (each with the context its quote
    # shows) are read together with the question by a cross-encoder, which picks the answer;
    # its logit must reach rerank_min_score; below it, the cosine thresholds (min_score,
    # confident_score, min_coverage) still may answer, as they do with the cross-encoder off.
    # Quotes must score within rerank_margin of the best.
    rerank: bool = True
    rerank_depth: int = Field(default=5, ge=1, le=50)
    rerank_min_score: float = 3.75
    rerank_margin: float = Field(default=4.0, ge=0)


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
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise QuestionError("The question is not valid text: please type it again.") from None
    if not WORD.search(text):
        raise QuestionError(
            "The question has no words: ask something, e.g. `who leads Ukraine's delegation`."
        )
    return text


def verify_quote(article: Article, start: int, end: int, text: str) -> bool:
    """The quote is the article's exact text at those offsets."""
    return 0 <= start < end <= len(article.body) and article.body[start:end] == text


def is_latin(text: str) -> bool:
    """Mostly Latin letters (English and other Latin-script questions)."""
    letters = [c for c in text if c.isalpha()]
    latin = sum(1 for c in letters if c.isascii() or "\u00c0" <= c <= "\u024f")
    return not letters or latin >= 0.5 * len(letters)


def verify_in_passage(passage, start: int, end: int, text: str) -> bool:
    """The sentence is also, at the same offsets, in the passage it was retrieved with: a second,
    separately stored copy of the article's words (cross-checked when the index loads)."""
    return (
        passage.start <= start < end <= passage.end
        and passage.text[start - passage.start : end - passage.start] == text
    )


def not_answered(question: str, language: str = "en") -> Answer:
    return Answer(question=question, answered=False, answer=None, quotes=[], language=language)


def question_language(text: str) -> str:
    """'uk', 'ru' or 'en': Cyrillic with Ukrainian-only letters is Ukrainian, other Cyrillic
    Russian, anything else English (the replies' fixed texts follow it)."""
    letters = [c for c in text if c.isalpha()]
    cyrillic = [c for c in letters if "\u0400" <= c <= "\u04ff"]
    if not letters or len(cyrillic) < 0.5 * len(letters):
        return "en"
    return "uk" if any(c in "іїєґІЇЄҐ" for c in cyrillic) else "ru"


@dataclass
class Ranking:
    """Everything answer() knows about a question before its thresholds are applied: the
    candidate sentences ranked, and the scores the abstention gate looks at. The calibration
    sweep ranks each question once and replays the gate with many thresholds."""

    question: str
    language: str
    multilingual: bool  # answered through multilingual-e5
    latin: bool
    sids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    sentence_scores: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    combined: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    eligible: list[int] = field(default_factory=list)  # positions in sids, best first
    per_passage: list[int] = field(default_factory=list)  # best position of each hit passage
    passage_of: dict[int, tuple[float, int]] = field(default_factory=dict)
    query: np.ndarray | None = None
    matrix: np.ndarray | None = None  # the sentence vectors the query was compared with
    coverage: float = 0.0  # share of the question's term weight in the best passage
    # Why nothing is eligible: the names/numbers the question asks about that the best
    # candidate's article lacks (for logs and tests; the gate only sees that nothing is left).
    missing: list[str] = field(default_factory=list)
    # When reranked: the cross-encoder's logit of each window it read, keyed by the window's
    # best-ranked sentence (a position in sids), those positions best first, and each one's
    # window (article offsets) — what its quote shows.
    rerank_scores: dict[int, float] = field(default_factory=dict)
    reranked_order: list[int] = field(default_factory=list)
    windows: dict[int, tuple[int, int]] = field(default_factory=dict)  # the text each was read in
    # "Who is Medinsky?": the sentences naming everyone the question asks about, best first
    # (the cross-encoder rates appositions like "Kremlin spokesman Dmitry Peskov" low).
    defining: list[int] = field(default_factory=list)

    @property
    def reranked(self) -> bool:
        return bool(self.rerank_scores)

    @property
    def empty(self) -> bool:
        """Nothing to answer with, whatever the thresholds: no candidates, a name the corpus
        never mentions, or no candidate from an article that has the question's names."""
        return not self.eligible

    @property
    def relevance(self) -> float:
        """The best sentence's cosine (e5's, same-script offset taken back, when multilingual)."""
        return float(self.sentence_scores[self.eligible[0]]) if self.eligible else -1.0


def answer(question: str, retriever: Retriever, params: AnswerParams | None = None) -> Answer:
    """Answer from the index, or say the sources do not cover it. Raises QuestionError on bad
    input."""
    params = params or AnswerParams()
    ranking = rank(question, retriever, params)
    path = gate(ranking, params)
    if path is None:
        return not_answered(ranking.question, ranking.language)
    return compose(ranking, retriever, params, path)


def rank(question: str, retriever: Retriever, params: AnswerParams) -> Ranking:
    """Retrieve candidate passages and rank their sentences (steps 1-2)."""
    question = validate_question(question, params.max_question_chars)
    data = retriever.data
    weights = retriever.term_weights
    language = question_language(question)
    multilingual = language != "en" and params.multilingual and data.passage_vectors_e5 is not None
    ranking = Ranking(question, language, multilingual, is_latin(question))
    mode = params.retrieval
    if multilingual:
        # Ukrainian/Russian question, English (or any) articles: the multilingual model ranks
        # passages and sentences; its cosine alone decides abstention (terms do not cross
        # languages, and the corpus's names are spelt in another script).
        query = retriever.embed_question_e5(question)
        # e5 rates any two texts in the same language as close: a Cyrillic question scores
        # Cyrillic passages ~0.05-0.08 higher whatever they say. Take that back before ranking
        # and before the threshold, so an English answer can win and an unrelated Ukrainian
        # sentence does not pass.
        passage_offset, sentence_offset = (
            flags * params.ml_same_script_offset for flags in retriever.non_latin
        )
        hits = retriever.search_vectors(
            data.passage_vectors_e5,
            query,
            params.top_k,
            per_article=params.per_article,
            offset=passage_offset,
        )
        sentence_matrix = data.sentence_vectors_e5
        question_terms: set[str] = set()
        searched = question
        # Names written in Latin letters ("Brent", "NATO") and numbers can be checked against
        # the articles as for English questions; Cyrillic names cannot.
        names = [w for w in question_names(question) if is_latin(w)]
        if [w for w in names if not weights.known(w)]:
            return ranking
        weights_used = (params.sentence_weight, params.passage_weight, 0.0)
    else:
        searched = weights.correct(question)  # misspelled names → the corpus's spelling
        if weights.unknown_names(searched):  # asks about someone or somewhere never mentioned
            return ranking
        names = question_names(searched)
        query = retriever.embed_question(searched)
        hits = retriever.hybrid(
            query, term_list(searched), params.top_k, mode=mode, per_article=params.per_article
        )
        sentence_matrix = data.sentence_vectors
        question_terms = content_terms(searched)
        # Sentences are ranked with the same signals the passages were retrieved with: dense
        # only (cosines), BM25 only (the question's words; passage order breaks ties) or both.
        weights_used = {
            "dense": (params.sentence_weight, params.passage_weight, 0.0),
            "bm25": (0.0, 0.0, 1.0),
            "hybrid": (params.sentence_weight, params.passage_weight, params.lexical_weight),
        }[mode]
    if not hits:
        return ranking
    ranking.query = query

    def text_of(sid: int) -> str:
        sentence = data.sentences[sid]
        return data.articles[sentence.article_id].body[sentence.start : sentence.end]

    # Every sentence of the retrieved passages, with the best score of a passage holding it.
    passage_of: dict[int, tuple[float, int]] = {}
    passage_rank: dict[int, int] = {}
    for position, hit in enumerate(hits):
        for sid in data.passages[hit.passage_id].sentence_ids:
            passage_rank.setdefault(sid, position)
            if sid not in passage_of or hit.score > passage_of[sid][0]:
                passage_of[sid] = (hit.score, hit.passage_id)
    sids = np.fromiter(passage_of, dtype=np.int64)
    sentence_scores = sentence_matrix[sids] @ query
    if multilingual:
        sentence_scores = sentence_scores - sentence_offset[sids]
    passage_scores = np.array([passage_of[int(s)][0] for s in sids], dtype=np.float32)
    lexical = np.array(
        [weights.coverage(question_terms, content_terms(text_of(int(s)))) for s in sids],
        dtype=np.float32,
    )
    sentence_w, passage_w, lexical_w = weights_used
    combined = sentence_w * sentence_scores + passage_w * passage_scores + lexical_w * lexical
    if mode == "bm25" and not multilingual:  # ties in word share: the better BM25 passage
        combined = combined + 0.01 / (1 + np.array([passage_rank[int(s)] for s in sids]))

    order = [int(i) for i in np.argsort(-combined, kind="stable")]
    # The answer must be a real statement, not a heading fragment.
    eligible = [i for i in order if _statement(text_of(int(sids[i])))] or order
    # A sentence from an article that never mentions a (rare) name or number the question asks
    # about cannot answer it: "How many were swapped on Easter?" is not answered from the May
    # swap. Such sentences drop out; if none is left, the sources do not answer.
    numbers = numbers_in(searched)
    if names or numbers:
        missing: dict[str, list[str]] = {}
        for i in eligible:
            article_id = data.sentences[int(sids[i])].article_id
            if article_id not in missing:
                missing[article_id] = retriever.missing_names(names, numbers, article_id)
        kept = [i for i in eligible if not missing[data.sentences[int(sids[i])].article_id]]
        if not kept:
            ranking.missing = missing[data.sentences[int(sids[eligible[0]])].article_id]
            return ranking
        eligible = kept
    if params.rerank and not multilingual and ranking.latin:
        # The cross-encoder reads question and sentence together and picks the answer among the
        # best few (it tells "answers this" from "is about the same thing").
        # Each sentence is read with the neighbours its quote would show: "Talks lasted less than
        # two hours." answers "how long did the first round last" only next to "first round".
        top = eligible[: params.rerank_depth]
        windows, spans = [], []
        for i in top:
            sid = int(sids[i])
            start, end = _with_context(data, sentence_matrix, sid, query, params.max_quote_chars)
            article_id = data.sentences[sid].article_id
            windows.append(data.articles[article_id].body[start:end])
            spans.append((article_id, start, end))
        distinct = list(dict.fromkeys(windows))  # neighbours often share one window
        read = dict(zip(distinct, retriever.reranker.score(searched, distinct), strict=True))
        logits = [read[w] for w in windows]
        # The cross-encoder rates a window; the answer is the window's sentence that ranks best
        # on its own ("exchange 1,000 prisoners", not the sentence after it).
        at = {int(sids[i]): i for i in eligible}
        scores: dict[int, float] = {}
        for i, (article_id, start, end), logit in zip(top, spans, logits, strict=True):
            inside = [i]
            for step in (-1, 1):
                n = int(sids[i]) + step
                while 0 <= n < len(data.sentences) and (
                    data.sentences[n].article_id == article_id
                    and start <= data.sentences[n].start < data.sentences[n].end <= end
                ):
                    if n in at:
                        inside.append(at[n])
                    n += step
            pick = max(inside, key=lambda j: combined[j])
            if float(logit) > scores.get(pick, -np.inf):
                scores[pick] = float(logit)
                ranking.windows[pick] = (start, end)
        ranking.rerank_scores = scores
        ranking.reranked_order = sorted(scores, key=lambda i: -scores[i])
    if not multilingual:
        asked = defined_names(searched, weights.proper)
        if asked:
            preferred = ranking.reranked_order + [
                i for i in eligible if i not in ranking.rerank_scores
            ]
            ranking.defining = [i for i in preferred if _names_all_in(asked, text_of(int(sids[i])))]
    position = {int(sids[i]): i for i in range(len(sids))}
    allowed = set(eligible)
    per_passage = []
    for hit in hits:
        inside = [position[s] for s in data.passages[hit.passage_id].sentence_ids]
        inside = [i for i in inside if i in allowed]
        if inside:
            per_passage.append(max(inside, key=lambda i: combined[i]))
    best_passage = data.passages[passage_of[int(sids[eligible[0]])][1]]
    ranking.sids = sids
    ranking.sentence_scores = sentence_scores
    ranking.combined = combined
    ranking.eligible = eligible
    ranking.per_passage = per_passage
    ranking.passage_of = passage_of
    ranking.coverage = weights.coverage(question_terms, content_terms(best_passage.text))
    ranking.matrix = sentence_matrix
    return ranking


Route = Literal["rerank", "plain", "multilingual", "define"]
_DEFINITION = re.compile(r"^\W*(?:who|what)(?:\s+(?:is|was|are|were)|['’]s)\s+(.+)$", re.I)


def defined_names(question: str, names: frozenset[str]) -> list[str]:
    """The names a "who is …?" question asks about, if it asks about nothing but names the
    corpus uses ("who is Medinsky" → ["medinsky"]); else []."""
    match = _DEFINITION.match(question.strip())
    if not match:
        return []
    words = [bare(w) for w in WORD.findall(match.group(1))]
    words = [w for w in words if w not in STOPWORDS]
    return words if words and all(w in names for w in words) else []


def _names_all_in(names: list[str], text: str) -> bool:
    found = {bare(w) for w in WORD.findall(text)}
    return all(name in found for name in names)


def gate(ranking: Ranking, params: AnswerParams) -> Route | None:
    """Step 3: do the sources answer at all, and through which ranking? None if they do not.

    - multilingual: the best e5 cosine against ml_min_score;
    - rerank: the cross-encoder's best logit against rerank_min_score;
    - plain (also when the cross-encoder declines): the best sentence's cosine against
      min_score and confident_score, and in the grey zone between them the share of the
      question's terms in its passage against min_coverage.
    Each is calibrated on its own to decline every unanswerable question of the labelled set.
    """
    if ranking.empty:
        return None
    if ranking.multilingual:
        return "multilingual" if ranking.relevance >= params.ml_min_score else None
    if ranking.reranked:
        best = ranking.rerank_scores[ranking.reranked_order[0]]
        if best >= params.rerank_min_score:
            return "rerank"
    if ranking.defining:
        return "define"  # every name asked about, in one sentence: that sentence says who
    if ranking.relevance < params.min_score:
        return None
    # all-MiniLM-L6-v2 is an English model: between two Cyrillic (or other non-Latin) texts its
    # cosine is high whatever they say, so for such questions the terms must match too.
    if ranking.relevance < params.confident_score or not ranking.latin:
        return "plain" if ranking.coverage >= params.min_coverage else None
    return "plain"


def compose(
    ranking: Ranking, retriever: Retriever, params: AnswerParams, path: Route | None = None
) -> Answer:
    """Step 4: the best sentence as the answer and up to N verified quotes (through the path
    the gate chose)."""
    data = retriever.data
    path = path or gate(ranking, params)
    if path is None:
        return not_answered(ranking.question, ranking.language)
    reranked = path == "rerank"
    sids, combined, scores = ranking.sids, ranking.combined, ranking.sentence_scores
    min_score = params.ml_min_score if ranking.multilingual else params.min_score
    if reranked:
        best = ranking.reranked_order[0]
    elif path == "define":
        best = ranking.defining[0]
    else:
        best = ranking.eligible[0]
    extras: set[int] = set()  # "more sources" only: no cross-encoder score to compare
    quotes: list[Quote] = []
    covered: list[tuple[str, int, int]] = []  # spans already quoted
    seen: set[str] = set()
    if reranked:
        # The sentences the cross-encoder read, best first, as long as it rates them close to
        # the answer and above its own floor; further ("more sources") quotes may then come
        # from other retrieved passages whose cosine is close to the answer's.
        order = list(ranking.reranked_order)
        quote_score = dict(ranking.rerank_scores)
        margins = (params.rerank_margin, 2 * params.rerank_margin)
        least = params.rerank_min_score
        if params.extra_quotes:
            for i in ranking.per_passage:
                if i not in quote_score and scores[i] >= scores[best] - params.extra_margin:
                    order.append(i)
                    extras.add(i)
    elif path == "define":
        # Other sentences naming them, as long as the cross-encoder (if it read them) does not
        # rate them far below the first.
        order = list(ranking.defining)
        first = ranking.rerank_scores.get(best, 0.0)
        quote_score = {i: ranking.rerank_scores.get(i, first) for i in order}
        margins = (params.rerank_margin, 2 * params.rerank_margin)
        least = -np.inf
    else:
        # After the answer, one quote per retrieved passage, best passage first, so quotes
        # cover different parts of the coverage rather than neighbouring sentences of one.
        order = [best, *ranking.per_passage]
        quote_score = {i: float(combined[i]) for i in order}
        margins = (params.quote_margin, params.extra_margin)
        least = -np.inf
    for i in order:
        if len(quotes) >= params.max_quotes + params.extra_quotes:
            break
        main = len(quotes) < params.max_quotes
        if i in extras:
            if main:
                continue
        elif i != best:
            floor = max(quote_score[best] - margins[0 if main else 1], least)
            if quote_score[i] < floor or (
                path in ("plain", "multilingual") and scores[i] < min_score
            ):
                continue
        sid = int(sids[i])
        sentence = data.sentences[sid]
        article = data.articles[sentence.article_id]
        text = article.body[sentence.start : sentence.end]
        key = sentence_key(text)
        if reranked and i in ranking.windows:
            start, end = ranking.windows[i]  # exactly the text the cross-encoder read
        else:
            start, end = _with_context(
                data, ranking.matrix, sid, ranking.query, params.max_quote_chars
            )

        # No sentence twice: a window overlapping a quote already taken from the article
        # shrinks to its own sentence, and is left out if even that was quoted.
        def overlaps(start: int, end: int, article_id: str = sentence.article_id) -> bool:
            return any(a == article_id and start < e and s < end for a, s, e in covered)

        if overlaps(start, end):
            start, end = sentence.start, sentence.end
        if key in seen or overlaps(start, end):
            continue
        quote_text = article.body[start:end]
        passage = data.passages[ranking.passage_of[sid][1]]
        if not (
            verify_quote(article, start, end, quote_text)
            and verify_in_passage(passage, sentence.start, sentence.end, text)
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
                score=round(quote_score.get(i, float(scores[i])), 4),
                sentence_start=sentence.start,
                sentence_end=sentence.end,
            )
        )
    if not quotes:
        return not_answered(ranking.question, ranking.language)
    first = quotes[0]
    article = data.articles[first.article_id]
    best_text = article.body[first.sentence_start : first.sentence_end]
    return Answer(
        question=ranking.question,
        answered=True,
        answer=best_text,
        quotes=quotes,
        language=ranking.language,
    )


def _statement(text: str) -> bool:
    """A sentence that can stand as an answer: four words or more, and not a bare heading (a
    short line without closing punctuation)."""
    words = len(WORD.findall(text))
    return words >= 4 and (words >= 12 or text.rstrip()[-1:] in ".!?…\"'”»)")


def _same_paragraph(body: str, end: int, start: int) -> bool:
    gap = body[end:start]
    return not gap.strip() and "\n\n" not in gap


def _with_context(data, matrix, sid: int, query: np.ndarray, max_chars: int) -> tuple[int, int]:
    """The sentence's span widened by its neighbours in the same paragraph, closer one to the
    question first, while the whole fits in max_chars: the answer sentence alone often lacks its
    subject or its explanation."""
    sentence = data.sentences[sid]
    body = data.articles[sentence.article_id].body
    start, end = sentence.start, sentence.end
    neighbours = []
    for nid in (sid - 1, sid + 1):
        if 0 <= nid < len(data.sentences) and data.sentences[nid].article_id == sentence.article_id:
            neighbours.append((float(matrix[nid] @ query), nid))
    for _, nid in sorted(neighbours, reverse=True):
        other = data.sentences[nid]
        if nid < sid and _same_paragraph(body, other.end, start) and end - other.start <= max_chars:
            start = other.start
        elif (
            nid > sid and _same_paragraph(body, end, other.start) and other.end - start <= max_chars
        ):
            end = other.end
    return start, end
