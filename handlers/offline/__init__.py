"""Without Telegram: a local Bot API (tests, console) and the console chat.
May import: everything (the console builds the whole Application through handlers.app)."""
