"""Reading articles: front matter, .txt, .html, malformed files, the seed article."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from index.corpus import (
    MAX_ARTICLE_BYTES,
    MAX_CORPUS_FILE_BYTES,
    fingerprint,
    load_corpus,
    read_article,
)
from index.errors import ArticleFormatError, CorpusError

from .conftest import SEED_ARTICLE, SEED_CORPUS, TEST_CORPUS

GOOD_MD = """---
title: "Делегації зустрілися в Стамбулі"
published: 2025-06-02
url: https://example.org/a
source: Test
language: uk
---

Делегації України та Росії зустрілися в Стамбулі. Переговори тривали менше двох годин.
"""


def write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_seed_article_is_clean_and_complete() -> None:
    corpus = load_corpus(SEED_CORPUS)
    assert corpus.problems == []
    [article] = corpus.articles
    assert article.title == (
        "Ukraine and Russia meet in Turkey for peace talks with few hopes for a breakthrough"
    )
    assert article.published == dt.date(2025, 6, 2)
    assert article.url and article.url.startswith("https://")
    assert "Post a Comment" not in article.body
    assert "Previous Post" not in article.body
    assert "Source:" not in article.body
    # Every paragraph of the raw article survives the conversion, word for word.
    raw = SEED_ARTICLE.read_text(encoding="utf-8")
    for paragraph in raw.split("\n\n"):
        if paragraph.startswith("The "):
            assert paragraph.strip() in article.body


def test_front_matter_cyrillic_round_trip(tmp_path: Path) -> None:
    write(tmp_path, "a.md", GOOD_MD)
    [article] = load_corpus(tmp_path).articles
    assert article.title == "Делегації зустрілися в Стамбулі"
    assert article.language == "uk"
    assert article.id == "a"
    assert article.body.startswith("Делегації України")


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        (GOOD_MD.replace('title: "Делегації зустрілися в Стамбулі"\n', ""), "title"),
        (GOOD_MD.replace("published: 2025-06-02", "published: someday"), "published"),
        (GOOD_MD.replace("url: https://example.org/a", "url: not-a-link"), "url"),
        (GOOD_MD.replace("source: Test\n", ""), "source"),
        ("---\ntitle: [unclosed\n---\nBody text that is long enough here.\n", "YAML"),
        ("No front matter at all, just some words in a markdown file.\n", "front matter"),
        (GOOD_MD.split("---\n\n")[0] + "---\n\n", "no body"),
    ],
)
def test_malformed_markdown_names_the_problem(tmp_path: Path, text: str, complaint: str) -> None:
    write(tmp_path, "bad.md", text)
    with pytest.raises(ArticleFormatError, match=complaint):
        read_article(tmp_path / "bad.md", tmp_path)


def test_malformed_article_is_skipped_and_reported(tmp_path: Path) -> None:
    write(tmp_path, "good.md", GOOD_MD)
    write(tmp_path, "broken.md", "---\ntitle: x\n---\n\nbody words here and more\n")
    write(
        tmp_path,
        "latin1.txt",
        "Caf\xe9 title\n\nSome text here in Latin-1 encoding.".encode("latin-1"),
    )
    corpus = load_corpus(tmp_path)
    assert [a.id for a in corpus.articles] == ["good"]
    assert len(corpus.problems) == 2
    assert any(p.startswith("broken.md:") and "published" in p for p in corpus.problems)
    assert any(p.startswith("latin1.txt:") and "UTF-8" in p for p in corpus.problems)


def test_txt_without_front_matter_uses_first_line_and_drops_boilerplate(tmp_path: Path) -> None:
    text = "My title\n\nFirst paragraph of the story, with words.\n\nPost a Comment\n\nPrevious Post Next Post\n"
    write(tmp_path, "story.txt", text)
    [article] = load_corpus(tmp_path).articles
    assert article.title == "My title"
    assert article.body == "First paragraph of the story, with words."
    assert article.published is None and article.url is None


def test_html_main_text_and_metadata_are_extracted() -> None:
    article = read_article(TEST_CORPUS / "grain-corridor.html", TEST_CORPUS)
    assert article.title == "TEST FIXTURE: Black Sea grain corridor talks stall"
    assert article.published == dt.date(2025, 6, 10)
    assert article.url == "https://example.org/test/grain-corridor"
    assert "premiums would stay high & exports would fall" in article.body  # entities decoded
    assert "Log in" not in article.body and "Cookie" not in article.body  # page furniture gone


def test_html_without_text_is_malformed(tmp_path: Path) -> None:
    write(tmp_path, "empty.html", "<html><head><title>x</title></head><body></body></html>")
    with pytest.raises(ArticleFormatError):
        read_article(tmp_path / "empty.html", tmp_path)


def test_readme_hidden_and_other_files_are_not_articles(tmp_path: Path) -> None:
    write(tmp_path, "README.md", "# How to write articles\n")
    write(tmp_path, ".draft.md", GOOD_MD)
    write(tmp_path, "notes.json", "{}")
    write(tmp_path, "sub/nested.md", GOOD_MD)
    corpus = load_corpus(tmp_path)
    assert [a.id for a in corpus.articles] == ["sub/nested"]


def test_missing_and_empty_corpus_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="No corpus folder"):
        load_corpus(tmp_path / "nope")
    write(tmp_path, "README.md", "only docs")
    with pytest.raises(CorpusError, match="has no articles"):
        load_corpus(tmp_path)


def test_fingerprint_changes_with_any_edit(tmp_path: Path) -> None:
    write(tmp_path, "a.md", GOOD_MD)
    before = fingerprint(tmp_path)
    assert fingerprint(tmp_path) == before
    write(tmp_path, "a.md", GOOD_MD.replace("менше", "більше"))
    assert fingerprint(tmp_path) != before
    edited = fingerprint(tmp_path)
    (tmp_path / "a.md").rename(tmp_path / "b.md")
    assert fingerprint(tmp_path) != edited


def test_crlf_files_read_like_lf(tmp_path: Path) -> None:
    write(tmp_path, "crlf.md", GOOD_MD.replace("\n", "\r\n"))
    write(tmp_path, "lf.md", GOOD_MD)
    a, b = load_corpus(tmp_path).articles
    assert a.body == b.body


def test_same_name_with_another_suffix_is_reported_not_mixed(tmp_path: Path) -> None:
    write(tmp_path, "story.md", GOOD_MD)
    write(tmp_path, "story.txt", "Other title\n\nOther text with a few more words in it.\n")
    corpus = load_corpus(tmp_path)
    assert [a.path for a in corpus.articles] == ["story.md"]
    assert corpus.problems == [
        "story.txt: same name as story.md apart from the suffix; rename one of them"
    ]


def test_unreadable_file_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import index.corpus

    write(tmp_path, "good.md", GOOD_MD)
    write(tmp_path, "locked.md", GOOD_MD.replace("менше", "більше"))
    real = index.corpus.read_article

    def read(path: Path, root: Path):
        if path.name == "locked.md":
            raise PermissionError(13, "Permission denied")
        return real(path, root)

    monkeypatch.setattr(index.corpus, "read_article", read)
    corpus = load_corpus(tmp_path)
    assert [a.id for a in corpus.articles] == ["good"]
    assert corpus.problems == ["locked.md: cannot be read (Permission denied)"]


# --- hostile and careless files: each one named with its reason, the rest still load ----------

BODY = (
    "\n\nДелегації України та Росії зустрілися в Стамбулі. Переговори тривали менше двох годин.\n"
)
META = (
    'title: "Меморандум"\npublished: 2025-06-03\nurl: https://example.org/m\nsource: Test\n'
    "language: uk\n"
)


def front(meta: str) -> str:
    return f"---\n{meta.rstrip()}\n---{BODY}"


def alias_bomb() -> str:
    lines = ["a0: &a0 [лол, лол, лол, лол, лол, лол, лол, лол, лол]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    return front("\n".join(lines) + "\n" + META.replace('title: "Меморандум"', "title: *a8"))


# (file name, content, what its problem line must say)
HOSTILE: list[tuple[str, str | bytes, str]] = [
    (
        "impossible-date.md",
        front(META.replace("2025-06-03", "2025-02-30")),
        "published: 2025-02-30 is not a real date (day is out of range for month)",
    ),
    ("year-zero.md", front(META.replace("2025-06-03", "0000-01-01")), "not a real date"),
    (
        "date-with-time.md",
        front(META.replace("2025-06-03", "2025-06-03 10:00:00")),
        "without a time",
    ),
    ("published-number.md", front(META.replace("2025-06-03", "12")), "published: must be a date"),
    (
        "title-list.md",
        front(META.replace('"Меморандум"', "[1, 2]")),
        "title: must be text, not a list",
    ),
    ("title-number.md", front(META.replace('"Меморандум"', "1984")), "put it in quotes"),
    (
        "url-mapping.md",
        front(META.replace("https://example.org/m", "{a: 1}")),
        "url: must be a link starting with http:// or https://, not a mapping",
    ),
    ("source-null.md", front(META.replace("source: Test", "source: null")), "source: must be text"),
    ("language-number.md", front(META.replace("language: uk", "language: 5")), "language code"),
    ("int-key.md", front(META + "1: 2\n"), "front matter key '1' is a number, not a field name"),
    ("unhashable-key.md", front(META + "? [a, b]\n: c\n"), "found unhashable key"),
    ("twice.md", front(META + "title: Інший\n"), "'title' is given twice"),
    ("alias-bomb.md", alias_bomb(), "title: must be text, not a list"),
    ("deep.md", front(META + "x: " + "[" * 3000 + "]" * 3000), "nested too deeply"),
    ("deep-block.md", front(META + "x:\n" + "- " * 3000 + "y"), "nested too deeply"),  # recursion
    (
        "python-tag.md",
        front(META + "x: !!python/object/apply:os.system [echo hi]\n"),
        "YAML tags are not allowed",
    ),
    ("unclosed-yaml.md", front(META + "x: [unclosed\n"), "not valid YAML (line 7"),
    ("list-front-matter.md", front("- a\n- b"), "must be 'key: value' lines, not a list"),
    ("empty-front-matter.md", f"---\n---{BODY}", "the front matter is empty"),
    ("unclosed-front-matter.md", f"---\n{META}{BODY}", "front matter is not closed"),
    ("long-front-matter.md", front(META + "x: " + "я" * 25_000), "longer than 20,000 characters"),
    ("only-front-matter.md", f"---\n{META}---\n", "no body text after the front matter"),
    ("no-front-matter.md", BODY, "no front matter"),
    ("short.txt", "Заголовок\n\nлише чотири слова тут", "no body text (fewer than 5 words)"),
    ("latin1.txt", "Café\n\nUn texte en Latin-1, pas en UTF-8.".encode("latin-1"), "not UTF-8"),
    ("utf16.md", front(META).encode("utf-16"), "UTF-16 text, not UTF-8: save it again as UTF-8"),
    ("junk.md", bytes(range(256)) * 4, "a binary file, not text (it contains NUL bytes)"),
    ("nul.txt", f"Заголовок\x00\n{BODY}".encode(), "a binary file"),
    ("empty.md", b"", "the file is empty"),
    ("blank.txt", " \n\t\n", "only whitespace"),
    ("empty.html", b"", "the file is empty"),
    ("no-text.html", "<html><head><title>x</title></head><body></body></html>", "no article text"),
    ("huge.md", "слово " * 50_000, "larger than 500 KB: split it into several articles"),
]


@pytest.mark.parametrize(("name", "content", "reason"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_file_is_refused_with_its_reason(
    tmp_path: Path, name: str, content: str | bytes, reason: str
) -> None:
    write(tmp_path, name, content)
    with pytest.raises(ArticleFormatError) as caught:  # and nothing else
        read_article(tmp_path / name, tmp_path)
    assert reason in str(caught.value)


def test_corpus_of_hostile_files_loads_the_good_ones_and_names_each_bad_one(tmp_path: Path) -> None:
    for name, content, _ in HOSTILE:
        write(tmp_path, name, content)
    write(tmp_path, "2025-06-02-добра.md", GOOD_MD)
    write(tmp_path, "quoted-date.md", front(META.replace("2025-06-03", '"2025-06-03"')))
    write(tmp_path, "plain.txt", f"Заголовок статті\n{BODY}")
    corpus = load_corpus(tmp_path)  # does not raise
    assert sorted(a.id for a in corpus.articles) == ["2025-06-02-добра", "plain", "quoted-date"]
    problems = dict(p.split(": ", 1) for p in corpus.problems)
    assert sorted(problems) == sorted(name for name, _, _ in HOSTILE)
    for name, _, reason in HOSTILE:
        assert reason in problems[name], (name, problems[name])
    assert all("\n" not in p for p in corpus.problems)  # one line each


def test_over_size_file_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "good.md", GOOD_MD)
    with (tmp_path / "huge.md").open("wb") as fh:
        fh.truncate(2_000_000_000)  # sparse: 2 GB by stat(), nothing on disk
    with (tmp_path / "huge.html").open("wb") as fh:
        fh.truncate(MAX_ARTICLE_BYTES + 1)
    opened: list[str] = []
    real_open = Path.open

    def spy(self: Path, *args, **kwargs):
        opened.append(self.name)
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", spy)
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail(f"read_bytes({self})"))
    corpus = load_corpus(tmp_path)
    assert [a.id for a in corpus.articles] == ["good"]
    assert corpus.problems == [
        "huge.html: 5,000,001 bytes, larger than 5 MB: save the article's text as a .md file "
        "instead (see corpus/README.md)",
        "huge.md: 2,000,000,000 bytes, larger than 500 KB: split it into several articles, "
        "each under 500 KB",
    ]
    assert "huge.md" not in opened and "huge.html" not in opened  # not read, not even hashed
    assert MAX_CORPUS_FILE_BYTES == 500_000


def test_html_whose_text_is_over_size_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import index.corpus

    page = index.corpus.HtmlArticle(
        title="T", published=None, url=None, source=None, language="en", body="слово " * 60_000
    )
    monkeypatch.setattr(index.corpus, "extract_html", lambda text: page)
    write(tmp_path, "big.html", "<html><title>T</title><p>x</p></html>")
    with pytest.raises(ArticleFormatError, match="larger than 500 KB: split it"):
        read_article(tmp_path / "big.html", tmp_path)


def test_unexpected_failures_become_one_line_problems(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import index.corpus

    write(tmp_path, "good.md", GOOD_MD)
    write(tmp_path, "odd.md", GOOD_MD.replace("менше", "більше"))

    def front_matter(block: str):
        raise KeyError("surprise\nsecond line")

    monkeypatch.setattr(index.corpus, "_front_matter", front_matter)
    with pytest.raises(ArticleFormatError, match="could not be read: KeyError: 'surprise"):
        read_article(tmp_path / "odd.md", tmp_path)

    def read(path: Path, root: Path):  # even if read_article itself failed unexpectedly
        raise RuntimeError("boom\nmore")

    monkeypatch.setattr(index.corpus, "read_article", read)
    corpus = load_corpus(tmp_path)
    assert corpus.articles == []
    assert corpus.problems == [
        "good.md: could not be read: RuntimeError: boom",
        "odd.md: could not be read: RuntimeError: boom",
    ]


def test_file_names_that_are_not_utf8_or_hold_newlines_are_named_on_one_line(
    tmp_path: Path,
) -> None:
    import os

    write(tmp_path, "good.md", GOOD_MD)
    try:
        os.close(os.open(os.fsencode(tmp_path) + b"/bad\xffname.md", os.O_CREAT | os.O_WRONLY))
    except OSError:
        pytest.skip("this file system refuses names that are not UTF-8")
    write(tmp_path, "line\nbreak.md", "")
    corpus = load_corpus(tmp_path)
    assert [a.id for a in corpus.articles] == ["good"]
    assert sorted(corpus.problems) == [
        "bad\\udcffname.md: the file name is not valid UTF-8: rename it",
        "line\\nbreak.md: the file is empty: write the article in it (see corpus/README.md) "
        "or delete it",
    ]
    assert fingerprint(tmp_path)  # hashes such names too


def test_dates_quoted_or_not_and_extra_keys_are_fine(tmp_path: Path) -> None:
    extra = "tags: [мир, переговори]\nupdated: 2025-02-30\n'1': одне\n"  # unknown keys ignored
    write(tmp_path, "a.md", front(META.replace("2025-06-03", '"2025-06-03"') + extra))
    [article] = load_corpus(tmp_path).articles
    assert article.published == dt.date(2025, 6, 3) and article.title == "Меморандум"
