"""Shared fixtures: the real help center, and a scratch copy of the content to break."""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# Most tests run on the lexical signals (fast start-up, also in the bot processes they spawn);
# tests/test_ranking.py loads the embedding model once for the tests of the fused path.
os.environ.setdefault("EMBEDDINGS", "off")

from helpcenter.core import HelpCenter

ROOT = Path(__file__).resolve().parent.parent

SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def center() -> HelpCenter:
    return HelpCenter()


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    """A writable copy of content/, so a test can break one thing and see the error."""
    target = tmp_path / "content"
    shutil.copytree(ROOT / "content", target)
    return target


# --- storage backends: SQLite always, PostgreSQL when a server answers (issue 14) -----------------

DEFAULT_TEST_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _pg_url(base: str, dbname: str, schema: str | None = None) -> str:
    """base with another database (and a search_path of one schema): a URL bot.py takes."""
    from urllib.parse import quote, urlsplit

    parts = urlsplit(base)
    query = f"options={quote(f'-c search_path={schema}')}" if schema else ""
    return parts._replace(path=f"/{dbname}", query=query).geturl()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A database of this test session's own on TEST_DATABASE_URL's server, dropped at the end.
    No server: the test is skipped with the reason, or fails when REQUIRE_POSTGRES=1 (CI)."""
    import psycopg

    base = os.environ.get("TEST_DATABASE_URL", DEFAULT_TEST_DATABASE_URL)
    try:
        admin = psycopg.connect(base, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        reason = (f"PostgreSQL tests need a server: none answers at TEST_DATABASE_URL={base}"
                  f" ({str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__})")
        if os.environ.get("REQUIRE_POSTGRES", "") not in ("", "0"):
            pytest.fail(f"REQUIRE_POSTGRES is set: {reason}")
        pytest.skip(reason)
    name = f"helpcenter_test_{os.getpid()}"
    admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.execute(f"CREATE DATABASE {name}")
    try:
        yield _pg_url(base, name)
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


_schemas = itertools.count(1)


@pytest.fixture
def pg_url(pg_database: str) -> Iterator[str]:
    """An empty schema of this test's own in the session's database, as a DATABASE_URL."""
    import psycopg

    schema = f"t{next(_schemas)}"
    with psycopg.connect(pg_database, autocommit=True) as db:
        db.execute(f"CREATE SCHEMA {schema}")
    yield _pg_url(pg_database, pg_database.rsplit("/", 1)[1].split("?")[0], schema)
    with psycopg.connect(pg_database, autocommit=True) as db:
        db.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@dataclass
class Backend:
    """Where a test's bot keeps its data: SQLite files in data_dir, or PostgreSQL at url."""

    name: str
    data_dir: Path
    url: str = ""

    def env(self) -> dict[str, str]:
        return {"DATA_DIR": str(self.data_dir), **({"DATABASE_URL": self.url} if self.url else {})}

    def rows(self, sql: str, file: str = "helpcenter") -> list[tuple]:
        """A query on what is committed now (file: helpcenter or state, the SQLite file's name)."""
        if self.url:
            import psycopg

            with psycopg.connect(self.url) as db:
                return [tuple(r) for r in db.execute(sql).fetchall()]
        import sqlite3

        with sqlite3.connect(self.data_dir / f"{file}.sqlite3") as db:
            return db.execute(sql).fetchall()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "postgresql":
        return Backend("postgresql", tmp_path, request.getfixturevalue("pg_url"))
    return Backend("sqlite", tmp_path)
