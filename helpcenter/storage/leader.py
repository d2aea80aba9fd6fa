"""Hot standby on PostgreSQL: of the bot processes on one DATABASE_URL, the one holding a
session-level advisory lock serves; the others wait for it. The lock lives on a dedicated
connection, so it goes when the holder dies (the server sees the socket close) or loses that
connection; a holder that finds its connection gone exits at once, so two never serve together.

Also the health endpoint (GET /health): 200 {"role": "active"} from the serving process, 503
with "starting", "standby" (a waiting one) or "unhealthy" otherwise, for a reverse proxy or a load
balancer to route by (bot.py's Health says which).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from helpcenter.storage.db import INSTANCE

log = logging.getLogger(__name__)

LOCK_SQL = "SELECT pg_try_advisory_lock(hashtext('helpcenter-bot:' || current_schema()))"
POLL_SECONDS = 0.2  # how often a standby tries the lock
CHECK_SECONDS = 0.5  # how often the active checks its lock connection
STALL_SECONDS = 3.0  # a check that does not come back this soon counts as a lost connection
FENCE_GRACE = 5.0  # seconds a process that lost the lock gives the relays it is sending, then exits
# The longest a process that lost its lock can still be recording a relay: it notices within a stall
# and two checks, then gives its relays the grace. The process taking over waits at most this long
# for it to go (storage/tickets.py wait_until_gone); usually it is gone in well under a second.
HANDOVER_SECONDS = STALL_SECONDS + 2 * CHECK_SECONDS + FENCE_GRACE + 1.0


def _exit_now() -> None:
    """Stop serving at once, without clean-up that could still send or commit: the standby may
    already hold the lock. A supervisor (systemd Restart=always) starts this one as a standby."""
    print("error: lost the PostgreSQL connection that holds the active lock; exiting so the standby"
          " takes over", file=sys.stderr, flush=True)
    os._exit(1)


class LeaderLock:
    def __init__(self, url: str, on_lost: Callable[[], None] = _exit_now) -> None:
        self.url, self.on_lost = url, on_lost
        self.conn: Any = None
        self.active = False
        self.error = ""  # why the last try could not reach PostgreSQL ("" when it could)
        self._last_ok = 0.0
        self._lost = threading.Lock()  # on_lost runs once, whichever watcher notices first

    def _connect(self) -> Any:
        import psycopg

        return psycopg.connect(self.url, autocommit=True, connect_timeout=5,
                               application_name=f"helpcenter-leader:{INSTANCE}",
                               keepalives=1, keepalives_idle=5, keepalives_interval=2, keepalives_count=2)

    def try_acquire(self, pause: float = 1.0) -> bool:
        """One try; a connection error is a no (the server may be restarting), after a pause."""
        import psycopg

        try:
            if self.conn is None or self.conn.closed:
                self.conn = self._connect()
            self.active = bool(self.conn.execute(LOCK_SQL).fetchone()[0])
            self.error = ""
        except psycopg.Error as exc:
            self.error = str(exc).strip() or type(exc).__name__
            log.warning("standby: cannot reach PostgreSQL (%s); trying again", self.error)
            self.close()
            time.sleep(pause)
        return self.active

    def describe_holder(self) -> str:
        """Who serves on this database, as the serving process recorded it (storage/tickets.py
        take_over): "another bot process (pid 12, on host-a, since …)", or "" when unknown."""
        import psycopg

        try:
            row = self.conn.execute("SELECT holder, host, since FROM leader WHERE id=1").fetchone()
        except (psycopg.Error, AttributeError):
            return ""
        if row is None:
            return ""
        return f"another bot process (pid {str(row[0]).split('-', 1)[0]} on {row[1]}, serving since {row[2]})"

    def acquire(self, stop: threading.Event | None = None) -> bool:
        """Wait until this process holds the lock (True), or stop is set (False)."""
        said = False
        while not self.try_acquire():
            if not said:
                log.info("standby: another process is active on this database; waiting to take over")
                said = True
            if stop is not None and stop.wait(POLL_SECONDS):
                return False
            if stop is None:
                time.sleep(POLL_SECONDS)
        log.info("active: holding the lock, serving")
        return True

    def watch(self) -> None:
        """From now on check the lock connection; on failure (or a stall) call on_lost."""
        self._last_ok = time.monotonic()
        threading.Thread(target=self._check_loop, name="leader-check", daemon=True).start()
        threading.Thread(target=self._stall_loop, name="leader-stall", daemon=True).start()

    def _check_loop(self) -> None:
        while True:
            try:
                self.conn.execute("SELECT 1").fetchone()
            except Exception as exc:  # noqa: BLE001 - any failure means the lock may be gone
                log.error("active: the lock connection failed: %s", exc)
                self._fire()
                return
            self._last_ok = time.monotonic()
            time.sleep(CHECK_SECONDS)

    def _stall_loop(self) -> None:
        while self.active:
            time.sleep(CHECK_SECONDS)
            if time.monotonic() - self._last_ok > STALL_SECONDS:
                log.error("active: the lock connection has not answered for %.0f s", STALL_SECONDS)
                self._fire()
                return

    def _fire(self) -> None:
        self.active = False
        if self._lost.acquire(blocking=False):
            self.on_lost()

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):  # closing a broken connection
                self.conn.close()
            self.conn = None
        self.active = False


def serve_health(port: int, status: Callable[[], dict[str, str]]) -> ThreadingHTTPServer | None:
    """GET /health in a thread: {"role": "starting"|"standby"|"unhealthy"|"active", "pid": …,
    "error": … when unhealthy}, 200 only when active; None if the port is taken."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return None

        def do_GET(self) -> None:
            if self.path.split("?")[0] not in ("/health", "/"):
                self.send_error(404)
                return
            now = status()
            body = json.dumps({**now, "pid": os.getpid()}, ensure_ascii=False).encode()
            self.send_response(200 if now.get("role") == "active" else 503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    try:
        server = ThreadingHTTPServer(("0.0.0.0", port), Handler)  # noqa: S104 - behind the proxy
    except OSError as exc:
        log.warning("no health endpoint on port %d: %s", port, exc)
        return None
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
    return server
