"""The question log: it survives a killed process, `bot.store.report` groups what the articles
lack and exports labelled questions `talks eval` reads, and `talks log` prints both from SQLite
or PostgreSQL."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bot.store import ChatStore, LoggedQuestion, report
from index.evaluation import read_questions
from index.models import Answer, Quote

from .helpers import run

ROOT = Path(__file__).resolve().parent.parent
NOW = 1_750_000_000.0  # 2025-06-15 15:06 UTC
DAY = 86400.0
CHAT = -1001234567890
UKRAINE_RU = "Кто возглавляет украинскую делегацию?"
UKRAINE_RU_2 = "Кто возглавляет делегацию Украины?"
RUSSIA_RU = "Кто возглавляет делегацию России?"
UKRAINE_EN = "who leads ukraine's delegation"
UKRAINE_EN_2 = "who leads the ukrainian delegation?"
NEXT_ROUND = "when is the next round of talks"
UMEROV = "Делегацию Украины возглавил министр обороны Рустем Умеров."

# Logs questions in a loop and prints each row's id once it is committed.
WRITER = """
import sys
from pathlib import Path
from bot.store import ChatStore
from index.models import Answer

store = ChatStore.open(None, Path(sys.argv[1]))
n = 0
while True:
    n += 1
    q = f"Вопрос номер {n}: где пройдёт следующий раунд переговоров?"
    answer = Answer(question=q, answered=False, answer=None, quotes=[], language="ru")
    print(store.log(-1001234567890, q, answer, "v1"), flush=True)
"""


# --- helpers -------------------------------------------------------------------------------------


def row(
    id: int,
    question: str,
    *,
    answered: bool = False,
    feedback: int | None = None,
    correction: str | None = None,
    language: str = "ru",
) -> LoggedQuestion:
    """A logged row asked `id` minutes after NOW."""
    return LoggedQuestion(
        id=id,
        asked_at=NOW + 60 * id,
        message=question,
        question=question,
        follow_up=False,
        language=language,
        answered=answered,
        answer=UMEROV if answered else None,
        sources=[{"article": f"article-{id % 2}", "quote": UMEROV}] if answered else [],
        index_version="v1",
        feedback=feedback,
        correction=correction,
    )


def answer(question: str, *, answered: bool, language: str = "ru") -> Answer:
    quote = Quote(
        text=UMEROV,
        title="Переговоры в Стамбуле",
        url=None,
        published=None,
        article_id="2025-06-02-istanbul",
        start=0,
        end=len(UMEROV),
        score=0.9,
        sentence_start=0,
        sentence_end=len(UMEROV),
    )
    return Answer(
        question=question,
        answered=answered,
        answer=UMEROV if answered else None,
        quotes=[quote] if answered else [],
        language=language,
    )


def fill(store: ChatStore, now: float) -> dict[str, int]:
    """A log of the days before `now`, oldest first: a declined question ten days old, two
    declined Russian questions worded alike and a 👎 of the same with the reader's answer, a 👍,
    an answered unrated one, and a declined English one; the ids by name."""

    def logged(chat: int, question: str, days_ago: float, **options) -> int:
        return store.log(chat, question, answer(question, **options), "v1", now - days_ago * DAY)

    ids = {
        "old": logged(4, "Где прошли переговоры?", 10, answered=False),
        "ru": logged(CHAT, UKRAINE_RU, 3, answered=False),
        "down": logged(2, UKRAINE_RU, 2, answered=True),
        "ru2": logged(CHAT, UKRAINE_RU_2, 1, answered=False),
        "up": logged(3, UKRAINE_RU_2, 0.01, answered=True),
        "unrated": logged(3, "Где?", 0.005, answered=True),
        "en": logged(1, NEXT_ROUND, 0, answered=False, language="en"),
    }
    store.feedback(ids["down"], -1)
    store.await_correction(2, 500, ids["down"])
    store.correct(2, 500, "Рустем Умеров")
    store.feedback(ids["up"], 1)
    return ids


@pytest.fixture
def sqlite_log(tmp_path: Path) -> tuple[Path, dict[str, int], float]:
    """A data folder whose SQLite chat store holds fill()'s log up to now: the folder, the ids
    by name, and that now (`talks log` counts back from the real time)."""
    now = time.time()
    store = ChatStore.open(None, tmp_path / "data")
    try:
        return tmp_path / "data", fill(store, now), now
    finally:
        store.close()


def day(seconds: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(seconds))


def talks_log(data: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return run("log", *args, env={"TALKS_DATA_DIR": str(data), **env}, timeout=60)


# --- a killed process ----------------------------------------------------------------------------


def test_a_killed_writer_loses_no_committed_row(tmp_path: Path) -> None:
    """SIGKILL while logging: every id printed (committed) is there, the file is intact, and the
    store takes new rows."""
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(60, writer.kill)  # a hung writer fails the test, not the run
    watchdog.start()
    try:
        printed = []
        while len(printed) < 50:
            line = writer.stdout.readline()
            assert line, f"the writer ended: {writer.stderr.read()}"
            printed.append(int(line))
        writer.send_signal(signal.SIGKILL)
        rest = writer.stdout.read()  # what it printed before the signal landed
        writer.wait()
    finally:
        watchdog.cancel()
    assert writer.returncode == -signal.SIGKILL
    printed += [int(line) for line in rest.splitlines(keepends=True) if line.endswith("\n")]

    store = ChatStore.open(None, tmp_path)
    try:
        ids = {r.id for r in store.questions()}
        assert set(printed) <= ids
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        new = store.log(
            CHAT, "Вопрос после сбоя?", answer("Вопрос после сбоя?", answered=False), ""
        )
        assert new > max(ids)
        assert store.questions()[-1].question == "Вопрос после сбоя?"
    finally:
        store.close()


# --- report: grouping and labels -----------------------------------------------------------------


def test_questions_worded_alike_are_grouped_most_frequent_first() -> None:
    """Grouping by shared content terms about the same country: the Russian and the English
    wordings of one question each form a group ("ukraine's" and "ukrainian" are one country);
    the same words about another country, or another question, stay apart; the biggest group
    comes first, shown in its most asked wording."""
    rows = [
        row(1, UKRAINE_EN, language="en"),
        row(2, UKRAINE_RU),
        row(3, UKRAINE_EN_2, answered=True, feedback=-1, correction="Rustem Umerov", language="en"),
        row(4, NEXT_ROUND, language="en"),
        row(5, UKRAINE_RU_2),
        row(6, UKRAINE_RU, answered=True, feedback=-1, correction="Рустем Умеров"),
        row(7, UKRAINE_EN, language="en"),
        row(8, UKRAINE_RU),
        row(9, RUSSIA_RU),
    ]
    groups = report.group(rows)
    assert [[r.id for r in g.rows] for g in groups] == [[2, 5, 6, 8], [1, 3, 7], [9], [4]]
    russian, english, _, other = groups
    assert (russian.wording, russian.declined, russian.disliked) == (UKRAINE_RU, 3, 1)
    assert (english.wording, english.declined, english.disliked) == (UKRAINE_EN, 2, 1)
    assert (other.wording, other.declined, other.disliked) == (NEXT_ROUND, 1, 0)
    assert russian.corrections == ["Рустем Умеров"]

    lines = report.lines(groups, 7)
    assert lines == [
        "Declined or 👎 in the last 7 days: 9 questions, 4 subjects (most asked first):",
        f"4× {UKRAINE_RU} — not in my sources 3, 👎 1, last 2025-06-15",
        "    reader's answer: Рустем Умеров",
        f"3× {UKRAINE_EN} — not in my sources 2, 👎 1, last 2025-06-15",
        "    reader's answer: Rustem Umerov",
        f"1× {RUSSIA_RU} — not in my sources 1, 👎 0, last 2025-06-15",
        f"1× {NEXT_ROUND} — not in my sources 1, 👎 0, last 2025-06-15",
    ]
    assert report.lines(groups, 7, limit=1)[-1] == "… and 3 more subjects (talks log --limit N)"


def test_an_empty_log_says_so() -> None:
    assert report.lines(report.group([]), 30) == [
        "No declined or 👎 questions in the last 30 days."
    ]


def test_rated_and_declined_rows_become_labelled_questions(tmp_path: Path) -> None:
    """👍: its answer is expected; 👎 with the reader's answer: that; declined or 👎 alone: no
    expectation, for review; answered and unrated: left out. `talks eval` reads the file."""
    rows = [
        row(1, UKRAINE_RU, answered=True, feedback=1),
        row(2, UKRAINE_RU_2, answered=True, feedback=-1, correction="Рустем Умеров"),
        row(3, NEXT_ROUND, language="en"),
        row(4, "Где прошли переговоры?", answered=True),
        row(5, "Сколько пленных обменяли?", answered=True, feedback=-1),
    ]
    items = report.labelled(rows)
    labels = {i["id"]: (i["expect"], i["kind"], i["review"]) for i in items}
    assert labels == {
        "log-1": ([UMEROV], "reader_up", False),
        "log-2": (["Рустем Умеров"], "reader_corrected", True),
        "log-3": ([], "declined", True),
        "log-5": ([], "reader_down", True),
    }
    assert items[0]["articles"] == ["article-1"] and items[2]["lang"] == "en"

    path = tmp_path / "asked.jsonl"
    path.write_text(report.jsonl(items), encoding="utf-8")
    read = read_questions(path)
    assert [(q["id"], q["q"], q["expect"]) for q in read] == [
        (i["id"], i["q"], i["expect"]) for i in items
    ]


# --- `talks log` ---------------------------------------------------------------------------------


def test_talks_log_prints_the_grouped_failures(sqlite_log) -> None:
    """The declined and 👎 questions of the last 7 days, grouped; --days reaches further back."""
    data, _, now = sqlite_log
    done = talks_log(data)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "Declined or 👎 in the last 7 days: 4 questions, 2 subjects (most asked first):",
        f"3× {UKRAINE_RU} — not in my sources 2, 👎 1, last {day(now - DAY)}",
        "    reader's answer: Рустем Умеров",
        f"1× {NEXT_ROUND} — not in my sources 1, 👎 0, last {day(now)}",
    ]
    assert "Где прошли переговоры?" not in done.stdout

    wider = talks_log(data, "--days", "30", "--limit", "1")
    assert wider.returncode == 0, wider.stderr
    assert "5 questions, 3 subjects" in wider.stdout
    assert "… and 2 more subjects" in wider.stdout


def test_talks_log_exports_labelled_questions(sqlite_log, tmp_path: Path) -> None:
    """--export writes the rated and declined questions in talks eval's format."""
    data, ids, _ = sqlite_log
    out = tmp_path / "asked.jsonl"
    done = talks_log(data, "--export", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"5 labelled questions written to {out}"
    read = {q["id"]: (q["q"], q["expect"], q["kind"]) for q in read_questions(out)}
    assert read == {
        f"log-{ids['ru']}": (UKRAINE_RU, [], "declined"),
        f"log-{ids['down']}": (UKRAINE_RU, ["Рустем Умеров"], "reader_corrected"),
        f"log-{ids['ru2']}": (UKRAINE_RU_2, [], "declined"),
        f"log-{ids['up']}": (UKRAINE_RU_2, [UMEROV], "reader_up"),
        f"log-{ids['en']}": (NEXT_ROUND, [], "declined"),
    }
    first = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert (first["asked"], first["lang"], first["review"]) == (UKRAINE_RU, "ru", True)


def test_talks_log_runs_with_the_log_off(sqlite_log) -> None:
    """TALKS_QUESTION_LOG=off stops logging, not reading what was logged."""
    data, _, _ = sqlite_log
    done = talks_log(data, TALKS_QUESTION_LOG="off")
    assert done.returncode == 0, done.stderr
    assert "4 questions, 2 subjects" in done.stdout


@pytest.mark.parametrize(
    ("days", "code", "says"),
    [
        ("0", 1, "--days must be above 0"),
        ("nan", 1, "--days must be above 0"),
        ("a week", 2, "invalid float value: 'a week'"),
    ],
)
def test_talks_log_refuses_a_bad_days(tmp_path: Path, days: str, code: int, says: str) -> None:
    done = talks_log(tmp_path, "--days", days)
    assert (done.returncode, done.stdout) == (code, ""), done.stderr
    assert says in done.stderr


def test_talks_log_reads_postgresql(postgres_url: str, tmp_path: Path) -> None:
    """TALKS_DATABASE_URL (postgresql://…): the log is read from there, no SQLite file made."""
    store = ChatStore.open(postgres_url, tmp_path)
    try:
        fill(store, time.time())
    finally:
        store.close()
    url = "postgresql://" + postgres_url.split("://", 1)[1]
    data = tmp_path / "empty"
    done = talks_log(data, TALKS_DATABASE_URL=url)
    assert done.returncode == 0, done.stderr
    assert "4 questions, 2 subjects" in done.stdout
    assert f"3× {UKRAINE_RU}" in done.stdout
    assert not (data / "chats.sqlite3").exists()
