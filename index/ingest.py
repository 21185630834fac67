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
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit, urlunsplit

import yaml
from pydantic import ValidationError

from index.chunking import sentence_key
from index.corpus import FrontMatter, extract_html, load_corpus, read_article
from index.errors import ArticleFormatError, CorpusError, TalksError

MAX_BYTES = 5_000_000
TIMEOUT_SECONDS = 10.0
MAX_REDIRECTS = 5
TEXT_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "text/markdown")
USER_AGENT = "talks/0.1 (+news question answering; fetches one page per request)"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]


class IngestError(TalksError):
    """The file or page cannot become an article; nothing was written."""


class DuplicateArticleError(IngestError):
    """The corpus already has this article."""


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


def is_public(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def fetch(
    url: str,
    *,
    resolver: Resolver = system_resolver,
    allowed: Callable[[IPAddress], bool] = is_public,
    timeout: float = TIMEOUT_SECONDS,
    max_bytes: int = MAX_BYTES,
) -> Page:
    """GET a page under the rules in the module docstring."""
    import httpx

    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise IngestError(f"Only http and https links can be added, not {scheme or 'this'!r}.")
        host = parts.hostname
        if not host:
            raise IngestError(f"{url!r} has no host name.")
        port = parts.port or (443 if scheme == "https" else 80)
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
        host_header = host if parts.port is None else f"{host}:{parts.port}"
        headers = {"Host": host_header, "User-Agent": USER_AGENT, "Accept": ", ".join(TEXT_TYPES)}
        try:
            with (
                httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client,
                client.stream(
                    "GET", target, headers=headers, extensions={"sni_hostname": host}
                ) as response,
            ):
                if response.is_redirect:
                    location = response.headers.get("location")
                    if not location:
                        raise IngestError(f"{url} redirects without a location.")
                    url = urljoin(url, location)
                    continue
                if response.status_code != 200:
                    raise IngestError(f"{url} answered HTTP {response.status_code}.")
                content_type = response.headers.get("content-type", "").split(";")[0].strip()
                if content_type.lower() not in TEXT_TYPES:
                    raise IngestError(
                        f"{url} is {content_type or 'of unknown type'}, not a web page or text."
                    )
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise IngestError(f"{url} is larger than {max_bytes:,} bytes.")
                body = bytearray()
                for chunk in response.iter_bytes():
                    body.extend(chunk)
                    if len(body) > max_bytes:
                        raise IngestError(f"{url} is larger than {max_bytes:,} bytes.")
                encoding = response.charset_encoding or "utf-8"
                try:
                    text = bytes(body).decode(encoding, errors="replace")
                except LookupError:
                    text = bytes(body).decode("utf-8", errors="replace")
                return Page(url=url, content_type=content_type.lower(), text=text)
        except httpx.TimeoutException as exc:
            raise IngestError(f"{url} did not answer within {timeout:.0f} s.") from exc
        except httpx.HTTPError as exc:
            raise IngestError(f"Cannot fetch {url}: {type(exc).__name__}.") from exc
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
    if suffix not in (".md", ".markdown", ".txt", ".html", ".htm"):
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
    if not url:
        return None
    parts = urlsplit(url.strip())
    return urlunsplit(
        (parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), parts.query, "")
    )


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
        raise IngestError(f"The article has no {', '.join(missing)}: pass {flags}.")
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
