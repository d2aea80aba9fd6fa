"""Durable intake: nothing Telegram delivered is lost to a crash, nothing is handled twice.

PTB's Updater confirms updates to Telegram (the next getUpdates offset; in webhook mode the HTTP
200) as soon as they are in its in-memory queue, so a kill loses what is queued. Both paths
`await update_queue.put(update)` before they confirm, so the queue here stores each update in
the inbox table (state.sqlite3) inside put(). The Application marks an update done in the same
commit as the conversation state and user data it changed (SqlitePersistence.save_update);
at start-up the updates not done are replayed in order, and an update_id seen before is ignored.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
from typing import Any

from telegram import Update

from .common import HelpApplication

log = logging.getLogger(__name__)

# The update being handled: its id keys the side effects (relays) it queues, so a replay after a
# crash finds them already queued instead of queueing them twice.
current_update: contextvars.ContextVar[int | None] = contextvars.ContextVar("current_update", default=None)


class DurableQueue(asyncio.Queue):
    """The Application's update queue; put() returns only once the update is on disk."""

    def __init__(self) -> None:
        super().__init__()
        self.persistence: Any = None  # the SqlitePersistence, set by build_application

    async def put(self, item: object) -> None:
        if (isinstance(item, Update) and self.persistence is not None
                and not await self.persistence.inbox_add(item.update_id, item.to_json())):
            log.info("update %s seen before, ignored", item.update_id)
            return
        await super().put(item)

    async def replay(self, application: HelpApplication) -> int:
        """Queue the updates a killed run stored but did not finish, oldest first."""
        pending = await self.persistence.inbox_pending()
        for _, body in pending:
            await super().put(Update.de_json(json.loads(body), application.bot))
        await self.persistence.inbox_prune()
        return len(pending)


class DurableApplication(HelpApplication):
    """Saves, after every update, what it changed: after PTB has marked the user and chat for
    saving, also when a handler stopped the update (ApplicationHandlerStop) or failed."""

    async def process_update(self, update: object) -> None:
        if not isinstance(update, Update) or self.persistence is None:
            await super().process_update(update)
            return
        token = current_update.set(update.update_id)
        try:
            await super().process_update(update)
        finally:
            current_update.reset(token)
        chat, user = update.effective_chat, update.effective_user
        await self.persistence.save_update(self, update.update_id, chat.id if chat else None,  # type: ignore[attr-defined]
                                           user.id if user else None)
