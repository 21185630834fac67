"""Adding articles to the corpus: from a file or a URL, to a proper front-matter Markdown file.

URL fetching is deliberately narrow: http/https only, every address the host resolves to must be
public (no loopback, private, link-local, reserved or multicast: checked after resolving, for
each redirect hop, and the connection goes to the checked address so DNS cannot change it in
between), a timeout, a size cap and a content-type check. A bad page is an IngestError and
nothing is written. A duplicate of an article already in the corpus is refused.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import ipaddress
import os
import re
import socket
import tempfile
import time
import unicodedata
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

import yaml
from pydantic import ValidationError

import index.corpus as corpus_rules
from index.chunking import sentence_key
from index.corpus import (
    ARTICLE_SUFFIXES,
    MAX_ARTICLE_BYTES,
    FrontMatter,
    extract_html,
    load_corpus,
    read_article,
)
from index.errors import (
    ArticleFormatError,
    CorpusBusyError,
    CorpusError,
    DuplicateArticleError,
    IngestError,
)

MAX_BYTES = MAX_ARTICLE_BYTES
TIMEOUT_SECONDS = 10.0
MAX_REDIRECTS = 5
TEXT_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "text/markdown")
USER_AGENT = "talks/0.1 (+news question answering; fetches one page per request)"
MAX_URL_CHARS = 2048  # longer links are refused (browsers and servers commonly stop near here)
MAX_TITLE_CHARS = 300  # longer titles are cut at a word boundary, with an ellipsis
MAX_FILE_NAME_BYTES = 120  # an uploaded file's name is cut to this (the suffix kept)
# A corpus file larger than this is skipped by the corpus loader, so it is refused when added.
# index/corpus.py defines the cap; the default stands in until it does.
DEFAULT_MAX_CORPUS_FILE_BYTES = 500_000
ADD_LOCK = ".add.lock"  # in the corpus folder: one add at a time checks for duplicates and writes
ADD_LOCK_SECONDS = 60.0

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]


@dataclass
class Draft:
    """An article about to be written: front-matter fields plus body text."""

    title: str | None = None
    published: dt.date | None = None
    url: str | None = None
    source: str | None = None
    language: str = "en"
    body: str = ""


FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/xml",
    "text/xml",
    "text/plain",
)


@dataclass
class Page:
    url: str  # after redirects
    content_type: str
    text: str
    status: int = 200  # 304: not modified since the validators sent (text is empty)
    data: bytes = b""  # the body as sent (a feed's XML declares its own encoding)
    etag: str | None = None
    last_modified: str | None = None


def system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise IngestError(f"Cannot resolve {host}: {exc.strerror}.") from exc
    return list(dict.fromkeys(info[4][0] for info in infos))


# Ranges that ip.is_global lets through on some Python versions, or that can lead inside a
# network: the 6to4 relay anycast, IETF protocol assignments, benchmarking, NAT64, site-local.
_DENY = [
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "100.64.0.0/10",
        "192.0.0.0/24",
        "192.88.99.0/24",
        "198.18.0.0/15",
        "64:ff9b::/96",
        "64:ff9b:1::/48",
        "fec0::/10",
        "::/96",
    )
]


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address can carry to an IPv4 host: mapped, 6to4, Teredo, NAT64
    and IPv4-compatible forms."""
    found = [a for a in (ip.ipv4_mapped, ip.sixtofour) if a is not None]
    if ip.teredo is not None:
        found.extend(ip.teredo)
    packed = int(ip)
    if ip in ipaddress.ip_network("64:ff9b::/96") or ip in ipaddress.ip_network("::/96"):
        found.append(ipaddress.IPv4Address(packed & 0xFFFFFFFF))
    return found


def is_public(ip: IPAddress) -> bool:
    """A globally routable unicast address that does not lead to a private one."""
    if isinstance(ip, ipaddress.IPv6Address) and any(
        not is_public(inner) for inner in _embedded_ipv4(ip)
    ):
        return False
    if any(ip.version == net.version and ip in net for net in _DENY):
        return False
    return ip.is_global and not ip.is_multicast


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
# host (a bracketed IPv6 literal or a name without brackets or colons), then an optional port
_NETLOC = re.compile(r"(?P<host>\[[^\]]*\]|[^:\[\]]*)(?::(?P<port>[^:]*))?")
_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")
_NUMERIC_LABEL = re.compile(r"0x[0-9a-f]*|[0-9]+")
# Unicode categories no link or file name may hold: controls (NUL included), format characters
# (zero-width spaces, direction overrides), surrogates, private use, unassigned, line breaks.
_CONTROL = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


class Link(NamedTuple):
    """A checked http(s) link: its parts, its host in ASCII (IDNA) form and its port."""

    parts: SplitResult
    host: str
    port: int
    explicit_port: bool


def shown(text: str, limit: int = 100) -> str:
    """User text as a message shows it: one printable line, cut with an ellipsis when long."""
    printable = "".join(ch if ch.isprintable() else "?" for ch in text)
    return printable if len(printable) <= limit else printable[: limit - 1] + "…"


def is_link(text: str) -> bool:
    """Whether `talks add TEXT` means a link rather than a file: TEXT starts with a scheme
    (http:, ftp:, javascript:…) and no file of that name exists."""
    return bool(_SCHEME.match(text)) and not os.path.lexists(text)


def _unfit_character(text: str) -> str | None:
    for ch in text:
        if ch.isspace() or unicodedata.category(ch) in _CONTROL:
            name = unicodedata.name(ch, f"U+{ord(ch):04X}")
            return "a space" if ch == " " else f"a control character ({name})"
    return None


def check_link(url: str) -> Link:
    """The parts of an http(s) link, or an IngestError saying what is wrong with it (checked
    before any DNS lookup: malformed, too long, spaces or control characters, another scheme,
    credentials, no host, a bad port, a host that is neither a name nor an IP address)."""
    url = url.strip()
    if not url:
        raise IngestError("The link is empty.")
    if len(url) > MAX_URL_CHARS:
        raise IngestError(
            f"The link is {len(url):,} characters long; at most {MAX_URL_CHARS:,} are accepted."
        )
    unfit = _unfit_character(url)
    if unfit:
        raise IngestError(f"The link contains {unfit}, which a link cannot hold: {shown(url)}")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # unbalanced brackets, a bracketed host that is no address…
        raise IngestError(f"The link is malformed ({exc}): {shown(url)}") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise IngestError(f"Only http and https links can be added, not {scheme or 'this'!r}.")
    if "@" in parts.netloc:
        raise IngestError(
            "The link carries a user name or password (the part before '@'): remove it."
        )
    match = _NETLOC.fullmatch(parts.netloc)
    if not parts.netloc or (match is not None and not match["host"]):
        raise IngestError(f"The link has no host name: {shown(url)}")
    if match is None:
        raise IngestError(f"The link's host is malformed: {shown(url)}")
    port = match["port"]
    if port and not (port.isdigit() and 0 < int(port) < 65536):  # "host:" is the default port
        raise IngestError(
            f"Bad address in the link: port {shown(port, 20)!r} is not a number from 1 to 65535."
        )
    default = 443 if scheme == "https" else 80
    return Link(parts, _ascii_host(match["host"]), int(port) if port else default, bool(port))


def _ascii_host(host: str) -> str:
    """The host in the form DNS and the Host header use, or IngestError."""
    if host.startswith("["):
        try:
            return str(ipaddress.IPv6Address(host[1:-1]))
        except ValueError:
            raise IngestError(f"Bad host {shown(host)}: not an IPv6 address.") from None
    try:
        name = host.encode("idna").decode("ascii").lower()  # internationalised names
    except UnicodeError as exc:
        raise IngestError(f"Bad host name {shown(host)!r}.") from exc
    labels = name.removesuffix(".").split(".")
    if _NUMERIC_LABEL.fullmatch(labels[-1]):  # an IP address, or nothing valid
        try:
            return str(ipaddress.IPv4Address(name.removesuffix(".")))
        except ValueError:
            raise IngestError(f"Bad host {shown(host)!r}: not a valid IP address.") from None
    if len(name) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise IngestError(
            f"Bad host name {shown(host)!r}: a host name is letters, digits and hyphens "
            "between dots."
        )
    return name


def _decoder(encoding: str):
    """A zlib decompressor for one gzip/deflate layer; None for identity. Anything else (brotli,
    stacked encodings) is refused: decompression must stay under the size cap."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj()
    raise IngestError(f"The page is sent with an unsupported encoding ({encoding}).")


@dataclass(frozen=True)
class _Request:
    """One hop of a fetch: the checked address to connect to, and the headers naming the host."""

    host: str
    target: str
    headers: dict[str, str]


def _checked_request(
    url: str,
    resolver: Resolver,
    allowed: Callable[[IPAddress], bool],
    accept: tuple[str, ...] = TEXT_TYPES,
) -> _Request:
    """The request for url, connecting to an address that passed `allowed` (so DNS cannot
    change between the check and the connection)."""
    link = check_link(url)
    parts, host, port = link.parts, link.host, link.port
    addresses = resolver(host, port)
    if not addresses:
        raise IngestError(f"Cannot resolve {host}.")
    for address in addresses:
        if not allowed(ipaddress.ip_address(address)):
            raise IngestError(
                f"Refusing to fetch {host}: it resolves to {address}, a loopback, private, "
                "link-local or reserved address. Only public web pages can be added."
            )
    ip = ipaddress.ip_address(addresses[0])
    netloc = f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"
    target = urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))
    name = f"[{host}]" if ":" in host else host
    headers = {
        "Host": f"{name}:{port}" if link.explicit_port else name,
        "User-Agent": USER_AGENT,
        "Accept": ", ".join(accept),
        "Accept-Encoding": "gzip, identity",
    }
    return _Request(host, target, headers)


def _page(
    response,
    url: str,
    max_bytes: int,
    left: Callable[[], float],
    accept: tuple[str, ...] = TEXT_TYPES,
    conditional: bool = False,
) -> Page:
    """The body of a 200 response as a Page, within the size cap and the deadline (or an empty
    one for a 304 to a conditional request)."""
    validators = {
        "etag": response.headers.get("etag"),
        "last_modified": response.headers.get("last-modified"),
    }
    if response.status_code == 304 and conditional:
        return Page(url=url, content_type="", text="", status=304, **validators)
    if response.status_code != 200:
        raise IngestError(f"{shown(url)} answered HTTP {response.status_code}.")
    content_type = response.headers.get("content-type", "").split(";")[0].strip()
    if content_type.lower() not in accept:
        raise IngestError(
            f"{shown(url)} is {shown(content_type, 60) or 'of unknown type'}, not a web page or "
            "text."
        )
    too_big = IngestError(f"{shown(url)} is larger than {max_bytes:,} bytes.")
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise too_big
    decoder = _decoder(response.headers.get("content-encoding", ""))
    body = bytearray()
    for chunk in response.iter_raw():
        left()
        if decoder is not None:
            chunk = decoder.decompress(chunk, max_bytes + 1 - len(body))
            if decoder.unconsumed_tail:
                raise too_big
        body.extend(chunk)
        if len(body) > max_bytes:
            raise too_big
    encoding = response.charset_encoding or "utf-8"
    try:
        text = bytes(body).decode(encoding, errors="replace")
    except LookupError:
        text = bytes(body).decode("utf-8", errors="replace")
    return Page(
        url=url, content_type=content_type.lower(), text=text, data=bytes(body), **validators
    )


def fetch(
    url: str,
    *,
    resolver: Resolver = system_resolver,
    allowed: Callable[[IPAddress], bool] = is_public,
    timeout: float = TIMEOUT_SECONDS,
    max_bytes: int = MAX_BYTES,
    accept: tuple[str, ...] = TEXT_TYPES,
    etag: str | None = None,
    last_modified: str | None = None,
) -> Page:
    """GET a page under the rules in the module docstring. `timeout` bounds the whole fetch,
    redirects included. `accept`: the content types taken (web pages and text; FEED_TYPES for
    feeds); `etag`/`last_modified`: validators of the last fetch, sent as If-None-Match and
    If-Modified-Since (a 304 comes back as a Page with status 304)."""
    conditional = {
        name: value
        for name, value in (("If-None-Match", etag), ("If-Modified-Since", last_modified))
        if value and value.isprintable() and len(value) < 512
    }
    import httpx

    deadline = time.monotonic() + timeout

    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise IngestError(f"{shown(url)} did not answer within {timeout:.0f} s.")
        return remaining

    for _ in range(MAX_REDIRECTS + 1):
        request = _checked_request(url, resolver, allowed, accept)
        try:
            with (
                httpx.Client(timeout=left(), follow_redirects=False, trust_env=False) as client,
                client.stream(
                    "GET",
                    request.target,
                    headers={**request.headers, **conditional},
                    extensions={"sni_hostname": request.host},
                ) as response,
            ):
                if not response.is_redirect or response.status_code == 304:
                    return _page(response, url, max_bytes, left, accept, bool(conditional))
                url = _redirect(url, response.headers.get("location"))
        except httpx.TimeoutException as exc:
            raise IngestError(f"{shown(url)} did not answer within {timeout:.0f} s.") from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            reason = shown(str(exc), 120)
            raise IngestError(
                f"Cannot fetch {shown(url)}: {type(exc).__name__}"
                + (f" ({reason})." if reason else ".")
            ) from exc
        except zlib.error as exc:
            raise IngestError(f"{shown(url)} sent a damaged compressed body.") from exc
    raise IngestError(f"{shown(url)} redirects more than {MAX_REDIRECTS} times.")


def _redirect(url: str, location: str | None) -> str:
    """Where a redirect leads (checked like any link on the next hop)."""
    if not location:
        raise IngestError(f"{shown(url)} redirects without a location.")
    try:
        return urljoin(url, location)
    except ValueError as exc:
        raise IngestError(
            f"{shown(url)} redirects to a malformed link ({exc}): {shown(location)}"
        ) from exc


def draft_from_html(html: str, url: str | None) -> Draft:
    try:
        page = extract_html(html, url)
    except ArticleFormatError as exc:
        raise IngestError(f"{str(exc)[:1].upper()}{str(exc)[1:]}.") from exc
    return Draft(**page.__dict__)


def draft_from_file(path: Path) -> Draft:
    """A Draft from a local .md/.txt/.html file, with whatever metadata it carries."""
    path = Path(path)
    if not path.is_file():
        if os.path.lexists(path):
            raise IngestError(f"{shown(str(path))} is not a file (a folder, device or pipe).")
        raise IngestError(f"No file at {shown(str(path))}.")
    suffix = path.suffix.lower()
    if suffix not in ARTICLE_SUFFIXES:
        raise IngestError(f"{shown(path.name)}: only .md, .txt and .html files can be added.")
    size = path.stat().st_size
    if size > MAX_ARTICLE_BYTES:
        raise IngestError(
            f"{shown(path.name)} is {size:,} bytes; files of at most {MAX_ARTICLE_BYTES:,} bytes "
            "can be added."
        )
    if suffix in (".html", ".htm"):
        try:
            return draft_from_html(path.read_bytes().decode("utf-8", errors="replace"), None)
        except IngestError as exc:
            raise IngestError(f"{path.name}: {exc}") from exc
    try:
        article = read_article(path, path.parent)
    except ArticleFormatError as exc:
        if suffix == ".txt" or not str(exc).startswith("no front matter"):
            raise IngestError(f"{shown(path.name)}: {exc}") from exc
        # Markdown without front matter: the flags supply the metadata.
        text = path.read_text(encoding="utf-8", errors="replace").replace("\r\n", "\n")
        return Draft(body=text.strip("\n"))
    return Draft(
        title=article.title,
        published=article.published,
        url=article.url,
        source=article.source,
        language=article.language,
        body=article.body,
    )


def safe_file_name(name: str | None) -> str:
    """A file name that is safe to create and to show: its last path part (after / or \\),
    without control or format characters (NUL included), without leading dots or spaces (no
    '..', no hidden file), at most MAX_FILE_NAME_BYTES bytes of UTF-8 with its suffix kept
    (lower-cased); "article" (plus the suffix) when nothing else is left."""
    text = unicodedata.normalize("NFC", name or "")
    text = re.split(r"[/\\]", text)[-1]
    text = " ".join("".join(ch for ch in text if unicodedata.category(ch) not in _CONTROL).split())
    stem, dot, suffix = text.rpartition(".")
    if dot and suffix and len(suffix) <= 16 and " " not in suffix:
        suffix = f".{suffix.lower()}"
    else:
        stem, suffix = text, ""
    stem = stem.strip(". ")
    room = MAX_FILE_NAME_BYTES - len(suffix.encode())
    stem = stem.encode()[:room].decode(errors="ignore").rstrip(". ")
    return (stem or "article") + suffix


def draft_from_upload(file_name: str | None, data: bytes) -> Draft:
    """A Draft from a file sent by an editor (the bot's document upload): its name made safe
    (safe_file_name), its size checked, its text read as draft_from_file reads a file."""
    name = safe_file_name(file_name)
    if not name.lower().endswith(ARTICLE_SUFFIXES):
        raise IngestError(f"{shown(name)}: only .md, .txt and .html files can be added.")
    if len(data) > MAX_ARTICLE_BYTES:
        raise IngestError(
            f"{shown(name)} is {len(data):,} bytes; files of at most {MAX_ARTICLE_BYTES:,} bytes "
            "can be added."
        )
    with tempfile.TemporaryDirectory(prefix="talks-upload-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        return draft_from_file(path)


def draft_from_page(page: Page) -> Draft:
    if page.content_type in ("text/html", "application/xhtml+xml"):
        return draft_from_html(page.text, page.url)
    text = page.text.replace("\r\n", "\n").strip("\n")
    title, _, rest = text.partition("\n")
    host = urlsplit(page.url).hostname
    return Draft(title=title.strip() or None, url=page.url, source=host, body=rest.strip("\n"))


def slug(text: str, limit: int = 60) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    out = "-".join(words)[:limit].strip("-")
    return out or hashlib.sha256(text.encode()).hexdigest()[:12]


def _normalized_url(url: str | None) -> str | None:
    """The same article whatever the scheme, default port, trailing slash or tracking tags."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    query = "&".join(
        q for q in parts.query.split("&") if q and not q.lower().startswith(("utm_", "fbclid="))
    )
    return f"{host}{parts.path.rstrip('/')}?{query}"


def render(draft: Draft) -> str:
    meta = {
        "title": draft.title,
        "published": draft.published,
        "url": draft.url,
        "source": draft.source,
        "language": draft.language,
    }
    header = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=10_000)
    return f"---\n{header}---\n\n{draft.body.strip()}\n"


def clip_title(title: str, limit: int = MAX_TITLE_CHARS) -> str:
    """A title on one line (control characters dropped, runs of whitespace made one space), cut
    to at most `limit` characters at a word boundary with an ellipsis when longer."""
    text = "".join(ch for ch in title if unicodedata.category(ch) not in _CONTROL or ch.isspace())
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:  # a word boundary not too far back; else cut inside the long word
        cut = cut[:space]
    return cut.rstrip(" ,;:.-–—") + "…"


def max_corpus_file_bytes() -> int:
    """The size above which the corpus loader skips a file (index/corpus.py)."""
    return int(getattr(corpus_rules, "MAX_CORPUS_FILE_BYTES", DEFAULT_MAX_CORPUS_FILE_BYTES))


@contextlib.contextmanager
def file_lock(path: Path, wait: float, busy: Callable[[], Exception]) -> Iterator[None]:
    """An exclusive flock on `path` (created if need be), waited for up to `wait` seconds; then
    busy() is raised. The kernel releases it when the process ends."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise busy() from None
                time.sleep(0.02)
        yield
    finally:
        os.close(fd)  # releases the lock


def corpus_lock(corpus_dir: Path, wait: float = ADD_LOCK_SECONDS):
    """One writer at a time in corpus_dir (`talks add` processes and the bot alike): a
    file_lock on corpus_dir/.add.lock (a hidden file, which the corpus loader ignores)."""
    return file_lock(
        Path(corpus_dir) / ADD_LOCK,
        wait,
        lambda: CorpusBusyError(
            f"Another article is being added to {corpus_dir} (for {wait:.0f} s now): try again "
            "when it is done."
        ),
    )


def _check_draft(draft: Draft) -> None:
    missing = [f for f in ("title", "published", "url", "source") if not getattr(draft, f)]
    if missing:
        flags = ", ".join(f"--{f}" for f in missing)
        raise IngestError(
            f"The article has no {', '.join(missing)}: pass {flags} to `talks add`, or put them "
            "in the file's front matter (see corpus/README.md)."
        )
    try:
        FrontMatter.model_validate(
            {
                "title": draft.title,
                "published": draft.published,
                "url": draft.url,
                "source": draft.source,
                "language": draft.language,
            }
        )
    except ValidationError as exc:
        fields = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
        raise IngestError(f"Bad article metadata ({fields}).") from exc
    if len(re.findall(r"\w+", draft.body)) < 20:
        raise IngestError("The article text is too short (fewer than 20 words) to be worth adding.")


def _refuse_duplicate(corpus_dir: Path, draft: Draft) -> None:
    key = sentence_key(draft.body)
    url = _normalized_url(draft.url)
    try:
        existing = load_corpus(corpus_dir).articles
    except CorpusError:
        existing = []
    for article in existing:
        if url and _normalized_url(article.url) == url:
            raise DuplicateArticleError(
                f"Already in the corpus: {article.path} has the same link "
                f"({shown(article.url or '')}).",
                article.path,
            )
        if sentence_key(article.body) == key:
            raise DuplicateArticleError(
                f"Already in the corpus: {article.path} has the same text.", article.path
            )


def add_article(corpus_dir: Path, draft: Draft) -> Path:
    """Write the draft as corpus_dir/YYYY-MM-DD-slug.md after checking it is complete, not
    larger than the corpus loader reads, reads back to the same text, and is not already in the
    corpus. Never overwrites a file. The duplicate check and the write hold corpus_lock, so two
    adds of one article at the same moment add it once. The draft's title is made one line of
    at most MAX_TITLE_CHARS characters (clip_title), in place."""
    corpus_dir = Path(corpus_dir)
    if draft.title:
        draft.title = clip_title(draft.title)
    _check_draft(draft)
    content = render(draft)
    size, cap = len(content.encode()), max_corpus_file_bytes()
    if size > cap:
        raise IngestError(
            f"The article is too long for the corpus: {size:,} bytes as Markdown, and the corpus "
            f"reads files of at most {cap:,} bytes. Split it into parts or shorten it; nothing "
            "was written."
        )
    corpus_dir.mkdir(parents=True, exist_ok=True)
    with corpus_lock(corpus_dir):
        _refuse_duplicate(corpus_dir, draft)
        return _write_new(corpus_dir, draft, content)


def replace_article(path: Path, draft: Draft) -> Path:
    """Write the draft over the article at `path` (an edited feed item), after the checks
    add_article makes; atomic (a reader sees the old file or the new one) and under
    corpus_lock. The file keeps its name, so the index sees a changed article."""
    path = Path(path)
    if draft.title:
        draft.title = clip_title(draft.title)
    _check_draft(draft)
    content = render(draft)
    if len(content.encode()) > max_corpus_file_bytes():
        raise IngestError("The edited article is too long for the corpus; it was not replaced.")
    with corpus_lock(path.parent):
        fd, tmp = tempfile.mkstemp(prefix=".add-", suffix=".md", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(content)
            written = read_article(Path(tmp), path.parent)
            if written.body != draft.body.strip():
                raise IngestError("The article did not read back unchanged; nothing was written.")
            os.replace(tmp, path)
        except ArticleFormatError as exc:
            raise IngestError(f"The article would not be readable ({exc}).") from exc
        finally:
            Path(tmp).unlink(missing_ok=True)
    return path


def _write_new(corpus_dir: Path, draft: Draft, content: str) -> Path:
    name = f"{draft.published.isoformat()}-{slug(draft.title or '')}"  # type: ignore[union-attr]
    target = corpus_dir / f"{name}.md"
    n = 2
    while target.exists():
        target = corpus_dir / f"{name}-{n}.md"
        n += 1
    fd, tmp = tempfile.mkstemp(prefix=".add-", suffix=".md", dir=corpus_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(content)
        written = read_article(Path(tmp), corpus_dir)
        if written.body != draft.body.strip() or written.title != draft.title:
            raise IngestError("The article did not read back unchanged; nothing was written.")
        os.link(tmp, target)  # fails rather than overwrite a file that appeared meanwhile
    except ArticleFormatError as exc:
        raise IngestError(
            f"The article would not be readable ({exc}); nothing was written."
        ) from exc
    except FileExistsError as exc:
        raise IngestError(f"{target.name} appeared meanwhile; try again.") from exc
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target
