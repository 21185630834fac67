"""A local stand-in for the Telegram Bot API, for end-to-end tests.

The real (unmodified) python-telegram-bot talks to it over real HTTP on 127.0.0.1:
``ApplicationBuilder().token(T).base_url(fake.base_url).base_file_url(fake.base_file_url)``.

It keeps an in-memory update queue (long polling with offset/timeout semantics, or
delivery by HTTP POST to a webhook set with setWebhook), records every API call,
and answers errors the way the real server does (400 can't parse entities, 400 message
is too long, 429 retry_after, 409 conflicts, 401/404 for bad tokens) so bot bugs show up.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from .formatting import EntityParseError, parse_text, strip_text, u16len

TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")

# Parameters whose form-encoded value is a JSON document (PTB JSON-encodes every
# non-string value and sends strings raw, so a text of "123" must stay a string).
JSON_FIELDS = {
    "reply_markup",
    "reply_parameters",
    "entities",
    "caption_entities",
    "link_preview_options",
    "commands",
    "scope",
    "results",
    "allowed_updates",
    "button",
    "media",
    "menu_button",
    "options",
    "explanation_entities",
    "question_entities",
    "rights",
    "permissions",
    "reaction",
    "message_ids",
    "suggested_post_parameters",
}
INT_FIELDS = {
    "message_id",
    "offset",
    "limit",
    "timeout",
    "cache_time",
    "max_connections",
    "message_thread_id",
    "user_id",
    "reply_to_message_id",
    "direct_messages_topic_id",
    "until_date",
}
BOOL_FIELDS = {
    "disable_notification",
    "protect_content",
    "drop_pending_updates",
    "is_personal",
    "show_alert",
    "allow_sending_without_reply",
    "disable_web_page_preview",
    "allow_paid_broadcast",
}
CHAT_ACTIONS = {
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
}
UPDATE_TYPES = {
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "inline_query",
    "chosen_inline_result",
    "callback_query",
    "shipping_query",
    "pre_checkout_query",
    "poll",
    "poll_answer",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "message_reaction",
}
MAX_TEXT = 4096
MAX_CAPTION = 1024


class TgError(Exception):
    def __init__(self, code: int, description: str, parameters: dict | None = None):
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters

    def body(self) -> dict:
        d: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            d["parameters"] = self.parameters
        return d


def bad(desc: str) -> TgError:
    return TgError(400, f"Bad Request: {desc}")


@dataclass
class ApiCall:
    method: str
    params: dict
    status: int
    result: Any = None
    error: str | None = None
    at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass
class FloodPolicy:
    """Token buckets. The real limits are not published exactly; these follow the Bot FAQ."""

    enabled: bool = True
    per_chat_burst: int = 5  # short bursts are tolerated ...
    per_chat_per_sec: float = 1.0  # ... "avoid more than one message per second in a chat"
    group_per_min: int = 20  # "no more than 20 messages per minute to the same group"
    global_per_sec: int = 30  # "not more than ~30 messages per second" for broadcasts
    retry_after: int = 1  # seconds announced in the 429 answer


class _Bucket:
    def __init__(self, capacity: float, rate: float):
        self.capacity, self.rate, self.tokens, self.t = capacity, rate, capacity, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.t) * self.rate)
        self.t = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class FakeTelegram:
    def __init__(
        self,
        token: str = "123456789:AAFakeTokenForTestsOnly_abcdefghijk",
        *,
        bot_username: str = "news_test_bot",
        flood: FloodPolicy | None = None,
        strict_webhook_url: bool = False,
        unknown_chats_ok: bool = False,
    ):
        if not TOKEN_RE.match(token):
            raise ValueError("token must look like <digits>:<letters>")
        self.token = token
        self.bot_user = {
            "id": int(token.split(":")[0]),
            "is_bot": True,
            "first_name": "NewsBot",
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
        }
        self.flood = flood or FloodPolicy()
        self.strict_webhook_url = strict_webhook_url
        self.unknown_chats_ok = unknown_chats_ok
        # state
        self.calls: list[ApiCall] = []  # completed calls, in completion order
        self.arrivals: list[
            str
        ] = []  # method names in arrival order (a long poll arrives long before it completes)
        self.chats: dict[int, dict] = {}
        self.messages: dict[tuple[int, int], dict] = {}
        self._msg_ids: dict[int, itertools.count] = {}
        self._update_ids = itertools.count(10_000)
        self._pending: list[dict] = []
        self._new_update = asyncio.Event()
        self._poll_generation = 0
        self._allowed_updates: list[str] | None = None
        self.webhook: dict | None = None
        self.webhook_deliveries: list[dict] = []
        self._webhook_task: asyncio.Task | None = None
        self.commands: dict[str, list[dict]] = {}
        self.inline_queries: dict[str, dict] = {}
        self.callback_queries: dict[str, dict] = {}
        self.blocked: set[int] = set()
        self.files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, content)
        self._faults: dict[str, list[TgError]] = {}
        self._failing: tuple[float, int, frozenset[str] | None] | None = None
        self._drops: dict[str, list[bool]] = {}  # method -> [handle before dropping?, …]
        self._outages: dict[str, float] = {}  # method -> seconds the API goes away at its call
        self._call_event = asyncio.Event()
        self._closing = False
        self._buckets: dict[Any, _Bucket] = {}
        self._global_bucket = _Bucket(self.flood.global_per_sec, self.flood.global_per_sec)
        self._user_ids = itertools.count(1001)
        self.default_user = self.make_user("Alice")
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    # ------------------------------------------------------------------ lifecycle
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> FakeTelegram:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("GET", "/file/bot{token}/{path:.*}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.host = host
        return self

    async def go_down(self) -> None:
        """The API goes away: the port stops listening and open connections are cut; every
        update, chat and message is kept for come_back()."""
        self._new_update.set()  # release parked long polls
        if self._runner:
            await self._runner.cleanup()
            self._runner = None
        self._new_update.clear()

    async def come_back(self) -> None:
        """Listen again on the same port, with everything as it was."""
        await self.start(self.host, self.port or 0)

    async def stop(self) -> None:
        self._closing = True
        self._new_update.set()  # release parked long polls at once
        if self._webhook_task:
            self._webhook_task.cancel()
        if self._runner:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeTelegram:
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://{self.host}:{self.port}/file/bot"

    # ------------------------------------------------------------- test-side API
    def make_user(self, first_name: str = "Alice", **extra) -> dict:
        return {
            "id": next(self._user_ids),
            "is_bot": False,
            "first_name": first_name,
            "language_code": "en",
            **extra,
        }

    def private_chat(self, user: dict) -> dict:
        chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        self.chats[chat["id"]] = chat
        return chat

    def group_chat(self, chat_id: int = -1001234567890, title: str = "News group") -> dict:
        chat = {"id": chat_id, "type": "supergroup", "title": title}
        self.chats[chat_id] = chat
        return chat

    def push_update(self, body: dict) -> dict:
        """Queue a raw update body (without update_id), e.g. {"message": {...}}."""
        update = {"update_id": next(self._update_ids), **body}
        self._pending.append(update)
        self._new_update.set()
        return update

    def push_text(
        self,
        text: str,
        *,
        user: dict | None = None,
        chat: dict | None = None,
        reply_to: dict | None = None,
        entities: list[dict] | None = None,
    ) -> dict:
        """A user writes `text` to the bot. Returns the Message dict that the bot will receive.
        `entities` replace the bot_command entity made for a leading /command (a forged update
        can carry any)."""
        user = user or self.default_user
        chat = chat or self.private_chat(user)
        self.chats.setdefault(chat["id"], chat)
        msg = {
            "message_id": self._next_msg_id(chat["id"]),
            "date": int(time.time()),
            "chat": chat,
            "from": user,
            "text": text,
        }
        if entities is not None:
            msg["entities"] = entities
        elif text.startswith("/"):
            cmd = text.split()[0]
            msg["entities"] = [{"type": "bot_command", "offset": 0, "length": u16len(cmd)}]
        if reply_to:
            msg["reply_to_message"] = reply_to
        self.messages[(chat["id"], msg["message_id"])] = msg
        self.push_update({"message": msg})
        return msg

    def push_callback_query(self, message: dict, data: str, *, user: dict | None = None) -> str:
        user = user or self.default_user
        qid = str(secrets.randbits(63))
        self.callback_queries[qid] = {"at": time.monotonic(), "answered": False}
        self.push_update(
            {
                "callback_query": {
                    "id": qid,
                    "from": user,
                    "message": message,
                    "chat_instance": str(message["chat"]["id"]),
                    "data": data,
                }
            }
        )
        return qid

    def push_document(
        self,
        file_name: str,
        content: bytes,
        *,
        user: dict | None = None,
        chat: dict | None = None,
        caption: str | None = None,
    ) -> dict:
        """A user sends a file; the bot can getFile and download it. Returns the Message."""
        user = user or self.default_user
        chat = chat or self.private_chat(user)
        self.chats.setdefault(chat["id"], chat)
        file_id = f"doc{len(self.files) + 1}"
        suffix = (
            re.sub(r"[^A-Za-z0-9]", "", file_name.rpartition(".")[2])[:8]
            if "." in file_name
            else ""
        )
        # Telegram names stored files itself (documents/file_12.md), not by the sender's name.
        path = f"documents/file_{len(self.files) + 1}" + (f".{suffix}" if suffix else "")
        self.files[file_id] = (path, content)
        msg = {
            "message_id": self._next_msg_id(chat["id"]),
            "date": int(time.time()),
            "chat": chat,
            "from": user,
            "document": {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "file_name": file_name,
                "file_size": len(content),
            },
        }
        if caption is not None:
            msg["caption"] = caption
        self.messages[(chat["id"], msg["message_id"])] = msg
        self.push_update({"message": msg})
        return msg

    def push_inline_query(self, query: str, *, user: dict | None = None, offset: str = "") -> str:
        user = user or self.default_user
        qid = str(secrets.randbits(63))
        self.inline_queries[qid] = {"at": time.monotonic(), "answered": False}
        self.push_update(
            {"inline_query": {"id": qid, "from": user, "query": query, "offset": offset}}
        )
        return qid

    def fail_next(
        self,
        method: str,
        code: int = 429,
        description: str | None = None,
        *,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Inject errors for the next `times` calls of `method` (e.g. flood control)."""
        if code == 429:
            ra = retry_after or 1
            err = TgError(
                429, description or f"Too Many Requests: retry after {ra}", {"retry_after": ra}
            )
        else:
            err = TgError(code, description or "Internal Server Error")
        self._faults.setdefault(method, []).extend([err] * times)

    def fail_for(self, seconds: float, code: int = 500, methods: set[str] | None = None) -> None:
        """Answer every call (or every call of `methods`) with `code` for the next `seconds`, as
        Telegram does during an incident."""
        description = {502: "Bad Gateway", 503: "Service Unavailable"}.get(
            code, "Internal Server Error"
        )
        self._failing = (
            time.monotonic() + seconds,
            code,
            frozenset(methods) if methods else None,
        )
        self._failing_description = description

    def drop_next(self, method: str, *, after_handling: bool = False, times: int = 1) -> None:
        """Close the connection without an answer on the next `times` calls of `method`; with
        after_handling=True the call takes effect first (a message is sent, its answer lost)."""
        self._drops.setdefault(method, []).extend([after_handling] * times)

    def outage_at(self, method: str, seconds: float) -> None:
        """At the next call of `method` the API goes away for `seconds`: that call's connection
        is cut unanswered (it takes no effect) and nothing listens until it comes back."""
        self._outages[method] = seconds

    async def _away_for(self, seconds: float) -> None:
        await self.go_down()
        await asyncio.sleep(seconds)
        if not self._closing:
            await self.come_back()

    def calls_to(self, method: str, *, ok: bool | None = None) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method and (ok is None or c.ok == ok)]

    def sent_messages(self, chat_id: int | None = None) -> list[dict]:
        return [
            c.result
            for c in self.calls_to("sendMessage", ok=True)
            if chat_id is None or c.result["chat"]["id"] == chat_id
        ]

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[ApiCall], bool] | None = None,
        *,
        timeout: float = 5.0,
        start: int = 0,
    ) -> ApiCall:
        """Wait until a call to `method` (index >= start in self.calls) matches `predicate`."""
        deadline = time.monotonic() + timeout
        while True:
            for c in self.calls[start:]:
                if c.method == method and (predicate is None or predicate(c)):
                    return c
            left = deadline - time.monotonic()
            if left <= 0:
                seen = [(c.method, c.status, c.error) for c in self.calls[start:]]
                raise AssertionError(f"no {method} call within {timeout}s; calls seen: {seen}")
            self._call_event.clear()
            try:
                await asyncio.wait_for(self._call_event.wait(), left)
            except TimeoutError:
                pass

    async def wait_until_polling(self, timeout: float = 10.0) -> None:
        """Wait until the bot has a getUpdates request parked (i.e. it is up and polling)."""
        deadline = time.monotonic() + timeout
        while "getUpdates" not in self.arrivals:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"bot did not start polling within {timeout}s; arrivals: {self.arrivals}"
                )
            self._call_event.clear()
            try:
                await asyncio.wait_for(self._call_event.wait(), left)
            except TimeoutError:
                pass

    # ---------------------------------------------------------------- HTTP layer
    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(TgError(401, "Unauthorized").body(), status=401)
        for path, content in self.files.values():
            if path == request.match_info["path"]:
                return web.Response(body=content, content_type="application/octet-stream")
        return web.Response(status=404, text="Not Found")

    async def _m_getfile(self, p: dict) -> dict:
        entry = self.files.get(p.get("file_id", ""))
        if entry is None:
            raise bad("invalid file_id")
        if len(entry[1]) > 20 * 1024 * 1024:
            raise bad("file is too big")  # the Bot API serves files up to 20 MB
        return {
            "file_id": p["file_id"],
            "file_unique_id": f"u{p['file_id']}",
            "file_size": len(entry[1]),
            "file_path": entry[0],
        }

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        token, method = request.match_info["token"], request.match_info["method"]
        if not TOKEN_RE.match(token):
            return web.json_response(TgError(404, "Not Found").body(), status=404)
        if token != self.token:
            return web.json_response(TgError(401, "Unauthorized").body(), status=401)
        try:
            params = await self._read_params(request)
        except TgError as e:
            self._record(method, {}, e)
            return web.json_response(e.body(), status=e.code)
        handler = getattr(self, "_m_" + method.lower(), None)
        self.arrivals.append(method)
        self._call_event.set()
        try:
            if handler is None:
                raise TgError(404, "Not Found")
            faults = self._faults.get(method)
            if faults:
                raise faults.pop(0)
            self._raise_if_failing(method)
            if method in self._outages:  # the network goes as the request arrives
                seconds = self._outages.pop(method)
                asyncio.get_running_loop().create_task(self._away_for(seconds))
                await asyncio.sleep(0.05)  # the port closes first
                request.transport.close()  # type: ignore[union-attr]
                return web.Response(status=200)
            drops = self._drops.get(method)
            if drops:
                if drops.pop(0):  # it takes effect and is recorded; the client never hears
                    self._record(method, params, None, await handler(params))
                request.transport.close()  # type: ignore[union-attr]
                return web.Response(status=200)
            result = await handler(params)
        except TgError as e:
            self._record(method, params, e)
            return web.json_response(e.body(), status=e.code)
        self._record(method, params, None, result)
        return web.json_response({"ok": True, "result": result})

    def _raise_if_failing(self, method: str) -> None:
        if self._failing is None:
            return
        until, code, methods = self._failing
        if time.monotonic() >= until:
            self._failing = None
        elif methods is None or method in methods:
            raise TgError(code, self._failing_description)

    def _record(self, method, params, err: TgError | None, result=None) -> None:
        self.calls.append(
            ApiCall(
                method, params, err.code if err else 200, result, err.description if err else None
            )
        )
        self._call_event.set()

    async def _read_params(self, request: web.Request) -> dict:
        raw: dict[str, Any] = dict(request.query)
        typed: dict[str, Any] = {}
        ctype = request.content_type
        if request.method == "POST" and request.can_read_body:
            if ctype == "application/json":
                try:
                    typed = await request.json()
                except json.JSONDecodeError:
                    raise bad("can't parse JSON object")
            elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                for k, v in form.items():
                    raw[k] = (
                        v
                        if isinstance(v, str)
                        else {"filename": v.filename, "size": len(v.file.read())}
                    )
        out = {k: self._coerce(k, v) for k, v in raw.items()}
        out.update(typed)
        return out

    @staticmethod
    def _coerce(name: str, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if name in JSON_FIELDS:
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                raise bad(f"can't parse {name} JSON object")
        if name in INT_FIELDS:
            # lenient like the real server: "10.0" (PTB sends floats as given) reads as 10
            m = re.match(r"\s*(-?\d+)", value)
            if not m:
                raise bad(f"invalid {name} specified")  # approximation of the real wording
            return int(m.group(1))
        if name in BOOL_FIELDS:
            return value.lower() in ("true", "1")
        if name in ("chat_id", "from_chat_id") and re.fullmatch(r"-?\d+", value):
            return int(value)
        return value

    # ----------------------------------------------------------------- helpers
    def _next_msg_id(self, chat_id: int) -> int:
        return next(self._msg_ids.setdefault(chat_id, itertools.count(1)))

    def _chat(self, chat_id: Any) -> dict:
        if chat_id in (None, ""):
            raise bad("chat_id is empty")
        if isinstance(chat_id, int) and chat_id in self.blocked:
            raise TgError(403, "Forbidden: bot was blocked by the user")
        chat = self.chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            if not self.unknown_chats_ok:
                raise bad("chat not found")
            chat = {"id": chat_id, "type": "private", "first_name": "Unknown"}
        return chat

    def _check_flood(self, chat_id: int) -> None:
        f = self.flood
        if not f.enabled:
            return
        if chat_id < 0:
            bucket = self._buckets.setdefault(
                ("g", chat_id), _Bucket(f.group_per_min, f.group_per_min / 60)
            )
        else:
            bucket = self._buckets.setdefault(
                ("p", chat_id), _Bucket(f.per_chat_burst, f.per_chat_per_sec)
            )
        if not (bucket.take() and self._global_bucket.take()):
            raise TgError(
                429,
                f"Too Many Requests: retry after {f.retry_after}",
                {"retry_after": f.retry_after},
            )

    def _formatted(
        self, text: Any, parse_mode: Any, entities: Any, *, limit: int, what: str = "message text"
    ) -> tuple[str, list[dict]]:
        if not isinstance(text, str) or not text.strip():
            raise bad(f"{what} is empty")
        if entities and parse_mode:
            parse_mode = None  # explicit entities win (PTB never sends both by itself)
        try:
            plain, ents = parse_text(text, parse_mode)
        except EntityParseError as e:
            raise bad(f"can't parse entities: {e}")
        except ValueError:
            raise bad("unsupported parse_mode")
        plain, ents = strip_text(plain, entities or ents)
        if not plain:
            raise bad(f"{what} is empty")
        if len(plain) > limit:  # the docs say "characters after entities parsing"
            raise bad(
                "message is too long" if what == "message text" else "message caption is too long"
            )
        return plain, ents

    @staticmethod
    def _check_reply_markup(markup: Any) -> None:
        if not markup:
            return
        if not isinstance(markup, dict):
            raise bad("can't parse reply keyboard markup JSON object")
        for row in markup.get("inline_keyboard", []):
            for button in row:
                if not button.get("text"):
                    raise bad(
                        "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
                    )
                data = button.get("callback_data")
                if data is not None and not (1 <= len(data.encode()) <= 64):
                    raise bad("BUTTON_DATA_INVALID")
                kinds = {
                    "url",
                    "callback_data",
                    "switch_inline_query",
                    "switch_inline_query_current_chat",
                    "web_app",
                    "login_url",
                    "callback_game",
                    "pay",
                    "copy_text",
                    "switch_inline_query_chosen_chat",
                } & button.keys()
                if len(kinds) != 1:
                    raise bad(
                        "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
                    )

    def _reply_to(self, chat: dict, params: dict) -> dict | None:
        rp = params.get("reply_parameters") or {}
        mid = rp.get("message_id", params.get("reply_to_message_id"))
        if mid is None:
            return None
        if rp.get("chat_id") not in (None, chat["id"]):
            chat = self._chat(rp["chat_id"])
        target = self.messages.get((chat["id"], mid))
        if target is None and not rp.get(
            "allow_sending_without_reply", params.get("allow_sending_without_reply")
        ):
            raise bad("message to be replied not found")
        return target

    def _store_bot_message(self, chat: dict, **content) -> dict:
        msg = {
            "message_id": self._next_msg_id(chat["id"]),
            "from": self.bot_user,
            "chat": chat,
            "date": int(time.time()),
            **content,
        }
        self.messages[(chat["id"], msg["message_id"])] = msg
        return msg

    # -------------------------------------------------------------- API methods
    async def _m_getme(self, p: dict) -> dict:
        return self.bot_user

    async def _m_logout(self, p: dict) -> bool:
        return True

    async def _m_close(self, p: dict) -> bool:
        return True

    async def _m_getupdates(self, p: dict) -> list[dict]:
        if self.webhook:
            raise TgError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        limit = p.get("limit", 100)
        if not 1 <= limit <= 100:
            limit = 100
        timeout = max(0, min(p.get("timeout", 0), 50))
        if "allowed_updates" in p and p["allowed_updates"] is not None:
            self._allowed_updates = p["allowed_updates"] or None
        offset = p.get("offset")
        if offset is not None:
            if offset < 0:
                self._pending = self._pending[offset:]
            else:  # confirm everything below offset
                self._pending = [u for u in self._pending if u["update_id"] >= offset]
        self._poll_generation += 1
        gen = self._poll_generation
        self._new_update.set()  # wake an older parked poll so it answers 409
        deadline = time.monotonic() + timeout
        while True:
            if gen != self._poll_generation:
                raise TgError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            ready = [u for u in self._pending if self._allowed(u)]
            left = deadline - time.monotonic()
            if ready or left <= 0 or self._closing:
                return ready[:limit]
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), left)
            except TimeoutError:
                pass

    def _allowed(self, update: dict) -> bool:
        if not self._allowed_updates:
            return not (
                {"chat_member", "message_reaction"} & update.keys()
            )  # not delivered by default
        return bool(set(self._allowed_updates) & update.keys())

    async def _m_setwebhook(self, p: dict) -> bool:
        url = p.get("url", "")
        if not url:
            return await self._m_deletewebhook(p)
        m = re.match(r"^(https?)://([^/:]+)(?::(\d+))?", url)
        if not m:
            raise bad("bad webhook: invalid URL")  # approximation
        if self.strict_webhook_url:
            if m.group(1) != "https":
                raise bad("bad webhook: An HTTPS URL must be provided for webhook")
            if int(m.group(3) or 443) not in (443, 80, 88, 8443):
                raise bad("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
        secret = p.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise bad("bad webhook: secret token contains unallowed characters")
        if p.get("drop_pending_updates"):
            self._pending.clear()
        if "allowed_updates" in p and p["allowed_updates"] is not None:
            self._allowed_updates = p["allowed_updates"] or None
        self.webhook = {
            "url": url,
            "secret_token": secret,
            "max_connections": p.get("max_connections", 40),
            "last_error_message": None,
        }
        self._poll_generation += 1  # a running long poll now gets a 409, like the real server
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.create_task(self._deliver_webhooks())
        self._new_update.set()
        return True

    async def _m_deletewebhook(self, p: dict) -> bool:
        self.webhook = None
        if p.get("drop_pending_updates"):
            self._pending.clear()
        return True

    async def _m_getwebhookinfo(self, p: dict) -> dict:
        wh = self.webhook or {}
        info = {
            "url": wh.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if wh.get("last_error_message"):
            info["last_error_message"] = wh["last_error_message"]
            info["last_error_date"] = wh["last_error_date"]
        if wh:
            info["max_connections"] = wh["max_connections"]
        return info

    async def _deliver_webhooks(self) -> None:
        async with aiohttp.ClientSession(trust_env=False) as session:
            while not self._closing and self.webhook:
                ready = [u for u in self._pending if self._allowed(u)]
                if not ready:
                    self._new_update.clear()
                    await self._new_update.wait()
                    continue
                update, wh = ready[0], self.webhook
                headers = {"Content-Type": "application/json"}
                if wh.get("secret_token"):
                    headers["X-Telegram-Bot-Api-Secret-Token"] = wh["secret_token"]
                try:
                    async with session.post(
                        wh["url"],
                        data=json.dumps(update),
                        headers=headers,
                        timeout=aiohttp.ClientTimeout(total=10),
                    ) as resp:
                        status = resp.status
                except (TimeoutError, aiohttp.ClientError) as e:
                    status, wh["last_error_message"] = 0, f"Connection failed: {e!r}"
                self.webhook_deliveries.append({"update_id": update["update_id"], "status": status})
                self._call_event.set()
                if 200 <= status < 300:
                    self._pending.remove(update)
                else:
                    if status:
                        wh["last_error_message"] = f"Wrong response from the webhook: {status}"
                    wh["last_error_date"] = int(time.time())
                    await asyncio.sleep(0.2)  # the real server retries with growing back-off

    async def _m_sendmessage(self, p: dict) -> dict:
        chat = self._chat(p.get("chat_id"))
        text, entities = self._formatted(
            p.get("text"), p.get("parse_mode"), p.get("entities"), limit=MAX_TEXT
        )
        self._check_reply_markup(p.get("reply_markup"))
        reply = self._reply_to(chat, p)
        self._check_flood(chat["id"])
        content: dict[str, Any] = {"text": text}
        if entities:
            content["entities"] = entities
        if reply:
            content["reply_to_message"] = reply
        if p.get("reply_markup") and "inline_keyboard" in p["reply_markup"]:
            content["reply_markup"] = p["reply_markup"]
        if p.get("link_preview_options"):
            content["link_preview_options"] = p["link_preview_options"]
        return self._store_bot_message(chat, **content)

    async def _m_editmessagetext(self, p: dict) -> dict | bool:
        chat = self._chat(p.get("chat_id"))
        msg = self.messages.get((chat["id"], p.get("message_id")))
        if msg is None or msg["from"]["id"] != self.bot_user["id"]:
            raise bad("message to edit not found")
        text, entities = self._formatted(
            p.get("text"), p.get("parse_mode"), p.get("entities"), limit=MAX_TEXT
        )
        self._check_reply_markup(p.get("reply_markup"))
        if (
            text == msg.get("text")
            and entities == msg.get("entities", [])
            and p.get("reply_markup") == msg.get("reply_markup")
        ):
            raise bad(
                "message is not modified: specified new message content and reply markup are exactly "
                "the same as a current content and reply markup of the message"
            )
        msg.update(text=text, entities=entities, edit_date=int(time.time()))
        if p.get("reply_markup"):
            msg["reply_markup"] = p["reply_markup"]
        return msg

    async def _m_editmessagereplymarkup(self, p: dict) -> dict | bool:
        chat = self._chat(p.get("chat_id"))
        msg = self.messages.get((chat["id"], p.get("message_id")))
        if msg is None or msg["from"]["id"] != self.bot_user["id"]:
            raise bad("message to edit not found")
        markup = p.get("reply_markup") or None
        self._check_reply_markup(markup)
        if markup == msg.get("reply_markup") or (
            not markup and not (msg.get("reply_markup") or {}).get("inline_keyboard")
        ):
            raise bad(
                "message is not modified: specified new message content and reply markup are exactly "
                "the same as a current content and reply markup of the message"
            )
        if markup and markup.get("inline_keyboard"):
            msg["reply_markup"] = markup
        else:
            msg.pop("reply_markup", None)
        msg["edit_date"] = int(time.time())
        return msg

    async def _m_deletemessage(self, p: dict) -> bool:
        chat = self._chat(p.get("chat_id"))
        if self.messages.pop((chat["id"], p.get("message_id")), None) is None:
            raise bad("message to delete not found")
        return True

    async def _m_sendchataction(self, p: dict) -> bool:
        self._chat(p.get("chat_id"))
        if p.get("action") not in CHAT_ACTIONS:
            raise bad("wrong parameter action in request")
        return True

    async def _m_setmycommands(self, p: dict) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad("can't parse commands JSON object")  # approximation
        for c in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", c.get("command", "")):
                raise bad("BOT_COMMAND_INVALID")
            if not 1 <= len(c.get("description", "")) <= 256:
                raise bad("BOT_COMMAND_DESCRIPTION_INVALID")  # approximation
        self.commands[self._scope_key(p)] = commands
        return True

    async def _m_getmycommands(self, p: dict) -> list[dict]:
        return self.commands.get(self._scope_key(p), [])

    async def _m_deletemycommands(self, p: dict) -> bool:
        self.commands.pop(self._scope_key(p), None)
        return True

    @staticmethod
    def _scope_key(p: dict) -> str:
        return json.dumps(
            [p.get("scope") or {"type": "default"}, p.get("language_code", "")], sort_keys=True
        )

    async def _m_answerinlinequery(self, p: dict) -> bool:
        q = self.inline_queries.get(p.get("inline_query_id", ""))
        if q is None or q["answered"] or time.monotonic() - q["at"] > 10:
            raise bad("query is too old and response timeout expired or query ID is invalid")
        results = p.get("results")
        if not isinstance(results, list):
            raise bad("can't parse results JSON object")  # approximation
        if len(results) > 50:
            raise bad("RESULTS_TOO_MUCH")
        ids = [r.get("id", "") for r in results]
        if any(not 1 <= len(i.encode()) <= 64 for i in ids):
            raise bad("RESULT_ID_INVALID")
        if len(set(ids)) != len(ids):
            raise bad("RESULT_ID_DUPLICATE")
        if len(p.get("next_offset", "").encode()) > 64:
            raise bad("NEXT_OFFSET_INVALID")  # approximation
        for r in results:
            imc = r.get("input_message_content")
            if imc and "message_text" in imc:
                self._formatted(
                    imc["message_text"], imc.get("parse_mode"), imc.get("entities"), limit=MAX_TEXT
                )
            self._check_reply_markup(r.get("reply_markup"))
        q["answered"] = True
        q["results"] = results
        return True

    async def _m_answercallbackquery(self, p: dict) -> bool:
        q = self.callback_queries.get(p.get("callback_query_id", ""))
        if q is None or q["answered"] or time.monotonic() - q["at"] > 15:
            raise bad("query is too old and response timeout expired or query ID is invalid")
        if len(p.get("text", "")) > 200:
            raise bad("MESSAGE_TOO_LONG")  # approximation
        q["answered"] = True
        return True
