"""`bot.py migrate --to postgresql://…`: copy a SQLite DATA_DIR into an empty PostgreSQL
database, in one transaction, then compare the row counts of every table."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from helpcenter.storage.db import Database, PostgresDatabase, SqliteDatabase, Step, StoreError

BATCH = 1000


@dataclass(frozen=True)
class Component:
    """A module's tables: its SQLite file under DATA_DIR, its schema steps, the tables to copy."""

    name: str
    file: str
    steps: Sequence[Step]
    tables: Sequence[str]
    optional: bool = False  # a file that exists only once the part was used (the agents' desk)


async def _count(db: Database, table: str) -> int:
    row = await db.fetchone(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - our table names
    return int(row[0]) if row else 0


async def migrate(data_dir: Path, url: str, components: Sequence[Component],
                  say: Callable[[str], None] = print) -> dict[str, int]:
    """Copy every component's tables; the rows per table. StoreError when the target is not
    empty, a source file is missing, or a count differs afterwards (then nothing is kept)."""
    target = PostgresDatabase(url, name="helpcenter-migrate")
    sources: list[tuple[Component, SqliteDatabase]] = []
    try:
        for component in components:
            path = data_dir / component.file
            if not path.is_file() and component.optional:
                say(f"{component.file}: not there (never used), nothing to copy")
                continue
            if not path.is_file():
                raise StoreError(f"{path} does not exist: nothing to migrate from (DATA_DIR={data_dir})")
            source = SqliteDatabase(path)
            await source.upgrade(component.name, component.steps)  # an older file: its columns first
            sources.append((component, source))
        await target.open()
        for component, _ in sources:
            await target.upgrade(component.name, component.steps)
            for table in component.tables:
                if await _count(target, table):
                    raise StoreError(f"{target.where} already has rows in {table}: migrate needs an empty database")
        copied: dict[str, int] = {}
        async with target.transaction() as tx:
            for component, source in sources:
                for table in component.tables:
                    async with source.transaction() as src:
                        columns = [c for c in await source.columns(src, table)]
                    wanted = await target.columns(tx, table)
                    names = [c for c in columns if c in wanted]
                    rows = await source.fetchall(f"SELECT {', '.join(names)} FROM {table}")  # noqa: S608
                    marks = ", ".join("?" for _ in names)
                    for start in range(0, len(rows), BATCH):
                        await tx.executemany(f"INSERT INTO {table}({', '.join(names)}) VALUES ({marks})",  # noqa: S608
                                             rows[start:start + BATCH])
                    if "id" in names and rows:  # the next id continues after the copied ones
                        sql = f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"  # noqa: S608
                        await tx.execute(sql)
                    copied[table] = len(rows)
            for table, n in copied.items():  # verified before the commit: a mismatch keeps nothing
                row = await tx.fetchone(f"SELECT COUNT(*) FROM {table}")  # noqa: S608
                written = int(row[0]) if row else 0
                if written != n:
                    raise StoreError(f"{table}: {n} rows read, {written} written; nothing was kept")
        for component, source in sources:  # and once more, as committed
            for table in component.tables:
                if await _count(target, table) != await _count(source, table):
                    raise StoreError(f"{table}: the counts differ after the copy")
                say(f"{component.file}:{table}: {copied[table]} row(s) copied, counts match")
        return copied
    finally:
        for _, source in sources:
            await source.close()
        await target.close()
