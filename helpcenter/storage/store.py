"""The help center's own records: reminders, tickets, message links, the relay outbox, the
question log and bans, in SQLite under DATA_DIR or in PostgreSQL (storage/db.py): their schema,
and the Store that composes their repositories on one database.

Every write is committed at once so a crash loses nothing.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from helpcenter.storage.db import BUSY_TIMEOUT, DB_ERRORS, Database, SqliteDatabase, Step, StoreError, Tx
from helpcenter.storage.questions import Questions
from helpcenter.storage.reminders import Reminders
from helpcenter.storage.tickets import Tickets

__all__ = ["BUSY_TIMEOUT", "DB_ERRORS", "Store", "StoreError"]

SCHEMA = """  -- in ddl() words (helpcenter/storage/db.py)
CREATE TABLE IF NOT EXISTS reminders (
    id {serial},
    chat_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    due_at TEXT NOT NULL,            -- ISO 8601, UTC
    payload TEXT NOT NULL,           -- JSON: what the reminder says
    status TEXT NOT NULL DEFAULT 'pending',  -- pending | sent | cancelled | failed
    created_at TEXT NOT NULL,
    request TEXT                     -- what the reminder is for: one pending reminder per user and request
);
CREATE INDEX IF NOT EXISTS reminders_pending ON reminders(status, due_at);
CREATE TABLE IF NOT EXISTS tickets (
    id {serial},
    user_id INTEGER NOT NULL,
    chat_id INTEGER NOT NULL,
    user_name TEXT NOT NULL,
    lang TEXT NOT NULL,
    role TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',   -- open | closed
    thread_id INTEGER,                      -- forum topic of the agents' group, if any
    card_msg INTEGER,                       -- the context card in the agents' group
    rating INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    closed_at TEXT
);
CREATE INDEX IF NOT EXISTS tickets_user ON tickets(user_id, status);
CREATE INDEX IF NOT EXISTS tickets_thread ON tickets(thread_id);
-- Which message became which: replies and edits route by this, never by forward_from.
CREATE TABLE IF NOT EXISTS links (
    ticket_id INTEGER NOT NULL,
    from_chat INTEGER NOT NULL,
    from_msg INTEGER NOT NULL,
    to_chat INTEGER NOT NULL,
    to_msg INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS links_from ON links(from_chat, from_msg);
CREATE INDEX IF NOT EXISTS links_to ON links(to_chat, to_msg);
-- Relays waiting to be delivered: kept until Telegram accepted them, across restarts.
CREATE TABLE IF NOT EXISTS outbox (
    id {serial},
    ticket_id INTEGER NOT NULL,
    payload TEXT NOT NULL,                  -- JSON: what to send where
    status TEXT NOT NULL DEFAULT 'pending', -- pending | sent | failed
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at TEXT NOT NULL,
    dedup TEXT                              -- what queued it (e.g. copy:<chat>:<msg>): queued once
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(status, id);
-- One row per question asked: the editors' view of what the bot fails at.
CREATE TABLE IF NOT EXISTS questions (
    id {serial},
    asked_at TEXT NOT NULL,
    chat_id INTEGER,                        -- kept only to let the user give feedback or /forget
    lang TEXT NOT NULL,
    normalized TEXT NOT NULL,
    entry_id TEXT,                          -- NULL: not answered
    topic TEXT,
    score REAL NOT NULL,
    source TEXT NOT NULL DEFAULT 'text',    -- text: typed; button: opened from a menu or link
    feedback INTEGER                        -- 1 helpful, -1 not helpful, NULL none
);
CREATE INDEX IF NOT EXISTS questions_asked ON questions(asked_at);
CREATE INDEX IF NOT EXISTS questions_chat ON questions(chat_id);
CREATE TABLE IF NOT EXISTS bans (
    user_id {serial},
    banned_at TEXT NOT NULL
);
"""


DATABASES = ("helpcenter.sqlite3", "state.sqlite3", "desk.sqlite3")  # desk: storage/desk_records.py


def check_data_dir(data_dir: Path) -> None:
    """Refuse to start on a DATA_DIR we cannot write or whose databases are damaged, with a clear
    reason, instead of failing later and losing what users send."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"DATA_DIR {data_dir} cannot be created: {exc.strerror}") from exc
    if not os.access(data_dir, os.W_OK | os.X_OK):
        raise StoreError(f"DATA_DIR {data_dir} is not writable")
    for name in DATABASES:
        path = data_dir / name
        if path.exists() and not os.access(path, os.W_OK):
            raise StoreError(f"{path} is read-only")
        if not path.exists():
            continue
        try:
            with sqlite3.connect(path) as db:
                result = db.execute("PRAGMA quick_check").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path} is not a usable SQLite database ({exc}); restore it from a backup"
                             " or move it away to start empty") from exc
        if result is None or result[0] != "ok":
            raise StoreError(f"{path} is damaged ({result[0] if result else 'no answer'}); restore it from a backup")


async def _legacy_columns(tx: Tx, dialect: str) -> None:
    """SQLite files made before reminders had a request key or relays a dedup key get the
    columns (CREATE TABLE IF NOT EXISTS kept their old tables); the unique indexes make a second
    tap find the first reminder, and a replayed update queue no relay twice."""
    for table, column in (("reminders", "request"), ("outbox", "dedup")):
        if dialect == "sqlite":
            have = {row[1] for row in await tx.fetchall(f"PRAGMA table_info({table})")}
            if column not in have:
                await tx.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")
        else:
            await tx.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} TEXT")
    await tx.execute("CREATE UNIQUE INDEX IF NOT EXISTS reminders_once ON reminders(user_id, request)"
                     " WHERE status='pending' AND request IS NOT NULL")
    await tx.execute("CREATE UNIQUE INDEX IF NOT EXISTS outbox_dedup ON outbox(dedup)")


FENCING = """  -- in ddl() words
-- The update that opened a ticket: a replay of it (after a crash) answers as the first run did.
ALTER TABLE tickets ADD COLUMN opened_by INTEGER;
-- The epoch of the active process that claimed a relay for sending (leader.epoch when it did).
ALTER TABLE outbox ADD COLUMN epoch INTEGER;
-- Which process serves: each one that becomes active takes the next epoch (storage/tickets.py take_over).
-- A relay is claimed only under the current epoch, so a process that lost its lock claims nothing more.
CREATE TABLE IF NOT EXISTS leader (
    id INTEGER PRIMARY KEY,         -- always 1
    epoch INTEGER NOT NULL,
    holder TEXT NOT NULL,           -- the serving process: storage.db.INSTANCE (<pid>-<random>)
    host TEXT NOT NULL,
    since TEXT NOT NULL
);
"""

# Numbered schema steps of this component; add a new Step at the end, never edit an old one.
STEPS = (
    Step(1, SCHEMA),
    Step(2, run=_legacy_columns),
    Step(3, FENCING),
)
TABLES = ("reminders", "tickets", "links", "outbox", "questions", "bans")  # what migrate copies


class Store(Tickets, Reminders, Questions):
    """The help center's records on one database, either backend: Store(path) is SQLite,
    Store(database) any. One repository per record set (tickets.py, reminders.py, questions.py)
    share its connection and schema; forget() spans them all in one transaction."""

    part, steps = "store", STEPS

    def __init__(self, where: Path | Database) -> None:
        super().__init__(SqliteDatabase(where) if isinstance(where, Path) else where)
        self.path = where if isinstance(where, Path) else None

    # reminders: storage/reminders.py; tickets, links, outbox, bans: storage/tickets.py;
    # the question log: storage/questions.py

    async def forget(self, user_id: int) -> dict[str, int]:
        """Delete everything stored about a user (their private chat id is their user id);
        how many questions, reminders and tickets went, so the user can be told."""
        counts: dict[str, int] = {}
        async with self.db.transaction() as tx:
            # Reminders the user has (pending); sent, cancelled or failed ones are deleted too, but
            # telling "2 reminders" about one cancelled and one pending would be wrong.
            row = await tx.fetchone("SELECT COUNT(*) FROM reminders WHERE user_id=? AND status='pending'", (user_id,))
            pending = int(row[0]) if row else 0
            for name, sql in (("questions", "DELETE FROM questions WHERE chat_id=?"),
                              ("reminders", "DELETE FROM reminders WHERE user_id=?"),
                              ("", "DELETE FROM links WHERE ticket_id IN (SELECT id FROM tickets WHERE user_id=?)"),
                              ("", "DELETE FROM outbox WHERE ticket_id IN (SELECT id FROM tickets WHERE user_id=?)"),
                              ("tickets", "DELETE FROM tickets WHERE user_id=?")):
                changed = await tx.execute(sql, (user_id,))
                if name:
                    counts[name] = changed
            counts["reminders"] = pending
        return counts
