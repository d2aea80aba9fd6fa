"""Durable intake: nothing Telegram delivered is lost to a crash, nothing is handled twice.

PTB's Updater confirms updates to Telegram (the next getUpdates offset; in webhook mode the HTTP
200) as soon as they are in its in-memory queue, so a kill loses what is queued. Both paths
`await update_queue.put(update)` before they confirm, so the queue here stores each update in
the inbox table (state.sqlite3, or PostgreSQL) inside put(). The Application marks an update
done in the same transaction as the conversation state and user data it changed
(SqlPersistence.save_update, on either backend); at start-up the updates not done are
replayed in order, and an update_id seen before is ignored.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from telegram import Update

from handlers.base.common import HelpApplication
from handlers.runtime.persistence import SqlPersistence
from helpcenter.storage.db import DB_ERRORS

log = logging.getLogger(__name__)

MAX_RETRY_DELAY = 5.0  # seconds between tries to store an update while the disk refuses



class DurableQueue(asyncio.Queue):
    """The Application's update queue; put() returns only once the update is on disk."""

    def __init__(self) -> None:
        super().__init__()
        self.persistence: Any = None  # the SqlPersistence, set by build_application

    async def put(self, item: object) -> None:
        if isinstance(item, Update) and self.persistence is not None and not await self._store(item):
            log.info("update %s seen before, ignored", item.update_id)
            return
        await super().put(item)

    async def _store(self, update: Update) -> bool:
        """Try until the update is on disk (a full disk, a locked database): until then it is not
        confirmed, so Telegram keeps it; an exception here would end PTB's polling loop."""
        delay = 0.5
        while True:
            try:
                return await self.persistence.inbox_add(update.update_id, update.to_json())
            except DB_ERRORS as exc:
                log.error("cannot store update %s (%s); trying again in %.1f s", update.update_id, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RETRY_DELAY)

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
        await super().process_update(update)
        chat, user = update.effective_chat, update.effective_user
        persistence = self.persistence
        assert isinstance(persistence, SqlPersistence)
        try:
            await persistence.save_update(self, update.update_id, chat.id if chat else None,
                                          user.id if user else None)
        except DB_ERRORS as exc:  # kept for the next commit; the user is told
            await self.process_error(update, exc if isinstance(exc, Exception) else RuntimeError(exc))
