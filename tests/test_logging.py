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


def test_the_database_password_is_redacted_from_every_log_line(capsys) -> None:
    """configure_logging adds TALKS_DATABASE_URL's password to the secrets it redacts."""
    from bot.app import configure_logging
    from bot.settings import Settings

    settings = Settings.from_env(
        {"TALKS_DATABASE_URL": "postgresql://talks:pw-Секрет-42@db.example:5432/talks"}
    )
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging(settings)
    try:
        logging.getLogger("sqlalchemy.pool").warning(
            "lost postgresql://talks:pw-Секрет-42@db.example:5432/talks"
        )
    finally:  # leave the root logger as pytest had it
        for handler in root.handlers[:]:
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
    err = capsys.readouterr().err
    assert "pw-Секрет-42" not in err and "[redacted]@db.example" in err
