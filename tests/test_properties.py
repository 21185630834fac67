"""Properties over arbitrary input (hypothesis): the corpus loader never raises on any bytes or any
front matter and names every file it skips; any text becomes valid Telegram HTML within
Telegram's limits; chunking keeps every span verbatim for any body."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot import formatting
from index.chunking import blocks, chunk_corpus, segment, sentence_spans
from index.corpus import load_corpus, read_article
from index.errors import ArticleFormatError
from index.models import Answer, Article, ChunkingParams, Quote

from .fake_telegram.formatting import parse_text, strip_text, u16len

# HYPOTHESIS_MAX_EXAMPLES=5000 for a longer hunt; CI runs the modest default in a few seconds.
SETTINGS = settings(
    max_examples=int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TELEGRAM_LIMIT = 4096  # characters after entity parsing
TELEGRAM_MAX_ENTITIES = 100

GOOD_BODY = "Делегації України та Росії зустрілися в Стамбулі. Talks lasted under two hours.\n"
GOOD_META = {
    "title": "Делегації зустрілися",
    "published": dt.date(2025, 6, 2),
    "url": "https://example.org/a",
    "source": "Test",
    "language": "uk",
}

# --- text strategies ---------------------------------------------------------------------------

SPECIALS = "<>&*_[]()~`#|\\\"'=;/"
WORDS = st.sampled_from(
    [
        "Umerov",
        "Medinsky",
        "Istanbul",
        "talks",
        "U.S.",
        "Mr.",
        "3 p.m.",
        "Делегація",
        "переговори",
        "Стамбулі",
        "Мединский",
        "🇺🇦",
        "👍🏽",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
        "&amp;",
        "<b>",
        "</blockquote>",
        "&#128512;",
        "a_b*c",
        "[x](y)",
        "~~",
        "``",
        "\u200b",
        "\u00a0",
        "\u2028",
        "\x85",
        "\t",
        "—",
        "…",
        "«»",
        "1.",
        "-",
        "##",
        ">",
    ]
)
SENTENCE_END = st.sampled_from([".", "!", "?", "…", ".»", '."', "", ";", ". "])


@st.composite
def prose(draw: st.DrawFn, max_words: int = 40) -> str:
    words = draw(st.lists(st.one_of(WORDS, st.text(max_size=12)), min_size=0, max_size=max_words))
    return " ".join(words) + draw(SENTENCE_END)


ANY_TEXT = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.text(alphabet=SPECIALS + "абвгґдеєжзиіїйАБВ 🇺🇦😀\n", max_size=300),
    prose(),
)

# --- the corpus loader -------------------------------------------------------------------------


def load_one(name: str, content: bytes) -> tuple[list[Article], list[str]]:
    """Write one corpus file and load the folder; the loader must not raise, and the file is
    either the one article or the one problem, named."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / name).write_bytes(content)
        corpus = load_corpus(root)  # never raises for a bad file
        try:
            read_article(root / name, root)
        except ArticleFormatError as exc:  # the only exception read_article may raise
            assert str(exc)
    assert len(corpus.articles) + len(corpus.problems) == 1
    for problem in corpus.problems:
        assert problem.startswith(f"{name}: ") and len(problem) > len(name) + 3
        assert "\n" not in problem  # one line per problem
    for article in corpus.articles:
        assert article.path == name
    return corpus.articles, corpus.problems


SUFFIX = st.sampled_from(["a.md", "a.txt", "a.html"])


@SETTINGS
@given(name=SUFFIX, content=st.binary(max_size=2000))
@example(name="a.md", content=b"---\ntitle: x\npublished: 2025-02-30\n---\n")
@example(name="a.txt", content=b"\xff\xfe\x00t\x00i")
@example(name="a.html", content=b"<html>\x00</html>")
@example(name="a.md", content=b"")
def test_loader_never_raises_on_any_bytes(name: str, content: bytes) -> None:
    load_one(name, content)


@SETTINGS
@given(name=SUFFIX, text=ANY_TEXT, front=st.booleans())
def test_loader_never_raises_on_any_text(name: str, text: str, front: bool) -> None:
    if front:
        text = f"---\n{text}\n---\n\n{GOOD_BODY}"
    load_one(name, text.encode("utf-8"))


# Everything yaml.safe_dump can write: the values of a hostile or careless front matter.
YAML_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
    | st.dates()
    | st.datetimes()
)
YAML_VALUES = st.recursive(
    YAML_SCALARS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=10) | st.integers(), children, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = ["title", "published", "url", "source", "language"]


@st.composite
def front_matters(draw: st.DrawFn) -> dict:
    """The good metadata with some fields replaced by arbitrary values, dropped, or joined by
    arbitrary keys."""
    meta: dict = dict(GOOD_META)
    for key in draw(st.lists(st.sampled_from(FIELDS), unique=True)):
        if draw(st.booleans()):
            meta[key] = draw(YAML_VALUES)
        else:
            del meta[key]
    extra = draw(st.dictionaries(st.text(max_size=10) | st.integers() | st.none(), YAML_VALUES))
    return {**meta, **{k: v for k, v in extra.items() if k not in FIELDS}}


@SETTINGS
@given(meta=front_matters(), name=st.sampled_from(["a.md", "a.txt"]))
@example(meta={**GOOD_META, "published": "2025-02-30"}, name="a.md")
@example(meta={**GOOD_META, "title": [1, 2], "url": {"a": 1}, "source": None}, name="a.md")
@example(meta={**GOOD_META, "language": 5, 1: 2}, name="a.md")
def test_loader_never_raises_on_any_front_matter(meta: dict, name: str) -> None:
    header = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)
    articles, problems = load_one(name, f"---\n{header}---\n\n{GOOD_BODY}".encode())
    if articles:  # whatever was accepted is what the front matter said
        [article] = articles
        assert isinstance(meta.get("title"), str) and article.title == meta["title"].strip()
        assert type(meta.get("published")) is dt.date and article.published == meta["published"]
        assert article.url == meta["url"].strip() and article.source == meta["source"].strip()
    elif all(k in meta and meta[k] == GOOD_META[k] for k in FIELDS if k != "language"):
        # the fields were good: only the language or a key that is not a name can be refused
        assert "language" in problems[0] or "key" in problems[0], problems


# YAML reads NEL, LS and PS (U+0085, U+2028, U+2029) as line breaks, and yaml.safe_dump writes
# them raw: "0\x850" comes back as "0 0". The loader reads what YAML says; those three are left
# out here (index/ingest.py's render() has the same round trip: see the report on this issue).
YAML_CHARS = st.characters(blacklist_categories=["Cs"], blacklist_characters="\x85\u2028\u2029")


@SETTINGS
@given(
    title=st.text(YAML_CHARS, min_size=1, max_size=60).filter(str.strip),
    source=st.text(YAML_CHARS, min_size=1, max_size=30).filter(str.strip),
    published=st.dates(),
    path=st.text(YAML_CHARS, max_size=30),
)
def test_valid_front_matter_round_trips(title: str, source: str, published, path: str) -> None:
    meta = {
        "title": title,
        "published": published,
        "url": f"https://e.org/{path}",
        "source": source,
    }
    header = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)
    articles, problems = load_one("a.md", f"---\n{header}---\n\n{GOOD_BODY}".encode())
    assert not problems, problems
    [article] = articles
    assert (article.title, article.source) == (title.strip(), source.strip())
    assert article.published == published and article.url == meta["url"].strip()


# --- Telegram HTML -----------------------------------------------------------------------------

URLS = st.one_of(
    st.none(),
    st.builds(lambda s: "https://example.org/" + s, st.text(max_size=80)),
    st.builds(lambda s: "http://" + s, st.text(min_size=1, max_size=40)),
    st.text(max_size=40),
)
DATES = st.none() | st.dates(min_value=dt.date(1, 1, 1))


@st.composite
def quotes(draw: st.DrawFn) -> Quote:
    text = draw(ANY_TEXT)
    start = draw(st.integers(0, 10_000))
    a = draw(st.integers(-2, len(text) + 2))
    b = draw(st.integers(-2, len(text) + 2))
    return Quote(
        text=text,
        title=draw(ANY_TEXT),
        url=draw(URLS),
        published=draw(DATES),
        article_id="a",
        start=start,
        end=start + len(text),
        score=0.5,
        sentence_start=start + a,
        sentence_end=start + b,
    )


@st.composite
def answers(draw: st.DrawFn) -> Answer:
    found = draw(st.lists(quotes(), max_size=8))
    answered = draw(st.booleans())
    return Answer(
        question=draw(ANY_TEXT),
        answered=answered,
        answer=draw(ANY_TEXT | st.none()) if answered else None,
        quotes=found if answered else [],
        language=draw(st.sampled_from(["en", "uk", "ru"])),
    )


def telegram_accepts(messages: list[str]) -> list[str]:
    """What Telegram shows for each message; fails the way Telegram refuses one."""
    shown = []
    assert messages, "nothing to send"
    for message in messages:
        plain, entities = strip_text(*parse_text(message, "HTML"))  # raises on bad HTML
        assert plain, f"empty message: {message!r}"  # Telegram: "message text is empty"
        assert len(plain) <= TELEGRAM_LIMIT and u16len(plain) <= TELEGRAM_LIMIT
        assert len(entities) <= TELEGRAM_MAX_ENTITIES
        assert len(message) <= formatting.MAX_HTML_CHARS
        assert formatting.visible(message).strip() == plain  # our length is Telegram's
        shown.append(plain)
    return shown


@SETTINGS
@given(result=answers())
@example(
    result=Answer(
        question="q",
        answered=True,
        answer="",
        quotes=[],
    )
)
@example(
    result=Answer(
        question="q",
        answered=True,
        answer=" \n ",
        quotes=[],
    )
)
def test_any_answer_becomes_valid_telegram_html(result: Answer) -> None:
    shown = telegram_accepts(formatting.pack(formatting.answer_blocks(result)))
    everything = "\n".join(shown)
    for quote in result.quotes:
        assert " ".join(quote.text.split()) in " ".join(everything.split())
    if result.answered and (result.answer or "").strip():
        assert " ".join(result.answer.split()) in " ".join(everything.split())
    inline = formatting.pack(formatting.answer_blocks(result))[0]  # the inline-mode result
    telegram_accepts([inline])
    assert formatting.inline_title(result).strip()


@SETTINGS
@given(found=st.lists(quotes(), min_size=1, max_size=6), language=st.sampled_from(["en", "uk"]))
def test_more_sources_become_valid_telegram_html(found: list[Quote], language: str) -> None:
    telegram_accepts(formatting.pack(formatting.more_blocks(found, language)))


@st.composite
def articles(draw: st.DrawFn) -> Article:
    return Article(
        id=draw(st.text(max_size=20)),
        title=draw(ANY_TEXT),
        published=draw(DATES),
        url=draw(URLS),
        source=draw(st.none() | ANY_TEXT),
        path="a.md",
        sha256="0",
        body="body",
    )


@SETTINGS
@given(found=st.lists(articles(), min_size=0, max_size=30))
def test_any_source_list_becomes_valid_telegram_html(found: list[Article]) -> None:
    telegram_accepts(formatting.pack(formatting.sources_blocks(found)))


@SETTINGS
@given(count=st.integers(0, 10**6), newest=DATES, language=st.sampled_from(["en", "uk", "ru"]))
def test_help_is_valid_telegram_html(count: int, newest, language: str) -> None:
    telegram_accepts([formatting.help_text(count, newest, language)])


@SETTINGS
@given(text=st.text(max_size=12_000) | st.builds(lambda s: s * 300, ANY_TEXT))
def test_any_long_block_is_cut_into_valid_messages(text: str) -> None:
    if not text.strip():
        return
    shown = telegram_accepts(formatting.pack([formatting.esc(text)]))
    # nothing lost, nothing reordered (a word longer than a message is cut inside)
    assert "".join("".join(shown).split()) == "".join(text.split())


@pytest.mark.parametrize("text", ["\ud800", "a\udfffb", "🇺🇦\udc00"])
def test_lone_surrogates_cannot_break_a_reply(text: str) -> None:
    """Telegram's JSON cannot carry a lone surrogate: the formatter replaces it (article text is
    strict UTF-8 and has none; a Quote built in code could)."""
    q = Quote(
        text=text,
        title=text,
        url=None,
        published=None,
        article_id="a",
        start=0,
        end=len(text),
        score=0.0,
        sentence_start=0,
        sentence_end=len(text),
    )
    result = Answer(question=text, answered=True, answer=text, quotes=[q])
    messages = formatting.pack(formatting.answer_blocks(result))
    for message in messages:
        message.encode("utf-8")  # what the HTTP request needs
    telegram_accepts(messages)


# --- chunking ----------------------------------------------------------------------------------

LINE_STARTS = st.sampled_from(
    ["", "", "", "- ", "* ", "+ ", "• ", "1. ", "12) ", "## ", "> ", "  "]
)


@st.composite
def bodies(draw: st.DrawFn) -> str:
    """Article-like bodies: paragraphs of prose, list items, headings, hard wraps, long and
    unbroken sentences, repeated blocks; or any text at all."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.text(max_size=600))
    paragraphs = []
    for _ in range(draw(st.integers(1, 6))):
        lines = [
            draw(LINE_STARTS) + " ".join(draw(st.lists(prose(12), min_size=1, max_size=4)))
            for _ in range(draw(st.integers(1, 3)))
        ]
        paragraphs.append("\n".join(lines))
    if draw(st.booleans()):
        paragraphs.append("word " * draw(st.integers(100, 400)))  # one very long sentence
    if draw(st.booleans()):
        paragraphs.append("x" * draw(st.integers(600, 1500)))  # no space to cut at
    if draw(st.booleans()) and paragraphs:
        paragraphs += paragraphs[: draw(st.integers(1, len(paragraphs)))]  # a repeated block
    separator = draw(st.sampled_from(["\n\n", "\n\n\n", "\n \n", "\n"]))
    return separator.join(paragraphs)


PARAMS = ChunkingParams(max_sentence_chars=200, max_chars=500)


@SETTINGS
@given(body=bodies(), language=st.sampled_from(["en", "uk", "ru", "xx"]))
@example(
    body="Делегацію очолив Умєров. Переговори тривали!\n\n- пункт один\n- пункт два", language="uk"
)
@example(body=".\n\nUmerov \xa0.\n. . .", language="en")  # pysbd returned no sentence at all
def test_chunking_keeps_every_span_verbatim(body: str, language: str) -> None:
    article = Article(id="a", title="t", path="a.md", sha256="0", body=body, language=language)
    paragraphs = list(blocks(body))
    for s, e in paragraphs:
        assert 0 <= s < e <= len(body) and "\n\n" not in body[s:e]
    segments = segment(article)
    for (bs, be), spans in zip(paragraphs, segments, strict=True):
        covered = set()
        for s, e in spans:
            assert bs <= s < e <= be
            assert body[s:e] == body[s:e].strip()
            covered.update(range(s, e))
        # nothing of the paragraph is lost between sentences: only whitespace is left out
        assert all(body[i].isspace() for i in range(bs, be) if i not in covered), (bs, be, spans)
    chunks = chunk_corpus([article], PARAMS)
    for sentence in chunks.sentences:
        text = body[sentence.start : sentence.end]
        assert text and text == text.strip()
        assert len(text) <= PARAMS.max_sentence_chars
    for passage in chunks.passages:
        assert body[passage.start : passage.end] == passage.text
        assert passage.text == passage.text.strip() and "\n\n" not in passage.text
        first = chunks.sentences[passage.sentence_ids[0]]
        last = chunks.sentences[passage.sentence_ids[-1]]
        assert (first.start, last.end) == (passage.start, passage.end)


@SETTINGS
@given(text=ANY_TEXT, before=st.text(max_size=20), after=st.text(max_size=20))
def test_sentence_spans_stay_inside_their_block(text: str, before: str, after: str) -> None:
    whole = before + text + after
    start, end = len(before), len(before) + len(text)
    for s, e in sentence_spans(whole, start, end):
        assert start <= s < e <= end and whole[s:e] == whole[s:e].strip()
