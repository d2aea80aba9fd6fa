"""Hot standby on PostgreSQL, with the real processes and the Bot API emulator: the health
endpoint tells active from standby, and an active process that loses its database connection
stops at once while the standby takes over the conversation."""

from __future__ import annotations

import subprocess
import time

import pytest

from .conftest import Backend
from .emulator import Emulator
from .test_e2e import EmuUser, Runner, health


@pytest.fixture
def pg_backend(tmp_path, pg_url: str) -> Backend:
    return Backend("postgresql", tmp_path, pg_url)


def _terminate_lock_connection(backend: Backend, pid: int) -> int:
    rows = backend.rows("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        f" WHERE application_name='helpcenter-leader:{pid}'")
    return len(rows)


def test_a_lost_lock_connection_hands_over_to_the_standby(pg_backend: Backend) -> None:
    with Emulator() as emu:
        runner = Runner(emu, pg_backend.data_dir, pg_backend)
        runner.start()
        try:
            active, standby = runner.proc, runner.standbys[0]
            assert health(runner.ports[active.pid]) == "active"
            assert health(runner.ports[standby.pid]) == "standby"
            ann = EmuUser(emu, 81)
            ann.send("/return", "步骤 1/6")
            ann.press("下一步", "步骤 2/6")
            polls = emu.get_updates_calls
            assert _terminate_lock_connection(pg_backend, active.pid) == 1
            lost = time.monotonic()
            assert active.wait(timeout=5) == 1  # it stops serving at once, for a supervisor to restart
            emu.wait_for(lambda calls: emu.get_updates_calls > polls, timeout=10)
            took_over = time.monotonic() - lost
            assert took_over < 5
            runner.proc = next(p for p in runner.standbys if health(runner.ports[p.pid]) == "active")
            ann.press("下一步", "步骤 3/6")  # the conversation goes on in the other process
        finally:
            runner.stop()
    log = (pg_backend.data_dir / "bot.log").read_text()
    assert "lost the PostgreSQL connection that holds the active lock" in log
    assert "waiting to take over" in log


def test_a_standby_does_not_touch_telegram(pg_backend: Backend) -> None:
    """Only the lock holder polls: a standby alone with a busy lock makes no Bot API call."""
    import psycopg

    holder = psycopg.connect(pg_backend.url, autocommit=True)
    try:
        assert holder.execute("SELECT pg_try_advisory_lock(hashtext('helpcenter-bot:' || current_schema()))"
                              ).fetchone()[0]
        with Emulator() as emu:
            runner = Runner(emu, pg_backend.data_dir, pg_backend)
            proc = runner._spawn()
            try:
                runner.wait_role(proc, "standby")
                time.sleep(1.0)
                assert emu.calls == [] and emu.get_updates_calls == 0
                polls = emu.get_updates_calls
                holder.close()  # the active one goes: this one takes over
                emu.wait_for(lambda calls: emu.get_updates_calls > polls, timeout=10)
                assert health(runner.ports[proc.pid]) == "active"
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                runner.log.close()
    finally:
        holder.close()
