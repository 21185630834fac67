"""The `talks` application: command line today, Telegram bot on top of the same core."""
