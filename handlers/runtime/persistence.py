"""PTB persistence in SQLite or PostgreSQL: conversations and user data survive a restart, even a SIGKILL.

PicklePersistence rewrites one file, which a kill mid-write can corrupt; here each changed
user, chat or conversation is one row. The same database holds the inbox of updates
(handlers/runtime/intake.py): the state an update changed and the mark that it is done are committed
together, so after a kill an update is either fully applied or replayed from the old state.
"""

from __future__ import annotations

import asyncio
import json
import logging
import pickle
import time
from collections.abc import Callable
from copy import deepcopy
from pathlib import Path
from typing import Any

from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import ConversationDict, ConversationKey

from helpcenter.storage.db import DB_ERRORS, Database, SqliteDatabase, Step, Tx
from helpcenter.storage.store import StoreError

log = logging.getLogger(__name__)

INBOX_KEEP_SECONDS = 24 * 3600  # done updates are kept this long to recognise repeats
PRUNE_EVERY = 1000  # commits between prunings of the inbox

SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
    kind TEXT NOT NULL,   -- user_data | chat_data | bot_data | callback_data | conv:<name>
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (kind, key)
);
-- Every update, stored before Telegram is told it arrived; done=1 once it has been handled.
CREATE TABLE IF NOT EXISTS inbox (
    update_id INTEGER PRIMARY KEY,
    body TEXT NOT NULL,           -- the update as JSON, to replay it after a crash
    received_at REAL NOT NULL,
    done INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS inbox_pending ON inbox(done, update_id);
"""
# Numbered schema steps (helpcenter/storage/db.py); add new ones at the end.
STEPS = (Step(1, SCHEMA),)
TABLES = ("kv", "inbox")  # what migrate copies

PUT = "INSERT INTO kv(kind, key, value) VALUES (?,?,?) ON CONFLICT (kind, key) DO UPDATE SET value=excluded.value"
DROP = "DELETE FROM kv WHERE kind=? AND key=?"


class SqlPersistence(BasePersistence[Any, dict, dict]):
    """On SQLite (a Path: DATA_DIR/state.sqlite3) or PostgreSQL (a Database). User data is kept as
    a plain dict: a type with to_dict/from_dict (handlers/base/userdata.py) is converted at the
    door, so a row never depends on a class's module path and old rows load."""

    def __init__(self, where: Path | Database, update_interval: float = 10**7,
                 user_data: Callable[[Any], Any] | None = None) -> None:
        # No periodic save: every update saves what it changed (save_update); a timed save could
        # commit one update's state without its done mark.
        super().__init__(store_data=PersistenceInput(callback_data=False, bot_data=False),
                         update_interval=update_interval)
        self.db: Database = SqliteDatabase(where) if isinstance(where, Path) else where
        self.path = where if isinstance(where, Path) else None
        self._ready = False
        self._lock = asyncio.Lock()  # one save at a time
        self._finished: dict[int, tuple[int | None, int | None]] = {}  # update_id -> (chat, user)
        self._tx: Tx | None = None  # the open save_update transaction, which takes every write
        self._pending: list[tuple[str, tuple]] = []  # writes outside one: committed with the next save
        self._commits = 0
        self._user_data = user_data  # from_dict of the application's user data type, if any

    async def _conn(self) -> Database:
        if not self._ready:
            try:
                await self.db.open()
                await self.db.upgrade("state", STEPS)
            except DB_ERRORS as exc:
                raise StoreError(f"cannot use state database {self.db.where}: {exc}") from exc
            self._ready = True
        return self.db

    async def _load(self, kind: str) -> dict[str, Any]:
        db = await self._conn()
        rows = await db.fetchall("SELECT key, value FROM kv WHERE kind=?", (kind,))
        return {key: pickle.loads(bytes(value)) for key, value in rows}  # noqa: S301

    async def _write(self, sql: str, args: tuple) -> None:
        """Into the open save_update transaction, or kept for the next one: a change is committed
        only together with the done mark of an update."""
        if self._tx is not None:
            await self._tx.execute(sql, args)
        else:
            self._pending.append((sql, args))

    async def _put(self, kind: str, key: str, value: Any) -> None:
        await self._write(PUT, (kind, key, pickle.dumps(value)))

    async def _drop(self, kind: str, key: str) -> None:
        await self._write(DROP, (kind, key))

    # --- the inbox -------------------------------------------------------------------------

    async def inbox_add(self, update_id: int, body: str) -> bool:
        """Store an update durably; False if it was seen before (Telegram sent it again)."""
        db = await self._conn()
        return await db.execute("INSERT INTO inbox(update_id, body, received_at) VALUES (?,?,?)"
                                " ON CONFLICT DO NOTHING", (update_id, body, time.time())) > 0

    async def inbox_pending(self) -> list[tuple[int, str]]:
        """Updates stored but not yet handled (the last run was killed), oldest first."""
        db = await self._conn()
        rows = await db.fetchall("SELECT update_id, body FROM inbox WHERE done=0 ORDER BY update_id")
        return [(int(a), b) for a, b in rows]

    async def inbox_prune(self) -> None:
        db = await self._conn()
        await db.execute("DELETE FROM inbox WHERE done=1 AND received_at<?", (time.time() - INBOX_KEEP_SECONDS,))

    async def _commit(self, work: Any) -> None:
        """One transaction: the writes kept since the last one, then work(tx)."""
        db = await self._conn()
        pending, self._pending = self._pending, []
        try:
            async with db.transaction() as tx:
                self._tx = tx
                try:
                    for sql, args in pending:
                        await tx.execute(sql, args)
                    await work(tx)
                finally:
                    self._tx = None
        except BaseException:
            self._pending[:0] = pending  # kept for the next commit
            raise

    async def save_update(self, application: Any, update_id: int, chat_id: int | None,
                          user_id: int | None) -> None:
        """Commit the state the update changed together with its done mark. Updates that finish
        while a commit runs are saved by the next one together (one commit for many)."""
        self._finished[update_id] = (chat_id, user_id)
        async with self._lock:
            if update_id not in self._finished:
                return  # an earlier commit took it
            batch, self._finished = self._finished, {}

            async def work(tx: Tx) -> None:
                await application.update_persistence()  # writes the rows, in this transaction
                await tx.executemany("UPDATE inbox SET done=1 WHERE update_id=?", [(u,) for u in batch])

            try:
                await self._commit(work)
            except DB_ERRORS:
                self._finished.update(batch)  # tried again with the next update
                application.mark_data_for_update_persistence(
                    chat_ids=[c for c, _ in batch.values() if c is not None],
                    user_ids=[u for _, u in batch.values() if u is not None])
                raise
            self._commits += 1
        if self._commits % PRUNE_EVERY == 0:
            await self.inbox_prune()

    async def get_user_data(self) -> dict[int, Any]:
        load = self._user_data or (lambda raw: raw)
        return {int(k): load(v) for k, v in (await self._load("user_data")).items()}

    async def get_chat_data(self) -> dict[int, dict]:
        return {int(k): v for k, v in (await self._load("chat_data")).items()}

    async def get_bot_data(self) -> dict:
        return (await self._load("bot_data")).get("bot", {})

    async def get_callback_data(self) -> None:
        return None

    async def get_conversations(self, name: str) -> ConversationDict:
        return {tuple(json.loads(k)): v for k, v in (await self._load(f"conv:{name}")).items()}

    async def update_conversation(self, name: str, key: ConversationKey, new_state: object | None) -> None:
        row = json.dumps(list(key))
        if new_state is None:
            await self._drop(f"conv:{name}", row)
        else:
            # a state that is a str subclass (an enum member) is kept as the plain string
            await self._put(f"conv:{name}", row, str(new_state) if isinstance(new_state, str) else new_state)

    async def update_user_data(self, user_id: int, data: Any) -> None:
        await self._put("user_data", str(user_id), data.to_dict() if hasattr(data, "to_dict") else deepcopy(data))

    async def update_chat_data(self, chat_id: int, data: dict) -> None:
        await self._put("chat_data", str(chat_id), deepcopy(data))

    async def update_bot_data(self, data: dict) -> None:
        await self._put("bot_data", "bot", deepcopy(data))

    async def update_callback_data(self, data: Any) -> None:
        return None

    async def drop_chat_data(self, chat_id: int) -> None:
        await self._drop("chat_data", str(chat_id))

    async def drop_user_data(self, user_id: int) -> None:
        await self._drop("user_data", str(user_id))

    async def refresh_user_data(self, user_id: int, user_data: Any) -> None:
        return None

    async def refresh_chat_data(self, chat_id: int, chat_data: dict) -> None:
        return None

    async def refresh_bot_data(self, bot_data: dict) -> None:
        return None

    async def flush(self) -> None:
        if self._ready:
            async with self._lock:
                if self._pending:  # PTB's last update_persistence at shut-down
                    async def nothing(tx: Tx) -> None:
                        return None

                    await self._commit(nothing)
            await self.db.close()
            self._ready = False


SqlitePersistence = SqlPersistence  # the name before PostgreSQL
