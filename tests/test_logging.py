"""No secret reaches the logs, whatever logs it."""

from __future__ import annotations

import io
import logging

from telegram.error import InvalidToken

from bot.app import DropInvalidToken, RedactSecrets

TOKEN = "123456789:AAFakeTokenForTestsOnly_abcdefghijk"


def capture() -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(DropInvalidToken())
    handler.addFilter(RedactSecrets(TOKEN, "webhook-secret"))
    logger = logging.getLogger("test-redaction")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, stream


def test_token_in_messages_args_and_tracebacks_is_redacted() -> None:
    logger, stream = capture()
    logger.info("POST https://api.telegram.org/bot%s/getMe", TOKEN)
    logger.warning("secret is webhook-secret")
    try:
        raise RuntimeError(f"failed calling /bot{TOKEN}/sendMessage")
    except RuntimeError:
        logger.exception("request failed")
    out = stream.getvalue()
    assert TOKEN not in out and "webhook-secret" not in out
    assert out.count("[redacted]") == 3
    assert "RuntimeError" in out  # the traceback itself is kept


def test_rejected_token_traceback_is_dropped() -> None:
    logger, stream = capture()
    try:
        raise InvalidToken(f"The token `{TOKEN}` was rejected by the server.")
    except InvalidToken:
        logger.exception("Invalid token. Aborting retry loop.")
    logger.info("other lines still pass")
    assert stream.getvalue() == "other lines still pass\n"
