"""What the running bot keeps between updates: the engine, the chat store, rate limits, counts.

No `telegram` import: handlers read and update it, tests can inspect it. What must outlive the
process or be shared by replicas (previous questions, buttons, feedback) is in the chat store.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field

from bot.store import ChatStore
from index.answering import AnswerParams
from index.engine import Engine


class RateLimiter:
    """At most `limit` events per user in any `window` seconds (sliding window)."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._events: dict[int, deque[float]] = {}
        self._warned: dict[int, float] = {}

    def allow(self, user_id: int, now: float | None = None) -> tuple[bool, float]:
        """(allowed, seconds until the next question would be allowed)."""
        now = time.monotonic() if now is None else now
        if len(self._events) > 10_000:  # forget users who have been quiet for a window
            self._sweep(now)
        events = self._events.setdefault(user_id, deque())
        while events and now - events[0] >= self.window:
            events.popleft()
        if len(events) < self.limit:
            events.append(now)
            return True, 0.0
        return False, self.window - (now - events[0])

    def _sweep(self, now: float) -> None:
        for user_id in [u for u, e in self._events.items() if not e or now - e[-1] >= self.window]:
            del self._events[user_id]
            self._warned.pop(user_id, None)

    def should_warn(self, user_id: int, now: float | None = None) -> bool:
        """Tell a user about the limit once per window, not on every message."""
        now = time.monotonic() if now is None else now
        last = self._warned.get(user_id)
        if last is not None and now - last < self.window:
            return False
        self._warned[user_id] = now
        return True


@dataclass
class BotState:
    """Shared by all handlers through application.bot_data["state"]."""

    params: AnswerParams
    shown_quotes: int
    limiter: RateLimiter
    inline_limiter: RateLimiter
    engine: Engine | None = None  # replaced whole when a new index version is served
    store: ChatStore | None = None
    follow_up_seconds: float = 600.0
    answered: int = 0
    abstained: int = 0
    inline_answered: int = 0
    inline_busy: int = 0  # inline queries given no result because every inline slot was taken
    inline_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(2))
    started: float = field(default_factory=time.time)
    admin_ids: frozenset[int] = frozenset()
    reindexing: asyncio.Lock = field(default_factory=asyncio.Lock)
