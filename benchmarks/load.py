"""Load check for the Telegram bot: simulated users against the stand-in Bot API on 127.0.0.1.

    python benchmarks/load.py                  # 20 users, 200 questions in total
    python benchmarks/load.py --users 50 --questions 500

The real application (python-telegram-bot, long polling over HTTP, the real model and index built
from corpus/) answers; each user sends a question, waits for the reply, then sends the next.
Prints how many questions were answered or declined, how many got the apology (failed) or no
reply (lost), and the time from the update being queued to the bot's reply (p50/p95/max). The
per-user inbound rate limit is raised for the run, since every simulated user asks back to back.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

TOKEN = "123456789:AAFakeTokenForTestsOnly_abcdefghijk"
EXTRA = [
    "Who is Hakan Fidan?",
    "What is Turkey's role in the talks?",
    "What did the Kharkiv mayor say?",
    "How does the war affect the economy?",
    "What role does the media play?",
    "How do I bake sourdough bread?",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round((len(ordered) - 1) * q))]


async def run(users: int, total: int) -> dict[str, object]:
    from bot.app import build_application
    from bot.settings import Settings
    from bot.texts import text
    from index.builder import build_index
    from index.encoders import load_models
    from index.engine import open_engine
    from tests.fake_telegram import FakeTelegram, FloodPolicy

    models = load_models(threads=1)
    index_dir = Path(tempfile.mkdtemp(prefix="talks-load-"))
    build_index(ROOT / "corpus", index_dir, models)
    engine = open_engine(index_dir, models)
    apology = text("went_wrong")
    questions_file = ROOT / "tests" / "data" / "dev_questions.jsonl"
    questions = [json.loads(x)["q"] for x in questions_file.read_text().splitlines() if x]
    questions += EXTRA

    tg = FakeTelegram(TOKEN, flood=FloodPolicy(enabled=False))
    await tg.start()
    settings = Settings(
        telegram_bot_token=TOKEN,
        telegram_base_url=tg.base_url,
        telegram_poll_timeout=10,
        rate_limit_questions=10_000,
        index_dir=index_dir,
    )
    app = build_application(settings, engine=engine)
    await app.initialize()
    await app.post_init(app)
    await app.start()
    await app.updater.start_polling(timeout=10)
    await tg.wait_until_polling()

    latencies: list[float] = []
    declined = answered = lost = failed = 0
    per_user = [total // users + (1 if i < total % users else 0) for i in range(users)]

    async def user(n: int, count: int) -> None:
        nonlocal declined, answered, lost, failed
        person = tg.make_user(f"User{n}")
        for k in range(count):
            text = questions[(n + k) % len(questions)]
            start = len(tg.calls)
            sent_at = time.perf_counter()
            msg = tg.push_text(text, user=person)

            def is_reply(c, msg=msg) -> bool:
                reply = c.params.get("reply_parameters") or {}
                return (
                    c.params.get("chat_id") == msg["chat"]["id"]
                    and reply.get("message_id") == msg["message_id"]
                )

            try:
                call = await tg.wait_for_call("sendMessage", is_reply, timeout=60, start=start)
            except AssertionError:
                lost += 1
                continue
            latencies.append((time.perf_counter() - sent_at) * 1000)
            if call.result["text"].startswith("Not in my sources"):
                declined += 1
            elif call.result["text"] == apology:  # an error, not an answer
                failed += 1
            else:
                answered += 1

    started = time.perf_counter()
    await asyncio.gather(*(user(n, c) for n, c in enumerate(per_user)))
    wall = time.perf_counter() - started
    await app.updater.stop()
    await app.stop()
    await app.shutdown()
    await app.post_shutdown(app)
    await tg.stop()
    failed = [(c.method, c.status) for c in tg.calls if not c.ok]
    return {
        "users": users,
        "questions": total,
        "answered": answered,
        "declined (not in my sources)": declined,
        "lost (no reply within 60 s)": lost,
        "failed (the apology instead of an answer)": failed,
        "failed API calls": failed,
        "update_to_reply_ms_p50": round(statistics.median(latencies), 1),
        "update_to_reply_ms_p95": round(percentile(latencies, 0.95), 1),
        "update_to_reply_ms_max": round(max(latencies), 1),
        "wall_s": round(wall, 2),
        "questions_per_s": round(total / wall, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--questions", type=int, default=200)
    args = parser.parse_args()
    figures = asyncio.run(run(args.users, args.questions))
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
