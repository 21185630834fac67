"""Shared fixtures. The real model and real FAISS are loaded once per session."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEED_CORPUS = ROOT / "corpus"
TEST_CORPUS = Path(__file__).resolve().parent / "data" / "corpus"
DEV_QUESTIONS = ROOT.parent / "shared" / "dev_questions.jsonl"

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's TALKS_* settings."""
    for key in list(os.environ):
        if key.startswith("TALKS_"):
            monkeypatch.delenv(key)


@pytest.fixture(scope="session")
def encoder():
    from index.encoder import MiniLMEncoder

    return MiniLMEncoder(threads=1)


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory, encoder) -> Path:
    """The real corpus/ built into a session-wide index."""
    from index.builder import build_index
    from index.encoder import E5Encoder

    out = tmp_path_factory.mktemp("seed-index")
    build_index(SEED_CORPUS, out, encoder, multilingual=lambda: E5Encoder(threads=2))
    return out


@pytest.fixture(scope="session")
def seed_retriever(seed_index: Path, encoder):
    from index.retriever import Retriever

    return Retriever.open(seed_index, encoder)


@pytest.fixture(scope="session")
def mixed_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed article plus the labelled test articles (.md, Cyrillic .md, .txt, .html)."""
    out = tmp_path_factory.mktemp("mixed-corpus")
    for src in [*SEED_CORPUS.glob("*.md"), *TEST_CORPUS.iterdir()]:
        if src.name.lower() != "readme.md":
            shutil.copy(src, out / src.name)
    return out


@pytest.fixture(scope="session")
def mixed_retriever(tmp_path_factory: pytest.TempPathFactory, mixed_corpus: Path, encoder):
    from index.builder import build_index
    from index.retriever import Retriever

    out = tmp_path_factory.mktemp("mixed-index")
    build_index(mixed_corpus, out, encoder)
    return Retriever.open(out, encoder)


EVAL_CORPUS = Path(__file__).resolve().parent / "data" / "eval" / "corpus"
EVAL_QUESTIONS = Path(__file__).resolve().parent / "data" / "eval" / "questions.jsonl"


@pytest.fixture(scope="session")
def eval_retriever(tmp_path_factory: pytest.TempPathFactory, encoder):
    """The evaluation corpus (20 articles: the seed, test fixtures, distractors) with e5 vectors."""
    from index.builder import build_index
    from index.encoder import E5Encoder
    from index.retriever import Retriever

    out = tmp_path_factory.mktemp("eval-index")
    build_index(EVAL_CORPUS, out, encoder, multilingual=lambda: E5Encoder(threads=2))
    return Retriever.open(out, encoder)


def dev_questions() -> list[dict]:
    if not DEV_QUESTIONS.is_file():
        pytest.fail(f"{DEV_QUESTIONS} is missing: the shared/ folder must sit beside the repo")
    return [json.loads(line) for line in DEV_QUESTIONS.read_text().splitlines() if line.strip()]


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
async def bot(tg, seed_retriever, seed_index):
    """The real application, long-polling the stand-in over HTTP, answering from corpus/."""
    from bot.app import build_application

    app = build_application(bot_settings(tg, seed_index), retriever=seed_retriever)
    await start_polling(app)
    await tg.wait_until_polling()
    yield app
    await stop_polling(app)
