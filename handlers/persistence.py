"""PTB persistence in SQLite: conversations and user data survive a restart, even a SIGKILL.

PicklePersistence rewrites one file, which a kill mid-write can corrupt; here each changed
user, chat or conversation is one row, written in a transaction.
"""

from __future__ import annotations

import json
import pickle
import sqlite3
from copy import deepcopy
from pathlib import Path
from typing import Any

import aiosqlite
from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import ConversationDict, ConversationKey

from helpcenter.store import StoreError

SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
    kind TEXT NOT NULL,   -- user_data | chat_data | bot_data | callback_data | conv:<name>
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (kind, key)
);
"""


class SqlitePersistence(BasePersistence[dict, dict, dict]):
    def __init__(self, path: Path, update_interval: float = 60) -> None:
        super().__init__(store_data=PersistenceInput(callback_data=False), update_interval=update_interval)
        self.path = path
        self._db: aiosqlite.Connection | None = None

    async def _conn(self) -> aiosqlite.Connection:
        if self._db is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._db = await aiosqlite.connect(self.path)
                await self._db.execute("PRAGMA journal_mode=WAL")
                await self._db.execute("PRAGMA synchronous=NORMAL")  # WAL: durable across a process kill
                await self._db.executescript(SCHEMA)
                await self._db.commit()
            except (OSError, sqlite3.DatabaseError) as exc:
                raise StoreError(f"cannot use state database {self.path}: {exc}") from exc
        return self._db

    async def _load(self, kind: str) -> dict[str, Any]:
        db = await self._conn()
        async with db.execute("SELECT key, value FROM kv WHERE kind=?", (kind,)) as cursor:
            return {key: pickle.loads(value) for key, value in await cursor.fetchall()}  # noqa: S301

    async def _put(self, kind: str, key: str, value: Any) -> None:
        db = await self._conn()
        await db.execute("INSERT OR REPLACE INTO kv(kind, key, value) VALUES (?,?,?)",
                         (kind, key, pickle.dumps(value)))
        await db.commit()

    async def _drop(self, kind: str, key: str) -> None:
        db = await self._conn()
        await db.execute("DELETE FROM kv WHERE kind=? AND key=?", (kind, key))
        await db.commit()

    async def get_user_data(self) -> dict[int, dict]:
        return {int(k): v for k, v in (await self._load("user_data")).items()}

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
            await self._put(f"conv:{name}", row, new_state)

    async def update_user_data(self, user_id: int, data: dict) -> None:
        await self._put("user_data", str(user_id), deepcopy(data))

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

    async def refresh_user_data(self, user_id: int, user_data: dict) -> None:
        return None

    async def refresh_chat_data(self, chat_id: int, chat_data: dict) -> None:
        return None

    async def refresh_bot_data(self, bot_data: dict) -> None:
        return None

    async def flush(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None
