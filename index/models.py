"""Plain data records shared by the corpus loader, the index and the answering core."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class Article(BaseModel):
    """One article: metadata plus the body text that every quote must come from verbatim."""

    model_config = ConfigDict(frozen=True)

    id: str  # path relative to the corpus folder, without suffix, with "/" separators
    title: str
    published: dt.date | None = None
    url: str | None = None
    source: str | None = None
    language: str = "en"
    path: str  # file name relative to the corpus folder
    sha256: str  # of the file's bytes
    body: str


class Sentence(BaseModel):
    """A sentence of an article, as a character span of its body."""

    model_config = ConfigDict(frozen=True)

    article_id: str
    start: int
    end: int


class Passage(BaseModel):
    """A window of consecutive sentences inside one paragraph; the unit that is retrieved. Its
    position in the index is its id (the row of its vector in every vector space)."""

    model_config = ConfigDict(frozen=True)

    article_id: str
    start: int
    end: int
    text: str  # body[start:end], kept for readability and checked on load
    sentence_ids: list[int]  # rows of the index's sentences


class ChunkingParams(BaseModel):
    """How articles are cut into passages; recorded in the manifest."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    splitter: str = "pysbd-0.3.4"
    window: int = Field(default=3, ge=1, le=10)  # sentences per passage
    overlap: int = Field(default=1, ge=0, le=9)  # sentences shared by neighbouring passages
    max_chars: int = Field(default=900, ge=100)
    # Longer "sentences" (lists without full stops, pasted tables) are cut at spaces, so a quote
    # stays short enough to read and to fit one Telegram message.
    max_sentence_chars: int = Field(default=600, ge=50)
    near_duplicate_containment: float = Field(default=0.8, gt=0.0, le=1.0)


class Quote(BaseModel):
    """A verbatim span of an article with its attribution."""

    text: str
    title: str
    url: str | None
    published: dt.date | None
    article_id: str
    start: int
    end: int
    score: float
    sentence_start: int  # the answering sentence inside the quote, as article offsets
    sentence_end: int


class Answer(BaseModel):
    """What `talks ask --json` prints and what the bot renders."""

    question: str
    answered: bool
    answer: str | None
    quotes: list[Quote]
    language: str = "en"  # of the question: en, uk or ru; fixed reply texts follow it
    as_of: dt.date | None = None  # when the answer's source was published
    newest_source: dt.date | None = None  # the newest article on the question's subject
    stale: bool = False  # that one is older than the answering's stale_after_days
    # not answered because the question asks about a time after the newest article (its date
    # is newest_source): "in December 2025" of articles that end in July
    beyond_sources: bool = False
    # a follow-up ("and ukraine's?") completed from the chat's previous question: what the
    # reader typed; `question` is then what was answered ("who headed ukraine's delegation?")
    asked: str | None = None
