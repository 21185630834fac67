"""Adding articles: files and pages become front-matter Markdown; fetching refuses anything but
public http(s) pages (SSRF), caps size and time, checks the content type; duplicates refused."""

from __future__ import annotations

import datetime as dt
import http.server
import ipaddress
import os
import re
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
    MAX_TITLE_CHARS,
    Draft,
    DuplicateArticleError,
    IngestError,
    add_article,
    draft_from_file,
    draft_from_page,
    draft_from_upload,
    fetch,
    is_public,
    max_corpus_file_bytes,
    safe_file_name,
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
        elif self.path == "/to-malformed":
            self.send(302, b"", "text/html", Location="http://[::1/x")
        elif self.path == "/long-title":
            body = "Long title " * 500 + "\n\n" + "Plain body sentence with enough words. " * 5
            self.send(200, body.encode(), "text/plain; charset=utf-8")
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


# --- reliability: malformed links, hostile file names, long titles, size caps, races ---------

TOKEN = "123456789:AAFakeTokenForTestsOnly_abcdefghijk"
PRISONERS = TEST_CORPUS / "2025-05-16-prisoner-exchange.md"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://[::1", "malformed (Invalid IPv6 URL)"),
        ("http://[zz]/a", "malformed"),
        ("http://[::1]junk/a", "host is malformed"),
        ("http://", "no host name"),
        ("http:///x", "no host name"),
        ("http:example.org", "no host name"),
        ("", "empty"),
        ("http://exa mple.com/a", "contains a space"),
        ("http://exa\nmple.com/a", "control character"),
        ("http://exa\x00mple.com/a", "control character"),
        ("http://example.com/a\x00b", "control character"),
        ("http://ex\u200bample.com/a", "ZERO WIDTH SPACE"),
        ("http://999.1.1.1.1/a", "not a valid IP address"),
        ("http://256.1.1.1/a", "not a valid IP address"),
        ("http://a..b/a", "Bad host name"),
        ("http://-news-.test/a", "Bad host name"),
        ("http://%65xample.com/a", "Bad host name"),
        ("http://example.com:0/a", "port '0'"),
        ("http://user:secret@example.com/a", "user name or password"),
        ("ftp://x", "Only http and https"),
        ("javascript:alert(1)", "Only http and https"),
        ("data:text/html,hi", "Only http and https"),
        ("http://example.com/" + "a" * 5000, "5,019 characters long; at most 2,048"),
        ("http://" + "a" * 300 + ".com/", "Bad host name"),
    ],
)
def test_malformed_links_are_refused_clearly_before_any_lookup(url: str, message: str) -> None:
    asked: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["93.184.216.34"]

    with pytest.raises(IngestError, match=re.escape(message)) as refused:
        fetch(url, resolver=resolver)
    assert asked == []  # refused before DNS, let alone a connection
    text = str(refused.value)
    assert "\n" not in text and "\x00" not in text and len(text) < 300, text


def test_a_link_with_an_empty_port_or_odd_case_still_works(server: int) -> None:
    page = fetch(
        f"HTTP://News.Test:{server}/article",
        resolver=local({"news.test": "127.0.0.1"}),
        **LOOPBACK_ONLY,
    )
    assert "grain corridor" in page.text
    with pytest.raises(IngestError, match=r"Cannot resolve news\.test"):
        fetch("http://news.test:/a", resolver=local({}))  # "host:" is the default port


def test_redirect_to_a_malformed_link_is_a_clear_refusal(server: int) -> None:
    # httpx itself refuses the Location (it builds the next request even when not following)
    with pytest.raises(IngestError, match=r"RemoteProtocolError \(Invalid URL in location header"):
        fetch(
            f"http://news.test:{server}/to-malformed",
            resolver=local({"news.test": "127.0.0.1"}),
            **LOOPBACK_ONLY,
        )


def talks_at_once(*commands: list[str], env: dict[str, str] | None = None) -> list:
    """Several `talks` processes started together; (returncode, stdout, stderr) of each."""
    command = [shutil.which("talks")] if shutil.which("talks") else [sys.executable, "-m", "bot"]
    base = {k: v for k, v in os.environ.items() if not k.startswith("TALKS_")}
    procs = [
        subprocess.Popen(
            [*command, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**base, **(env or {})},
        )
        for args in commands
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    return [(p.returncode, *out) for p, out in zip(procs, outputs, strict=True)]


def test_talks_add_refuses_malformed_links_in_one_line(tmp_path: Path) -> None:
    corpus = str(tmp_path / "corpus")
    links = {
        "http://[::1": "malformed",
        "http://exa mple.com": "contains a space",
        "http://999.1.1.1.1": "not a valid IP address",
        "javascript:alert(1)": "Only http and https",
        "http://x.org/" + "y" * 3000: "at most 2,048",
    }
    results = talks_at_once(
        *[["add", link, "--corpus", corpus] for link in links],
        env={"TELEGRAM_BOT_TOKEN": TOKEN},
    )
    for (link, message), (code, out, err) in zip(links.items(), results, strict=True):
        assert code == 1, (link, err)
        assert err.startswith("talks: ") and message in err, (link, err)
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, (link, err)
        assert TOKEN not in out + err
    assert not (tmp_path / "corpus").exists()


ARTICLE_MD = PRISONERS.read_bytes()


@pytest.mark.parametrize(
    "name",
    [
        "prisoners\x00.md",
        "pris\x1b[31moners\x07.md",
        "../../etc/cron.d/prisoners.md",
        "..\\..\\windows\\prisoners.md",
        "/absolute/prisoners.md",
        "...md",
        "..",
        ".hidden.md",
        "p" * 5000 + ".md",
        "й" * 300 + ".md",
        "invoice\u202edm.txt.md",
        "  spaced   name  .MD",
    ],
)
def test_uploaded_file_names_are_made_safe(tmp_path: Path, name: str) -> None:
    safe = safe_file_name(name)
    assert safe and "/" not in safe and "\\" not in safe
    assert not safe.startswith(".") and safe.isprintable()
    assert len(safe.encode()) <= 120
    corpus = tmp_path / "corpus"
    if not name.lower().rstrip().endswith(".md"):
        with pytest.raises(IngestError, match=r"only \.md, \.txt and \.html"):
            draft_from_upload(name, ARTICLE_MD)
        return
    assert safe.endswith(".md")
    draft = draft_from_upload(name, ARTICLE_MD)
    path = add_article(corpus, draft)
    assert path.parent == corpus and path.name.isascii() and path.name.isprintable()
    assert [p.name for p in corpus.iterdir() if not p.name.startswith(".")] == [path.name]
    assert [a.title for a in load_corpus(corpus).articles] == [draft.title]


def test_an_oversize_upload_is_refused_before_it_is_written(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="at most 5,000,000 bytes"):
        draft_from_upload("big.md", b"x" * 5_000_001)
    big = tmp_path / "big.md"
    with big.open("wb") as fh:  # sparse: the size is checked before anything is read
        fh.truncate(6_000_000_000)
    with pytest.raises(IngestError, match=r"big\.md is 6,000,000,000 bytes"):
        draft_from_file(big)
    with pytest.raises(IngestError, match="not a file"):
        draft_from_file(Path("/dev/zero"))


def test_long_titles_are_cut_at_a_word_boundary(server: int, tmp_path: Path) -> None:
    page = fetch(
        f"http://news.test:{server}/long-title",
        resolver=local({"news.test": "127.0.0.1"}),
        **LOOPBACK_ONLY,
    )
    draft = draft_from_page(page)
    draft.published = dt.date(2025, 1, 2)
    path = add_article(tmp_path / "web", draft)
    [article] = load_corpus(tmp_path / "web").articles
    assert article.title == draft.title and len(article.title) <= MAX_TITLE_CHARS
    assert article.title.endswith("Long title…") and article.title.startswith("Long title Long")
    assert len(path.name) < 100
    # the same from a file, with a title of one 5,000-character line and control characters
    long = tmp_path / "long.md"
    words = " ".join(f"word{i}" for i in range(700))  # ~5,000 characters
    long.write_text(
        PRISONERS.read_text(encoding="utf-8").replace(
            "title: ", f'title: "\\e{words}\\t"\nold_title: ', 1
        ),
        encoding="utf-8",
    )
    draft = draft_from_file(long)
    assert len(draft.title or "") > 4000
    add_article(tmp_path / "file", draft)
    [article] = load_corpus(tmp_path / "file").articles
    assert len(article.title) <= MAX_TITLE_CHARS and article.title.endswith("…")
    assert words.startswith(article.title[:-1]) and article.title[-2].isdigit()
    assert article.title.isprintable()


def test_markdown_with_broken_front_matter_is_refused_not_added_as_text(tmp_path: Path) -> None:
    broken = tmp_path / "broken.md"
    broken.write_text("---\ntitle: [unclosed\n---\n\n" + "Some words here. " * 10)
    with pytest.raises(IngestError, match=r"broken\.md: front matter is not valid YAML"):
        draft_from_file(broken)


def test_an_article_larger_than_the_corpus_reads_is_refused(tmp_path: Path) -> None:
    cap = max_corpus_file_bytes()
    assert cap == 500_000  # index/corpus.py's MAX_CORPUS_FILE_BYTES
    sentence = "Delegates met again in Istanbul and exchanged more prisoners of war today. "
    base = {
        "title": "T",
        "published": dt.date(2025, 1, 1),
        "url": "https://e.org/x",
        "source": "S",
    }
    too_big = Draft(**base, body=sentence * (cap // len(sentence) + 10))
    with pytest.raises(IngestError, match=r"too long for the corpus: .* at most 500,000 bytes"):
        add_article(tmp_path, too_big)
    assert [p for p in tmp_path.iterdir() if not p.name.startswith(".")] == []
    fits = Draft(**base, body=sentence * (cap // len(sentence) - 10))
    add_article(tmp_path, fits)
    corpus = load_corpus(tmp_path)
    assert len(corpus.articles) == 1 and corpus.problems == []  # added and read, not skipped


def test_two_simultaneous_adds_of_one_article_add_it_once(tmp_path: Path) -> None:
    """In threads: both reach the duplicate check together (a corpus of 40 articles takes a
    while to read), so without the lock both wrote it, as x.md and x-2.md."""
    draft = draft_from_file(PRISONERS)
    for round_ in range(3):
        corpus = tmp_path / f"corpus{round_}"
        copy_some(corpus, 40)
        outcomes = add_together(corpus, [Draft(**draft.__dict__) for _ in range(2)])
        added = [o for o in outcomes if o.endswith(".md")]
        assert len(added) == 1, outcomes
        assert next(o for o in outcomes if o not in added).startswith("Already in the corpus")
        assert len(list(corpus.glob("2025-05-16-*.md"))) == 1


def add_together(corpus: Path, drafts: list[Draft]) -> list[str]:
    """add_article of each draft, in threads released together: the written file names, or
    the messages of the duplicates refused."""
    barrier = threading.Barrier(len(drafts))
    outcomes: list[str] = []

    def add(draft: Draft) -> None:
        barrier.wait()
        try:
            outcomes.append(add_article(corpus, draft).name)
        except DuplicateArticleError as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=add, args=(draft,)) for draft in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def copy_some(corpus: Path, n: int) -> None:
    """n article files in a new corpus folder (the real articles, repeated under other names)."""
    from .conftest import REAL_CORPUS

    corpus.mkdir()
    files = sorted(REAL_CORPUS.glob("*.md"))
    for k in range(n):
        shutil.copy(
            files[k % len(files)], corpus / f"{k // len(files)}-{files[k % len(files)].name}"
        )


def test_talks_add_processes_at_once_add_the_article_once(tmp_path: Path) -> None:
    """Three processes started together all read the corpus (300 files: long enough that their
    reads overlap) before one writes: without the lock two or three of them wrote it."""
    corpus = tmp_path / "corpus"
    copy_some(corpus, 300)
    results = talks_at_once(*[["add", str(PRISONERS), "--corpus", str(corpus)]] * 3)
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 1, 1], results
    for refused in [err for code, _, err in results if code == 1]:
        assert refused.startswith("talks: Already in the corpus") and "same link" in refused
    assert len(list(corpus.glob("2025-05-16-*.md"))) == 1


def test_talks_add_refuses_bad_files_in_one_line(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    sparse = tmp_path / "huge.md"
    with sparse.open("wb") as fh:
        fh.truncate(6_000_000)
    broken = tmp_path / "broken.md"
    broken.write_text("---\ntitle: [unclosed\n---\n\n" + "Some words here. " * 10)
    pdf = tmp_path / "paper.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    long = tmp_path / "long.md"
    long.write_text(
        PRISONERS.read_text(encoding="utf-8")
        + "\n\nDelegates met again and exchanged more prisoners of war. " * 10_000,
        encoding="utf-8",
    )
    files = {
        str(tmp_path): "is not a file",
        "/dev/zero": "is not a file",
        str(tmp_path / "missing.md"): "No file at",
        str(sparse): "huge.md is 6,000,000 bytes; files of at most 5,000,000",
        str(broken): "broken.md: front matter is not valid YAML",
        str(pdf): "only .md, .txt and .html",
        # the corpus loader's own cap on a Markdown file, or talks add's on the text it writes
        str(long): ("larger than 500 KB", "too long for the corpus"),
    }
    results = talks_at_once(
        *[["add", name, "--corpus", str(corpus)] for name in files],
        env={"TELEGRAM_BOT_TOKEN": TOKEN},
    )
    for (name, message), (code, out, err) in zip(files.items(), results, strict=True):
        assert code == 1, (name, err)
        assert any(m in err for m in ((message,) if isinstance(message, str) else message)), err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, (name, err)
        assert TOKEN not in out + err
    assert not corpus.exists() or [p.name for p in corpus.iterdir()] == [".add.lock"]
