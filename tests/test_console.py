"""The console chat (the README's first command) runs the real handlers; these tests read what the
terminal shows: every user path of the README walked through the real Console object, and the
`python bot.py` process itself with the team's scripted session."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from handlers.app import serving
from handlers.base.common import Settings
from handlers.offline.console import RULE, Console
from helpcenter.core import HelpCenter

from .conftest import ROOT

SUPPORT = -1005000
ORDER = "576482930174629381"


class Term:
    """A person at the console: types lines and presses buttons by the number the screen shows."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.out: io.StringIO = console.out  # type: ignore[assignment]
        self._mark = 0

    @property
    def shown(self) -> str:
        """What the terminal printed for the last line typed."""
        return self.out.getvalue()[self._mark:]

    @property
    def transcript(self) -> str:
        return self.out.getvalue()

    async def type(self, line: str) -> str:
        self._mark = len(self.out.getvalue())
        await self.console.send(line)
        return self.shown

    async def press(self, label: str) -> str:
        """Type the number printed next to the button whose label contains `label`."""
        keys = self.transcript.rsplit(RULE, 1)[-1]  # the keyboard printed last
        for number, button in enumerate(self.console.buttons, 1):
            if label in button.label:
                assert f"[{number}] {button.label}" in keys, keys
                return await self.type(str(number))
        raise AssertionError(f"no button {label!r} on screen: {keys}")


@asynccontextmanager
async def console(tmp_path: Path, center: HelpCenter, lang: str = "zh", **settings: object) -> AsyncIterator[Term]:
    config = Settings(data_dir=tmp_path, **settings)  # type: ignore[arg-type]
    con = Console(center, config, io.StringIO(), lang)
    async with serving(con.app):
        term = Term(con)
        await term.type("/start")
        yield term


async def test_buyer_asks_a_question_and_sees_the_answer(tmp_path: Path, center: HelpCenter) -> None:
    async with console(tmp_path, center) as term:
        assert "您好 访客!" in term.shown
        await term.press("我是买家")
        shown = await term.type("退款多久到账")
        assert "退款退到哪里、什么时候到账" in shown
        assert "3–10 个工作日" in shown  # the figure from content/rules.yaml
        assert re.search(r"\[\d+\] 👍", shown)
        # the share button opens a link: a link line, not a number to type
        assert re.search(r"^🔗 [^\[\n]*: https://t\.me/helpcenter_bot\?start=refund-arrival$", shown, re.M)
        assert not re.search(r"\[\d+\] 🔗", shown)
        assert "Traceback" not in shown and "console error" not in shown


async def test_faq_entry_feedback_toast_and_edit_mark(tmp_path: Path, center: HelpCenter) -> None:
    async with console(tmp_path, center) as term:
        await term.press("我是买家")
        assert term.shown.lstrip().startswith("(edited)")  # the greeting became the menu
        await term.type("/faq")
        await term.press("退款")
        assert "(edited)" in term.shown  # the theme list replaced the theme choice
        shown = await term.press("如何在 TikTok App 里申请退款")
        assert "「帮助中心」申请退款" in shown
        assert re.search(r"^🔗 .*https://t\.me/helpcenter_bot\?start=refund-apply$", shown, re.M)
        shown = await term.press("👍")
        assert f"\n» {center.renderer.t('feedback.thanks', 'zh')}\n" in shown
        await term.type("/start")  # the greeting again, for a user who has a role: the menu
        assert "console error" not in term.transcript


async def test_stale_button_toast(tmp_path: Path, center: HelpCenter) -> None:
    stale_text = center.renderer.t("stale", "zh")
    async with console(tmp_path, center) as term:
        await term.press("我是买家")
        await term.type("/return")
        stale = next(b for b in term.console.buttons if "下一步" in b.label)
        await term.type("/cancel")
        await term.type("/refund")
        term.console.buttons.insert(0, stale)  # a button of a screen that is gone
        shown = await term.type("1")
        assert f"\n» {stale_text}\n" in shown  # the stale-button note, as a toast line
        assert "您遇到的是哪种情况" in shown  # and the current screen again


async def test_whole_return_flow_to_its_summary(tmp_path: Path, center: HelpCenter) -> None:
    async with console(tmp_path, center) as term:
        await term.press("我是买家")
        shown = await term.press("自行寄回退货")
        assert "步骤 1/6" in shown
        for _ in range(3):
            await term.press("下一步")
        assert "填写退货申请  步骤 4/6" in term.shown
        assert "请输入订单号" in await term.press("下一步")
        assert "要退的是哪件商品" in await term.type(ORDER)
        assert "退货原因是什么" in await term.type("白色 T 恤 M 码 ×1")
        await term.press("与描述不符")
        shown = await term.type("ann@example.com")
        assert f"订单号:{ORDER}" in shown and "联系方式:ann@example.com" in shown
        await term.press("下一步")
        assert "哪家物流公司" in await term.press("下一步")
        await term.type("USPS")
        assert "物流单号:9400111899562737462123" in await term.type("9400111899562737462123")
        shown = await term.press("下一步")
        assert "步骤 6/6" in shown and "退货流程完成" in shown
        assert "退货申请信息" in shown and f"订单号:{ORDER}" in shown and "物流公司:USPS" in shown


async def test_refund_flow_to_its_deadline_screen(tmp_path: Path, center: HelpCenter) -> None:
    async with console(tmp_path, center) as term:
        await term.press("我是买家")
        assert "您遇到的是哪种情况" in await term.type("/refund")
        await term.press("产品不一致")
        await term.press("印度尼西亚")
        shown = await term.press("今天")
        assert "产品不一致 · 印度尼西亚" in shown
        assert "受理期:最多 6 天,收到商品起" in shown
        assert "✅ 最迟" in shown and "这是上限" in shown  # "up to": the latest day, said to be a ceiling
        assert re.search(r"\[\d+\] ⏰ 截止前提醒我", shown)


async def test_seller_walks_the_seller_menu(tmp_path: Path, center: HelpCenter) -> None:
    async with console(tmp_path, center) as term:
        assert "卖家菜单" in await term.press("我是卖家")
        await term.press("设置退货仓库")
        shown = await term.press("中国跨境卖家")
        assert "Seller Center → 仓库管理 → 退货仓库设置" in shown
        await term.press("上一步")
        await term.type("/seller")
        await term.press("处理退款/退货申请")
        assert "美国 · 卖家响应退货/退款申请的时限,超时自动同意:24 小时" in await term.press("美国")


async def test_english_console_greets_in_english_only(tmp_path: Path, center: HelpCenter) -> None:
    async with console(tmp_path, center, lang="en") as term:
        assert "Hello Guest!" in term.shown
        assert "访客" not in term.shown and "You!" not in term.shown
        shown = await term.press("中文")  # switch language on the greeting
        assert "您好 访客!" in shown and "Guest" not in shown
        assert "» 已切换为中文。" in shown


async def test_human_without_agents_points_elsewhere(tmp_path: Path, center: HelpCenter) -> None:
    async with console(tmp_path, center) as term:
        await term.press("我是买家")
        shown = await term.type("/human")
        assert "TikTok" in shown and "工单" not in shown


async def test_human_with_agents_shows_the_user_side_only(tmp_path: Path, center: HelpCenter) -> None:
    async with console(tmp_path, center, support_chat_id=SUPPORT) as term:
        await term.press("我是买家")
        await term.type("退款多久到账")
        shown = await term.type("/human")
        assert "已为您转接人工客服,工单 #1" in shown
        assert re.search(r"\[\d+\] ✖ 结束人工对话", shown)
        api = term.console.api
        card = next(c for c in api.calls if c.chat_id == SUPPORT and "🎫" in c.text)
        assert card.text  # the agents got the card …
        assert "🎫" not in term.transcript  # … and the user's terminal did not print it
        await term.type("包裹到了是坏的")
        assert any(c.method == "copyMessage" and c.chat_id == SUPPORT for c in api.calls)  # relayed
        assert "包裹到了是坏的" not in term.transcript  # the relay is not echoed into the user's chat
        shown = await term.press("结束人工对话")
        assert "(edited) (buttons removed)" in shown  # the end button went away …
        assert "工单 #1" in shown
        assert [b.label for b in term.console.buttons] == ["🏠 菜单"]  # … only the way back is left
        assert "console error" not in term.transcript


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TELEGRAM_BOT_TOKEN", "SUPPORT_CHAT_ID", "DATA_DIR")}
    return {**env, "DATA_DIR": str(tmp_path / "data"), "HOME": str(tmp_path), **extra}


def test_bot_py_console_session_of_the_pre_stop_hook(tmp_path: Path) -> None:
    """Exactly what the team's pre-stop hook runs: no token, a temp DATA_DIR, a scripted chat."""
    out = subprocess.run([sys.executable, "bot.py"], cwd=ROOT, input="/start\n1\n退款多久到账\n/faq\n1\n1\n/quit\n",
                         capture_output=True, text=True, timeout=120, env=_env(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    assert "退款退到哪里、什么时候到账" in out.stdout
    assert "3–10 个工作日" in out.stdout
    assert "🔗" in out.stdout  # the share button, as a link line


RETURN_SCRIPT = "\n".join([
    "1",  # I am a buyer
    "1",  # self-ship return
    "1", "2", "2",  # next from step 1, then next (button 2 once Back exists) to step 4
    "2",  # next: asks for the order number
    ORDER,
    "Blue mug",
    "1",  # first reason button
    "ann@example.com",
    "2",  # next to step 5
    "2",  # next: asks for the carrier
    "USPS",
    "9400111899562737462123",
    "2",  # next to step 6
    "/quit",
]) + "\n"


def test_console_process_walks_a_whole_return_in_english(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "bot.py", "console", "--lang", "en"], cwd=ROOT, input=RETURN_SCRIPT,
                         capture_output=True, text=True, timeout=120, env=_env(tmp_path))
    assert out.returncode == 0, out.stderr
    transcript = out.stdout
    assert "Hello Guest!" in transcript
    assert "[1] 🛍 I am a buyer" in transcript
    for n in range(1, 7):
        assert f"Step {n}/6" in transcript
    assert f"Order number: {ORDER}" in transcript
    assert "Tracking number: 9400111899562737462123" in transcript
    assert "Return flow complete!" in transcript
    assert "Traceback" not in out.stderr


def test_a_line_cut_mid_character_gets_an_answer_not_a_traceback(tmp_path: Path) -> None:
    """A terminal cuts a long pasted line at ~4 KiB, mid-character: the bytes are not UTF-8."""
    script = b"1\n" + b"\xe9\x80\xe6\xac hi\n" + "退款多久到账\n/quit\n".encode()
    out = subprocess.run([sys.executable, "bot.py"], cwd=ROOT, input=script, capture_output=True,
                         timeout=120, env=_env(tmp_path))
    text = out.stdout.decode() + out.stderr.decode()
    assert out.returncode == 0, text
    assert "Traceback" not in text and "console error" not in text
    assert "3–10 个工作日" in text  # the chat went on and answered the next question


async def test_a_console_restarted_mid_flow_goes_on_at_the_same_field(tmp_path: Path, center: HelpCenter) -> None:
    """Quit in the middle of the return form, start again on the same DATA_DIR: the chat is where
    it was (the order number is still awaited), not back at the menu."""
    async with console(tmp_path, center) as term:
        await term.press("我是买家")
        await term.press("自行寄回退货")
        for _ in range(3):
            await term.press("下一步")
        assert "请输入订单号" in await term.press("下一步")
    again = Console(center, Settings(data_dir=tmp_path), io.StringIO(), "zh")
    async with serving(again.app):
        await again.begin()
        term = Term(again)
        assert "请输入订单号" in term.transcript  # the screen it was on, shown again
        assert "您好" not in term.transcript  # not the greeting and menu of a new chat
        assert "要退的是哪件商品" in await term.type(ORDER)  # the order number is taken as the answer
