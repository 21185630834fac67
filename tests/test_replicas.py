"""Two replicas of the bot behind one webhook, sharing one chat store: a conversation fed to them
alternately is answered as by one process. PostgreSQL (the server .ci/run starts) and SQLite.

Each replica is a whole application (python-telegram-bot's webhook server, its own chat store
connection, its handlers and background tasks) in this process, sharing only the index engine
(read-only) and the database; a round-robin proxy on 127.0.0.1 stands in for the load balancer.
"""

from __future__ import annotations

import itertools

import aiohttp
import pytest
from aiohttp import web

from bot.app import build_application

from .conftest import bot_settings
from .helpers import callback_answers
from .test_conversation import answering, ask

pytestmark = pytest.mark.model
SECRET = "replica_secret-1"


class RoundRobin:
    """An HTTP proxy that sends each webhook delivery to the next replica in turn."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.turn = itertools.cycle(range(len(ports)))
        self.served: list[int] = []  # which replica got each delivery

    async def start(self, port: int) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._forward)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()

    async def _forward(self, request: web.Request) -> web.Response:
        replica = next(self.turn)
        self.served.append(replica)
        headers = {
            k: v for k, v in request.headers.items() if k.lower().startswith(("x-", "content-type"))
        }
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"http://127.0.0.1:{self.ports[replica]}/hook",
                data=await request.read(),
                headers=headers,
            ) as response,
        ):
            return web.Response(status=response.status, body=await response.read())

    async def stop(self) -> None:
        await self.runner.cleanup()


@pytest.fixture(params=["postgresql", "sqlite"])
def database(request, tmp_path) -> dict:
    """Settings naming one chat store for both replicas."""
    if request.param == "postgresql":
        return {"database_url": request.getfixturevalue("postgres_url")}
    return {"data_dir": tmp_path / "shared"}


async def _replica(tg, engine, database: dict, port: int, proxy_port: int):
    app = build_application(bot_settings(tg, engine.index_dir, **database), engine=engine)
    await app.initialize()
    await app.post_init(app)
    await app.start()
    await app.updater.start_webhook(
        listen="127.0.0.1",
        port=port,
        url_path="hook",
        webhook_url=f"http://127.0.0.1:{proxy_port}/hook",
        secret_token=SECRET,
    )
    return app


async def _stop(app) -> None:
    await app.updater.stop()
    await app.stop()
    await app.shutdown()
    await app.post_shutdown(app)


async def test_two_replicas_answer_a_conversation_as_one(
    tg, real_engine, database: dict, unused_tcp_port_factory
) -> None:
    ports = [unused_tcp_port_factory(), unused_tcp_port_factory()]
    proxy = RoundRobin(ports)
    proxy_port = unused_tcp_port_factory()
    await proxy.start(proxy_port)
    replicas = [await _replica(tg, real_engine, database, p, proxy_port) for p in ports]
    try:
        reader = tg.make_user("Reader")
        first = await ask(tg, "when was givi killed?", user=reader)
        second = await ask(tg, "and motorola?", user=reader)
        third = await ask(tg, "how?", user=reader)
        assert proxy.served == [0, 1, 0]  # each turn on the other replica
        assert answering(first) is None and "Givi" in first["text"]
        assert answering(second) == "when was motorola killed?"
        assert answering(third) == "how was motorola killed?"
        # a button under an answer from one replica, pressed through the other
        buttons = {
            b["text"]: b["callback_data"]
            for row in third["reply_markup"]["inline_keyboard"]
            for b in row
        }
        tg.push_callback_query(third, buttons["👍"], user=reader)
        tg.push_callback_query(third, buttons["👍"], user=reader)  # a double tap: the other one
        texts = sorted(await callback_answers(tg, 2))
        assert texts == ["Thanks for telling me.", "You have already rated this answer."]
        assert proxy.served[3:] == [1, 0]
        rows = replicas[0].bot_data["state"].store.questions()
        assert [(r.question, r.feedback) for r in rows] == [
            ("when was givi killed?", None),
            ("when was motorola killed?", None),
            ("how was motorola killed?", 1),
        ]
    finally:
        for app in replicas:
            await _stop(app)
        await proxy.stop()
