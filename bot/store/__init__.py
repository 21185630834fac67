"""The bot's chat state in one database (SQLite by default, PostgreSQL for several replicas):
previous questions for follow-ups, buttons, feedback and the log of what readers asked."""

from bot.store.chats import ChatStore, LoggedQuestion
from bot.store.schema import StoreError

__all__ = ["ChatStore", "LoggedQuestion", "StoreError"]
