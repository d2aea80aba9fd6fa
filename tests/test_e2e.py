"""The real bot process (python bot.py) against the Bot API emulator on 127.0.0.1: users walk the
flows, a question, a hand-off with an agent's reply; a SIGKILL in the middle loses nothing."""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from handlers.offline.botapi import Call, Failure, UpdateFactory
from helpcenter.answers.render import to_plain

from .conftest import ROOT, Backend
from .emulator import Emulator

SUPPORT = -1005000
TOKEN = "123456:emulated"


def stop_process(proc: subprocess.Popen, sig: int = signal.SIGINT) -> None:
    """Stop a bot process the way an operator does (Ctrl-C), killing it if it has not gone in 15 s."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def bot_env(emu: Emulator, data_dir: Path) -> dict[str, str]:
    """The environment of a bot process under test: this emulator, this data dir, and the tests'
    EMBEDDINGS setting (off by default: loading the model and embedding the phrasings afresh in
    every new data dir takes longer on a busy machine than a test waits for a start)."""
    return {"PATH": os.environ.get("PATH", "/usr/bin"), "HOME": str(data_dir), "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": emu.url, "DATA_DIR": str(data_dir), "SUPPORT_CHAT_ID": str(SUPPORT),
            "BOT_TIMEZONE": "UTC", "RATE_LIMIT": "off", "AGENT_IDS": "900",
            "EMBEDDINGS": os.environ.get("EMBEDDINGS", "off")}


@contextmanager
def bot_process(emu: Emulator, data_dir: Path) -> Iterator[subprocess.Popen]:
    env = bot_env(emu, data_dir)
    started = len([c for c in emu.calls if c.method == "setMyCommands"])
    log = (data_dir / "bot.log").open("a")  # a file, not a pipe nobody reads while the bot runs
    proc = subprocess.Popen([sys.executable, "bot.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        emu.wait_for(lambda calls: len([c for c in calls if c.method == "setMyCommands"]) >= started + 2)
        emu.wait_for(lambda calls: emu.get_updates_calls > 0)
        yield proc
    finally:
        stop_process(proc)
        log.close()
        output = (data_dir / "bot.log").read_text()
        assert "Traceback" not in output or proc.returncode == -signal.SIGKILL, output[-3000:]


class EmuUser:
    def __init__(self, emu: Emulator, user_id: int, language_code: str = "zh-hans") -> None:
        self.emu, self.id = emu, user_id
        self.factory = UpdateFactory(user_id, f"U{user_id}", language_code)
        self.factory._update_ids = iter(range(10**9))  # the emulator numbers updates itself

    def _mine(self, calls: list[Call]) -> list[Call]:
        return [c for c in calls if c.method in ("sendMessage", "editMessageText", "copyMessage")
                and str(c.params.get("chat_id")) == str(self.id)]

    def _act(self, update: dict[str, Any], expect: str) -> str:
        before = len(self._mine(self.emu.calls))

        def arrived(calls: list[Call]) -> str | None:
            text = "\n".join(to_plain(str(c.params.get("text", ""))) for c in self._mine(calls)[before:])
            return text if expect in text else None

        self.emu.push(update)
        return self.emu.wait_for(arrived)

    def send(self, text: str, expect: str) -> str:
        return self._act(self.factory.text(text), expect)

    def press(self, label: str, expect: str) -> str:
        last = next(c for c in reversed(self._mine(self.emu.calls)) if c.buttons)
        data = next(b["callback_data"] for row in last.buttons for b in row if label in b["text"])
        message = self.emu.api.messages[(self.id, last.result["message_id"])]
        return self._act(self.factory.click(data, message), expect)


def test_users_walk_the_flows_against_the_real_process(tmp_path: Path) -> None:
    with Emulator() as emu, bot_process(emu, tmp_path):
        ann = EmuUser(emu, 11)
        ann.send("/start", "请先告诉我您的身份")
        ann.press("我是买家", "买家菜单")
        ann.press("自行寄回退货", "步骤 1/6")
        for n in (2, 3, 4):
            ann.press("下一步", f"步骤 {n}/6")
        ann.press("下一步", "请输入订单号")
        ann.send("576482930174629381", "要退的是哪件商品")
        ann.send("蓝色马克杯", "退货原因是什么")
        ann.press("质量问题", "留一个联系方式")
        ann.send("ann@example.com", "订单号:576482930174629381")
        ann.press("下一步", "步骤 5/6")
        ann.press("下一步", "哪家物流公司")
        ann.send("USPS", "请输入物流单号")
        ann.send("9400111899562737462123", "物流单号:9400111899562737462123")
        ann.press("下一步", "退货流程完成")

        bob = EmuUser(emu, 12, "en")
        bob.send("/refund", "What happened?")
        bob.press("Item not as ordered", "Which market")
        bob.press("Indonesia", "Which day was that?")
        last_day = date.today() - timedelta(days=1) + timedelta(days=6)
        text = bob.press("Yesterday", "At the latest by")  # "up to 6 days": a ceiling, said so
        assert f"At the latest by {last_day.isoformat()} (an upper limit, 5 days left" in text

        cai = EmuUser(emu, 13)
        cai.send("退貨運費誰出?", "退货运费谁出(按市场)")
        cai.send("/human", "已为您转接人工客服")
        card = emu.wait_for(lambda calls: next((c for c in calls if c.method == "sendMessage"
                                                and str(c.params["chat_id"]) == str(SUPPORT)
                                                and "🎫" in str(c.params["text"])), None))
        assert "Q: 退貨運費誰出?" in card.params["text"]
        agent = UpdateFactory(900, "Agent")
        agent._update_ids = iter(range(10**9))
        reply_to = {"message_id": card.result["message_id"], "date": 0,
                    "chat": {"id": SUPPORT, "type": "supergroup"}}
        emu.push(agent.group(SUPPORT, "您好,运费由谁承担要看原因", reply_to=reply_to))
        emu.wait_for(lambda calls: [c for c in calls if c.method == "copyMessage"
                                    and str(c.params["chat_id"]) == "13"])


def test_sigkill_in_the_middle_loses_nothing(tmp_path: Path) -> None:
    with Emulator() as emu:
        ann, bob = EmuUser(emu, 21), EmuUser(emu, 22)
        with bot_process(emu, tmp_path) as proc:
            ann.send("/return", "步骤 1/6")
            ann.press("下一步", "步骤 2/6")
            bob.send("/refund", "您遇到的是哪种情况")
            bob.press("丢失包裹", "您在哪个市场购买")
            bob.press("印度尼西亚", "那是哪一天")
            bob.press("昨天", "还可以申请")
            bob.press("截止前提醒我", "我会在")
            bob.send("/human", "已为您转接人工客服")
            emu.fail(Failure("Bad Gateway", code=502, method="copyMessage", times=10**6))
            emu.push(bob.factory.text("照片稍后发"))  # relayed: fails at the API, stays in the outbox
            emu.wait_for(lambda calls: [c for c in calls if c.method == "copyMessage"])
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        emu.api.failures.clear()
        with bot_process(emu, tmp_path):
            delivered = emu.wait_for(lambda calls: [c for c in calls if c.method == "copyMessage"
                                                    and not str(c.result).startswith("error")])
            ann.press("下一步", "步骤 3/6")  # the conversation resumes where it was
            emu.push(bob.factory.text("还在吗"))
            emu.wait_for(lambda calls: len([c for c in calls if c.method == "copyMessage"
                                            and not str(c.result).startswith("error")]) >= 2)
        relayed = [c for c in emu.calls if c.method == "copyMessage" and not str(c.result).startswith("error")]
        assert len(delivered) >= 1
        assert len({c.params["message_id"] for c in relayed}) == len(relayed) == 2  # none lost, none twice
        import sqlite3

        with sqlite3.connect(tmp_path / "helpcenter.sqlite3") as db:
            assert db.execute("SELECT COUNT(*) FROM reminders WHERE status='pending'").fetchone()[0] == 1
            assert db.execute("SELECT status FROM tickets").fetchall() == [("open",)]


def test_bad_data_dir_gives_a_clear_startup_error(tmp_path: Path) -> None:
    (tmp_path / "state.sqlite3").write_bytes(b"this is not a database")
    env = {"PATH": os.environ.get("PATH", "/usr/bin"), "DATA_DIR": str(tmp_path), "TELEGRAM_BOT_TOKEN": TOKEN,
           "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9", "EMBEDDINGS": os.environ.get("EMBEDDINGS", "off")}
    out = subprocess.run([sys.executable, "bot.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert "state.sqlite3 is not a usable SQLite database" in out.stderr
    (tmp_path / "state.sqlite3").unlink()
    (tmp_path / "desk.sqlite3").write_bytes(b"SQLite format 3\x00" + b"\x01" * 200)  # the agents' desk, damaged
    out = subprocess.run([sys.executable, "bot.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert "desk.sqlite3 is not a usable SQLite database" in out.stderr, out.stderr
    blocker = tmp_path / "file"
    blocker.write_text("x")
    env["DATA_DIR"] = str(blocker / "data")
    out = subprocess.run([sys.executable, "bot.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "cannot be created" in out.stderr


def _start_expecting_failure(env: dict[str, str], health_port: int | None = None) -> tuple[int, str, set[str]]:
    """Start the bot, watch its /health while it runs; (exit code, stderr, roles seen)."""
    import tempfile

    roles: set[str] = set()
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, "bot.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err,
                                text=True)
        try:
            deadline = time.monotonic() + 60
            while proc.poll() is None:
                assert time.monotonic() < deadline, "the bot did not give up"
                if health_port is not None and (role := health(health_port)) is not None:
                    roles.add(role)
                time.sleep(0.05)
        finally:
            if proc.poll() is None:
                proc.kill()
        err.seek(0)
        return proc.returncode, err.read(), roles


def test_a_token_telegram_refuses_stops_with_one_clear_line(tmp_path: Path) -> None:
    with Emulator() as emu:
        emu.fail(Failure("Unauthorized", code=401, method="getMe", times=10**6))
        code, err, _ = _start_expecting_failure(bot_env(emu, tmp_path))
    assert code == 1
    assert "Traceback" not in err and "emulated" not in err  # nor the token's secret part
    last = err.strip().splitlines()[-1]
    assert last == (f"error: Telegram at {emu.url} rejected the bot token 123456:…; check TELEGRAM_BOT_TOKEN"
                    f" (the token @BotFather gave: /mybots → API Token) and TELEGRAM_API_BASE_URL={emu.url}")
    assert [c.method for c in emu.calls] == ["getMe"]  # not retried: the answer would not change


def test_telegram_out_of_reach_is_unhealthy_then_stops(tmp_path: Path) -> None:
    """No Bot API server at TELEGRAM_API_BASE_URL: /health never says active; the bot tries for
    STARTUP_TIMEOUT seconds, then exits 1 with one line that says what to check."""
    port, nothing = _free_port(), _free_port()  # nothing listens on the second
    env = {"PATH": os.environ.get("PATH", "/usr/bin"), "DATA_DIR": str(tmp_path), "TELEGRAM_BOT_TOKEN": TOKEN,
           "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{nothing}", "EMBEDDINGS": os.environ.get("EMBEDDINGS", "off"),
           "STARTUP_TIMEOUT": "3", "HEALTH_PORT": str(port)}
    code, err, roles = _start_expecting_failure(env, port)
    assert code == 1
    assert "unhealthy" in roles and "active" not in roles, roles
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines[-1].startswith(f"error: cannot reach Telegram at http://127.0.0.1:{nothing} (")
    assert lines[-1].endswith(" (STARTUP_TIMEOUT=3 s); check the network (DNS, firewall, proxy) and"
                              f" TELEGRAM_API_BASE_URL=http://127.0.0.1:{nothing}"), lines[-1]
    assert len([line for line in lines if "trying again" in line]) >= 1


# --- many SIGKILLs at random points (issue 12) -------------------------------------------------

KILLS = 20
KILLS_HOT = 20  # on PostgreSQL (a standby takes over each time)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def health(port: int) -> str | None:
    """The role a bot process's health endpoint reports, or None when it does not answer."""
    import json
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return json.loads(response.read())["role"]
    except urllib.error.HTTPError as exc:
        return json.loads(exc.read())["role"]
    except OSError:
        return None


class Runner:
    """The bot, killed (SIGKILL) and started again on demand. On SQLite one process, started
    again after the kill; on PostgreSQL (backend.url) an active and a standby process: a kill
    hits the active one, the standby takes over, and a new standby is started."""

    def __init__(self, emu: Emulator, data_dir: Path, backend: Backend | None = None) -> None:
        self.emu, self.data_dir, self.proc = emu, data_dir, None
        self.standbys: list[subprocess.Popen] = []  # two: one is ready while the other starts
        self.backend = backend or Backend("sqlite", data_dir)
        self.env = {**bot_env(emu, data_dir), **self.backend.env()}
        self.log = (data_dir / "bot.log").open("a")
        self.ports: dict[int, int] = {}  # pid -> health port
        self.failovers: list[float] = []  # seconds from a kill to the next process polling

    @property
    def hot(self) -> bool:
        return bool(self.backend.url)

    def _spawn(self) -> subprocess.Popen:
        port = _free_port()
        proc = subprocess.Popen([sys.executable, "bot.py"], cwd=ROOT, env={**self.env, "HEALTH_PORT": str(port)},
                                stdout=self.log, stderr=subprocess.STDOUT)
        self.ports[proc.pid] = port
        atexit.register(lambda: proc.poll() is None and proc.kill())  # a failed test leaves no standby behind
        return proc

    def wait_role(self, proc: subprocess.Popen, role: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while health(self.ports[proc.pid]) != role:
            assert proc.poll() is None, f"the bot exited with {proc.returncode}"
            assert time.monotonic() < deadline, f"pid {proc.pid} never became {role}"
            time.sleep(0.05)

    def start(self) -> None:
        polls = self.emu.get_updates_calls
        self.proc = self._spawn()
        self.emu.wait_for(lambda calls: self.emu.get_updates_calls > polls, timeout=30)
        if self.hot:
            self.standbys = [self._spawn(), self._spawn()]
            for standby in self.standbys:
                self.wait_role(standby, "standby")

    def kill(self) -> None:
        if not self.hot:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
            started = time.monotonic()
            self.start()
            self.failovers.append(time.monotonic() - started)
            return
        deadline = time.monotonic() + 60
        while not [p for p in self.standbys if health(self.ports[p.pid]) == "standby"]:  # one ready to take over
            assert [p for p in self.standbys if p.poll() is None], "every standby exited; see bot.log"
            assert time.monotonic() < deadline, "no standby became ready"
            time.sleep(0.05)
        assert health(self.ports[self.proc.pid]) == "active"
        sets = len([c for c in self.emu.calls if c.method == "setMyCommands"])
        self.proc.send_signal(signal.SIGKILL)
        killed = time.perf_counter()
        self.proc.wait(timeout=10)
        # The new active process sets the commands at start-up, then polls: its first poll after
        # that setMyCommands ends the takeover (the killed one's last polls came before).
        ready = self.emu.wait_for(lambda calls: [c.at for c in calls if c.method == "setMyCommands"][sets + 1:],
                                  timeout=30)[0]
        first = self.emu.wait_for(lambda calls: [t for t in self.emu.poll_times if t > ready], timeout=30)[0]
        self.failovers.append(first - killed)
        deadline = time.monotonic() + 10
        while not (active := [p for p in self.standbys if health(self.ports[p.pid]) == "active"]):
            assert time.monotonic() < deadline, "no standby reports active"
            time.sleep(0.05)
        self.proc = active[0]
        self.standbys = [p for p in self.standbys if p is not self.proc] + [self._spawn()]

    def stop(self) -> None:
        for proc in (*self.standbys, self.proc):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                proc.wait(timeout=15)
        self.log.close()


def _copies(emu: Emulator, to_chat: int, from_chat: int, msg: int) -> int:
    return len([c for c in emu.calls if c.method == "copyMessage" and isinstance(c.result, dict)
                and str(c.params["chat_id"]) == str(to_chat) and str(c.params["from_chat_id"]) == str(from_chat)
                and c.params["message_id"] == msg])


def test_sigkills_at_random_points_lose_nothing(backend: Backend) -> None:
    """On SQLite the process is started again after each kill; on PostgreSQL a standby takes over."""
    import random
    import statistics
    import threading

    tmp_path = backend.data_dir

    seed = random.randrange(10**6)
    rng = random.Random(seed)
    errors: list[str] = []
    killing = threading.Event()
    killing.set()
    relayed: list[tuple[int, int, int]] = []  # (to chat, from chat, message id)

    def guarded(name: str, work) -> threading.Thread:
        def run() -> None:
            try:
                work()
            except Exception as exc:  # noqa: BLE001 - reported below with the seed
                errors.append(f"{name}: {exc!r}")
        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        return thread

    with Emulator() as emu:
        runner = Runner(emu, tmp_path, backend)
        runner.start()
        walkers = [EmuUser(emu, 31 + i) for i in range(2)]
        cyclers = [EmuUser(emu, 41 + i) for i in range(2)]
        asker = EmuUser(emu, 51, "en")
        relayers = [EmuUser(emu, 61 + i) for i in range(2)]
        agent = UpdateFactory(900, "Agent")
        agent._update_ids = iter(range(10**9))

        def walk(user: EmuUser) -> None:  # the return flow with its text fields, to the last step
            user.send("/return", "步骤 1/6")
            for n in (2, 3, 4):
                user.press("下一步", f"步骤 {n}/6")
            user.press("下一步", "请输入订单号")
            user.send("576482930174629381", "要退的是哪件商品")
            user.send("蓝色马克杯", "退货原因是什么")
            user.press("质量问题", "留一个联系方式")
            user.send("ann@example.com", "订单号:576482930174629381")
            user.press("下一步", "步骤 5/6")
            user.press("下一步", "哪家物流公司")
            user.send("USPS", "请输入物流单号")
            user.send("9400111899562737462123", "物流单号:9400111899562737462123")

        def cycle(user: EmuUser) -> None:  # 1, 2, 3, 2, 1, 2, … while the kills go on
            user.send("/return", "步骤 1/6")
            step, up = 1, True
            while killing.is_set():
                up = (up or step == 1) and step < 3
                step += 1 if up else -1
                user.press("下一步" if up else "上一步", f"步骤 {step}/6")
            user.step = step  # type: ignore[attr-defined]

        def ask(user: EmuUser) -> None:
            while killing.is_set():
                user.send("how long does a refund take", "refund")

        def relay(user: EmuUser) -> None:
            # A kill after the ticket opened but before the reply: the replayed /human knows it opened
            # that ticket (tickets.opened_by) and answers as the first run would have.
            user.send("/human", "已为您转接人工客服")
            while killing.is_set():
                raw = user.factory.text(f"message from {user.id}")
                emu.push(raw)
                msg = raw["message"]["message_id"]
                relayed.append((SUPPORT, user.id, msg))
                emu.wait_for(lambda calls, msg=msg: _copies(emu, SUPPORT, user.id, msg), timeout=40)

        def answer() -> None:  # the agent replies to each ticket's card
            while killing.is_set():
                for user in relayers:
                    card = next((c for c in emu.calls if c.method == "sendMessage" and "🎫" in str(c.params["text"])
                                 and f"<code>{user.id}</code>" in str(c.params["text"])), None)
                    if card is None:
                        continue
                    # As Telegram does, the reply carries the card itself (its text and sender).
                    reply_to = dict(emu.api.messages[(SUPPORT, card.result["message_id"])])
                    reply_to["text"] = to_plain(reply_to["text"])
                    raw = agent.group(SUPPORT, f"agent to {user.id}", reply_to=reply_to)
                    emu.push(raw)
                    msg = raw["message"]["message_id"]
                    relayed.append((user.id, SUPPORT, msg))
                    emu.wait_for(lambda calls, msg=msg, user=user: _copies(emu, user.id, SUPPORT, msg), timeout=40)
                time.sleep(0.05)

        threads = [guarded(f"walk {u.id}", lambda u=u: walk(u)) for u in walkers]
        threads += [guarded(f"cycle {u.id}", lambda u=u: cycle(u)) for u in cyclers]
        threads += [guarded("ask", lambda: ask(asker))]
        threads += [guarded(f"relay {u.id}", lambda u=u: relay(u)) for u in relayers]
        threads += [guarded("agent", answer)]
        kills = KILLS_HOT if runner.hot else KILLS
        for _ in range(kills):
            time.sleep(rng.uniform(0.05, 0.6))
            runner.kill()
        killing.clear()
        for thread in threads:
            thread.join(timeout=60)
        assert not errors, f"seed {seed}: {errors}"
        for user in walkers:  # each resumes exactly where its last screen was
            user.press("下一步", "退货流程完成")
        for user in cyclers:
            n = user.step  # type: ignore[attr-defined]
            user.press("下一步", f"步骤 {n + 1}/6")
        time.sleep(0.5)
        runner.stop()
        log = (tmp_path / "bot.log").read_text()
        import re

        # each start-up logs how many relays a kill caught mid-send ("N relay(s) were being sent …")
        ambiguous = sum(int(n) for n in re.findall(r"(\d+) relay\(s\) were being sent when the last run died", log))
        doubled = [r for r in relayed if _copies(emu, *r) > 1]
        lost = [r for r in relayed if _copies(emu, *r) == 0]
        print(f"{backend.name}, seed {seed}: {kills} kills, {len(relayed)} relays"
              f" ({len([r for r in relayed if r[0] == SUPPORT])} to agents), {len(doubled)} doubled,"
              f" {ambiguous} interrupted sends; back to polling after a kill: median"
              f" {statistics.median(runner.failovers):.2f} s, max {max(runner.failovers):.2f} s")
        assert not lost, f"seed {seed}: lost {lost}"
        assert len(doubled) <= ambiguous, f"seed {seed}: doubled {doubled}"
        assert len({r for r in relayed if r[0] == SUPPORT}) >= 10 and len({r for r in relayed if r[1] == SUPPORT}) >= 5
        assert backend.rows("SELECT COUNT(*) FROM inbox WHERE done=0", "state") == [(0,)]
        assert backend.rows("SELECT COUNT(*) FROM outbox WHERE status!='sent'") == [(0,)]
        if runner.hot:
            assert max(runner.failovers) < 5, runner.failovers  # the standby takes over within 5 s


def test_a_second_process_on_the_same_data_dir_refuses_to_start(tmp_path: Path) -> None:
    with Emulator() as emu, bot_process(emu, tmp_path) as first:
        out = subprocess.run([sys.executable, "bot.py"], cwd=ROOT, env=bot_env(emu, tmp_path), capture_output=True,
                             text=True, timeout=60)
        assert out.returncode == 1
        assert f"another bot process (pid {first.pid}) is already using DATA_DIR" in out.stderr
        assert first.poll() is None  # the first one goes on


def test_sigterm_stops_the_bot_soon_after_the_api_went_away(tmp_path: Path) -> None:
    emu = Emulator().__enter__()
    runner = Runner(emu, tmp_path)
    runner.start()
    try:
        user = EmuUser(emu, 71)
        user.send("/human", "已为您转接人工客服")
        emu.fail(Failure("Bad Gateway", code=502, method="copyMessage", times=10**6))
        emu.push(user.factory.text("还在吗"))  # a relay left retrying
        emu.wait_for(lambda calls: [c for c in calls if c.method == "copyMessage"])
    finally:
        emu.__exit__(None)
    time.sleep(1.0)
    started = time.monotonic()
    runner.proc.send_signal(signal.SIGTERM)
    runner.proc.wait(timeout=10)
    runner.log.close()
    assert time.monotonic() - started < 5
