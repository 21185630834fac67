"""Two replicas of the bot behind one webhook, sharing one chat store: a conversation fed to them
alternately is answered as by one process. PostgreSQL (the server .ci/run starts) and SQLite;
a round-robin proxy on 127.0.0.1 stands in for the load balancer.

The suite on both databases runs two whole applications (python-telegram-bot's webhook server,
each its own chat store connection, handlers and background tasks) in this process, sharing
only the read-only index engine; the last test runs two `talks serve` processes on PostgreSQL.
"""

from __future__ import annotations

import asyncio
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


async def _listening(port: int, timeout: float = 60.0) -> None:
    """Wait until something accepts connections on 127.0.0.1:`port`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.1)
        else:
            writer.close()
            await writer.wait_closed()
            return


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


async def test_two_talks_serve_processes_share_a_conversation(
    tg, seed_index, postgres_url: str, unused_tcp_port_factory
) -> None:
    """Two `talks serve` processes in webhook mode on one PostgreSQL database, fed one
    conversation alternately through the proxy, answer it as one bot."""
    from .test_serve import serve_env, spawn, stop

    ports = [unused_tcp_port_factory(), unused_tcp_port_factory()]
    proxy, proxy_port = RoundRobin(ports), unused_tcp_port_factory()
    await proxy.start(proxy_port)
    procs = []
    for port in ports:
        env = serve_env(
            tg,
            seed_index,
            TALKS_DATABASE_URL=postgres_url,
            TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{proxy_port}/hook",
            TELEGRAM_WEBHOOK_LISTEN="127.0.0.1",
            TELEGRAM_WEBHOOK_PORT=str(port),
            TELEGRAM_WEBHOOK_SECRET=SECRET,
        )
        procs.append(await spawn(env))
    outputs = []
    try:
        await tg.wait_for_call(  # both replicas started: each sets the webhook
            "setWebhook", lambda _: len(tg.calls_to("setWebhook", ok=True)) >= 2, timeout=120
        )
        for port in ports:  # and listening (PTB may set the webhook before it listens)
            await _listening(port)
        reader = tg.make_user("Reader")
        first = await ask(tg, "who leads Ukraine's delegation?", user=reader)
        second = await ask(tg, "and russia's?", user=reader)
        third = await ask(tg, "and ukraine's?", user=reader)
        assert proxy.served == [0, 1, 0]
        assert answering(first) is None and "Umerov" in first["text"]
        assert answering(second) == "who leads russia's delegation?"
        assert "Medinsky" in second["text"]
        assert answering(third) == "who leads ukraine's delegation?"
    finally:
        for proc in procs:
            outputs.append(await stop(proc))
        await proxy.stop()
    assert all(proc.returncode == 0 for proc in procs), outputs
    password = postgres_url.split(":")[2].split("@")[0]
    assert not any(password in out or "Traceback" in out for out in outputs)
