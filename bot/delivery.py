"""Getting requests to the Bot API through a flaky network: PTB's rate limiter (30 messages/s,
20/min per group, 429 retried after retry_after), plus bounded retries with backoff for failures
where Telegram certainly did not act on the request, so an answer is never sent twice.

Retried: an error answer that PTB has no specific exception for (500, 502, 503…: Telegram
answered, so it did not deliver), and a connection that was never made (refused, connect or pool
timeout). A timeout or a dropped connection after the request was sent is ambiguous: Telegram
may have delivered the message. Then the API is probed at once: when it is unreachable the
network dropped (an outage beginning as the answer left), so the answer is sent again once the
API is back (within the retry budget, about 30 s); when it answers, the drop was a one-off on a
working API, and the answer is not sent again (it most likely arrived; a second copy would be
the worse error).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import httpx
from telegram.error import BadRequest, NetworkError, TelegramError, TimedOut
from telegram.ext import AIORateLimiter

log = logging.getLogger(__name__)

RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0)  # about 30 s in all, then the error stands
RESENT_ON_OUTAGE = frozenset({"sendMessage", "sendDocument", "editMessageText"})
PROBE_AGAIN_SECONDS = 1.0
Probe = Callable[[], Awaitable[bool]]  # True when the Bot API answers at all
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def never_reached_telegram(exc: BaseException) -> bool:
    """True when Telegram certainly did not act on the request, so sending again cannot
    duplicate it: an error answer (PTB raises a bare NetworkError for 5xx), or no connection."""
    if not isinstance(exc, NetworkError) or isinstance(exc, BadRequest):
        return False
    cause = exc.__cause__
    if cause is None or isinstance(cause, TelegramError):  # the server answered with an error
        return not isinstance(exc, TimedOut)
    return isinstance(cause, _NEVER_SENT)


def describe(exc: BaseException) -> str:
    """One line for the log, with no URL (the URL holds the bot token)."""
    if isinstance(exc, TimedOut):
        return "timed out"
    return type(exc.__cause__ or exc).__name__ + (
        f" ({exc.message})" if isinstance(exc, NetworkError) and exc.__cause__ is None else ""
    )


class DeliveryLimiter(AIORateLimiter):
    """PTB's limiter with retries on 5xx and connection failures. "typing…" chat actions do
    not spend the message budget (counting them halved throughput) and are never retried."""

    def __init__(
        self,
        *,
        max_retries: int = 3,
        delays: tuple[float, ...] = RETRY_DELAYS,
        probe: Probe | None = None,
    ) -> None:
        super().__init__(max_retries=max_retries)
        self.delays = delays
        self.probe = probe

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):
        if endpoint == "sendChatAction":
            return await callback(*args, **kwargs)
        for attempt, delay in enumerate((*self.delays, None)):
            try:
                return await super().process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
            except NetworkError as exc:
                if not lost_in_transit(exc):  # a BadRequest: the request itself is wrong
                    raise
                if not never_reached_telegram(exc) and not await self._outage(endpoint, exc):
                    log.warning("%s may not have reached Telegram: %s", endpoint, describe(exc))
                    raise
                if delay is None:
                    log.warning("%s failed %d times (%s)", endpoint, attempt + 1, describe(exc))
                    raise
                log.warning(
                    "%s failed (%s); retry %d in %.1f s",
                    endpoint,
                    describe(exc),
                    attempt + 1,
                    delay,
                )
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _outage(self, endpoint: str, exc: NetworkError) -> bool:
        """After an ambiguous failure: True when the API cannot be reached now (the answer is
        then sent again once it is back)."""
        if endpoint not in RESENT_ON_OUTAGE or self.probe is None:
            return False
        reachable = await self.probe()
        if reachable:  # again a moment later: an outage takes a moment to show
            await asyncio.sleep(PROBE_AGAIN_SECONDS)
            reachable = await self.probe()
        if reachable:
            return False
        log.warning(
            "%s failed as the Bot API became unreachable (%s): sending it again once it is back",
            endpoint,
            describe(exc),
        )
        return True


def lost_in_transit(exc: BaseException) -> bool:
    """A failure of the network or of Telegram's servers, not of the request itself."""
    return isinstance(exc, NetworkError) and not isinstance(exc, BadRequest)


def api_probe(base_url: str, token: str, timeout: float = 3.0) -> Probe:
    """A probe of the Bot API: getMe, True on any HTTP answer, False when it cannot be reached.
    The URL holds the token: it is never logged (httpx's own logging is at WARNING)."""
    url = f"{base_url}{token}/getMe"  # as PTB builds it

    async def reachable() -> bool:
        try:
            async with httpx.AsyncClient(timeout=timeout) as client:
                await client.get(url)
        except httpx.HTTPError:
            return False
        return True

    return reachable
