"""Followed news feeds (RSS and Atom): which ones, what each poll found, and their items as
corpus articles.

The list lives in the corpus folder as `.feeds.json` (a hidden file the corpus loader ignores),
written atomically. A feed is an http(s) URL, fetched through the SSRF-safe fetcher with
conditional requests (ETag / Last-Modified), or a local file. Items are parsed by feedparser.
An item is known by its guid (else its link, else its title and date) and by a digest of its
text: a poll never adds an item twice, and an item whose text changed replaces its article in
place. An item's text is its `content:encoded` when the feed carries it, else the linked page
(fetched like `talks add URL`). A feed that fails is tried again later, waiting twice as long
after each failure up to MAX_BACKOFF_SECONDS.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from index.corpus import MAX_ARTICLE_BYTES, extract_html
from index.errors import ArticleFormatError, DuplicateArticleError, FeedError, IngestError
from index.ingest import (
    FEED_TYPES,
    Draft,
    Page,
    add_article,
    check_link,
    draft_from_page,
    fetch,
    is_link,
    is_public,
    replace_article,
    shown,
)

FEEDS_FILE = ".feeds.json"
FEEDS_LOCK = ".feeds.lock"
MAX_BACKOFF_SECONDS = 6 * 3600.0
MAX_ITEMS_PER_POLL = 200  # of one feed: a feed's newest items (feeds list newest first)
MAX_ERROR_CHARS = 300


class FeedState(BaseModel):
    """One followed feed and how its polls went."""

    model_config = ConfigDict(extra="forbid")

    source: str  # an http(s) URL or a local file's absolute path
    followed_at: str
    last_poll: str | None = None
    last_success: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    items_seen: int = 0  # distinct items this feed has listed
    articles_added: int = 0
    error: str | None = None  # of the last poll
    failures: int = 0  # polls failed in a row
    retry_at: float = 0.0  # epoch seconds: not polled before then (backoff)


class FeedItem(BaseModel):
    """An item already taken: the article it became (None: refused or a duplicate)."""

    model_config = ConfigDict(extra="forbid")

    feed: str
    article: str | None = None  # the corpus file's name
    digest: str
    note: str | None = None  # why it is not an article


class FeedList(BaseModel):
    """`.feeds.json`."""

    model_config = ConfigDict(extra="forbid")

    feeds: list[FeedState] = Field(default_factory=list)
    items: dict[str, FeedItem] = Field(default_factory=dict)

    def find(self, source: str) -> FeedState | None:
        return next((f for f in self.feeds if f.source == source), None)


@dataclass
class Fetcher:
    """How feeds and linked pages are fetched: the SSRF-safe fetch with its address rule.
    Production code uses the default (public addresses only); the tests' local feed server on
    127.0.0.1 passes its own `allowed` (no setting enables that)."""

    allowed: Callable = is_public

    def get(self, url: str, *, feed: bool = False, etag=None, last_modified=None) -> Page:
        if feed:
            return fetch(
                url,
                allowed=self.allowed,
                accept=FEED_TYPES,
                etag=etag,
                last_modified=last_modified,
            )
        return fetch(url, allowed=self.allowed)


@dataclass
class FeedReport:
    """What one poll of one feed did."""

    source: str
    added: list[str] = field(default_factory=list)  # corpus file names
    replaced: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)  # "title: why"
    error: str | None = None
    not_modified: bool = False
    waiting: bool = False  # in backoff: not polled

    @property
    def changed(self) -> bool:
        return bool(self.added or self.replaced)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _path(corpus_dir: Path) -> Path:
    return Path(corpus_dir) / FEEDS_FILE


def load_feeds(corpus_dir: Path) -> FeedList:
    """The followed feeds (none when the file does not exist), or FeedError when it is
    damaged."""
    path = _path(corpus_dir)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return FeedList()
    except OSError as exc:
        raise FeedError(f"Cannot read {path}: {exc.strerror}.") from exc
    try:
        return FeedList.model_validate(json.loads(raw))
    except (ValueError, ValidationError) as exc:
        raise FeedError(
            f"{path} is damaged ({str(exc).splitlines()[0][:120]}): fix it, or delete it and "
            "follow the feeds again (their articles stay in the corpus)."
        ) from exc


def _save(corpus_dir: Path, feeds: FeedList) -> None:
    path = _path(corpus_dir)
    fd, tmp = tempfile.mkstemp(prefix=".feeds-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(feeds.model_dump_json(indent=1))
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


@contextlib.contextmanager
def _locked(corpus_dir: Path, wait: float = 120.0) -> Iterator[None]:
    """One process at a time changes the feed list (a poll can take minutes)."""
    Path(corpus_dir).mkdir(parents=True, exist_ok=True)
    fd = os.open(Path(corpus_dir) / FEEDS_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise FeedError(
                        "Another poll of the feeds is running: try again when it is done."
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)


def feed_source(text: str, *, files: bool = True) -> str:
    """The canonical form of a feed: the URL checked like any link, or a local file's absolute
    path (only when `files`: Telegram editors may not name the server's files)."""
    text = (text or "").strip()
    if is_link(text):  # http(s) only: check_link refuses javascript:, file:, ftp:…
        check_link(text)
        return text
    if not files:
        raise FeedError(f"{shown(text)} is not an http(s) link to a feed.")
    path = Path(text).expanduser()
    if not path.is_file():
        raise FeedError(f"No feed file at {shown(text)}: give an RSS/Atom URL or a file's path.")
    return str(path.resolve())


def follow(corpus_dir: Path, source: str, *, files: bool = True) -> FeedState:
    """Start following a feed; FeedError if it already is or cannot be a feed."""
    source = feed_source(source, files=files)
    with _locked(corpus_dir):
        feeds = load_feeds(corpus_dir)
        if feeds.find(source):
            raise FeedError(f"Already following {shown(source)}.")
        state = FeedState(source=source, followed_at=_now())
        feeds.feeds.append(state)
        _save(corpus_dir, feeds)
        return state


def unfollow(corpus_dir: Path, source: str) -> FeedState:
    """Stop following a feed (its articles stay in the corpus)."""
    text = (source or "").strip()
    with _locked(corpus_dir):
        feeds = load_feeds(corpus_dir)
        candidates = {text}
        with contextlib.suppress(IngestError, FeedError):
            candidates.add(feed_source(text))
        state = next((f for f in feeds.feeds if f.source in candidates), None)
        if state is None:
            listed = ", ".join(shown(f.source, 80) for f in feeds.feeds) or "none"
            raise FeedError(f"Not following {shown(text)}; followed feeds: {listed}.")
        feeds.feeds.remove(state)
        _save(corpus_dir, feeds)
        return state


def poll(
    corpus_dir: Path,
    *,
    fetcher: Fetcher | None = None,
    due_only: bool = False,
    now: float | None = None,
) -> list[FeedReport]:
    """Fetch every followed feed once and write its new and edited items into the corpus (the
    index is not touched: build it afterwards). `due_only`: skip feeds waiting out a backoff."""
    fetcher = fetcher or Fetcher()
    now = time.time() if now is None else now
    reports = []
    with _locked(corpus_dir):
        feeds = load_feeds(corpus_dir)
        for state in feeds.feeds:
            if due_only and state.retry_at > now:
                reports.append(FeedReport(state.source, waiting=True))
                continue
            reports.append(_poll_one(corpus_dir, feeds, state, fetcher, now))
            _save(corpus_dir, feeds)  # what one feed did survives a crash in the next
    return reports


def _read_feed(state: FeedState, fetcher: Fetcher) -> tuple[bytes | None, Page | None]:
    """The feed's bytes (None: not modified since the last poll), and the page fetched."""
    if not re.match(r"https?://", state.source, re.I):
        path = Path(state.source)
        try:
            if path.stat().st_size > MAX_ARTICLE_BYTES:
                raise FeedError(f"{path.name} is larger than {MAX_ARTICLE_BYTES:,} bytes.")
            return path.read_bytes(), None
        except OSError as exc:
            raise FeedError(f"Cannot read {shown(str(path))}: {exc.strerror}.") from exc
    page = fetcher.get(state.source, feed=True, etag=state.etag, last_modified=state.last_modified)
    if page.status == 304:
        return None, page
    return page.data, page


def _poll_one(
    corpus_dir: Path, feeds: FeedList, state: FeedState, fetcher: Fetcher, now: float
) -> FeedReport:
    report = FeedReport(state.source)
    state.last_poll = _now()
    try:
        data, page = _read_feed(state, fetcher)
        if page is not None:
            state.etag, state.last_modified = page.etag, page.last_modified
        if data is None:
            report.not_modified = True
        else:
            _take_items(corpus_dir, feeds, state, _parse(data, state.source), fetcher, report)
    except (IngestError, FeedError) as exc:
        report.error = str(exc)[:MAX_ERROR_CHARS]
        state.error, state.failures = report.error, state.failures + 1
        state.retry_at = now + min(MAX_BACKOFF_SECONDS, 60.0 * 2**state.failures)
        return report
    state.error, state.failures, state.retry_at = None, 0, 0.0
    state.last_success = state.last_poll
    return report


def _parse(data: bytes, source: str):
    import feedparser

    parsed = feedparser.parse(data, sanitize_html=True, resolve_relative_uris=False)
    if not parsed.entries and (parsed.bozo or not parsed.feed):
        why = getattr(parsed, "bozo_exception", None)
        raise FeedError(
            f"{shown(source)} is not an RSS or Atom feed"
            + (f" ({shown(str(why), 120)})." if why else ".")
        )
    return parsed


def item_key(entry) -> str:
    """guid, else link, else title and date."""
    for name in ("id", "link"):
        value = (entry.get(name) or "").strip()
        if value:
            return value
    return (
        "title:"
        + hashlib.sha256(
            f"{entry.get('title', '')}|{entry.get('published', '')}".encode()
        ).hexdigest()[:16]
    )


def _title(entry) -> str:
    """The item's title as plain text (feeds may put markup in it)."""
    title = dict.get(entry, "title") or ""
    detail = dict.get(entry, "title_detail") or {}
    if "html" in (detail.get("type") or "") and "<" in title:
        from lxml import html as lxml_html

        with contextlib.suppress(ValueError, TypeError):
            title = lxml_html.fromstring(f"<div>{title}</div>").text_content()
    return " ".join(title.split())


def _date(entry) -> dt.date | None:
    for name in ("published_parsed", "updated_parsed", "created_parsed"):
        value = dict.get(entry, name)
        if value:
            with contextlib.suppress(TypeError, ValueError):
                return dt.date(value.tm_year, value.tm_mon, value.tm_mday)
    return None


def _language(parsed) -> str:
    code = (parsed.feed.get("language") or "en").strip().lower()
    return code[:2] if re.fullmatch(r"[a-z]{2}([-_][a-z0-9]+)*", code) else "en"


def _html_text(html: str, url: str | None) -> str:
    """The text of an item's HTML content: trafilatura, or its paragraphs when trafilatura
    finds no article in a fragment."""
    try:
        return extract_html(f"<html><body><article>{html}</article></body></html>", url).body
    except ArticleFormatError:
        from lxml import html as lxml_html

        root = lxml_html.fromstring(f"<div>{html}</div>")
        blocks = [" ".join(p.text_content().split()) for p in root.iter("p", "li", "blockquote")]
        text = "\n\n".join(b for b in blocks if b) or " ".join(root.text_content().split())
        return text


def _draft(entry, parsed, source: str, fetcher: Fetcher) -> Draft:
    """An item as an article: its own full text, else the linked page's."""
    link = (entry.get("link") or "").strip() or None
    content = entry.get("content") or []
    html = next((c.get("value") for c in content if c.get("value")), None)
    outlet = (parsed.feed.get("title") or "").strip() or None
    if html:
        body = _html_text(html, link)
        draft = Draft(body=body, url=link)
    elif link:
        draft = draft_from_page(fetcher.get(link))
    else:
        raise IngestError("the item has neither its text nor a link to it")
    draft.title = _title(entry) or draft.title
    draft.published = _date(entry) or draft.published or dt.date.today()
    draft.url = link or draft.url
    draft.source = outlet or draft.source or (urlsplit(source).hostname if link else None)
    draft.language = _language(parsed) if html else draft.language
    return draft


def entry_digest(entry) -> str:
    """What an item says: a change in it (an edit) makes its article be written again."""
    content = "\n".join(c.get("value") or "" for c in entry.get("content") or [])
    names = ("title", "link", "published", "updated", "summary")
    parts = [str(dict.get(entry, n) or "") for n in names]  # no feedparser fallbacks
    return hashlib.sha256("\n".join([*parts, content]).encode("utf-8")).hexdigest()


def _take_items(
    corpus_dir: Path,
    feeds: FeedList,
    state: FeedState,
    parsed,
    fetcher: Fetcher,
    report: FeedReport,
) -> None:
    for entry in parsed.entries[:MAX_ITEMS_PER_POLL]:
        key = item_key(entry)
        known = feeds.items.get(key)
        digest = entry_digest(entry)
        if known is not None and known.digest == digest:
            report.unchanged += 1
            continue
        title = shown(_title(entry) or key, 80)
        try:
            draft = _draft(entry, parsed, state.source, fetcher)
        except (IngestError, FeedError) as exc:  # the linked page: tried again next poll
            report.skipped.append(f"{title}: {exc}")
            continue
        if known is None:
            state.items_seen += 1
        feeds.items[key] = _store(corpus_dir, known, draft, state, digest, report, title)


def _store(
    corpus_dir: Path,
    known: FeedItem | None,
    draft: Draft,
    state: FeedState,
    digest: str,
    report: FeedReport,
    title: str,
) -> FeedItem:
    """Add the item's article, or replace the one an earlier version of it became."""
    try:
        if known is not None and known.article and (Path(corpus_dir) / known.article).exists():
            path = replace_article(Path(corpus_dir) / known.article, draft)
            report.replaced.append(path.name)
        else:
            path = add_article(corpus_dir, draft)
            report.added.append(path.name)
            state.articles_added += 1
    except DuplicateArticleError as exc:
        report.unchanged += 1
        return FeedItem(feed=state.source, digest=digest, note=str(exc)[:MAX_ERROR_CHARS])
    except IngestError as exc:  # too short, bad metadata: not retried until the item changes
        report.skipped.append(f"{title}: {exc}")
        return FeedItem(feed=state.source, digest=digest, note=str(exc)[:MAX_ERROR_CHARS])
    return FeedItem(feed=state.source, article=path.name, digest=digest)


def poll_summary(reports: list[FeedReport]) -> str:
    """One line per feed."""
    lines = []
    for r in reports:
        if r.waiting:
            lines.append(f"{r.source}: waiting after an error (backoff)")
            continue
        if r.error:
            lines.append(f"{r.source}: failed: {r.error}")
            continue
        done = (
            "not modified"
            if r.not_modified
            else f"{len(r.added)} added, {len(r.replaced)} updated, {r.unchanged} unchanged"
        )
        lines.append(f"{r.source}: {done}")
        lines += [f"  skipped {s}" for s in r.skipped]
    return "\n".join(lines) or "No feeds are followed: add one with `talks follow URL`."


def feeds_summary(feeds: FeedList) -> str:
    """The followed feeds: last poll, items seen, articles added, errors."""
    if not feeds.feeds:
        return "No feeds are followed: add one with `talks follow URL`."
    lines = []
    for f in feeds.feeds:
        lines.append(
            f"{f.source}\n  last poll: {f.last_poll or 'never'}; items seen: {f.items_seen}; "
            f"articles added: {f.articles_added}"
            + (f"\n  error ({f.failures} in a row): {f.error}" if f.error else "")
        )
    return "\n".join(lines)
