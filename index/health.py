"""What this process is running without, and why: each degradation is logged once, loudly (an
ERROR line saying how to fix it), and listed for the bot's /stats until it is cleared."""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)
_lock = threading.Lock()
_problems: dict[str, str] = {}


def degraded(what: str, why: str) -> None:
    """Record that `what` is not working (`why` says what to do); logged the first time."""
    with _lock:
        new = _problems.get(what) != why
        _problems[what] = why
    if new:
        log.error("running degraded: %s: %s", what, why)


def recovered(what: str) -> None:
    with _lock:
        gone = _problems.pop(what, None) is not None
    if gone:
        log.info("%s works again", what)


def problems() -> dict[str, str]:
    """Every current degradation: what → why and what to do."""
    with _lock:
        return dict(_problems)
