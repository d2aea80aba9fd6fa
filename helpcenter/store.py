"""The help center's own records in SQLite under DATA_DIR: reminders (and later tickets).

aiosqlite keeps the event loop free; every write is committed at once so a crash loses nothing.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

SCHEMA = """
CREATE TABLE IF NOT EXISTS reminders (
    id INTEGER PRIMARY KEY,
    chat_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    due_at TEXT NOT NULL,            -- ISO 8601, UTC
    payload TEXT NOT NULL,           -- JSON: what the reminder says
    status TEXT NOT NULL DEFAULT 'pending',  -- pending | sent | cancelled
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS reminders_pending ON reminders(status, due_at);
"""


class StoreError(RuntimeError):
    """DATA_DIR cannot hold the database: said clearly at start-up instead of losing data later."""


@dataclass(frozen=True, slots=True)
class Reminder:
    id: int
    chat_id: int
    user_id: int
    due_at: datetime
    payload: dict[str, Any]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: aiosqlite.Connection | None = None

    async def open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = await aiosqlite.connect(self.path)
            await self._db.execute("PRAGMA journal_mode=WAL")
            await self._db.execute("PRAGMA synchronous=NORMAL")
            await self._db.executescript(SCHEMA)
            await self._db.commit()
        except (OSError, sqlite3.DatabaseError) as exc:
            raise StoreError(f"cannot use database {self.path}: {exc}") from exc

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StoreError("store is not open")
        return self._db

    async def add_reminder(self, chat_id: int, user_id: int, due_at: datetime,
                           payload: dict[str, Any], now: datetime) -> int:
        cursor = await self.db.execute(
            "INSERT INTO reminders(chat_id, user_id, due_at, payload, created_at) VALUES (?,?,?,?,?)",
            (chat_id, user_id, _iso(due_at), json.dumps(payload, ensure_ascii=False), _iso(now)))
        await self.db.commit()
        return int(cursor.lastrowid or 0)

    async def pending_reminders(self) -> list[Reminder]:
        async with self.db.execute(
                "SELECT id, chat_id, user_id, due_at, payload FROM reminders"
                " WHERE status='pending' ORDER BY due_at") as cursor:
            rows = await cursor.fetchall()
        return [Reminder(r[0], r[1], r[2], datetime.fromisoformat(r[3]), json.loads(r[4])) for r in rows]

    async def set_reminder_status(self, reminder_id: int, status: str) -> None:
        await self.db.execute("UPDATE reminders SET status=? WHERE id=?", (status, reminder_id))
        await self.db.commit()
