"""Tickets of the hand-off, the message links that route replies both ways, the relay outbox and
banned users."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from helpcenter.storage.db import INSTANCE, Tables, iso, named

log = logging.getLogger(__name__)

GONE_POLL = 0.05  # seconds between looks at the previous active process's connections


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
    opened_by: int | None  # the update that opened it (None for tickets opened before it was kept)

    @property
    def open(self) -> bool:
        return self.status == "open"


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    ticket_id: int
    payload: dict[str, Any]
    attempts: int


COLUMNS = ("id", "user_id", "chat_id", "user_name", "lang", "role", "status", "thread_id", "card_msg", "rating",
           "created_at", "closed_at", "opened_by")
TICKET_COLUMNS = ", ".join(COLUMNS)


def _ticket(row: Any) -> Ticket:
    """A row of TICKET_COLUMNS, read by name."""
    got = named(COLUMNS, row)
    created, closed = got.pop("created_at"), got.pop("closed_at")
    return Ticket(**got, created_at=datetime.fromisoformat(created),
                  closed_at=datetime.fromisoformat(closed) if closed else None)


class Tickets(Tables):
    """The tickets, links, outbox and bans tables (composed into storage.store.Store), and the
    epoch that fences the outbox between an active process and the one taking over from it."""

    epoch = 0  # this process's epoch once it took over (take_over); 0 claims nothing

    async def open_ticket(self, user_id: int, chat_id: int, user_name: str, lang: str, role: str,
                          now: datetime, opened_by: int | None = None) -> Ticket:
        """A new open ticket; opened_by is the update that asked for it, so a replay of that
        update (after a crash) recognises the ticket as its own."""
        new = await self.db.insert(
            "INSERT INTO tickets(user_id, chat_id, user_name, lang, role, created_at, updated_at, opened_by)"
            " VALUES (?,?,?,?,?,?,?,?) RETURNING id",
            (user_id, chat_id, user_name, lang, role, iso(now), iso(now), opened_by))
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
            fields["closed_at"] = iso(now)
        elif fields.get("status") == "open":
            fields["closed_at"] = None
        names = ", ".join(f"{name}=?" for name in fields)
        await self.db.execute(f"UPDATE tickets SET {names}, updated_at=? WHERE id=?",  # noqa: S608
                              (*fields.values(), iso(now), ticket_id))

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
            (ticket_id, json.dumps(payload, ensure_ascii=False), iso(now), dedup))
        return None if new is None else OutboxItem(new, ticket_id, payload, 0)

    async def queued(self, dedup: str) -> bool:
        """Whether something was queued under this key (e.g. card:<ticket>)."""
        return await self.db.fetchone("SELECT 1 FROM outbox WHERE dedup=?", (dedup,)) is not None

    async def pending_outbox(self) -> list[OutboxItem]:
        rows = await self.db.fetchall("SELECT id, ticket_id, payload, attempts FROM outbox"
                                      " WHERE status='pending' ORDER BY id")
        return [OutboxItem(r[0], r[1], json.loads(r[2]), r[3]) for r in rows]

    async def start_sending(self, item_id: int) -> str:
        """Claim a pending relay for sending, under this process's epoch: "claimed"; "gone" when
        it is not pending any more (e.g. /forget deleted it); "fenced" when another process took
        over since (a newer epoch): this one must not send it. A crash from the claim to "sent"
        may deliver it twice."""
        if await self.db.execute("UPDATE outbox SET status='sending', epoch=? WHERE id=? AND status='pending'"
                                 " AND EXISTS (SELECT 1 FROM leader WHERE id=1 AND epoch=?)",
                                 (self.epoch, item_id, self.epoch)):
            return "claimed"
        row = await self.db.fetchone("SELECT epoch FROM leader WHERE id=1")
        return "gone" if row is not None and int(row[0]) == self.epoch else "fenced"

    async def interrupted_sends(self) -> int:
        """After take_over (and, on PostgreSQL, once the previous active process is gone): relays it
        was sending when it died go out again (Telegram has no idempotency key: they may arrive
        twice; nothing is lost)."""
        return await self.db.execute("UPDATE outbox SET status='pending' WHERE status='sending'"
                                     " AND (epoch IS NULL OR epoch<?)", (self.epoch,))

    async def mark_outbox(self, item_id: int, status: str, error: str | None = None) -> None:
        """The outcome of a relay this process claimed. Recorded even after another process took
        over (that one waits for it), but not once that one has claimed the relay itself."""
        await self.db.execute("UPDATE outbox SET status=?, attempts=attempts+1, last_error=? WHERE id=? AND epoch=?",
                              (status, error, item_id, self.epoch))

    # --- who serves ----------------------------------------------------------------------------

    async def take_over(self, now: datetime) -> tuple[str, str] | None:
        """This process serves from now on: it takes the next epoch, which fences the outbox (the
        process before it can no longer claim a relay). The process before it as (instance,
        host), or None (the first, or this one again)."""
        lock = " FOR UPDATE" if self.db.dialect == "postgresql" else ""  # SQLite: BEGIN IMMEDIATE
        async with self.db.transaction() as tx:
            row = await tx.fetchone(f"SELECT epoch, holder, host FROM leader WHERE id=1{lock}")  # noqa: S608
            epoch = int(row[0]) + 1 if row else 1
            await tx.execute("INSERT INTO leader(id, epoch, holder, host, since) VALUES (1,?,?,?,?) ON CONFLICT (id)"
                             " DO UPDATE SET epoch=excluded.epoch, holder=excluded.holder, host=excluded.host,"
                             " since=excluded.since", (epoch, INSTANCE, socket.gethostname(), iso(now)))
        self.epoch = epoch
        return (str(row[1]), str(row[2])) if row and row[1] != INSTANCE else None

    async def holder(self) -> tuple[str, str, datetime] | None:
        """The process serving on this database: (instance, host, since), or None."""
        row = await self.db.fetchone("SELECT holder, host, since FROM leader WHERE id=1")
        return (str(row[0]), str(row[1]), datetime.fromisoformat(row[2])) if row else None

    async def connected(self, instance: str) -> int:
        """How many connections the process `instance` has open on this PostgreSQL server (0 on
        SQLite, where a file lock already proved the previous process gone)."""
        if self.db.dialect != "postgresql":
            return 0
        row = await self.db.fetchone("SELECT COUNT(*) FROM pg_stat_activity WHERE datname=current_database()"
                                     " AND application_name LIKE ?", (f"%:{instance}",))
        return int(row[0]) if row else 0

    async def wait_until_gone(self, instance: str, limit: float) -> bool:
        """Wait until the process that served before has no connection left (it may still be
        recording a relay it was sending), at most `limit` seconds. True when it is gone."""
        deadline = time.monotonic() + limit
        said = False
        while await self.connected(instance):
            if time.monotonic() >= deadline:
                return False
            if not said:
                log.info("the previous active process (%s) is still connected: waiting up to %.0f s for it to"
                         " finish the relays it was sending", instance, limit)
                said = True
            await asyncio.sleep(GONE_POLL)
        return True

    # --- bans --------------------------------------------------------------------------------

    async def ban(self, user_id: int, now: datetime) -> None:
        await self.db.execute("INSERT INTO bans(user_id, banned_at) VALUES (?,?)"
                              " ON CONFLICT (user_id) DO UPDATE SET banned_at=excluded.banned_at", (user_id, iso(now)))

    async def unban(self, user_id: int) -> None:
        await self.db.execute("DELETE FROM bans WHERE user_id=?", (user_id,))

    async def is_banned(self, user_id: int) -> bool:
        return await self.db.fetchone("SELECT 1 FROM bans WHERE user_id=?", (user_id,)) is not None
