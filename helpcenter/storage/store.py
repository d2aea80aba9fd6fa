"""The help center's own records: reminders, tickets, message links, the relay outbox, the
question log and bans, in SQLite under DATA_DIR or in PostgreSQL (helpcenter/db.py).

Every write is committed at once so a crash loses nothing.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from helpcenter.answers.forms import mask_personal
from helpcenter.storage.db import (
    BUSY_TIMEOUT,
    DB_ERRORS,
    Database,
    SqliteDatabase,
    Step,
    StoreError,
    Tables,
    Tx,
)

__all__ = ["BUSY_TIMEOUT", "DB_ERRORS", "Store", "StoreError"]

SCHEMA = """  -- in ddl() words (helpcenter/db.py)
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


DATABASES = ("helpcenter.sqlite3", "state.sqlite3")


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


@dataclass(frozen=True, slots=True)
class Reminder:
    id: int
    chat_id: int
    user_id: int
    due_at: datetime
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Ticket:
    id: int
    user_id: int
    chat_id: int
    user_name: str
    lang: str
    role: str
    status: str
    thread_id: int | None
    card_msg: int | None
    rating: int | None
    created_at: datetime
    closed_at: datetime | None

    @property
    def open(self) -> bool:
        return self.status == "open"


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    ticket_id: int
    payload: dict[str, Any]
    attempts: int


TICKET_COLUMNS = ("id, user_id, chat_id, user_name, lang, role, status, thread_id, card_msg, rating,"
                  " created_at, closed_at")


def _ticket(row: Any) -> Ticket:
    return Ticket(*row[:10], datetime.fromisoformat(row[10]),
                  datetime.fromisoformat(row[11]) if row[11] else None)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


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


# Numbered schema steps of this component; add a new Step at the end, never edit an old one.
STEPS = (
    Step(1, SCHEMA),
    Step(2, run=_legacy_columns),
)
TABLES = ("reminders", "tickets", "links", "outbox", "questions", "bans")  # what migrate copies


class Store(Tables):
    """The records above, on either backend: Store(path) is SQLite, Store(database) any."""

    part, steps = "store", STEPS

    def __init__(self, where: Path | Database) -> None:
        super().__init__(SqliteDatabase(where) if isinstance(where, Path) else where)
        self.path = where if isinstance(where, Path) else None

    async def add_reminder(self, chat_id: int, user_id: int, due_at: datetime,
                           payload: dict[str, Any], now: datetime, request: str | None = None) -> int:
        """Store a reminder; with a request key, at most one is pending per user and request:
        asking again returns the pending one's id (see pending_reminder to tell the two apart)."""
        new = await self.db.insert(
            "INSERT INTO reminders(chat_id, user_id, due_at, payload, created_at, request)"
            " VALUES (?,?,?,?,?,?) ON CONFLICT DO NOTHING RETURNING id",
            (chat_id, user_id, _iso(due_at), json.dumps(payload, ensure_ascii=False), _iso(now), request))
        if new is not None:
            return new
        existing = await self.pending_reminder(user_id, request or "")
        assert existing is not None
        return existing.id

    async def pending_reminder(self, user_id: int, request: str | None = None,
                               reminder_id: int | None = None) -> Reminder | None:
        """The user's pending reminder for a request (or with this id), if any."""
        where, arg = ("request=?", request) if reminder_id is None else ("id=?", reminder_id)
        r = await self.db.fetchone("SELECT id, chat_id, user_id, due_at, payload FROM reminders"  # noqa: S608
                                   f" WHERE user_id=? AND {where} AND status='pending'", (user_id, arg))
        return Reminder(r[0], r[1], r[2], datetime.fromisoformat(r[3]), json.loads(r[4])) if r else None

    async def cancel_reminder(self, reminder_id: int, user_id: int) -> bool:
        """Cancel a pending reminder of this user; False if it is not theirs or not pending."""
        return await self.db.execute("UPDATE reminders SET status='cancelled' WHERE id=? AND user_id=?"
                                     " AND status='pending'", (reminder_id, user_id)) > 0

    async def reminder_status(self, reminder_id: int) -> str | None:
        row = await self.db.fetchone("SELECT status FROM reminders WHERE id=?", (reminder_id,))
        return row[0] if row else None

    async def pending_reminders(self) -> list[Reminder]:
        rows = await self.db.fetchall("SELECT id, chat_id, user_id, due_at, payload FROM reminders"
                                      " WHERE status='pending' ORDER BY due_at")
        return [Reminder(r[0], r[1], r[2], datetime.fromisoformat(r[3]), json.loads(r[4])) for r in rows]

    async def set_reminder_status(self, reminder_id: int, status: str) -> None:
        await self.db.execute("UPDATE reminders SET status=? WHERE id=?", (status, reminder_id))

    # --- tickets ---------------------------------------------------------------------------

    async def open_ticket(self, user_id: int, chat_id: int, user_name: str, lang: str, role: str,
                          now: datetime) -> Ticket:
        new = await self.db.insert(
            "INSERT INTO tickets(user_id, chat_id, user_name, lang, role, created_at, updated_at)"
            " VALUES (?,?,?,?,?,?,?) RETURNING id", (user_id, chat_id, user_name, lang, role, _iso(now), _iso(now)))
        ticket = await self.ticket(int(new or 0))
        assert ticket is not None
        return ticket

    async def _one(self, where: str, args: tuple) -> Ticket | None:
        row = await self.db.fetchone(f"SELECT {TICKET_COLUMNS} FROM tickets WHERE {where}", args)  # noqa: S608
        return _ticket(row) if row else None

    async def ticket(self, ticket_id: int) -> Ticket | None:
        return await self._one("id=?", (ticket_id,))

    async def latest_ticket(self, user_id: int) -> Ticket | None:
        return await self._one("user_id=? ORDER BY id DESC LIMIT 1", (user_id,))

    async def ticket_by_thread(self, thread_id: int) -> Ticket | None:
        return await self._one("thread_id=? ORDER BY id DESC LIMIT 1", (thread_id,))

    async def open_tickets(self) -> list[Ticket]:
        rows = await self.db.fetchall(f"SELECT {TICKET_COLUMNS} FROM tickets WHERE status='open' ORDER BY id")  # noqa: S608
        return [_ticket(row) for row in rows]

    async def update_ticket(self, ticket_id: int, now: datetime, **fields: Any) -> None:
        if fields.get("status") == "closed":
            fields["closed_at"] = _iso(now)
        elif fields.get("status") == "open":
            fields["closed_at"] = None
        names = ", ".join(f"{name}=?" for name in fields)
        await self.db.execute(f"UPDATE tickets SET {names}, updated_at=? WHERE id=?",  # noqa: S608
                              (*fields.values(), _iso(now), ticket_id))

    # --- message links ---------------------------------------------------------------------

    async def link(self, ticket_id: int, from_chat: int, from_msg: int, to_chat: int, to_msg: int) -> None:
        await self.db.execute("INSERT INTO links(ticket_id, from_chat, from_msg, to_chat, to_msg) VALUES (?,?,?,?,?)",
                              (ticket_id, from_chat, from_msg, to_chat, to_msg))

    async def ticket_of_message(self, chat_id: int, message_id: int) -> int | None:
        """The ticket a message in chat_id belongs to (whichever side of a link it is on)."""
        row = await self.db.fetchone(
            "SELECT ticket_id FROM links WHERE (to_chat=? AND to_msg=?) OR (from_chat=? AND from_msg=?)"
            " LIMIT 1", (chat_id, message_id, chat_id, message_id))
        return int(row[0]) if row else None

    async def copies_of(self, chat_id: int, message_id: int) -> list[tuple[int, int]]:
        rows = await self.db.fetchall("SELECT to_chat, to_msg FROM links WHERE from_chat=? AND from_msg=?",
                                      (chat_id, message_id))
        return [(int(a), int(b)) for a, b in rows]

    # --- outbox ----------------------------------------------------------------------------

    async def enqueue(self, ticket_id: int, payload: dict[str, Any], now: datetime,
                      dedup: str | None = None) -> OutboxItem | None:
        """Queue a relay; with a dedup key, only once (an update replayed after a crash queues
        nothing new). None when it was queued before."""
        new = await self.db.insert(
            "INSERT INTO outbox(ticket_id, payload, created_at, dedup) VALUES (?,?,?,?)"
            " ON CONFLICT DO NOTHING RETURNING id",
            (ticket_id, json.dumps(payload, ensure_ascii=False), _iso(now), dedup))
        return None if new is None else OutboxItem(new, ticket_id, payload, 0)

    async def pending_outbox(self) -> list[OutboxItem]:
        rows = await self.db.fetchall("SELECT id, ticket_id, payload, attempts FROM outbox"
                                      " WHERE status='pending' ORDER BY id")
        return [OutboxItem(r[0], r[1], json.loads(r[2]), r[3]) for r in rows]

    async def start_sending(self, item_id: int) -> None:
        await self.db.execute("UPDATE outbox SET status='sending' WHERE id=?", (item_id,))

    async def interrupted_sends(self) -> int:
        """At start-up: relays a crash caught between the API call and its "sent" mark go out again
        (Telegram has no idempotency key: they may arrive twice; nothing is lost)."""
        return await self.db.execute("UPDATE outbox SET status='pending' WHERE status='sending'")

    async def mark_outbox(self, item_id: int, status: str, error: str | None = None) -> None:
        await self.db.execute("UPDATE outbox SET status=?, attempts=attempts+1, last_error=? WHERE id=?",
                              (status, error, item_id))

    # --- bans --------------------------------------------------------------------------------

    async def ban(self, user_id: int, now: datetime) -> None:
        await self.db.execute("INSERT INTO bans(user_id, banned_at) VALUES (?,?)"
                              " ON CONFLICT (user_id) DO UPDATE SET banned_at=excluded.banned_at", (user_id, _iso(now)))

    async def unban(self, user_id: int) -> None:
        await self.db.execute("DELETE FROM bans WHERE user_id=?", (user_id,))

    async def is_banned(self, user_id: int) -> bool:
        return await self.db.fetchone("SELECT 1 FROM bans WHERE user_id=?", (user_id,)) is not None

    # --- question log and feedback -------------------------------------------------------------

    async def log_question(self, chat_id: int | None, lang: str, normalized: str, entry_id: str | None,
                           topic: str | None, score: float, now: datetime, source: str = "text") -> int:
        new = await self.db.insert(
            "INSERT INTO questions(asked_at, chat_id, lang, normalized, entry_id, topic, score, source)"
            " VALUES (?,?,?,?,?,?,?,?) RETURNING id",
            (_iso(now), chat_id, lang, mask_personal(normalized)[:500], entry_id, topic, float(score), source))
        return int(new or 0)

    async def set_feedback(self, question_id: int, chat_id: int, value: int) -> bool:
        """One vote per user per answer: this one counts, an earlier vote on the same entry (the
        same answer asked again) is withdrawn. False if the question is not this chat's."""
        if not 0 < question_id < 2**63:  # a forged button: the ids are 64-bit integers
            return False
        async with self.db.transaction() as tx:
            changed = await tx.execute("UPDATE questions SET feedback=? WHERE id=? AND chat_id=?",
                                       (value, question_id, chat_id))
            if changed:
                await tx.execute(
                    "UPDATE questions SET feedback=NULL WHERE chat_id=? AND id<>? AND feedback IS NOT NULL"
                    " AND entry_id=(SELECT entry_id FROM questions WHERE id=?)", (chat_id, question_id, question_id))
        return changed > 0

    async def feedback(self, question_id: int, chat_id: int) -> int | None:
        """The vote this chat gave the answer to a question: 1, -1, or None."""
        if not 0 < question_id < 2**63:  # a forged button
            return None
        row = await self.db.fetchone("SELECT feedback FROM questions WHERE id=? AND chat_id=?",
                                     (question_id, chat_id))
        return row[0] if row else None

    async def stats(self, since: datetime, limit: int = 5) -> dict[str, Any]:
        """Questions per day, answer rate, top topics, top unanswered, helpful ratio."""
        start = _iso(since)

        async def rows(sql: str, *args: Any) -> list[Any]:
            return await self.db.fetchall(sql, (start, *args))

        per_day = await rows("SELECT substr(asked_at, 1, 10), COUNT(*) FROM questions WHERE asked_at>=?"
                             " AND source='text' GROUP BY 1 ORDER BY 1")
        total, answered = (await rows("SELECT COUNT(*), COUNT(entry_id) FROM questions WHERE asked_at>=?"
                                      " AND source='text'"))[0]
        topics = await rows("SELECT topic, COUNT(*) FROM questions WHERE asked_at>=? AND topic IS NOT NULL"
                            " GROUP BY topic ORDER BY 2 DESC, 1 LIMIT ?", limit)
        unanswered = await rows("SELECT normalized, COUNT(*) FROM questions WHERE asked_at>=? AND entry_id IS NULL"
                                " GROUP BY normalized ORDER BY 2 DESC, 1 LIMIT ?", limit)
        up, down = (await rows("SELECT COUNT(CASE WHEN feedback=1 THEN 1 END), COUNT(CASE WHEN feedback=-1 THEN 1 END)"
                               " FROM questions WHERE asked_at>=?"))[0]
        unanswered = [(mask_personal(text), n) for text, n in unanswered]  # rows logged before masking
        return {"per_day": per_day, "total": total, "answered": answered, "topics": topics,
                "unanswered": unanswered, "helpful": up, "unhelpful": down}

    async def top_topics(self, limit: int = 5) -> list[str]:
        rows = await self.db.fetchall("SELECT topic FROM questions WHERE topic IS NOT NULL GROUP BY topic"
                                      " ORDER BY COUNT(*) DESC, topic LIMIT ?", (limit,))
        return [row[0] for row in rows]

    async def to_review(self) -> list[tuple[str, str, str | None]]:
        """Unanswered and not-helpful questions: (normalized text, lang, entry given or None)."""
        rows = await self.db.fetchall("SELECT normalized, lang, entry_id FROM questions"
                                      " WHERE entry_id IS NULL OR feedback=-1 ORDER BY id")
        return [(mask_personal(r[0]), r[1], r[2]) for r in rows]

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
