"""Feeds in the running bot: every TALKS_FEED_POLL_SECONDS the followed feeds are polled (those
waiting out a backoff after an error are left for later), new and edited items are written to
the corpus, the index is brought up to date and the bot switches to it (hot reload). Nothing
happens while no feed is followed."""

from __future__ import annotations

import asyncio
import logging

from bot.indexing import build, model_loader
from bot.settings import Settings
from bot.state import BotState
from bot.watcher import IndexWatcher
from index import feeds
from index.errors import TalksError

log = logging.getLogger(__name__)


class FeedPoller:
    """Polls the feeds of the bot's corpus and publishes what they add."""

    def __init__(
        self,
        state: BotState,
        settings: Settings,
        watcher: IndexWatcher,
        fetcher: feeds.Fetcher | None = None,
    ) -> None:
        self.state = state
        self.settings = settings
        self.watcher = watcher
        self.fetcher = fetcher or feeds.Fetcher()
        self.polls = 0

    async def poll_once(
        self, *, due_only: bool = True, only: str | None = None
    ) -> list[feeds.FeedReport]:
        """One poll of every (due) feed, or `only` that one, then the index update and the
        switch to it. Holds the bot's reindexing lock, so it never runs beside /add or
        /reindex."""
        corpus = self.settings.corpus_dir
        followed = await asyncio.to_thread(feeds.load_feeds, corpus)
        if not followed.feeds:
            return []
        async with self.state.reindexing:
            reports = await asyncio.to_thread(
                feeds.poll, corpus, fetcher=self.fetcher, due_only=due_only, only=only
            )
            self.polls += 1
            for report in reports:
                if report.error:
                    log.warning(
                        "feed %s failed: %s", feeds.shown_source(report.source), report.error
                    )
            changed = sum(len(r.added) + len(r.replaced) for r in reports)
            if changed:
                log.info("feeds brought %d new or edited articles; updating the index", changed)
                models = (
                    self.state.engine.models if self.state.engine else model_loader(self.settings)
                )
                await asyncio.to_thread(build, self.settings, models, quiet=True)
        if changed:
            await self.watcher.reload()
        return reports

    async def run(self, interval: float) -> None:
        """Poll every `interval` seconds until cancelled; a failure is logged, not fatal."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.poll_once()
            except TalksError as exc:
                log.warning("feed poll failed: %s", exc)
            except Exception:
                log.exception("feed poll failed; will try again")
