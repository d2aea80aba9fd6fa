"""Tickets of the hand-off, the message links that route replies both ways, the relay outbox and
banned users."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from helpcenter.storage.db import Tables, iso, named


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


COLUMNS = ("id", "user_id", "chat_id", "user_name", "lang", "role", "status", "thread_id", "card_msg", "rating",
           "created_at", "closed_at")
TICKET_COLUMNS = ", ".join(COLUMNS)


def _ticket(row: Any) -> Ticket:
    """A row of TICKET_COLUMNS, read by name."""
    got = named(COLUMNS, row)
    created, closed = got.pop("created_at"), got.pop("closed_at")
    return Ticket(**got, created_at=datetime.fromisoformat(created),
                  closed_at=datetime.fromisoformat(closed) if closed else None)


class Tickets(Tables):
    """The tickets, links, outbox and bans tables (composed into storage.store.Store)."""

    async def open_ticket(self, user_id: int, chat_id: int, user_name: str, lang: str, role: str,
                          now: datetime) -> Ticket:
        new = await self.db.insert(
            "INSERT INTO tickets(user_id, chat_id, user_name, lang, role, created_at, updated_at)"
            " VALUES (?,?,?,?,?,?,?) RETURNING id", (user_id, chat_id, user_name, lang, role, iso(now), iso(now)))
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
                              " ON CONFLICT (user_id) DO UPDATE SET banned_at=excluded.banned_at", (user_id, iso(now)))

    async def unban(self, user_id: int) -> None:
        await self.db.execute("DELETE FROM bans WHERE user_id=?", (user_id,))

    async def is_banned(self, user_id: int) -> bool:
        return await self.db.fetchone("SELECT 1 FROM bans WHERE user_id=?", (user_id,)) is not None
