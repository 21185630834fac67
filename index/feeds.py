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
import hashlib
import io
import json
import os
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from index.corpus import MAX_ARTICLE_BYTES, extract_html
from index.errors import (
    ArticleFormatError,
    CorpusBusyError,
    DuplicateArticleError,
    FeedError,
    IngestError,
)
from index.ingest import (
    FEED_TYPES,
    Draft,
    Page,
    add_article,
    check_link,
    draft_from_page,
    fetch,
    file_lock,
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
POLL_SECONDS = 300.0  # a poll takes no further item after this (the rest come next poll)
MAX_PAGE_ATTEMPTS = 3  # an item whose linked page fails this often waits for an edit


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
    digest: str  # of the item as last taken ("": its text is still to be had)
    note: str | None = None  # why it is not an article
    attempts: int = 0  # failed fetches of its linked page in a row
    published: str | None = None  # the date its article carries


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


def _locked(corpus_dir: Path, wait: float = 120.0):
    """One process at a time changes the feed list (a poll can take minutes)."""
    Path(corpus_dir).mkdir(parents=True, exist_ok=True)
    return file_lock(
        Path(corpus_dir) / FEEDS_LOCK,
        wait,
        lambda: FeedError("Another poll of the feeds is running: try again when it is done."),
    )


def feed_source(text: str, *, files: bool = True) -> str:
    """The canonical form of a feed: the URL checked like any link, or a local file's absolute
    path (only when `files`: Telegram editors may not name the server's files)."""
    text = (text or "").strip()
    if is_link(text):  # http(s) only: check_link refuses javascript:, file:, ftp:…
        check_link(text)
        return text
    if not files:
        raise FeedError(f"{shown(text)} is not an http(s) link to a feed.")
    try:
        path = Path(text).expanduser()
        found = path.is_file()
        resolved = str(path.resolve()) if found else ""
    except (OSError, RuntimeError, ValueError):  # ~nosuchuser, a name too long, a NUL
        found = False
    if not found:
        raise FeedError(f"No feed file at {shown(text)}: give an RSS/Atom URL or a file's path.")
    return resolved


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


def unfollow(corpus_dir: Path, source: str, *, files: bool = True) -> FeedState:
    """Stop following a feed (its articles stay in the corpus); `files`: a file's path may
    name it (not from Telegram)."""
    text = (source or "").strip()
    with _locked(corpus_dir):
        feeds = load_feeds(corpus_dir)
        candidates = {text}
        if files:
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
    only: str | None = None,
    seconds: float = POLL_SECONDS,
) -> list[FeedReport]:
    """Fetch every followed feed (or `only` that one) once and write its new and edited items
    into the corpus (the index is not touched: build it afterwards). `due_only`: skip feeds
    waiting out a backoff. After `seconds` no further item is taken (the rest come next
    poll). The list is saved after every item, so a crash loses none that was written."""
    now = time.time() if now is None else now
    reports = []
    with _locked(corpus_dir):
        deadline = time.monotonic() + seconds
        run = _Run(corpus_dir, load_feeds(corpus_dir), fetcher or Fetcher(), deadline)
        for state in run.feeds.feeds:
            if only is not None and state.source != only:
                continue
            if due_only and state.retry_at > now:
                reports.append(FeedReport(state.source, waiting=True))
                continue
            reports.append(_poll_one(run, state, now))
            run.save()
    return reports


@dataclass
class _Run:
    """One poll: where it writes, what it knows, how it fetches, until when."""

    corpus_dir: Path
    feeds: FeedList
    fetcher: Fetcher
    deadline: float

    def save(self) -> None:
        _save(self.corpus_dir, self.feeds)

    def out_of_time(self) -> bool:
        return time.monotonic() > self.deadline


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


def _poll_one(run: _Run, state: FeedState, now: float) -> FeedReport:
    report = FeedReport(state.source)
    state.last_poll = _now()
    try:
        data, page = _read_feed(state, run.fetcher)
        if page is not None:  # a 304 may leave a validator out: keep the one we had
            state.etag = page.etag or state.etag
            state.last_modified = page.last_modified or state.last_modified
        if data is None:
            report.not_modified = True
        else:
            _take_items(run, state, _parse(data, state.source), report)
    except Exception as exc:
        known = isinstance(exc, IngestError | FeedError)
        why = str(exc) if known else f"unexpected {type(exc).__name__}: {exc}"
        report.error = why[:MAX_ERROR_CHARS]
        state.error, state.failures = report.error, state.failures + 1
        state.retry_at = now + min(MAX_BACKOFF_SECONDS, 60.0 * 2**state.failures)
        return report
    state.error, state.failures, state.retry_at = None, 0, 0.0
    state.last_success = state.last_poll
    return report


def _parse(data: bytes, source: str):
    import feedparser

    # bytes in a BytesIO: given bytes or a str, feedparser first tries them as a file name or a
    # URL (a feed whose body is "/etc/passwd" would be read from the disk)
    parsed = feedparser.parse(io.BytesIO(data), sanitize_html=True, resolve_relative_uris=False)
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
    """The item's date; one in the future (a wrong clock, a scheduled post) is today."""
    for name in ("published_parsed", "updated_parsed", "created_parsed"):
        value = dict.get(entry, name)
        if value:
            with contextlib.suppress(TypeError, ValueError):
                return min(dt.date(value.tm_year, value.tm_mon, value.tm_mday), dt.date.today())
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
    link = (dict.get(entry, "link") or "").strip() or None
    if link and is_link(source) and not is_link(link):
        link = urljoin(source, link)  # "/2025/07/01/swap": relative to the feed
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
    draft.published = _date(entry) or draft.published
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


def _take_items(run: _Run, state: FeedState, parsed, report: FeedReport) -> None:
    """Every new or edited item of the feed into the corpus, the list saved after each."""
    for entry in parsed.entries[:MAX_ITEMS_PER_POLL]:
        if run.out_of_time():
            report.skipped.append(
                f"the poll ran out of time ({POLL_SECONDS:.0f} s): the rest next time"
            )
            return
        key = f"{state.source} {item_key(entry)}"  # a guid is only unique within its feed
        known = run.feeds.items.get(key)
        digest = entry_digest(entry)
        if known is not None and known.digest == digest:
            report.unchanged += 1
            continue
        title = shown(_title(entry) or key, 80)
        try:
            draft = _draft(entry, parsed, state.source, run.fetcher)
        except (IngestError, FeedError) as exc:  # the linked page: tried again, a few times
            report.skipped.append(f"{title}: {exc}")
            run.feeds.items[key] = _failed_page(known, state, digest, exc)
            run.save()
            continue
        if known is None:
            state.items_seen += 1
        if draft.published is None:  # undated: the day it was first seen, kept across edits
            draft.published = _first_seen(known)
        stored = _store(run.corpus_dir, known, draft, state, digest, report, title)
        if stored is not None:
            run.feeds.items[key] = stored
            run.save()


def _first_seen(known: FeedItem | None) -> dt.date:
    if known is not None and known.published:
        return dt.date.fromisoformat(known.published)
    return dt.date.today()


def _failed_page(known: FeedItem | None, state: FeedState, digest: str, exc: Exception) -> FeedItem:
    """An item whose text could not be had: tried again on the next polls, and after
    MAX_PAGE_ATTEMPTS left alone until the item changes."""
    attempts = (known.attempts if known is not None and known.digest == "" else 0) + 1
    return FeedItem(
        feed=state.source,
        article=known.article if known is not None else None,
        digest=digest if attempts >= MAX_PAGE_ATTEMPTS else "",
        note=str(exc)[:MAX_ERROR_CHARS],
        attempts=attempts,
        published=known.published if known is not None else None,
    )


def _store(
    corpus_dir: Path,
    known: FeedItem | None,
    draft: Draft,
    state: FeedState,
    digest: str,
    report: FeedReport,
    title: str,
) -> FeedItem | None:
    """Add the item's article, or replace the one an earlier version of it became; None when
    the corpus is busy (tried again next poll)."""
    published = draft.published.isoformat() if draft.published else None
    try:
        if known is not None and known.article and (Path(corpus_dir) / known.article).exists():
            path = replace_article(Path(corpus_dir) / known.article, draft)
            report.replaced.append(path.name)
        else:
            path = add_article(corpus_dir, draft)
            report.added.append(path.name)
            state.articles_added += 1
    except CorpusBusyError as exc:
        report.skipped.append(f"{title}: {exc}")
        return None
    except DuplicateArticleError as exc:  # by link or text: that file is this item's article
        report.unchanged += 1
        note = str(exc)[:MAX_ERROR_CHARS]
        return FeedItem(
            feed=state.source, article=exc.path, digest=digest, note=note, published=published
        )
    except IngestError as exc:  # too short, bad metadata: not retried until the item changes
        report.skipped.append(f"{title}: {exc}")
        note = str(exc)[:MAX_ERROR_CHARS]
        return FeedItem(feed=state.source, digest=digest, note=note, published=published)
    return FeedItem(feed=state.source, article=path.name, digest=digest, published=published)


def shown_source(source: str) -> str:
    """A feed for logs: its query string (which may carry a key) and credentials left out."""
    if not is_link(source):
        return shown(source)
    parts = urlsplit(source)
    return shown(
        f"{parts.scheme}://{parts.hostname or ''}{parts.path}" + ("?…" if parts.query else "")
    )


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
