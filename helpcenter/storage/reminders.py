"""Reminders: the refund flow's "remind me before the window closes", one pending per user and
request, scheduled again at every start-up."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from helpcenter.storage.db import Tables, iso


@dataclass(frozen=True, slots=True)
class Reminder:
    id: int
    chat_id: int
    user_id: int
    due_at: datetime
    payload: dict[str, Any]


class Reminders(Tables):
    """The reminders table (composed into storage.store.Store)."""

    async def add_reminder(self, chat_id: int, user_id: int, due_at: datetime,
                           payload: dict[str, Any], now: datetime, request: str | None = None) -> int:
        """Store a reminder; with a request key, at most one is pending per user and request:
        asking again returns the pending one's id (see pending_reminder to tell the two apart)."""
        new = await self.db.insert(
            "INSERT INTO reminders(chat_id, user_id, due_at, payload, created_at, request)"
            " VALUES (?,?,?,?,?,?) ON CONFLICT DO NOTHING RETURNING id",
            (chat_id, user_id, iso(due_at), json.dumps(payload, ensure_ascii=False), iso(now), request))
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
