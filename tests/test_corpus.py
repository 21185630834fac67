"""Reading articles: front matter, .txt, .html, malformed files, the seed article."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from index.corpus import fingerprint, load_corpus, read_article
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
