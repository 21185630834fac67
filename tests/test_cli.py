"""The real `talks` command in a subprocess: first-run build, answers, JSON, bad input, bad index."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import SEED_CORPUS, TEST_CORPUS, copy_corpus
from .helpers import TALKS, at, run, where

pytestmark = pytest.mark.model


def test_index_prints_summary_and_reports_the_malformed_article(workspace: dict) -> None:
    stderr = str(workspace["build_stderr"])
    assert "skipped broken.md" in stderr and "published" in stderr
    summary = [line for line in stderr.splitlines() if line.startswith("Indexed ")]
    assert summary, stderr
    assert "Indexed 5 articles, 1 skipped [5 added, 0 changed, 0 removed, 0 unchanged" in summary[0]
    assert " passages" in summary[0]
    seconds, rate = re.search(r" in ([\d.]+) s \(([\d.]+) articles/s\) → ", summary[0]).groups()
    assert float(rate) == pytest.approx(5 / float(seconds), rel=0.1, abs=0.1)


def test_ask_json_has_the_promised_shape_and_verbatim_quotes(workspace: dict) -> None:
    result = run("ask", "--json", "who leads Ukraine's delegation", *where(workspace))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["question"] == "who leads Ukraine's delegation"
    assert data["answered"] is True
    assert "Umerov" in data["answer"]
    assert 1 <= len(data["quotes"]) <= 3
    bodies = {}
    for line in (workspace["index"] / "versions").glob("*/articles.jsonl"):
        for row in line.read_text(encoding="utf-8").splitlines():
            article = json.loads(row)
            bodies[article["id"]] = article["body"]
    for quote in data["quotes"]:
        assert {
            "text",
            "title",
            "url",
            "published",
            "article_id",
            "start",
            "end",
            "score",
        } <= quote.keys()
        assert bodies[quote["article_id"]][quote["start"] : quote["end"]] == quote["text"]
    # and the same text is in the article file the editor wrote
    source = (workspace["corpus"] / "2025-06-02-ukraine-russia-talks-turkey.md").read_text(
        encoding="utf-8"
    )
    assert data["quotes"][0]["text"] in source


def test_ask_text_output_names_title_date_and_link(workspace: dict) -> None:
    result = run("ask", "Where did the delegations meet?", *where(workspace))
    assert result.returncode == 0, result.stderr
    assert "Istanbul" in result.stdout
    assert "Quotes:" in result.stdout
    assert "(2025-06-02)" in result.stdout and "https://" in result.stdout


def test_unanswerable_question_is_not_an_error_and_says_so(workspace: dict) -> None:
    result = run("ask", "--json", "What is the weather in Kyiv tomorrow?", *where(workspace))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "question": "What is the weather in Kyiv tomorrow?",
        "answered": False,
        "answer": None,
        "quotes": [],
        "language": "en",  # of the question; the fixed reply texts follow it
        "as_of": None,  # no source, no date
        "newest_source": None,
        "stale": False,
        "beyond_sources": False,
        "asked": None,  # a question of its own, not a follow-up completed from --after
    }
    result = run("ask", "Who is the president of France?", *where(workspace))
    assert result.returncode == 0
    assert "Not in my sources" in result.stdout


@pytest.mark.parametrize("question", ["", "   ", "\n\t "])
def test_empty_question_gets_usage_and_nonzero_exit(workspace: dict, question: str) -> None:
    result = run("ask", question, *where(workspace))
    assert result.returncode == 2
    assert "empty" in result.stderr and "usage: talks ask" in result.stderr
    assert result.stdout == ""


def test_no_question_at_all_gets_usage(workspace: dict) -> None:
    result = run("ask", "--index", str(workspace["index"]))
    assert result.returncode == 2 and "usage" in result.stderr


def test_huge_question_is_refused_fast_and_cleanly(workspace: dict) -> None:
    started = time.perf_counter()
    result = run("ask", "why?" * 2500, *where(workspace))
    elapsed = time.perf_counter() - started
    assert result.returncode == 2
    assert "10,000 characters" in result.stderr and "at most 1,000" in result.stderr
    assert "Traceback" not in result.stderr
    assert elapsed < 30  # refused before the model is even loaded


def test_first_ask_builds_the_index_then_reuses_it(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(SEED_CORPUS, corpus)
    index = tmp_path / "idx"
    env = {"TALKS_CORPUS_DIR": str(corpus), "TALKS_INDEX_DIR": str(index)}
    first = run("ask", "--json", "Who is Vladimir Medinsky?", env=env)
    assert first.returncode == 0, first.stderr
    assert "building it" in first.stderr and "Indexed 1 article" in first.stderr
    assert "aide" in json.loads(first.stdout)["answer"]
    version = (index / "CURRENT").read_text()
    second = run("ask", "--json", "Who is Vladimir Medinsky?", env=env)
    assert second.returncode == 0
    assert "building" not in second.stderr
    assert (index / "CURRENT").read_text() == version
    assert json.loads(second.stdout) == json.loads(first.stdout)


def test_changed_corpus_is_refused_until_reindexed(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(SEED_CORPUS, corpus)
    index = tmp_path / "idx"
    assert run("index", *at(corpus, index)).returncode == 0
    shutil.copy(TEST_CORPUS / "2025-05-16-prisoner-exchange.md", corpus)
    stale = run("ask", "how many prisoners", *at(corpus, index))
    assert stale.returncode == 1
    assert "corpus has changed" in stale.stderr and "talks index" in stale.stderr
    assert run("index", *at(corpus, index)).returncode == 0
    fresh = run("ask", "--json", "how many prisoners of war will be exchanged", *at(corpus, index))
    assert fresh.returncode == 0
    assert "1,000" in json.loads(fresh.stdout)["answer"]


def test_empty_or_missing_corpus_is_a_clear_message(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "README.md").write_text("docs only")
    result = run("index", "--corpus", str(empty), "--index", str(tmp_path / "i"))
    assert result.returncode == 1
    assert "has no articles" in result.stderr and "Traceback" not in result.stderr
    result = run("ask", "who?", "--corpus", str(tmp_path / "nope"), "--index", str(tmp_path / "i"))
    assert result.returncode == 1
    assert "No corpus folder" in result.stderr


def test_corpus_of_only_malformed_articles_names_them(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.md").write_text("no front matter here, just text in a file\n")
    result = run("index", "--corpus", str(corpus), "--index", str(tmp_path / "i"))
    assert result.returncode == 1
    assert "a.md" in result.stderr and "front matter" in result.stderr
    assert not (tmp_path / "i" / "CURRENT").exists()


def test_bad_setting_is_reported_by_name(tmp_path: Path) -> None:
    result = run("ask", "who?", env={"TALKS_RETRIEVAL__TOP_K": "zero"})
    assert result.returncode == 1 and "TALKS_RETRIEVAL__TOP_K" in result.stderr
    assert "zero" not in result.stderr  # values are never echoed (one may be the token)
    result = run("ask", "who?", env={"TALKS_TOPK": "3"})
    assert result.returncode == 1 and "Unknown setting TALKS_TOPK" in result.stderr
    result = run("ask", "who?", env={"TALKS_TOP_K": "3"})  # the name before stages were nested
    assert result.returncode == 1 and "did you mean TALKS_RETRIEVAL__TOP_K" in result.stderr


def test_undecodable_question_bytes_are_refused_cleanly(workspace: dict) -> None:
    command = [TALKS] if TALKS else [sys.executable, "-m", "bot"]
    result = subprocess.run(
        [*command, "ask", b"\xff\xfe who".decode("utf-8", "surrogateescape"), *where(workspace)],
        capture_output=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if not k.startswith("TALKS_")},
    )
    assert result.returncode == 2
    assert b"not valid text" in result.stderr and b"Traceback" not in result.stderr


def test_index_path_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "index"
    blocker.write_text("not a folder")
    result = run("index", *at(SEED_CORPUS, blocker))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == f"talks: File exists ({blocker})"  # names the path


def test_index_names_and_skips_hostile_files(tmp_path: Path) -> None:
    """The impossible date that once stopped every build, and other malformed files, are
    named with their reason; the good article is indexed."""
    from .conftest import copy_corpus

    corpus = copy_corpus(tmp_path / "corpus", SEED_CORPUS)
    good = (corpus / "2025-06-02-ukraine-russia-talks-turkey.md").read_text(encoding="utf-8")
    (corpus / "impossible-date.md").write_text(
        good.replace("published: 2025-06-02", "published: 2025-02-30"), encoding="utf-8"
    )
    (corpus / "latin1.txt").write_bytes(
        "Café\n\nUn texte en Latin-1, pas en UTF-8.".encode("latin-1")
    )
    (corpus / "junk.md").write_bytes(bytes(range(256)) * 4)
    (corpus / "empty.md").write_bytes(b"")
    with (corpus / "huge.md").open("wb") as fh:
        fh.truncate(2_000_000)
    (corpus / "wrong-types.md").write_text(
        good.replace('title: "Ukraine', 'title: [1, 2]\nx: "Ukraine'), encoding="utf-8"
    )
    result = run("index", *at(corpus, tmp_path / "index"))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    for line in [
        "talks: skipped empty.md: the file is empty",
        "talks: skipped huge.md: 2,000,000 bytes, larger than 500 KB: split it into several",
        "talks: skipped impossible-date.md: bad front matter (published: 2025-02-30 is not a real",
        "talks: skipped junk.md: a binary file, not text (it contains NUL bytes)",
        "talks: skipped latin1.txt: not UTF-8 text",
        "talks: skipped wrong-types.md: bad front matter (title: must be text, not a list)",
    ]:
        assert line in result.stderr, result.stderr
    assert "Indexed 1 article, 6 skipped" in result.stderr


def test_index_on_a_terminal_shows_progress_with_the_time_left(tmp_path: Path) -> None:
    """On a terminal `talks index` draws a bar for reading the articles, then one for embedding,
    each with its count, rate and time left (tqdm); the summary gives articles/s."""
    import fcntl
    import pty
    import struct
    import termios

    corpus = copy_corpus(tmp_path / "corpus", SEED_CORPUS, TEST_CORPUS)
    leader, follower = pty.openpty()
    # a terminal 120 columns wide (a new pty has none, and tqdm then draws nothing)
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TALKS_")}
    process = subprocess.Popen(
        [
            *([TALKS] if TALKS else [sys.executable, "-m", "bot"]),
            "index",
            *at(corpus, tmp_path / "index"),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=follower,
        env=env,
    )
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closes when the process ends
            break
        if not chunk:
            break
        output += chunk
    assert process.wait(timeout=300) == 0
    os.close(leader)
    text = output.decode("utf-8", errors="replace")
    assert re.search(r"Reading: +\d+%\|.*\| \d+/\d+ \[[\d:]+<[\d:]+, ", text), text[-2000:]
    embedding = re.findall(r"Embedding: +(\d+)%\|.*?\| (\d+)/(\d+) \[[\d:]+<([\d:?]+)", text)
    passages, sentences = map(
        int,
        re.search(r"(\d+) passages .*?(\d+) sentences", text).groups(),  # type: ignore[union-attr]
    )
    # every text a model reads: MiniLM's passages (their sentences pooled), e5's both
    assert {int(total) for _, _, total, _ in embedding} == {2 * passages + sentences}
    assert int(embedding[-1][1]) >= 0.8 * (2 * passages + sentences)  # redraws are throttled
    assert any(left[0].isdigit() for *_, left in embedding)  # the time left, once it is known
    assert "text/s" in text and re.search(r"\(\d+\.\d articles/s\) → ", text)


def test_ask_after_completes_a_follow_up_and_an_empty_after_is_no_previous(workspace) -> None:
    result = run(
        "ask", "--after", "who leads Ukraine's delegation", "and russia's?", *where(workspace)
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Answering: who leads russia's delegation\n")
    alone = run("ask", "--after", " ", "Where did the delegations meet?", *where(workspace))
    assert alone.returncode == 0 and "Answering" not in alone.stdout
    assert "Istanbul" in alone.stdout
