"""Reads the corpus folder: one article per file (.md with YAML front matter, .txt, .html).

A malformed file is reported by name and skipped; the rest still load.
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
MAX_ARTICLE_BYTES = 5_000_000  # a file, a download or an upload larger than this is refused
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.S)
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


class FrontMatter(BaseModel):
    """The YAML header of a corpus article (documented in corpus/README.md)."""

    model_config = ConfigDict(extra="ignore")

    title: str = Field(min_length=1)
    published: dt.date
    url: str
    source: str = Field(min_length=1)
    language: str = "en"

    @field_validator("title", "source", "url", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("must be an http(s) URL")
        return value


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
        if not path.is_file() or path.suffix.lower() not in ARTICLE_SUFFIXES:
            continue
        if path.stem.lower() == "readme":
            continue
        files.append(path)
    return files


def fingerprint(root: Path, files: list[Path] | None = None) -> str:
    """sha256 over (relative path, content hash) of each article file: changes when any does."""
    digest = hashlib.sha256()
    for path in files if files is not None else article_files(root):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        try:
            digest.update(hashlib.sha256(path.read_bytes()).hexdigest().encode())
        except OSError:
            digest.update(b"unreadable")
        digest.update(b"\n")
    return digest.hexdigest()


def load_corpus(root: Path) -> Corpus:
    """Read every article under root. Raises CorpusError if the folder is missing or has none."""
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
        try:
            article = read_article(path, root)
        except ArticleFormatError as exc:
            problems.append(f"{rel}: {exc}")
            continue
        except OSError as exc:
            problems.append(f"{rel}: cannot be read ({exc.strerror or exc})")
            continue
        if article.id in seen:  # x.md and x.txt would share the id x
            problems.append(
                f"{rel}: same name as {seen[article.id]} apart from the suffix; rename one of them"
            )
            continue
        seen[article.id] = rel
        articles.append(article)
    return Corpus(
        root=root, articles=articles, problems=problems, fingerprint=fingerprint(root, files)
    )


def read_article(path: Path, root: Path) -> Article:
    """Parse one file into an Article, or raise ArticleFormatError saying what is wrong."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArticleFormatError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    rel = path.relative_to(root)
    common = {
        "id": rel.with_suffix("").as_posix(),
        "path": rel.as_posix(),
        "sha256": hashlib.sha256(raw).hexdigest(),
    }
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        return _read_html(text, common)
    match = _FRONT_MATTER.match(text)
    if match:
        meta = _front_matter(match.group(1))
        body = _clean_body(text[match.end() :], strip_boilerplate=suffix == ".txt")
        _require_body(body)
        return Article(**common, **meta.model_dump(), body=body)
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
    return Article(**common, title=title.strip(), body=body)


def _front_matter(block: str) -> FrontMatter:
    try:
        data = yaml.safe_load(block)
    except yaml.YAMLError as exc:
        raise ArticleFormatError(f"front matter is not valid YAML: {exc}".splitlines()[0]) from exc
    if not isinstance(data, dict):
        raise ArticleFormatError("front matter must be 'key: value' lines")
    try:
        return FrontMatter.model_validate(data)
    except ValidationError as exc:
        fields = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'front matter'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ArticleFormatError(f"bad front matter ({fields})") from exc


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

    doc = trafilatura.bare_extraction(text, url=url, with_metadata=True, include_comments=False)
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
        raise ArticleFormatError("the HTML page has no title")
    return Article(**common, **{**page.__dict__, "title": page.title})


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
        raise ArticleFormatError("the article has no body text (fewer than 5 words)")
