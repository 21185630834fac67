"""Errors raised by the index package. Every message says what to do next."""

from __future__ import annotations


class TalksError(Exception):
    """Base class: a problem the user can fix; the message says how."""


class CorpusError(TalksError):
    """The corpus folder is missing, empty, or holds no readable article."""


class ArticleFormatError(TalksError):
    """One article file cannot be read; the loader reports it and skips the file."""


class IndexNotFoundError(TalksError):
    """No index has been built at the given folder."""


class IndexCorruptError(TalksError):
    """Index files are missing, truncated or inconsistent."""


class IndexMismatchError(TalksError):
    """The index was built by other code (model, chunking, format) or from another corpus."""


class IndexBuildError(TalksError):
    """A build produced an index that does not pass its own checks; nothing was published."""


class IndexBusyError(TalksError):
    """Another build of the same index is running."""


class QuestionError(TalksError):
    """The question is empty or too long."""


class RerankerError(TalksError):
    """The cross-encoder's files are missing or cannot be loaded."""


class IngestError(TalksError):
    """The file or page cannot become an article; nothing was written."""


class DuplicateArticleError(IngestError):
    """The corpus already has this article (`path`: its file, relative to the corpus)."""

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class CorpusBusyError(IngestError):
    """Another writer holds the corpus; trying again later will do."""


class FeedError(TalksError):
    """A feed cannot be followed or read, or the list of followed feeds is damaged."""


class EvalFileError(TalksError):
    """A labelled question file cannot be read."""


class CalibrationError(TalksError):
    """calibration.json is missing, damaged, or does not match the models in use."""


class ModelError(TalksError):
    """A model's packaged files cannot be read, exported or checked."""
