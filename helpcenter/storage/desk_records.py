"""The agents' desk records: who holds a ticket, its history (for the transcript and the
service figures), internal notes, and the phrasings agents taught the bot.

On SQLite its own file (desk.sqlite3 under DATA_DIR; the tickets and questions tables are read
through ATTACH, read-only use, to compute response and resolution times); on PostgreSQL
(DATABASE_URL) tables beside the help center's. Schema steps as helpcenter/storage/db.py records them
(and PRAGMA user_version on SQLite, as before).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from helpcenter.storage.db import DB_ERRORS, Database, SqliteDatabase, Step, StoreError, Tables, Tx, iso, named

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
    id {serial},
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
CREATE TABLE IF NOT EXISTS agents (
    user_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL
);
-- /teach: a customer's question (personal data masked) offered, then stored for an entry.
CREATE TABLE IF NOT EXISTS taught (
    id {serial},
    ticket_id INTEGER,
    text TEXT NOT NULL,
    lang TEXT NOT NULL,
    entry_id TEXT,                     -- NULL while the agent has not picked one
    agent_id INTEGER,
    agent TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL
);
"""



async def _source_column(tx: Tx, dialect: str) -> None:
    """Schema 1 had events without their source message (a SQLite desk.sqlite3 of then)."""
    if dialect == "sqlite":
        have = {row[1] for row in await tx.fetchall("PRAGMA table_info(events)")}
        if "source" not in have:
            await tx.execute("ALTER TABLE events ADD COLUMN source TEXT")
    else:
        await tx.execute("ALTER TABLE events ADD COLUMN IF NOT EXISTS source TEXT")
    await tx.execute("CREATE UNIQUE INDEX IF NOT EXISTS events_source ON events(kind, source)")


STEPS = (Step(1, SCHEMA), Step(2, run=_source_column))
TABLES = ("desk_tickets", "events", "agents", "taught")  # what migrate copies
AGENT_UPSERT = "INSERT INTO agents(user_id, name) VALUES (?,?) ON CONFLICT (user_id) DO UPDATE SET name=excluded.name"

EVENT_KINDS = ("bot_q", "bot_a", "user", "agent", "note", "kb", "claim", "close", "reopen")


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


# The columns each read selects, in order; rows are read by these names (storage.db.named).
HOLDING = ("ticket_id", "user_id", "holder_id", "holder_name", "first_response_at", "sla_level")
EVENT = ("id", "ticket_id", "at", "kind", "author", "text")
TAUGHT = ("id", "ticket_id", "text", "lang", "entry_id", "agent", "at")
SERVICE = ("id", "created_at", "closed_at", "status", "rating", "holder_id", "holder", "first_response_at", "reopens")


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class Desk(Tables):
    """Desk(path, tickets_db) on SQLite, as before; Desk(database) on any backend."""

    part, steps = "desk", STEPS

    def __init__(self, where: Path | Database, tickets_db: Path | None = None) -> None:
        if isinstance(where, Path):
            super().__init__(SqliteDatabase(where, attach={"hc": tickets_db} if tickets_db else None))
            self.hc = "hc." if tickets_db is not None else ""  # the help center's tables, attached
        else:
            super().__init__(where)
            self.hc = ""  # PostgreSQL: the same database
        self.path = where if isinstance(where, Path) else None
        self.tickets_db = tickets_db
        self._known: set[int] = set()  # tickets ensure() has seen: no query for them again

    async def upgrade(self) -> None:
        sqlite = self.database.dialect == "sqlite"
        if sqlite:  # files of before schema_version kept their number here
            row = await self.database.fetchone("PRAGMA user_version")
            version = row[0] if row else 0
            if version > SCHEMA_VERSION:
                await self.close()
                raise StoreError(f"{self.path} has schema {version}, newer than this bot's {SCHEMA_VERSION}")
        await super().upgrade()
        if sqlite:
            await self.database.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    async def _rows(self, sql: str, args: tuple = ()) -> list[Any]:
        return await self.db.fetchall(sql, args)

    # --- holding -------------------------------------------------------------------------------

    async def ensure(self, ticket_id: int, user_id: int, now: datetime,
                     before: Sequence[tuple[str, str]] = ()) -> bool:
        """Know a ticket from its first sighting; before = the bot's questions and answers that
        preceded the hand-off, kept as the start of its history. True if it was new."""
        if ticket_id in self._known:
            return False
        async with self.db.transaction() as tx:
            new = await tx.execute("INSERT INTO desk_tickets(ticket_id, user_id, seen_at) VALUES (?,?,?)"
                                   " ON CONFLICT DO NOTHING", (ticket_id, user_id, iso(now)))
            if new:
                for kind, text in before:
                    await tx.execute("INSERT INTO events(ticket_id, user_id, at, kind, text) VALUES (?,?,?,?,?)",
                                     (ticket_id, user_id, iso(now), kind, text))
        self._known.add(ticket_id)
        return bool(new)

    async def holding(self, ticket_id: int) -> Holding | None:
        rows = await self._rows(f"SELECT {', '.join(HOLDING)} FROM desk_tickets WHERE ticket_id=?",  # noqa: S608
                                (ticket_id,))
        if not rows:
            return None
        got = named(HOLDING, rows[0])
        return Holding(**{**got, "first_response_at": _dt(got["first_response_at"])})

    async def claim(self, ticket_id: int, agent_id: int, name: str, now: datetime) -> None:
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE desk_tickets SET holder_id=?, holder_name=?, claimed_at=? WHERE ticket_id=?",
                             (agent_id, name, iso(now), ticket_id))
            await tx.execute(AGENT_UPSERT, (agent_id, name))

    async def held_by(self, agent_id: int) -> list[int]:
        return [r[0] for r in await self._rows("SELECT ticket_id FROM desk_tickets WHERE holder_id=?"
                                               " ORDER BY ticket_id", (agent_id,))]

    async def set_sla_level(self, ticket_id: int, level: int) -> None:
        await self.db.execute("UPDATE desk_tickets SET sla_level=? WHERE ticket_id=?", (level, ticket_id))

    async def responded(self, ticket_id: int, now: datetime) -> None:
        await self.db.execute("UPDATE desk_tickets SET first_response_at=? WHERE ticket_id=?"
                              " AND first_response_at IS NULL", (iso(now), ticket_id))

    # --- history -------------------------------------------------------------------------------

    async def record(self, ticket_id: int, user_id: int, kind: str, now: datetime, text: str = "",
                     author: str = "", author_id: int | None = None, source: str | None = None) -> None:
        """One event of a ticket's history; source (chat:message) makes a replayed update a no-op."""
        if kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {kind!r}")
        async with self.db.transaction() as tx:
            await tx.execute("INSERT INTO events(ticket_id, user_id, at, kind, author_id, author, text, source)"
                             " VALUES (?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                             (ticket_id, user_id, iso(now), kind, author_id, author, text, source))
            if author_id is not None and author:
                await tx.execute(AGENT_UPSERT, (author_id, author))

    async def last_of(self, ticket_id: int, kinds: tuple[str, ...]) -> str | None:
        """The latest of these kinds of event in a ticket's history (e.g. close or reopen)."""
        marks = ",".join("?" * len(kinds))
        rows = await self._rows(f"SELECT kind FROM events WHERE ticket_id=? AND kind IN ({marks})"  # noqa: S608
                                " ORDER BY id DESC LIMIT 1", (ticket_id, *kinds))
        return rows[0][0] if rows else None

    async def history(self, ticket_id: int) -> list[Event]:
        rows = await self._rows(f"SELECT {', '.join(EVENT)} FROM events WHERE ticket_id=? ORDER BY id",  # noqa: S608
                                (ticket_id,))
        return [Event(**{**(got := named(EVENT, r)), "at": datetime.fromisoformat(got["at"])}) for r in rows]

    async def forget(self, user_id: int) -> None:
        """/forget: the customer's history and holding rows go with their tickets."""
        self._known.clear()
        async with self.db.transaction() as tx:
            for sql in ("DELETE FROM taught WHERE entry_id IS NULL AND ticket_id IN"
                        " (SELECT ticket_id FROM desk_tickets WHERE user_id=?)",
                        "DELETE FROM events WHERE user_id=?", "DELETE FROM desk_tickets WHERE user_id=?"):
                await tx.execute(sql, (user_id,))

    # --- taught phrasings ----------------------------------------------------------------------

    async def offer(self, ticket_id: int | None, text: str, lang: str, agent_id: int, agent: str,
                    now: datetime) -> int:
        new = await self.db.insert("INSERT INTO taught(ticket_id, text, lang, agent_id, agent, at)"
                                   " VALUES (?,?,?,?,?,?) RETURNING id",
                                   (ticket_id, text, lang, agent_id, agent, iso(now)))
        return int(new or 0)

    async def teach(self, taught_id: int, entry_id: str, agent_id: int, agent: str, now: datetime) -> Taught | None:
        """Store an offered phrasing for entry_id; None if it is unknown or already stored."""
        changed = await self.db.execute("UPDATE taught SET entry_id=?, agent_id=?, agent=?, at=? WHERE id=?"
                                        " AND entry_id IS NULL", (entry_id, agent_id, agent, iso(now), taught_id))
        if not changed:
            return None
        return next((t for t in await self.taught() if t.id == taught_id), None)

    async def taught(self) -> list[Taught]:
        rows = await self._rows(f"SELECT {', '.join(TAUGHT)} FROM taught"  # noqa: S608
                                " WHERE entry_id IS NOT NULL ORDER BY entry_id, id")
        return [Taught(**{**(got := named(TAUGHT, r)), "at": datetime.fromisoformat(got["at"])}) for r in rows]

    # --- service figures -----------------------------------------------------------------------

    async def answer_rate_per_day(self, since: datetime, tz: tzinfo) -> dict[str, float]:
        """Share of typed questions the bot answered, per day in tz (needs ATTACH)."""
        try:
            rows = await self._rows(f"SELECT asked_at, entry_id IS NOT NULL FROM {self.hc}questions"  # noqa: S608
                                    " WHERE asked_at>=? AND source='text'", (iso(since),))
        except DB_ERRORS:  # no help-center database yet
            return {}
        days: dict[str, list[int]] = {}
        for asked, answered in rows:
            day = days.setdefault(datetime.fromisoformat(asked).astimezone(tz).strftime("%Y-%m-%d"), [0, 0])
            day[0] += 1
            day[1] += int(answered)
        return {day: answered / total for day, (total, answered) in sorted(days.items())}

    async def service_rows(self, since: datetime) -> list[dict[str, Any]]:
        """One row per ticket opened since: times, holder, rating, reopen count (needs ATTACH)."""
        try:
            rows = await self._service_rows(since)
        except DB_ERRORS:  # no help-center database (no tickets) yet
            return []
        out = []
        for row in rows:
            got = named(SERVICE, row)
            out.append({**got, "created_at": datetime.fromisoformat(got["created_at"]),
                        "closed_at": _dt(got["closed_at"]), "first_response_at": _dt(got["first_response_at"])})
        return out

    async def _service_rows(self, since: datetime) -> list[Any]:
        sql = ("SELECT t.id, t.created_at, t.closed_at, t.status, t.rating, d.holder_id,"  # noqa: S608 - our names
               " COALESCE(a.name, d.holder_name), d.first_response_at,"
               " (SELECT COUNT(*) FROM events e WHERE e.ticket_id=t.id AND e.kind='reopen')"
               f" FROM {self.hc}tickets t LEFT JOIN desk_tickets d ON d.ticket_id=t.id"
               " LEFT JOIN agents a ON a.user_id=d.holder_id WHERE t.created_at>=? ORDER BY t.id")
        return await self._rows(sql, (iso(since),))
