"""Hot reload: the running bot notices a newly published index version and serves it, without a
restart. Questions already being answered finish on the engine they started with."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from bot.state import BotState
from index.engine import Engine
from index.errors import TalksError
from index.store import current_version_dir

log = logging.getLogger(__name__)


class IndexWatcher:
    """Looks at the index folder's CURRENT and switches the bot's engine to the version it
    names. A version that fails to load is not tried again until another one is published."""

    def __init__(self, state: BotState, index_dir: Path) -> None:
        self.state = state
        self.index_dir = Path(index_dir)
        self.failed_version: str | None = None
        self.failure: str | None = None  # why it failed, and when
        self._lock = asyncio.Lock()

    async def reload(self) -> bool:
        """Serve the published version if it is new. Returns whether it now is; raises a
        TalksError if it cannot be loaded (and remembers it)."""
        async with self._lock:
            try:
                path = await asyncio.to_thread(current_version_dir, self.index_dir)
            except TalksError:
                return False
            current = self.state.engine
            if current is None or path.name in (current.version, self.failed_version):
                return False
            try:
                new = await asyncio.to_thread(current.reopen, path)  # exactly that version
            except TalksError as exc:
                self.failed_version = path.name
                self.failure = f"{exc} (at {time.strftime('%Y-%m-%d %H:%M:%S')})"
                raise
            if new is None:
                return False
            self.state.engine = new
            self.failed_version = self.failure = None
        _log_serving(new)
        return True

    async def run(self, interval: float) -> None:
        """Look for a new version every `interval` seconds (a `talks index` run by an editor,
        or a /reindex); a version that fails to load is logged and the old one kept."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.reload()
            except TalksError as exc:
                log.warning("not switching to the new index: %s", exc)
            except Exception:
                log.exception("index watcher failed; will try again")


def _log_serving(engine: Engine) -> None:
    manifest = engine.manifest
    log.info(
        "now serving index version %s: %d articles, %d passages",
        manifest.version,
        manifest.articles,
        manifest.passages,
    )
