"""Article corpus → passages → FAISS index → answers with verified verbatim quotes.

Public API: load_corpus, build_index, Retriever, answer, AnswerParams and the records in models.
This package never imports `telegram`; the bot depends on it, not the reverse.
"""

from index.answering import AnswerParams, answer, validate_question
from index.builder import BuildReport, build_index
from index.corpus import Corpus, load_corpus
from index.errors import (
    ArticleFormatError,
    CorpusError,
    IndexBusyError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    QuestionError,
    TalksError,
)
from index.models import Answer, Article, ChunkingParams, Passage, Quote, Sentence
from index.retriever import Hit, Retriever

__all__ = [
    "Answer",
    "AnswerParams",
    "Article",
    "ArticleFormatError",
    "BuildReport",
    "ChunkingParams",
    "Corpus",
    "CorpusError",
    "Hit",
    "IndexBusyError",
    "IndexCorruptError",
    "IndexMismatchError",
    "IndexNotFoundError",
    "Passage",
    "QuestionError",
    "Quote",
    "Retriever",
    "Sentence",
    "TalksError",
    "answer",
    "build_index",
    "load_corpus",
    "validate_question",
]
