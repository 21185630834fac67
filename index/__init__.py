"""Article corpus → passages → FAISS index → answers with verified verbatim quotes.

The public API, what bot/ uses. This package never imports `telegram` or `bot`; the bot depends
on it, not the reverse. Layers, each importing only those before it: text (pure rules) →
lexicon → store → search → encoders → engine → answering → evaluation and calibration.
"""

from index.answering import AnswerParams, answer, validate_question
from index.builder import BuildReport, build_index
from index.corpus import Corpus, load_corpus
from index.encoders import ModelLoader, Models, load_models
from index.engine import Engine, open_engine
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

__all__ = [
    "Answer",
    "AnswerParams",
    "Article",
    "ArticleFormatError",
    "BuildReport",
    "ChunkingParams",
    "Corpus",
    "CorpusError",
    "Engine",
    "IndexBusyError",
    "IndexCorruptError",
    "IndexMismatchError",
    "IndexNotFoundError",
    "ModelLoader",
    "Models",
    "Passage",
    "QuestionError",
    "Quote",
    "Sentence",
    "TalksError",
    "answer",
    "build_index",
    "load_corpus",
    "load_models",
    "open_engine",
    "validate_question",
]
