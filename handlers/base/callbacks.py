"""Callback data, the one codec: every button's data is `prefix:field:field…` (rules-bot's short
prefixes, routed by `pattern=r"^prefix:"`), built by encode() and read here, never split by hand.
Record ids in buttons and arguments (tickets, taught phrasings) are read by record_id()."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Update

SEP = ":"
RECORD_ID_DIGITS = 18  # a record id fits SQLite's and PostgreSQL's 64-bit integers


@dataclass(frozen=True)
class CallbackData:
    raw: str

    @property
    def prefix(self) -> str:
        return self.raw.split(SEP, 1)[0]

    @property
    def parts(self) -> list[str]:
        """The prefix and every field, split at every colon."""
        return self.raw.split(SEP)

    def fields(self, count: int) -> list[str]:
        """The count fields after the prefix: missing ones are "", and the last keeps any colons
        beyond (ref:start:<case>:<market> with 2 gives "start", "<case>:<market>")."""
        found = self.raw.split(SEP, count)[1:]
        return [*found, *[""] * (count - len(found))]


def callback_data(update: Update) -> CallbackData:
    """The pressed button's data ("" for an update without one)."""
    query = update.callback_query
    return CallbackData((query.data if query else None) or "")


def callback_fields(update: Update, count: int) -> list[str]:
    """The count fields after the prefix of the pressed button's data (CallbackData.fields)."""
    return callback_data(update).fields(count)


def encode(prefix: str, *fields: object) -> str:
    return SEP.join((prefix, *(str(f) for f in fields)))


def record_id(text: str) -> int | None:
    """A ticket or row number from a button or an argument ("#12" too); None for anything that is
    not one (the database's integers hold 18 digits safely)."""
    text = text.lstrip("#")
    return int(text) if text.isdigit() and len(text) <= RECORD_ID_DIGITS else None
