"""Load benchmark: simulated users through the Bot API emulator on 127.0.0.1, against the
help-center bot and, in the same run, a bare python-telegram-bot echo bot handling the same
mix of updates (bench/echo_bot.py). Prints throughput, reply latency and CPU per update.

    python bench/load_bench.py [--users 500] [--postgres URL] [--kills 20]

With a PostgreSQL server (--postgres, default $TEST_DATABASE_URL or the local one; "none" to
skip) the help-center bot runs on both backends side by side, and the failover time is measured:
the active process SIGKILLed --kills times, from the kill until a standby polls Telegram.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.emulator import Emulator  # noqa: E402
from tests.loaddriver import FLOW, LoadResult, cpu_seconds, run_load  # noqa: E402

TOKEN = "123456:bench"


def run(command: list[str], users: int, flow: list[tuple[str, str, str]], env_extra: dict[str, str],
        ready: callable) -> tuple[LoadResult, float]:
    with Emulator() as emu, tempfile.TemporaryDirectory() as data:
        env = {"PATH": os.environ.get("PATH", ""), "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": emu.url,
               "DATA_DIR": data, "RATE_LIMIT": "off", "BOT_TIMEZONE": "UTC",
               **({"EMBEDDINGS": os.environ["EMBEDDINGS"]} if "EMBEDDINGS" in os.environ else {}), **env_extra}
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            emu.wait_for(lambda calls: emu.get_updates_calls > 0 and ready(calls), timeout=60)
            time.sleep(0.2)
            before = cpu_seconds(proc.pid)
            result = run_load(emu, users, flow)
            cpu = cpu_seconds(proc.pid) - before
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
    return result, cpu


async def in_process(users: int) -> tuple[int, float, float]:
    """The same flow with the Bot API answered in-process (no HTTP): the bot's own capacity."""
    import asyncio

    from telegram import Update

    from handlers.app import build_application, serving
    from handlers.base.common import Settings
    from handlers.offline.botapi import OfflineBotAPI, UpdateFactory
    from helpcenter.core import HelpCenter

    api = OfflineBotAPI()
    with tempfile.TemporaryDirectory() as data:
        app = build_application(Settings(data_dir=Path(data)), HelpCenter(), request=api, rate_limit=False)
        async with serving(app):
            async def user(uid: int) -> None:
                factory = UpdateFactory(uid, f"U{uid}")
                last: dict = {"message_id": 1, "date": 0, "chat": factory.chat}
                for kind, value, expect in FLOW:
                    raw = factory.text(value) if kind == "text" else factory.click(value, last)
                    mark = len(api.calls)
                    await app.process_update(Update.de_json(raw, app.bot))
                    replies = [c for c in api.calls[mark:] if c.params.get("chat_id") == uid and c.buttons]
                    assert replies and expect in replies[-1].text, (uid, value)
                    last = replies[-1].result

            start, cpu = time.perf_counter(), time.process_time()
            await asyncio.gather(*(user(20_000 + i) for i in range(users)))
            return users * len(FLOW), time.perf_counter() - start, time.process_time() - cpu


@contextmanager
def scratch_database(url: str):
    """A fresh database on the server at url, dropped afterwards; None when no server answers."""
    import psycopg

    try:
        admin = psycopg.connect(url, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        print(f"no PostgreSQL at {url} ({exc}); PostgreSQL rows skipped")
        yield None
        return
    name = f"helpcenter_bench_{os.getpid()}"
    admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.execute(f"CREATE DATABASE {name}")
    try:
        yield urlsplit(url)._replace(path=f"/{name}").geturl()
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


def failover(url: str, kills: int) -> list[float]:
    """Seconds from SIGKILL of the active process until a standby polls, kills times, while a
    user keeps walking a flow (each kill waits for a reply first: the bot is serving)."""
    import random

    from tests.conftest import Backend
    from tests.test_e2e import EmuUser, Runner

    rng = random.Random(1)
    with Emulator() as emu, tempfile.TemporaryDirectory() as data, scratch_database(url) as db:
        if db is None:
            return []
        runner = Runner(emu, Path(data), Backend("postgresql", Path(data), db))
        runner.start()
        try:
            user = EmuUser(emu, 99)
            for n in range(kills):
                user.send("/return" if n % 2 == 0 else "/refund", "1/6" if n % 2 == 0 else "哪种情况")
                time.sleep(rng.uniform(0.05, 0.3))
                runner.kill()
        finally:
            runner.stop()
        return runner.failovers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--failover-only", action="store_true", help="measure only the failover time")
    args = parser.parse_args()
    if args.failover_only:
        times = failover(args.postgres, args.kills)
        if times:
            print(f"failover (PostgreSQL, active SIGKILLed {len(times)} times, two standbys): median"
                  f" {statistics.median(times):.2f} s, max {max(times):.2f} s until a standby polls")
        return
    echo_flow = [(kind, value, value) for kind, value, _ in FLOW]
    rows = []
    for name, command, flow, ready in (
        ("bare PTB echo bot", [sys.executable, "bench/echo_bot.py"], echo_flow, lambda calls: True),
        ("help-center bot", [sys.executable, "bot.py"], FLOW,
         lambda calls: sum(c.method == "setMyCommands" for c in calls) >= 2),
    ):
        result, cpu = run(command, args.users, flow, {}, ready)
        if result.missing:
            print(f"{name}: {len(result.missing)} users did not get every reply, e.g. {result.missing[0]}")
        rows.append((name, result, cpu))
    if args.postgres != "none":
        with scratch_database(args.postgres) as db:
            if db is not None:
                result, cpu = run([sys.executable, "bot.py"], args.users, FLOW, {"DATABASE_URL": db},
                                  lambda calls: sum(c.method == "setMyCommands" for c in calls) >= 2)
                rows.append(("help-center, PostgreSQL", result, cpu))
    print(f"\n{args.users} simulated users x {len(FLOW)} updates each (texts, button presses, a question, a refund"
          " deadline), 2-core machine, emulator in the same machine")
    print(f"{'bot':<24}{'updates/s':>11}{'p50 ms':>9}{'p99 ms':>9}{'CPU ms/update':>15}{'lost':>6}")
    for name, result, cpu in rows:
        print(f"{name:<24}{result.per_second:>11.0f}{result.pct(50):>9.1f}{result.pct(99):>9.1f}"
              f"{cpu / max(1, result.updates) * 1000:>15.2f}{len(result.missing):>6}")
    import asyncio

    updates, seconds, cpu = asyncio.run(in_process(args.users))
    print(f"{'help-center, no HTTP':<24}{updates / seconds:>11.0f}{'':>9}{'':>9}{cpu / updates * 1000:>15.2f}{0:>6}")
    (_, echo, echo_cpu), (_, ours, our_cpu) = rows[:2]
    ratio = (our_cpu / max(1, ours.updates)) / (echo_cpu / max(1, echo.updates))
    print(f"\nper-update CPU cost, help-center bot / echo bot: {ratio:.2f}x"
          " (bot process only; on PostgreSQL the server's CPU is not counted)")
    if args.postgres != "none" and args.kills:
        times = failover(args.postgres, args.kills)
        if times:
            print(f"failover (PostgreSQL, active SIGKILLed {len(times)} times, two standbys): median"
                  f" {statistics.median(times):.2f} s, max {max(times):.2f} s until a standby polls")


if __name__ == "__main__":
    main()
