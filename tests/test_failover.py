"""Hot standby on PostgreSQL, with the real processes and the Bot API emulator: the health
endpoint tells active from standby, and an active process that loses its database connection
stops at once while the standby takes over the conversation."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import ROOT, Backend
from .emulator import Emulator
from .test_e2e import SUPPORT, EmuUser, Runner, _copies, health, stop_process


@pytest.fixture
def pg_backend(tmp_path, pg_url: str) -> Backend:
    return Backend("postgresql", tmp_path, pg_url)


def _terminate_lock_connection(backend: Backend, pid: int) -> int:
    rows = backend.rows("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        f" WHERE application_name LIKE 'helpcenter-leader:{pid}-%'")
    return len(rows)


def _wait_in_log(path: Path, text: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while text not in path.read_text():
        assert time.monotonic() < deadline, f"never logged: {text}"
        time.sleep(0.02)


def test_a_lost_lock_connection_hands_over_to_the_standby(pg_backend: Backend) -> None:
    """The lock connection is cut (not a kill) while a relay is in flight at Telegram: the old
    process sends nothing more, records that relay once Telegram answers and exits; the standby
    waits for it, so the relay arrives once, and the conversations go on in the standby."""
    log = pg_backend.data_dir / "bot.log"
    with Emulator() as emu:
        runner = Runner(emu, pg_backend.data_dir, pg_backend)
        runner.start()
        try:
            active, standby = runner.proc, runner.standbys[0]
            assert health(runner.ports[active.pid]) == "active"
            assert health(runner.ports[standby.pid]) == "standby"
            # The console takes the same lock; it does not wait for it, it says who serves.
            console = subprocess.run([sys.executable, "bot.py", "console"], cwd=ROOT, env=runner.env, input="/quit\n",
                                     capture_output=True, text=True, timeout=60)
            assert console.returncode == 1
            assert f"error: another bot process (pid {active.pid} on " in console.stderr, console.stderr
            ann, bob = EmuUser(emu, 81), EmuUser(emu, 82)
            ann.send("/return", "步骤 1/6")
            ann.press("下一步", "步骤 2/6")
            bob.send("/human", "已为您转接人工客服")
            emu.wait_for(lambda calls: [c for c in calls if c.method == "sendMessage"
                                        and "🎫" in str(c.params["text"])])
            release = emu.hold("copyMessage")
            raw = bob.factory.text("照片稍后发")
            emu.push(raw)
            emu.wait_for(lambda calls: emu.held)  # the relay is at Telegram, not answered yet
            polls = emu.get_updates_calls
            assert _terminate_lock_connection(pg_backend, active.pid) == 1
            lost = time.monotonic()
            _wait_in_log(log, "lost the PostgreSQL connection that holds the active lock")
            release.set()  # Telegram accepts the relay only now, after the lock is gone
            assert active.wait(timeout=10) == 1  # it stops serving, for a supervisor to restart
            emu.wait_for(lambda calls: emu.get_updates_calls > polls, timeout=10)
            took_over = time.monotonic() - lost
            print(f"lost lock connection with a relay in flight: the standby polls {took_over:.2f} s later")
            assert took_over < 5
            runner.proc = next(p for p in runner.standbys if health(runner.ports[p.pid]) == "active")
            ann.press("下一步", "步骤 3/6")  # the conversation goes on in the other process
            after = bob.factory.text("还在吗")  # and the hand-off: the next relay goes out from the new one
            emu.push(after)
            emu.wait_for(lambda calls: _copies(emu, SUPPORT, bob.id, after["message"]["message_id"]))
        finally:
            runner.stop()
    assert _copies(emu, SUPPORT, bob.id, raw["message"]["message_id"]) == 1  # sent once, not again
    text = log.read_text()
    assert "were being sent when the last run died" not in text
    assert "waiting to take over" in text


def test_a_standby_does_not_touch_telegram(pg_backend: Backend) -> None:
    """Only the lock holder polls: a standby alone with a busy lock checks its token once (getMe,
    so a token Telegram refuses stops it at start, not at the failover) and polls nothing."""
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
                assert [c.method for c in emu.calls] == ["getMe"] and emu.get_updates_calls == 0
                polls = emu.get_updates_calls
                holder.close()  # the active one goes: this one takes over
                emu.wait_for(lambda calls: emu.get_updates_calls > polls, timeout=10)
                assert health(runner.ports[proc.pid]) == "active"
            finally:
                stop_process(proc, signal.SIGTERM)
                runner.log.close()
    finally:
        holder.close()


def test_a_standby_with_a_token_telegram_refuses_stops_at_start(pg_backend: Backend) -> None:
    """The lock is busy, so this process would wait as a standby: with a token Telegram refuses it
    exits at once with the one-line error, rather than failing later, during a failover."""
    import psycopg

    from .emulator import Failure

    holder = psycopg.connect(pg_backend.url, autocommit=True)
    try:
        assert holder.execute("SELECT pg_try_advisory_lock(hashtext('helpcenter-bot:' || current_schema()))"
                              ).fetchone()[0]
        with Emulator() as emu:
            emu.fail(Failure("Unauthorized", code=401, method="getMe", times=10**6))
            runner = Runner(emu, pg_backend.data_dir, pg_backend)
            proc = runner._spawn()
            try:
                assert proc.wait(timeout=60) == 1
            finally:
                if proc.poll() is None:
                    proc.kill()
                runner.log.close()
            assert [c.method for c in emu.calls] == ["getMe"] and emu.get_updates_calls == 0
    finally:
        holder.close()
    log = (pg_backend.data_dir / "bot.log").read_text()
    assert "rejected the bot token" in log and "Traceback" not in log, log[-500:]
