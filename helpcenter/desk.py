"""The agents' desk records in SQLite: who holds a ticket, its history (for the transcript and
the service figures), internal notes, and the phrasings agents taught the bot.

Its own file (desk.sqlite3 under DATA_DIR, schema versioned by PRAGMA user_version), so the
help center's tables stay one engineer's business; the tickets table is read through ATTACH
(read-only use) to compute response and resolution times.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

import aiosqlite

from .store import StoreError

SCHEMA_VERSION = 2  # 2: events.source
SCHEMA = """
CREATE TABLE IF NOT EXISTS desk_tickets (
    ticket_id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL,
    holder_id INTEGER,                 -- the agent who took it, NULL: nobody yet
    holder_name TEXT,
    claimed_at TEXT,
    first_response_at TEXT,            -- the first agent answer the customer got
    sla_level INTEGER NOT NULL DEFAULT 0,  -- 0 none, 1 announced again, 2 sent to admins
    seen_at TEXT NOT NULL
);
-- Everything said in a ticket, in order: what the transcript shows and the figures count.
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,          -- the customer, so /forget can delete it
    at TEXT NOT NULL,
    kind TEXT NOT NULL,                -- bot_q bot_a user agent note kb claim close reopen
    author_id INTEGER,
    author TEXT NOT NULL DEFAULT '',
    text TEXT NOT NULL DEFAULT '',
    source TEXT                        -- chat:message it came from; an update replayed after a crash adds nothing
);
CREATE INDEX IF NOT EXISTS events_ticket ON events(ticket_id, id);
CREATE UNIQUE INDEX IF NOT EXISTS events_source ON events(kind, source);
CREATE TABLE IF NOT EXISTS agents (
    user_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL
);
-- /teach: a customer's question (personal data masked) offered, then stored for an entry.
CREATE TABLE IF NOT EXISTS taught (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER,
    text TEXT NOT NULL,
    lang TEXT NOT NULL,
    entry_id TEXT,                     -- NULL while the agent has not picked one
    agent_id INTEGER,
    agent TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL
);
"""

EVENT_KINDS = ("bot_q", "bot_a", "user", "agent", "note", "kb", "claim", "close", "reopen")


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class Holding:
    ticket_id: int
    user_id: int
    holder_id: int | None
    holder_name: str | None
    first_response_at: datetime | None
    sla_level: int


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    ticket_id: int
    at: datetime
    kind: str
    author: str
    text: str


@dataclass(frozen=True, slots=True)
class Taught:
    id: int
    ticket_id: int | None
    text: str
    lang: str
    entry_id: str | None
    agent: str
    at: datetime


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class Desk:
    def __init__(self, path: Path, tickets_db: Path | None = None) -> None:
        self.path = path
        self.tickets_db = tickets_db
        self._db: aiosqlite.Connection | None = None
        self._known: set[int] = set()  # tickets ensure() has seen: no query for them again

    async def open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = await aiosqlite.connect(self.path)
            await self._db.execute("PRAGMA journal_mode=WAL")
            await self._db.execute("PRAGMA synchronous=NORMAL")  # as the store: WAL keeps commits safe
            async with self._db.execute("PRAGMA user_version") as cursor:
                version = (await cursor.fetchone())[0]
            if version > SCHEMA_VERSION:
                await self.close()
                raise StoreError(f"{self.path} has schema {version}, newer than this bot's {SCHEMA_VERSION}")
            if version == 1:  # events before they knew their source message
                await self._db.execute("ALTER TABLE events ADD COLUMN source TEXT")
            await self._db.executescript(SCHEMA)
            await self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            if self.tickets_db is not None:
                await self._db.execute("ATTACH DATABASE ? AS hc", (str(self.tickets_db),))
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
            raise StoreError("desk is not open")
        return self._db

    async def _rows(self, sql: str, args: tuple = ()) -> list[Any]:
        async with self.db.execute(sql, args) as cursor:
            return list(await cursor.fetchall())

    # --- holding -------------------------------------------------------------------------------

    async def ensure(self, ticket_id: int, user_id: int, now: datetime,
                     before: Sequence[tuple[str, str]] = ()) -> bool:
        """Know a ticket from its first sighting; before = the bot's questions and answers that
        preceded the hand-off, kept as the start of its history. True if it was new."""
        if ticket_id in self._known:
            return False
        cursor = await self.db.execute("INSERT OR IGNORE INTO desk_tickets(ticket_id, user_id, seen_at)"
                                       " VALUES (?,?,?)", (ticket_id, user_id, iso(now)))
        if cursor.rowcount:
            for kind, text in before:
                await self.db.execute("INSERT INTO events(ticket_id, user_id, at, kind, text) VALUES (?,?,?,?,?)",
                                      (ticket_id, user_id, iso(now), kind, text))
        await self.db.commit()
        self._known.add(ticket_id)
        return bool(cursor.rowcount)

    async def holding(self, ticket_id: int) -> Holding | None:
        rows = await self._rows("SELECT ticket_id, user_id, holder_id, holder_name, first_response_at, sla_level"
                                " FROM desk_tickets WHERE ticket_id=?", (ticket_id,))
        if not rows:
            return None
        r = rows[0]
        return Holding(r[0], r[1], r[2], r[3], _dt(r[4]), r[5])

    async def claim(self, ticket_id: int, agent_id: int, name: str, now: datetime) -> None:
        await self.db.execute("UPDATE desk_tickets SET holder_id=?, holder_name=?, claimed_at=? WHERE ticket_id=?",
                              (agent_id, name, iso(now), ticket_id))
        await self.db.execute("INSERT OR REPLACE INTO agents VALUES (?,?)", (agent_id, name))
        await self.db.commit()

    async def held_by(self, agent_id: int) -> list[int]:
        return [r[0] for r in await self._rows("SELECT ticket_id FROM desk_tickets WHERE holder_id=?"
                                               " ORDER BY ticket_id", (agent_id,))]

    async def set_sla_level(self, ticket_id: int, level: int) -> None:
        await self.db.execute("UPDATE desk_tickets SET sla_level=? WHERE ticket_id=?", (level, ticket_id))
        await self.db.commit()

    async def responded(self, ticket_id: int, now: datetime) -> None:
        await self.db.execute("UPDATE desk_tickets SET first_response_at=? WHERE ticket_id=?"
                              " AND first_response_at IS NULL", (iso(now), ticket_id))
        await self.db.commit()

    # --- history -------------------------------------------------------------------------------

    async def record(self, ticket_id: int, user_id: int, kind: str, now: datetime, text: str = "",
                     author: str = "", author_id: int | None = None, source: str | None = None) -> None:
        """One event of a ticket's history; source (chat:message) makes a replayed update a no-op."""
        if kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {kind!r}")
        await self.db.execute("INSERT OR IGNORE INTO events(ticket_id, user_id, at, kind, author_id, author, text,"
                              " source) VALUES (?,?,?,?,?,?,?,?)",
                              (ticket_id, user_id, iso(now), kind, author_id, author, text, source))
        if author_id is not None and author:
            await self.db.execute("INSERT OR REPLACE INTO agents VALUES (?,?)", (author_id, author))
        await self.db.commit()

    async def last_of(self, ticket_id: int, kinds: tuple[str, ...]) -> str | None:
        """The latest of these kinds of event in a ticket's history (e.g. close or reopen)."""
        marks = ",".join("?" * len(kinds))
        rows = await self._rows(f"SELECT kind FROM events WHERE ticket_id=? AND kind IN ({marks})"  # noqa: S608
                                " ORDER BY id DESC LIMIT 1", (ticket_id, *kinds))
        return rows[0][0] if rows else None

    async def history(self, ticket_id: int) -> list[Event]:
        rows = await self._rows("SELECT id, ticket_id, at, kind, author, text FROM events WHERE ticket_id=?"
                                " ORDER BY id", (ticket_id,))
        return [Event(r[0], r[1], datetime.fromisoformat(r[2]), r[3], r[4], r[5]) for r in rows]

    async def forget(self, user_id: int) -> None:
        """/forget: the customer's history and holding rows go with their tickets."""
        self._known.clear()
        for sql in ("DELETE FROM taught WHERE entry_id IS NULL AND ticket_id IN"
                    " (SELECT ticket_id FROM desk_tickets WHERE user_id=?)",
                    "DELETE FROM events WHERE user_id=?", "DELETE FROM desk_tickets WHERE user_id=?"):
            await self.db.execute(sql, (user_id,))
        await self.db.commit()

    # --- taught phrasings ----------------------------------------------------------------------

    async def offer(self, ticket_id: int | None, text: str, lang: str, agent_id: int, agent: str,
                    now: datetime) -> int:
        cursor = await self.db.execute("INSERT INTO taught(ticket_id, text, lang, agent_id, agent, at)"
                                       " VALUES (?,?,?,?,?,?)", (ticket_id, text, lang, agent_id, agent, iso(now)))
        await self.db.commit()
        return int(cursor.lastrowid or 0)

    async def teach(self, taught_id: int, entry_id: str, agent_id: int, agent: str, now: datetime) -> Taught | None:
        """Store an offered phrasing for entry_id; None if it is unknown or already stored."""
        cursor = await self.db.execute("UPDATE taught SET entry_id=?, agent_id=?, agent=?, at=? WHERE id=?"
                                       " AND entry_id IS NULL", (entry_id, agent_id, agent, iso(now), taught_id))
        await self.db.commit()
        if not cursor.rowcount:
            return None
        return next((t for t in await self.taught() if t.id == taught_id), None)

    async def taught(self) -> list[Taught]:
        rows = await self._rows("SELECT id, ticket_id, text, lang, entry_id, agent, at FROM taught"
                                " WHERE entry_id IS NOT NULL ORDER BY entry_id, id")
        return [Taught(r[0], r[1], r[2], r[3], r[4], r[5], datetime.fromisoformat(r[6])) for r in rows]

    # --- service figures -----------------------------------------------------------------------

    async def answer_rate_per_day(self, since: datetime, tz: tzinfo) -> dict[str, float]:
        """Share of typed questions the bot answered, per day in tz (needs ATTACH)."""
        try:
            rows = await self._rows("SELECT asked_at, entry_id IS NOT NULL FROM hc.questions"
                                    " WHERE asked_at>=? AND source='text'", (iso(since),))
        except sqlite3.OperationalError:  # no help-center database yet
            return {}
        days: dict[str, list[int]] = {}
        for asked, answered in rows:
            day = days.setdefault(datetime.fromisoformat(asked).astimezone(tz).strftime("%Y-%m-%d"), [0, 0])
            day[0] += 1
            day[1] += answered
        return {day: answered / total for day, (total, answered) in sorted(days.items())}

    async def service_rows(self, since: datetime) -> list[dict[str, Any]]:
        """One row per ticket opened since: times, holder, rating, reopen count (needs ATTACH)."""
        try:
            rows = await self._service_rows(since)
        except sqlite3.OperationalError:  # no help-center database (no tickets) yet
            return []
        return [{"id": r[0], "created_at": datetime.fromisoformat(r[1]), "closed_at": _dt(r[2]),
                 "status": r[3], "rating": r[4], "holder_id": r[5], "holder": r[6],
                 "first_response_at": _dt(r[7]), "reopens": r[8]} for r in rows]

    async def _service_rows(self, since: datetime) -> list[Any]:
        return await self._rows(
            "SELECT t.id, t.created_at, t.closed_at, t.status, t.rating, d.holder_id,"
            " COALESCE(a.name, d.holder_name), d.first_response_at,"
            " (SELECT COUNT(*) FROM events e WHERE e.ticket_id=t.id AND e.kind='reopen')"
            " FROM hc.tickets t LEFT JOIN desk_tickets d ON d.ticket_id=t.id"
            " LEFT JOIN agents a ON a.user_id=d.holder_id WHERE t.created_at>=? ORDER BY t.id", (iso(since),))
