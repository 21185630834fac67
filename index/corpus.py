"""Reads the corpus folder: one article per file (.md with YAML front matter, .txt, .html).

A malformed file is reported by name and skipped; the rest still load. Reading a file never
raises anything but ArticleFormatError (whose message says what is wrong and what to do), and
load_corpus never raises for a bad file at all: too large (checked before reading), empty,
binary, not UTF-8, front matter that is not YAML, too deep, with impossible dates or values of
the wrong type, no body text.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from index.errors import ArticleFormatError, CorpusError
from index.models import Article

ARTICLE_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm")
HTML_SUFFIXES = (".html", ".htm")
# A download, an upload or an .html corpus file larger than this is refused (web pages carry
# much more markup than text).
MAX_ARTICLE_BYTES = 5_000_000
# An article's text: a .md/.txt corpus file (checked with stat() before it is read), or the text
# extracted from an .html one. Every byte is segmented and embedded: a 1 MB article took ~10
# minutes and 1.3 GB to index.
MAX_CORPUS_FILE_BYTES = 500_000
MAX_FRONT_MATTER_CHARS = 20_000  # title, date, link, outlet and language need far less
MAX_FRONT_MATTER_DEPTH = 50  # nested [ and {: PyYAML takes seconds on thousands of levels
_LANGUAGE_CODE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(?:(.*?)\n)?---[ \t]*(?:\n|\Z)", re.S)
# Page furniture that blog and news exports leave at the end of plain-text articles.
_BOILERPLATE_LINES = {
    "post a comment",
    "previous post next post",
    "previous post",
    "next post",
    "share this article",
    "share",
    "advertisement",
    "related articles",
    "read more",
    "comments",
}
_MAX_REASON_CHARS = 300


def _kind(value: object) -> str:
    """What a YAML value is, in words, for messages (never its repr: it may be huge)."""
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, dt.datetime):
        return "a date and time"
    if isinstance(value, dt.date):
        return "a date"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _quoted(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


class FrontMatter(BaseModel):
    """The YAML header of a corpus article (documented in corpus/README.md). Each field says in
    words what it expected when it gets something else (a list, a number, null, 2025-02-30)."""

    model_config = ConfigDict(extra="ignore")

    title: str = Field(min_length=1)
    published: dt.date
    url: str
    source: str = Field(min_length=1)
    language: str = "en"

    @field_validator("title", "source", mode="before")
    @classmethod
    def _text(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip()
        hint = " (put it in quotes)" if isinstance(value, int | float | dt.date) else ""
        raise ValueError(f"must be text, not {_kind(value)}{hint}")

    @field_validator("url", mode="before")
    @classmethod
    def _http_url(cls, value: object) -> str:
        if not isinstance(value, str):
            raise ValueError(
                f"must be a link starting with http:// or https://, not {_kind(value)}"
            )
        value = value.strip()
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(
                f"must be a link starting with http:// or https://, not {_quoted(value)}"
            )
        return value

    @field_validator("published", mode="before")
    @classmethod
    def _date(cls, value: object) -> dt.date:
        if isinstance(value, dt.datetime):
            raise ValueError("must be a date without a time, written YYYY-MM-DD")
        if isinstance(value, dt.date):
            return value
        if not isinstance(value, str):
            raise ValueError(f"must be a date written YYYY-MM-DD, not {_kind(value)}")
        value = value.strip()
        if not _ISO_DATE.fullmatch(value):
            raise ValueError(f"must be a date written YYYY-MM-DD, not {_quoted(value)}")
        try:
            return dt.date.fromisoformat(value)
        except ValueError as exc:  # 2025-02-30, 0000-01-01
            raise ValueError(f"{value} is not a real date ({exc}): correct it") from exc

    @field_validator("language", mode="before")
    @classmethod
    def _language(cls, value: object) -> str:
        if isinstance(value, str) and _LANGUAGE_CODE.fullmatch(value.strip()):
            return value.strip()
        shown = _quoted(value) if isinstance(value, str) else _kind(value)
        raise ValueError(f"must be a language code such as en, uk or ru, not {shown}")


class _SafeLoader(yaml.SafeLoader):
    """yaml.safe_load's loader, except that a value YAML cannot build (an impossible date such as
    2025-02-30, an integer too long to convert) stays text, so the field check names it, and a
    key given twice is an error rather than silently the last one."""

    def construct_yaml_timestamp(self, node: yaml.Node) -> object:
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError):
            return self.construct_scalar(node)

    def construct_yaml_int(self, node: yaml.Node) -> object:
        try:
            return super().construct_yaml_int(node)
        except (ValueError, OverflowError):
            return self.construct_scalar(node)

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict:
        seen: set[tuple[str, str]] = set()
        for key_node, _ in node.value if isinstance(node, yaml.MappingNode) else ():
            if isinstance(key_node, yaml.ScalarNode) and key_node.value != "<<":
                key = (key_node.tag, key_node.value)  # 1 and '1' are different keys
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"{_quoted(key_node.value)} is given twice", key_node.start_mark
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


_SafeLoader.add_constructor("tag:yaml.org,2002:timestamp", _SafeLoader.construct_yaml_timestamp)
_SafeLoader.add_constructor("tag:yaml.org,2002:int", _SafeLoader.construct_yaml_int)


@dataclass
class Corpus:
    """Articles read from a folder, the files that were skipped, and a fingerprint of all files."""

    root: Path
    articles: list[Article]
    problems: list[str] = field(default_factory=list)
    fingerprint: str = ""


def article_files(root: Path) -> list[Path]:
    """Article files below root, sorted; README and hidden/underscore files are not articles."""
    files = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith((".", "_")) for part in rel.parts):
            continue
        if path.suffix.lower() not in ARTICLE_SUFFIXES or path.stem.lower() == "readme":
            continue
        try:
            if not path.is_file():
                continue
        except OSError:
            pass  # cannot even be looked at: reading it will say why
        files.append(path)
    return files


def _path_bytes(rel: str) -> bytes:
    return rel.encode("utf-8", "surrogateescape")  # a name that is not UTF-8 still hashes


def fingerprint(root: Path, files: list[Path] | None = None) -> str:
    """sha256 over (relative path, content hash) of each article file: changes when any does."""
    digest = hashlib.sha256()
    for path in files if files is not None else article_files(root):
        digest.update(_path_bytes(path.relative_to(root).as_posix()))
        digest.update(b"\0")
        try:
            stat = path.stat()
            if stat.st_size > _size_cap(path):  # skipped unread: its size and time stand for it
                digest.update(f"over-size {stat.st_size} {stat.st_mtime_ns}".encode())
            else:
                with path.open("rb") as fh:
                    digest.update(hashlib.file_digest(fh, "sha256").hexdigest().encode())
        except OSError:
            digest.update(b"unreadable")
        digest.update(b"\n")
    return digest.hexdigest()


def shown_name(rel: str) -> str:
    """A file name as one printable line: control characters and undecodable bytes escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in rel)


def _one_line(reason: str) -> str:
    reason = " ".join(reason.split())
    return reason if len(reason) <= _MAX_REASON_CHARS else reason[: _MAX_REASON_CHARS - 1] + "…"


def load_corpus(root: Path) -> Corpus:
    """Read every article under root. Raises CorpusError if the folder is missing or has none;
    every file that cannot be read is one line of `problems`, '<relative path>: <reason>'."""
    root = Path(root)
    if not root.is_dir():
        raise CorpusError(
            f"No corpus folder at {root}: create it and add articles (see corpus/README.md), "
            "or point --corpus / TALKS_CORPUS_DIR at one."
        )
    files = article_files(root)
    if not files:
        raise CorpusError(
            f"The corpus folder {root} has no articles ({', '.join(ARTICLE_SUFFIXES)} files): "
            "add at least one (see corpus/README.md)."
        )
    articles, problems = [], []
    seen: dict[str, str] = {}
    for path in files:
        rel = path.relative_to(root).as_posix()
        article, reason = _load_one(path, root, rel)
        if article is not None and article.id in seen:  # x.md and x.txt would share the id x
            reason = f"same name as {seen[article.id]} apart from the suffix; rename one of them"
        if article is None or reason:
            problems.append(f"{shown_name(rel)}: {_one_line(reason)}")
            continue
        seen[article.id] = rel
        articles.append(article)
    return Corpus(
        root=root, articles=articles, problems=problems, fingerprint=fingerprint(root, files)
    )


def _load_one(path: Path, root: Path, rel: str) -> tuple[Article | None, str]:
    """(the article, "") or (None, why it was skipped). Never raises."""
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        return None, "the file name is not valid UTF-8: rename it"
    try:
        return read_article(path, root), ""
    except ArticleFormatError as exc:
        return None, str(exc)
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror or exc})"
    except Exception as exc:  # a safety net: read_article itself turns failures into messages
        return None, _unexpected(exc)


def _failure(exc: BaseException) -> str:
    message = (str(exc).splitlines() or [""])[0]
    return type(exc).__name__ + (f": {message}" if message else "")


def _unexpected(exc: BaseException) -> str:
    return f"could not be read: {_failure(exc)}"


def _size(n: int) -> str:
    return f"{n // 1_000_000} MB" if n % 1_000_000 == 0 else f"{n // 1000} KB"


def read_article(path: Path, root: Path) -> Article:
    """Parse one file into an Article, or raise ArticleFormatError saying what is wrong and what
    to do. Nothing else escapes: an unforeseen failure is 'could not be read: <type>: <msg>'."""
    try:
        return _read_article(Path(path), Path(root))
    except ArticleFormatError:
        raise
    except OSError as exc:
        raise ArticleFormatError(f"cannot be read ({exc.strerror or exc})") from exc
    except RecursionError as exc:
        raise ArticleFormatError(
            "is nested too deeply to read: front matter should be plain 'key: value' lines"
        ) from exc
    except Exception as exc:
        raise ArticleFormatError(_unexpected(exc)) from exc


def _size_cap(path: Path) -> int:
    return MAX_ARTICLE_BYTES if path.suffix.lower() in HTML_SUFFIXES else MAX_CORPUS_FILE_BYTES


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, after checking its size with stat(): an over-size file is not read."""
    html = path.suffix.lower() in HTML_SUFFIXES
    cap = _size_cap(path)
    fix = (
        "save the article's text as a .md file instead (see corpus/README.md)"
        if html
        else f"split it into several articles, each under {_size(cap)}"
    )
    size = path.stat().st_size
    if size > cap:
        raise ArticleFormatError(f"{size:,} bytes, larger than {_size(cap)}: {fix}")
    with path.open("rb") as fh:
        raw = fh.read(cap + 1)
    if len(raw) > cap:  # it grew after stat()
        raise ArticleFormatError(f"larger than {_size(cap)}: {fix}")
    return raw


def _decode(raw: bytes) -> str:
    if not raw:
        raise ArticleFormatError(
            "the file is empty: write the article in it (see corpus/README.md) or delete it"
        )
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ArticleFormatError("UTF-16 text, not UTF-8: save it again as UTF-8")
    if b"\0" in raw:
        raise ArticleFormatError(
            "a binary file, not text (it contains NUL bytes): an article must be UTF-8 text; "
            "move it out of the corpus folder"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArticleFormatError(
            f"not UTF-8 text ({exc.reason} at byte {exc.start}): save it again as UTF-8"
        ) from exc
    if not text.strip():
        raise ArticleFormatError(
            "the file holds only whitespace: write the article in it (see corpus/README.md) "
            "or delete it"
        )
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _read_article(path: Path, root: Path) -> Article:
    raw = _read_bytes(path)
    text = _decode(raw)
    rel = path.relative_to(root)
    common = {
        "id": rel.with_suffix("").as_posix(),
        "path": rel.as_posix(),
        "sha256": hashlib.sha256(raw).hexdigest(),
    }
    suffix = path.suffix.lower()
    if suffix in HTML_SUFFIXES:
        return _read_html(text, common)
    match = _FRONT_MATTER.match(text)
    if match:
        meta = _front_matter(match.group(1) or "")
        body = _clean_body(text[match.end() :], strip_boilerplate=suffix == ".txt")
        if not body.strip():
            raise ArticleFormatError(
                "no body text after the front matter: add the article's text below its closing "
                "'---' line"
            )
        _require_body(body)
        return _article(**common, **meta.model_dump(), body=body)
    if text.split("\n", 1)[0].strip() == "---":
        raise ArticleFormatError(
            "the front matter is not closed: end it with a line of three dashes '---' "
            "(see corpus/README.md)"
        )
    if suffix in (".md", ".markdown"):
        raise ArticleFormatError(
            "no front matter: start the file with a '---' block giving title, published, url, "
            "source (see corpus/README.md)"
        )
    # Plain text without front matter: the first line is the title.
    body = _clean_body(text, strip_boilerplate=True)
    title, _, rest = body.partition("\n")
    body = rest.strip("\n")
    _require_body(body)
    return _article(**common, title=title.strip(), body=body)


def _article(**fields: object) -> Article:
    try:
        return Article(**fields)
    except ValidationError as exc:
        raise ArticleFormatError(f"unusable article data ({_field_errors(exc)})") from exc


def _front_matter(block: str) -> FrontMatter:
    if len(block) > MAX_FRONT_MATTER_CHARS:
        raise ArticleFormatError(
            f"the front matter is longer than {MAX_FRONT_MATTER_CHARS:,} characters: keep only "
            "title, published, url, source and language in it (the text goes below it)"
        )
    if _flow_depth(block) > MAX_FRONT_MATTER_DEPTH:  # PyYAML is slow on these, then recurses
        raise ArticleFormatError(
            "the front matter is nested too deeply to read: write plain 'key: value' lines"
        )
    try:
        data = yaml.load(block, Loader=_SafeLoader)  # a SafeLoader: no arbitrary objects
    except yaml.YAMLError as exc:
        raise ArticleFormatError(_yaml_problem(exc)) from exc
    except RecursionError as exc:  # [[[[… or {a: {a: …}} thousands deep
        raise ArticleFormatError(
            "the front matter is nested too deeply to read: write plain 'key: value' lines"
        ) from exc
    if data is None:
        raise ArticleFormatError(
            "the front matter is empty: give title, published, url and source in it "
            "(see corpus/README.md)"
        )
    if not isinstance(data, dict):
        raise ArticleFormatError(
            f"front matter must be 'key: value' lines, not {_kind(data)} (see corpus/README.md)"
        )
    odd = [key for key in data if not isinstance(key, str)]
    if odd:
        raise ArticleFormatError(
            f"front matter key {_quoted(str(odd[0])) if odd[0] is not None else 'null'} is "
            f"{_kind(odd[0])}, not a field name: "
            "the fields are title, published, url, source, language"
        )
    try:
        return FrontMatter.model_validate(data)
    except ValidationError as exc:
        raise ArticleFormatError(f"bad front matter ({_field_errors(exc)})") from exc


def _flow_depth(block: str) -> int:
    """How deep [ and { nest (quotes not considered: a front matter needs a level or two)."""
    depth = deepest = 0
    for char in block:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(depth - 1, 0)
    return deepest


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or (str(exc).splitlines() or ["?"])[0]
    where = f"line {mark.line + 2}: " if mark is not None else ""  # the block starts on line 2
    if "constructor for the tag" in problem:
        problem += " (YAML tags are not allowed: write plain values)"
    return f"front matter is not valid YAML ({where}{problem}): fix it (see corpus/README.md)"


def _field_errors(exc: ValidationError) -> str:
    out = []
    for err in exc.errors(include_url=False, include_input=False):
        name = ".".join(str(p) for p in err["loc"]) or "front matter"
        if err["type"] == "missing":
            message = f"missing: add a '{name}: …' line"
        elif err["type"] == "string_too_short":
            message = "is empty"
        elif err["type"] == "string_unicode":
            message = "holds an invalid character (an escaped lone surrogate?): remove it"
        else:
            message = err["msg"].removeprefix("Value error, ")
        out.append(f"{name}: {message}")
    return "; ".join(out)


@dataclass
class HtmlArticle:
    """What an HTML page yields: main text and whatever metadata the page declares."""

    title: str | None
    published: dt.date | None
    url: str | None
    source: str | None
    language: str
    body: str


def extract_html(text: str, url: str | None = None) -> HtmlArticle:
    """Main text and metadata of an HTML page (trafilatura), or ArticleFormatError."""
    import trafilatura  # slow import; only needed for HTML

    try:
        doc = trafilatura.bare_extraction(text, url=url, with_metadata=True, include_comments=False)
    except Exception as exc:  # lxml and trafilatura fail on some junk in their own ways
        raise ArticleFormatError(f"the HTML page could not be parsed ({_failure(exc)})") from exc
    if doc is None or not (doc.text or "").strip():
        raise ArticleFormatError("no article text found in the HTML page")
    title = (doc.title or "").strip() or None
    lines = [line.strip() for line in doc.text.split("\n") if line.strip()]
    if lines and title and lines[0] == title:
        lines = lines[1:]
    body = _clean_body("\n\n".join(lines), strip_boilerplate=True)
    _require_body(body)
    published = None
    if doc.date:
        try:
            published = dt.date.fromisoformat(doc.date[:10])
        except ValueError:
            published = None
    page_url = doc.url if doc.url and doc.url.startswith(("http://", "https://")) else url
    return HtmlArticle(
        title=title,
        published=published,
        url=page_url,
        source=doc.sitename or None,
        language=doc.language or "en",
        body=body,
    )


def _read_html(text: str, common: dict[str, str]) -> Article:
    page = extract_html(text)
    if not page.title:
        raise ArticleFormatError(
            "the HTML page has no title: add a <title>, or save the text as a .md file with "
            "front matter (see corpus/README.md)"
        )
    size = len(page.body.encode("utf-8"))
    if size > MAX_CORPUS_FILE_BYTES:
        raise ArticleFormatError(
            f"its article text is {size:,} bytes, larger than {_size(MAX_CORPUS_FILE_BYTES)}: "
            "split it into several articles"
        )
    return _article(**common, **{**page.__dict__, "title": page.title})


def _clean_body(text: str, *, strip_boilerplate: bool) -> str:
    lines = [line.rstrip() for line in text.split("\n")]
    if strip_boilerplate:
        while lines and (
            not lines[-1].strip() or lines[-1].strip().lower().rstrip(".:") in _BOILERPLATE_LINES
        ):
            lines.pop()
    return "\n".join(lines).strip("\n")


def _require_body(body: str) -> None:
    if len(re.findall(r"\w+", body)) < 5:
        raise ArticleFormatError(
            "the article has no body text (fewer than 5 words): add the article's text"
        )
