from .formatting import EntityParseError, parse_text
from .server import ApiCall, FakeTelegram, FloodPolicy, TgError

__all__ = ["ApiCall", "EntityParseError", "FakeTelegram", "FloodPolicy", "TgError", "parse_text"]
