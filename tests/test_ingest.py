"""Adding articles: files and pages become front-matter Markdown; fetching refuses anything but
public http(s) pages (SSRF), caps size and time, checks the content type; duplicates refused."""

from __future__ import annotations

import datetime as dt
import http.server
import ipaddress
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import ClassVar

import pytest

from index.corpus import load_corpus
from index.ingest import (
    Draft,
    DuplicateArticleError,
    IngestError,
    add_article,
    draft_from_file,
    draft_from_page,
    fetch,
    is_public,
)

from .conftest import TEST_CORPUS

ARTICLE_HTML = (TEST_CORPUS / "grain-corridor.html").read_bytes()


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        Handler.hosts.append(self.headers.get("Host"))
        if self.path == "/article":
            self.send(200, ARTICLE_HTML, "text/html; charset=utf-8")
        elif self.path == "/text":
            body = "Plain title here\n\n" + "Plain body sentence with enough words. " * 5
            self.send(200, body.encode(), "text/plain; charset=utf-8")
        elif self.path == "/pdf":
            self.send(200, b"%PDF-1.4", "application/pdf")
        elif self.path == "/big":
            self.send(200, b"<html>" + b"x" * 6_000_000, "text/html")
        elif self.path == "/slow":
            time.sleep(3)
            self.send(200, ARTICLE_HTML, "text/html")
        elif self.path == "/to-article":
            self.send(302, b"", "text/html", Location="/article")
        elif self.path == "/to-private":
            self.send(302, b"", "text/html", Location="http://internal.test/secret")
        elif self.path == "/bomb":
            import gzip

            inner = gzip.compress(b"<html>" + b" " * 50_000_000)
            self.send(200, inner, "text/html", **{"Content-Encoding": "gzip"})
        elif self.path == "/brotli":
            self.send(200, b"xx", "text/html", **{"Content-Encoding": "br"})
        elif self.path == "/gzip-ok":
            import gzip

            self.send(200, gzip.compress(ARTICLE_HTML), "text/html", **{"Content-Encoding": "gzip"})
        elif self.path == "/trickle":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            for _ in range(8):
                self.wfile.write(b"<p>x</p>")
                self.wfile.flush()
                time.sleep(0.4)
        elif self.path == "/loop":
            self.send(302, b"", "text/html", Location="/loop")
        else:
            self.send(404, b"no", "text/plain")

    hosts: ClassVar[list[str | None]] = []


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()


def local(host_map: dict[str, str]):
    """A resolver for test host names; anything else fails to resolve."""

    def resolve(host: str, port: int) -> list[str]:
        if host in host_map:
            return [host_map[host]]
        raise IngestError(f"Cannot resolve {host}.")

    return resolve


# The local test server stands in for a public site: only loopback is "public" here.
LOOPBACK_ONLY = {"allowed": lambda ip: ip.is_loopback}


def test_public_address_rules() -> None:
    for address in [
        "127.0.0.1",
        "10.0.0.5",
        "172.16.3.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
    ]:
        assert not is_public(ipaddress.ip_address(address)), address
    for address in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"]:
        assert is_public(ipaddress.ip_address(address)), address


@pytest.mark.parametrize(
    "address", ["10.0.0.5", "192.168.0.10", "169.254.169.254", "::1", "127.0.0.2"]
)
def test_hostname_resolving_to_a_private_address_is_refused(address: str) -> None:
    with pytest.raises(IngestError, match=r"Refusing to fetch evil\.test"):
        fetch("http://evil.test/page", resolver=local({"evil.test": address}))


@pytest.mark.parametrize(
    "url", ["ftp://example.org/a", "file:///etc/passwd", "gopher://x/", "javascript:alert(1)"]
)
def test_only_http_and_https(url: str) -> None:
    with pytest.raises(IngestError, match="Only http and https"):
        fetch(url)


def test_fetches_a_page_connecting_to_the_checked_address(server: int) -> None:
    Handler.hosts.clear()
    page = fetch(
        f"http://news.test:{server}/article",
        resolver=local({"news.test": "127.0.0.1"}),
        **LOOPBACK_ONLY,
    )
    assert page.content_type == "text/html"
    assert "grain corridor" in page.text
    assert Handler.hosts == [f"news.test:{server}"]  # the Host header names the site, not the IP


def test_redirects_are_followed_and_each_hop_is_checked(server: int) -> None:
    resolver = local({"news.test": "127.0.0.1", "internal.test": "10.0.0.7"})
    page = fetch(f"http://news.test:{server}/to-article", resolver=resolver, **LOOPBACK_ONLY)
    assert page.url.endswith("/article")
    with pytest.raises(IngestError, match=r"Refusing to fetch internal\.test"):
        fetch(f"http://news.test:{server}/to-private", resolver=resolver, **LOOPBACK_ONLY)
    with pytest.raises(IngestError, match="redirects more than"):
        fetch(f"http://news.test:{server}/loop", resolver=resolver, **LOOPBACK_ONLY)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/pdf", "not a web page"),
        ("/big", "larger than"),
        ("/missing", "HTTP 404"),
        ("/bomb", "larger than"),  # 50 MB of spaces in a small gzip: stopped at the cap
        ("/brotli", "unsupported encoding"),
    ],
)
def test_bad_pages_are_refused(server: int, path: str, message: str) -> None:
    with pytest.raises(IngestError, match=message):
        fetch(
            f"http://news.test:{server}{path}",
            resolver=local({"news.test": "127.0.0.1"}),
            **LOOPBACK_ONLY,
        )


def test_slow_page_times_out(server: int) -> None:
    started = time.perf_counter()
    with pytest.raises(IngestError, match="did not answer within"):
        fetch(
            f"http://news.test:{server}/slow",
            resolver=local({"news.test": "127.0.0.1"}),
            timeout=1,
            **LOOPBACK_ONLY,
        )
    assert time.perf_counter() - started < 3


def test_compressed_page_is_read(server: int) -> None:
    page = fetch(
        f"http://news.test:{server}/gzip-ok",
        resolver=local({"news.test": "127.0.0.1"}),
        **LOOPBACK_ONLY,
    )
    assert "grain corridor" in page.text


def test_timeout_covers_the_whole_fetch_not_each_read(server: int) -> None:
    started = time.perf_counter()
    with pytest.raises(IngestError, match="did not answer within"):
        fetch(
            f"http://news.test:{server}/trickle",
            resolver=local({"news.test": "127.0.0.1"}),
            timeout=1,
            **LOOPBACK_ONLY,
        )
    assert time.perf_counter() - started < 2.5


@pytest.mark.parametrize(
    "url", ["http://news.test:99999/a", "http://news.test:abc/a", "http:///nohost"]
)
def test_malformed_links_are_clear_errors(url: str) -> None:
    with pytest.raises(IngestError):
        fetch(url, resolver=local({"news.test": "127.0.0.1"}), **LOOPBACK_ONLY)


def test_international_host_names_are_resolved_in_idna_form() -> None:
    asked = []

    def resolver(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["10.0.0.1"]

    with pytest.raises(IngestError, match="Refusing"):
        fetch("http://пример.испытание/статья", resolver=resolver)
    assert asked == ["xn--e1afmkfd.xn--80akhbyknj4f"]


def test_page_becomes_an_article_with_its_metadata(server: int, tmp_path: Path) -> None:
    page = fetch(
        f"http://news.test:{server}/article",
        resolver=local({"news.test": "127.0.0.1"}),
        **LOOPBACK_ONLY,
    )
    draft = draft_from_page(page)
    assert draft.title == "TEST FIXTURE: Black Sea grain corridor talks stall"
    assert draft.published == dt.date(2025, 6, 10)
    assert draft.url == "https://example.org/test/grain-corridor"  # the canonical link
    assert draft.source == "Example News (test fixture)"
    path = add_article(tmp_path, draft)
    assert path.name == "2025-06-10-test-fixture-black-sea-grain-corridor-talks-stall.md"
    [article] = load_corpus(tmp_path).articles
    assert article.title == draft.title and article.body == draft.body
    assert "premiums would stay high & exports would fall" in article.body
    with pytest.raises(DuplicateArticleError, match="same link"):
        add_article(tmp_path, draft)
    variant = Draft(
        **{
            **draft.__dict__,
            "url": "http://www.example.org/test/grain-corridor/?utm_source=x",
            "body": draft.body + " Updated.",
        }
    )
    with pytest.raises(DuplicateArticleError, match="same link"):
        add_article(tmp_path, variant)  # same article behind another form of its link
    copy = Draft(**{**draft.__dict__, "url": "https://elsewhere.example/copy"})
    with pytest.raises(DuplicateArticleError, match="same text"):
        add_article(tmp_path, copy)
    assert len(list(tmp_path.glob("*.md"))) == 1


def test_text_file_needs_its_metadata_from_flags(tmp_path: Path) -> None:
    draft = draft_from_file(TEST_CORPUS / "city-budget-distractor.txt")
    assert draft.title == "TEST FIXTURE: City council approves a new budget for parks"
    with pytest.raises(IngestError, match="--published, --url, --source"):
        add_article(tmp_path / "corpus", draft)
    assert not (tmp_path / "corpus").exists() or not list((tmp_path / "corpus").iterdir())
    draft.published, draft.url, draft.source = dt.date(2025, 1, 2), "https://e.org/p", "Тест"
    path = add_article(tmp_path / "corpus", draft)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\ntitle: ") and "source: Тест" in text
    assert "Post a Comment" not in text


def test_markdown_article_with_front_matter_is_copied_faithfully(tmp_path: Path) -> None:
    draft = draft_from_file(TEST_CORPUS / "2025-06-03-memorandum-uk.md")
    path = add_article(tmp_path, draft)
    [original] = [
        a for a in load_corpus(TEST_CORPUS).articles if a.id == "2025-06-03-memorandum-uk"
    ]
    [copy] = load_corpus(tmp_path).articles
    assert (copy.title, copy.published, copy.url, copy.source, copy.language, copy.body) == (
        original.title,
        original.published,
        original.url,
        original.source,
        original.language,
        original.body,
    )
    assert path.name.startswith("2025-06-03-")


@pytest.mark.parametrize("bad", [{"url": "not a link"}, {"title": ""}])
def test_bad_metadata_writes_nothing(tmp_path: Path, bad: dict) -> None:
    draft = Draft(
        title="T",
        published=dt.date(2025, 1, 1),
        url="https://e.org/x",
        source="S",
        body="word " * 30,
    )
    for key, value in bad.items():
        setattr(draft, key, value)
    with pytest.raises(IngestError):
        add_article(tmp_path, draft)
    assert list(tmp_path.iterdir()) == []


def talks(*args: str) -> subprocess.CompletedProcess:
    command = [shutil.which("talks")] if shutil.which("talks") else [sys.executable, "-m", "bot"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TALKS_")}
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=120, env=env)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_talks_add_refuses_loopback_even_when_a_server_answers(
    server: int, tmp_path: Path, host: str
) -> None:
    result = talks("add", f"http://{host}:{server}/article", "--corpus", str(tmp_path / "corpus"))
    assert result.returncode == 1
    assert "Refusing to fetch" in result.stderr or "Cannot resolve" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "corpus").exists()


def test_talks_add_file_then_duplicate(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    ok = talks("add", str(TEST_CORPUS / "2025-05-16-prisoner-exchange.md"), "--corpus", str(corpus))
    assert ok.returncode == 0, ok.stderr
    assert "talks index" in ok.stdout
    again = talks(
        "add", str(TEST_CORPUS / "2025-05-16-prisoner-exchange.md"), "--corpus", str(corpus)
    )
    assert again.returncode == 1 and "Already in the corpus" in again.stderr
    assert len(list(corpus.glob("*.md"))) == 1
