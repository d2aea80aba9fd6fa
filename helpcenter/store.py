"""The help center's own records in SQLite under DATA_DIR: reminders, tickets, message links,
the relay outbox and bans.

aiosqlite keeps the event loop free; every write is committed at once so a crash loses nothing.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from .forms import mask_personal

SCHEMA = """
CREATE TABLE IF NOT EXISTS reminders (
    id INTEGER PRIMARY KEY,
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
    id INTEGER PRIMARY KEY,
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
    id INTEGER PRIMARY KEY,
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
    id INTEGER PRIMARY KEY,
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
    user_id INTEGER PRIMARY KEY,
    banned_at TEXT NOT NULL
);
"""


class StoreError(RuntimeError):
    """DATA_DIR cannot hold the database: said clearly at start-up instead of losing data later."""


DATABASES = ("helpcenter.sqlite3", "state.sqlite3")
BUSY_TIMEOUT = 1.0  # seconds to wait for a database another process locked (not 5: every update waits)


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


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: aiosqlite.Connection | None = None

    async def open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = await aiosqlite.connect(self.path, timeout=BUSY_TIMEOUT)
            await self._db.execute("PRAGMA journal_mode=WAL")
            await self._db.execute("PRAGMA synchronous=NORMAL")
            await self._db.executescript(SCHEMA)
            await self._migrate_reminders()
            await self._migrate()
            await self._db.commit()
        except (OSError, sqlite3.DatabaseError) as exc:
            raise StoreError(f"cannot use database {self.path}: {exc}") from exc

    async def _migrate(self) -> None:
        """Columns added after the first release (CREATE TABLE IF NOT EXISTS keeps old tables)."""
        async with self.db.execute("PRAGMA table_info(outbox)") as cursor:
            columns = {row[1] for row in await cursor.fetchall()}
        if "dedup" not in columns:
            await self.db.execute("ALTER TABLE outbox ADD COLUMN dedup TEXT")
        await self.db.execute("CREATE UNIQUE INDEX IF NOT EXISTS outbox_dedup ON outbox(dedup)")

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StoreError("store is not open")
        return self._db

    async def _migrate_reminders(self) -> None:
        """Databases made before reminders had a request key get the column; the unique index
        makes a second tap (or a race of taps) find the first reminder instead of adding one."""
        async with self.db.execute("PRAGMA table_info(reminders)") as cursor:
            columns = {row[1] for row in await cursor.fetchall()}
        if "request" not in columns:
            await self.db.execute("ALTER TABLE reminders ADD COLUMN request TEXT")
        await self.db.execute("CREATE UNIQUE INDEX IF NOT EXISTS reminders_once ON reminders(user_id, request)"
                              " WHERE status='pending' AND request IS NOT NULL")

    async def add_reminder(self, chat_id: int, user_id: int, due_at: datetime,
                           payload: dict[str, Any], now: datetime, request: str | None = None) -> int:
        """Store a reminder; with a request key, at most one is pending per user and request:
        asking again returns the pending one's id (see pending_reminder to tell the two apart)."""
        cursor = await self.db.execute(
            "INSERT OR IGNORE INTO reminders(chat_id, user_id, due_at, payload, created_at, request)"
            " VALUES (?,?,?,?,?,?)",
            (chat_id, user_id, _iso(due_at), json.dumps(payload, ensure_ascii=False), _iso(now), request))
        await self.db.commit()
        if cursor.rowcount:
            return int(cursor.lastrowid or 0)
        existing = await self.pending_reminder(user_id, request or "")
        assert existing is not None
        return existing.id

    async def pending_reminder(self, user_id: int, request: str | None = None,
                               reminder_id: int | None = None) -> Reminder | None:
        """The user's pending reminder for a request (or with this id), if any."""
        where, arg = ("request=?", request) if reminder_id is None else ("id=?", reminder_id)
        async with self.db.execute(
                "SELECT id, chat_id, user_id, due_at, payload FROM reminders"  # noqa: S608
                f" WHERE user_id=? AND {where} AND status='pending'", (user_id, arg)) as cursor:
            r = await cursor.fetchone()
        return Reminder(r[0], r[1], r[2], datetime.fromisoformat(r[3]), json.loads(r[4])) if r else None

    async def cancel_reminder(self, reminder_id: int, user_id: int) -> bool:
        """Cancel a pending reminder of this user; False if it is not theirs or not pending."""
        cursor = await self.db.execute("UPDATE reminders SET status='cancelled' WHERE id=? AND user_id=?"
                                       " AND status='pending'", (reminder_id, user_id))
        await self.db.commit()
        return cursor.rowcount > 0

    async def reminder_status(self, reminder_id: int) -> str | None:
        async with self.db.execute("SELECT status FROM reminders WHERE id=?", (reminder_id,)) as cursor:
            row = await cursor.fetchone()
        return row[0] if row else None

    async def pending_reminders(self) -> list[Reminder]:
        async with self.db.execute(
                "SELECT id, chat_id, user_id, due_at, payload FROM reminders"
                " WHERE status='pending' ORDER BY due_at") as cursor:
            rows = await cursor.fetchall()
        return [Reminder(r[0], r[1], r[2], datetime.fromisoformat(r[3]), json.loads(r[4])) for r in rows]

    async def set_reminder_status(self, reminder_id: int, status: str) -> None:
        await self.db.execute("UPDATE reminders SET status=? WHERE id=?", (status, reminder_id))
        await self.db.commit()

    # --- tickets ---------------------------------------------------------------------------

    async def open_ticket(self, user_id: int, chat_id: int, user_name: str, lang: str, role: str,
                          now: datetime) -> Ticket:
        cursor = await self.db.execute(
            "INSERT INTO tickets(user_id, chat_id, user_name, lang, role, created_at, updated_at)"
            " VALUES (?,?,?,?,?,?,?)", (user_id, chat_id, user_name, lang, role, _iso(now), _iso(now)))
        await self.db.commit()
        ticket = await self.ticket(int(cursor.lastrowid or 0))
        assert ticket is not None
        return ticket

    async def _one(self, where: str, args: tuple) -> Ticket | None:
        async with self.db.execute(f"SELECT {TICKET_COLUMNS} FROM tickets WHERE {where}", args) as cursor:  # noqa: S608
            row = await cursor.fetchone()
        return _ticket(row) if row else None

    async def ticket(self, ticket_id: int) -> Ticket | None:
        return await self._one("id=?", (ticket_id,))

    async def latest_ticket(self, user_id: int) -> Ticket | None:
        return await self._one("user_id=? ORDER BY id DESC LIMIT 1", (user_id,))

    async def ticket_by_thread(self, thread_id: int) -> Ticket | None:
        return await self._one("thread_id=? ORDER BY id DESC LIMIT 1", (thread_id,))

    async def open_tickets(self) -> list[Ticket]:
        async with self.db.execute(f"SELECT {TICKET_COLUMNS} FROM tickets WHERE status='open' ORDER BY id") as c:  # noqa: S608
            return [_ticket(row) for row in await c.fetchall()]

    async def update_ticket(self, ticket_id: int, now: datetime, **fields: Any) -> None:
        if fields.get("status") == "closed":
            fields["closed_at"] = _iso(now)
        elif fields.get("status") == "open":
            fields["closed_at"] = None
        names = ", ".join(f"{name}=?" for name in fields)
        await self.db.execute(f"UPDATE tickets SET {names}, updated_at=? WHERE id=?",  # noqa: S608
                              (*fields.values(), _iso(now), ticket_id))
        await self.db.commit()

    # --- message links ---------------------------------------------------------------------

    async def link(self, ticket_id: int, from_chat: int, from_msg: int, to_chat: int, to_msg: int) -> None:
        await self.db.execute("INSERT INTO links VALUES (?,?,?,?,?)", (ticket_id, from_chat, from_msg, to_chat, to_msg))
        await self.db.commit()

    async def ticket_of_message(self, chat_id: int, message_id: int) -> int | None:
        """The ticket a message in chat_id belongs to (whichever side of a link it is on)."""
        async with self.db.execute(
                "SELECT ticket_id FROM links WHERE (to_chat=? AND to_msg=?) OR (from_chat=? AND from_msg=?)"
                " LIMIT 1", (chat_id, message_id, chat_id, message_id)) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else None

    async def copies_of(self, chat_id: int, message_id: int) -> list[tuple[int, int]]:
        async with self.db.execute("SELECT to_chat, to_msg FROM links WHERE from_chat=? AND from_msg=?",
                                   (chat_id, message_id)) as cursor:
            return [(int(a), int(b)) for a, b in await cursor.fetchall()]

    # --- outbox ----------------------------------------------------------------------------

    async def enqueue(self, ticket_id: int, payload: dict[str, Any], now: datetime,
                      dedup: str | None = None) -> OutboxItem | None:
        """Queue a relay; with a dedup key, only once (an update replayed after a crash queues
        nothing new). None when it was queued before."""
        cursor = await self.db.execute(
            "INSERT OR IGNORE INTO outbox(ticket_id, payload, created_at, dedup) VALUES (?,?,?,?)",
            (ticket_id, json.dumps(payload, ensure_ascii=False), _iso(now), dedup))
        await self.db.commit()
        if cursor.rowcount == 0:
            return None
        return OutboxItem(int(cursor.lastrowid or 0), ticket_id, payload, 0)

    async def pending_outbox(self) -> list[OutboxItem]:
        async with self.db.execute("SELECT id, ticket_id, payload, attempts FROM outbox"
                                   " WHERE status='pending' ORDER BY id") as cursor:
            return [OutboxItem(r[0], r[1], json.loads(r[2]), r[3]) for r in await cursor.fetchall()]

    async def start_sending(self, item_id: int) -> None:
        await self.db.execute("UPDATE outbox SET status='sending' WHERE id=?", (item_id,))
        await self.db.commit()

    async def interrupted_sends(self) -> int:
        """At start-up: relays a crash caught between the API call and its "sent" mark go out again
        (Telegram has no idempotency key: they may arrive twice; nothing is lost)."""
        cursor = await self.db.execute("UPDATE outbox SET status='pending' WHERE status='sending'")
        await self.db.commit()
        return cursor.rowcount

    async def mark_outbox(self, item_id: int, status: str, error: str | None = None) -> None:
        await self.db.execute("UPDATE outbox SET status=?, attempts=attempts+1, last_error=? WHERE id=?",
                              (status, error, item_id))
        await self.db.commit()

    # --- bans --------------------------------------------------------------------------------

    async def ban(self, user_id: int, now: datetime) -> None:
        await self.db.execute("INSERT OR REPLACE INTO bans VALUES (?,?)", (user_id, _iso(now)))
        await self.db.commit()

    async def unban(self, user_id: int) -> None:
        await self.db.execute("DELETE FROM bans WHERE user_id=?", (user_id,))
        await self.db.commit()

    async def is_banned(self, user_id: int) -> bool:
        async with self.db.execute("SELECT 1 FROM bans WHERE user_id=?", (user_id,)) as cursor:
            return await cursor.fetchone() is not None

    # --- question log and feedback -------------------------------------------------------------

    async def log_question(self, chat_id: int | None, lang: str, normalized: str, entry_id: str | None,
                           topic: str | None, score: float, now: datetime, source: str = "text") -> int:
        cursor = await self.db.execute(
            "INSERT INTO questions(asked_at, chat_id, lang, normalized, entry_id, topic, score, source)"
            " VALUES (?,?,?,?,?,?,?,?)",
            (_iso(now), chat_id, lang, mask_personal(normalized)[:500], entry_id, topic, score, source))
        await self.db.commit()
        return int(cursor.lastrowid or 0)

    async def set_feedback(self, question_id: int, chat_id: int, value: int) -> bool:
        """One vote per user per answer: this one counts, an earlier vote on the same entry (the
        same answer asked again) is withdrawn. False if the question is not this chat's."""
        if not 0 < question_id < 2**63:  # a forged button: SQLite integers are 64-bit
            return False
        cursor = await self.db.execute("UPDATE questions SET feedback=? WHERE id=? AND chat_id=?",
                                       (value, question_id, chat_id))
        if cursor.rowcount:
            await self.db.execute(
                "UPDATE questions SET feedback=NULL WHERE chat_id=? AND id<>? AND feedback IS NOT NULL"
                " AND entry_id=(SELECT entry_id FROM questions WHERE id=?)", (chat_id, question_id, question_id))
        await self.db.commit()
        return cursor.rowcount > 0

    async def feedback(self, question_id: int, chat_id: int) -> int | None:
        """The vote this chat gave the answer to a question: 1, -1, or None."""
        if not 0 < question_id < 2**63:  # a forged button
            return None
        async with self.db.execute("SELECT feedback FROM questions WHERE id=? AND chat_id=?",
                                   (question_id, chat_id)) as cursor:
            row = await cursor.fetchone()
        return row[0] if row else None

    async def stats(self, since: datetime, limit: int = 5) -> dict[str, Any]:
        """Questions per day, answer rate, top topics, top unanswered, helpful ratio."""
        start = _iso(since)

        async def rows(sql: str, *args: Any) -> list[Any]:
            async with self.db.execute(sql, (start, *args)) as cursor:
                return list(await cursor.fetchall())

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
        async with self.db.execute("SELECT topic FROM questions WHERE topic IS NOT NULL GROUP BY topic"
                                   " ORDER BY COUNT(*) DESC, topic LIMIT ?", (limit,)) as cursor:
            return [row[0] for row in await cursor.fetchall()]

    async def to_review(self) -> list[tuple[str, str, str | None]]:
        """Unanswered and not-helpful questions: (normalized text, lang, entry given or None)."""
        async with self.db.execute("SELECT normalized, lang, entry_id FROM questions"
                                   " WHERE entry_id IS NULL OR feedback=-1 ORDER BY id") as cursor:
            return [(mask_personal(r[0]), r[1], r[2]) for r in await cursor.fetchall()]

    async def forget(self, user_id: int) -> dict[str, int]:
        """Delete everything stored about a user (their private chat id is their user id);
        how many questions, reminders and tickets went, so the user can be told."""
        counts: dict[str, int] = {}
        # Reminders the user has (pending); sent, cancelled or failed ones are deleted too, but
        # telling "2 reminders" about one cancelled and one pending would be wrong.
        async with self.db.execute("SELECT COUNT(*) FROM reminders WHERE user_id=? AND status='pending'",
                                   (user_id,)) as cursor:
            pending = (await cursor.fetchone())[0]
        for name, sql in (("questions", "DELETE FROM questions WHERE chat_id=?"),
                          ("reminders", "DELETE FROM reminders WHERE user_id=?"),
                          ("", "DELETE FROM links WHERE ticket_id IN (SELECT id FROM tickets WHERE user_id=?)"),
                          ("", "DELETE FROM outbox WHERE ticket_id IN (SELECT id FROM tickets WHERE user_id=?)"),
                          ("tickets", "DELETE FROM tickets WHERE user_id=?")):
            cursor = await self.db.execute(sql, (user_id,))
            if name:
                counts[name] = cursor.rowcount
        counts["reminders"] = pending
        await self.db.commit()
        return counts
