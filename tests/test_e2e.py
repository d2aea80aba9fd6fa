"""The real bot process (python bot.py) against the Bot API emulator on 127.0.0.1: users walk the
flows, a question, a hand-off with an agent's reply; a SIGKILL in the middle loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from handlers.offline import Call, Failure, UpdateFactory
from helpcenter.render import to_plain

from .conftest import ROOT
from .emulator import Emulator

SUPPORT = -1005000
TOKEN = "123456:emulated"


@contextmanager
def bot_process(emu: Emulator, data_dir: Path) -> Iterator[subprocess.Popen]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin"), "HOME": str(data_dir), "TELEGRAM_BOT_TOKEN": TOKEN,
           "TELEGRAM_API_BASE_URL": emu.url, "DATA_DIR": str(data_dir), "SUPPORT_CHAT_ID": str(SUPPORT),
           "BOT_TIMEZONE": "UTC", "RATE_LIMIT": "off"}
    started = len([c for c in emu.calls if c.method == "setMyCommands"])
    log = (data_dir / "bot.log").open("a")  # a file, not a pipe nobody reads while the bot runs
    proc = subprocess.Popen([sys.executable, "bot.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        emu.wait_for(lambda calls: len([c for c in calls if c.method == "setMyCommands"]) >= started + 2)
        emu.wait_for(lambda calls: emu.get_updates_calls > 0)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
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
        text = bob.press("Yesterday", "Still open")
        assert f"file by {last_day.isoformat()} (5 days left)" in text

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
           "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9"}
    out = subprocess.run([sys.executable, "bot.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert "state.sqlite3 is not a usable SQLite database" in out.stderr
    blocker = tmp_path / "file"
    blocker.write_text("x")
    env["DATA_DIR"] = str(blocker / "data")
    out = subprocess.run([sys.executable, "bot.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "cannot be created" in out.stderr
