"""Adding articles to the corpus: from a file or a URL, to a proper front-matter Markdown file.

URL fetching is deliberately narrow: http/https only, every address the host resolves to must be
public (no loopback, private, link-local, reserved or multicast: checked after resolving, for
each redirect hop, and the connection goes to the checked address so DNS cannot change it in
between), a timeout, a size cap and a content-type check. A bad page is an IngestError and
nothing is written. A duplicate of an article already in the corpus is refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
import re
import socket
import tempfile
import time
import unicodedata
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit, urlunsplit

import yaml
from pydantic import ValidationError

from index.chunking import sentence_key
from index.corpus import (
    ARTICLE_SUFFIXES,
    MAX_ARTICLE_BYTES,
    FrontMatter,
    extract_html,
    load_corpus,
    read_article,
)
from index.errors import ArticleFormatError, CorpusError, DuplicateArticleError, IngestError

MAX_BYTES = MAX_ARTICLE_BYTES
TIMEOUT_SECONDS = 10.0
MAX_REDIRECTS = 5
TEXT_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "text/markdown")
USER_AGENT = "talks/0.1 (+news question answering; fetches one page per request)"

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


@dataclass
class Page:
    url: str  # after redirects
    content_type: str
    text: str


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


def _host_port(parts) -> tuple[str, int]:
    try:
        port = parts.port
        host = parts.hostname
    except ValueError as exc:  # a port that is not a number or out of range
        raise IngestError(f"Bad address in the link: {exc}.") from exc
    if not host:
        raise IngestError("The link has no host name.")
    try:
        host = host.encode("idna").decode("ascii")  # internationalised names
    except UnicodeError as exc:
        raise IngestError(f"Bad host name {host!r}.") from exc
    return host, port or (443 if parts.scheme.lower() == "https" else 80)


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
    url: str, resolver: Resolver, allowed: Callable[[IPAddress], bool]
) -> _Request:
    """The request for url, connecting to an address that passed `allowed` (so DNS cannot
    change between the check and the connection)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise IngestError(f"Only http and https links can be added, not {scheme or 'this'!r}.")
    host, port = _host_port(parts)
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
    target = urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))
    name = f"[{host}]" if ":" in host else host
    headers = {
        "Host": name if parts.port is None else f"{name}:{port}",
        "User-Agent": USER_AGENT,
        "Accept": ", ".join(TEXT_TYPES),
        "Accept-Encoding": "gzip, identity",
    }
    return _Request(host, target, headers)


def _page(response, url: str, max_bytes: int, left: Callable[[], float]) -> Page:
    """The body of a 200 response as a Page, within the size cap and the deadline."""
    if response.status_code != 200:
        raise IngestError(f"{url} answered HTTP {response.status_code}.")
    content_type = response.headers.get("content-type", "").split(";")[0].strip()
    if content_type.lower() not in TEXT_TYPES:
        raise IngestError(f"{url} is {content_type or 'of unknown type'}, not a web page or text.")
    too_big = IngestError(f"{url} is larger than {max_bytes:,} bytes.")
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
    return Page(url=url, content_type=content_type.lower(), text=text)


def fetch(
    url: str,
    *,
    resolver: Resolver = system_resolver,
    allowed: Callable[[IPAddress], bool] = is_public,
    timeout: float = TIMEOUT_SECONDS,
    max_bytes: int = MAX_BYTES,
) -> Page:
    """GET a page under the rules in the module docstring. `timeout` bounds the whole fetch,
    redirects included."""
    import httpx

    deadline = time.monotonic() + timeout

    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise IngestError(f"{url} did not answer within {timeout:.0f} s.")
        return remaining

    for _ in range(MAX_REDIRECTS + 1):
        request = _checked_request(url, resolver, allowed)
        try:
            with (
                httpx.Client(timeout=left(), follow_redirects=False, trust_env=False) as client,
                client.stream(
                    "GET",
                    request.target,
                    headers=request.headers,
                    extensions={"sni_hostname": request.host},
                ) as response,
            ):
                if not response.is_redirect:
                    return _page(response, url, max_bytes, left)
                location = response.headers.get("location")
                if not location:
                    raise IngestError(f"{url} redirects without a location.")
                url = urljoin(url, location)
        except httpx.TimeoutException as exc:
            raise IngestError(f"{url} did not answer within {timeout:.0f} s.") from exc
        except httpx.HTTPError as exc:
            raise IngestError(f"Cannot fetch {url}: {type(exc).__name__}.") from exc
        except zlib.error as exc:
            raise IngestError(f"{url} sent a damaged compressed body.") from exc
    raise IngestError(f"{url} redirects more than {MAX_REDIRECTS} times.")


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
        raise IngestError(f"No file at {path}.")
    suffix = path.suffix.lower()
    if suffix not in ARTICLE_SUFFIXES:
        raise IngestError(f"{path.name}: only .md, .txt and .html files can be added.")
    if suffix in (".html", ".htm"):
        try:
            return draft_from_html(path.read_bytes().decode("utf-8", errors="replace"), None)
        except IngestError as exc:
            raise IngestError(f"{path.name}: {exc}") from exc
    try:
        article = read_article(path, path.parent)
    except ArticleFormatError as exc:
        if suffix == ".txt" or "front matter" not in str(exc):
            raise IngestError(f"{path.name}: {exc}") from exc
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


def add_article(corpus_dir: Path, draft: Draft) -> Path:
    """Write the draft as corpus_dir/YYYY-MM-DD-slug.md after checking it is complete, reads
    back to the same text, and is not already in the corpus. Never overwrites a file."""
    corpus_dir = Path(corpus_dir)
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

    key = sentence_key(draft.body)
    url = _normalized_url(draft.url)
    if corpus_dir.is_dir():
        try:
            existing = load_corpus(corpus_dir).articles
        except CorpusError:
            existing = []
        for article in existing:
            if url and _normalized_url(article.url) == url:
                raise DuplicateArticleError(
                    f"Already in the corpus: {article.path} has the same link ({article.url})."
                )
            if sentence_key(article.body) == key:
                raise DuplicateArticleError(
                    f"Already in the corpus: {article.path} has the same text."
                )
    corpus_dir.mkdir(parents=True, exist_ok=True)
    name = f"{draft.published.isoformat()}-{slug(draft.title or '')}"
    target = corpus_dir / f"{name}.md"
    n = 2
    while target.exists():
        target = corpus_dir / f"{name}-{n}.md"
        n += 1
    content = render(draft)
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
