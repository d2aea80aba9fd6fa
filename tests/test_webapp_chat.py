"""The chat's side of the web help center: buttons that open it, answers that link to their page,
and a verified Mini App request continuing in the chat (a hand-off about an entry, a reminder)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from tornado.httpclient import AsyncHTTPClient

from helpcenter.core import HelpCenter
from web import initdata

from .botkit import NOW, chat, running_bot

TOKEN = "123456:TEST-token"
WEB = "https://help.example.com"
SUPPORT = -1005000


def _init(user_id: int = 1, token: str = TOKEN) -> str:
    return initdata.sign({"user": {"id": user_id, "first_name": "Ann", "language_code": "zh-hans"},
                          "auth_date": str(int(time.time())), "query_id": "AAE1"}, token)


async def _post(app, body: dict) -> int:
    response = await AsyncHTTPClient().fetch(f"http://127.0.0.1:{app.web_server.port}/api/webapp", method="POST",
                                             body=json.dumps(body), raise_error=False)
    return response.code


async def _until(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the chat never answered"
        await asyncio.sleep(0.02)


def _web_buttons(call) -> list[dict]:
    return [b for row in call.buttons for b in row if "web_app" in b or str(b.get("url", "")).startswith(WEB)]


async def test_without_web_url_the_chat_shows_nothing_of_the_web(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        ann = chat(app, api)
        await ann.send("/start")
        await ann.press("我是买家")
        await ann.send("退款退到哪里")
        assert not any(_web_buttons(c) for c in api.sent(1))
        assert not any(c.method == "setChatMenuButton" for c in api.calls)
        assert getattr(app, "web_server", None) is None


async def test_menu_button_and_answers_open_the_help_center(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center, token=TOKEN, web_url=WEB, web_port=0, web_host="127.0.0.1") as (app, api):
        default = next(c for c in api.calls if c.method == "setChatMenuButton")
        assert "chat_id" not in default.params
        ann = chat(app, api)
        await ann.send("/start")
        await ann.press("我是买家")
        menu = _web_buttons(ann.last_with_buttons())
        assert menu and menu[0]["web_app"]["url"] == f"{WEB}/zh/?r=buyer" and "📖" in menu[0]["text"]
        per_chat = [c for c in api.calls if c.method == "setChatMenuButton" and c.params.get("chat_id") == 1]
        assert per_chat and "r=buyer" in json.dumps(per_chat[-1].params)
        await ann.send("退款退到哪里")
        page = _web_buttons(ann.last_with_buttons())
        assert page and page[0]["web_app"]["url"] == f"{WEB}/zh/e/refund-arrival?r=buyer"
        # The page links back to the same entry in the chat.
        body = app.web_site.entry("refund-arrival", app.web_site.prefs("zh", None, None)).decode()
        assert "https://t.me/helpcenter_bot?start=refund-arrival" in body


async def test_talk_to_a_human_about_an_entry_continues_in_the_chat(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center, token=TOKEN, web_url=WEB, web_port=0, web_host="127.0.0.1",
                           support_chat_id=SUPPORT) as (app, api):
        before = len(api.calls)
        assert await _post(app, {"initData": _init(), "action": "human", "entry": "dispute-mismatch",
                                 "lang": "zh"}) == 200
        await _until(lambda: any("🎫" in c.text for c in api.calls[before:]))
        card = next(c.text for c in api.calls[before:] if "🎫" in c.text)
        assert "(在帮助中心阅读) 产品不一致" in card
        assert any("工单" in c.text for c in api.sent(1)[-2:])
        store = app.services.store
        assert (await store.latest_ticket(1)).open


async def test_a_reminder_from_the_calculator_is_set_and_shown_in_the_chat(tmp_path: Path,
                                                                           center: HelpCenter) -> None:
    async with running_bot(tmp_path, center, token=TOKEN, web_url=WEB, web_port=0, web_host="127.0.0.1") as (app, api):
        ask = {"initData": _init(), "action": "remind", "case": "mismatch", "market": "ID",
               "day": (NOW.date().replace(day=NOW.day - 1)).isoformat(), "lang": "zh"}
        assert await _post(app, ask) == 200
        await _until(lambda: any("提醒您" in c.text for c in api.sent(1)))
        texts = [c.text for c in api.sent(1)]
        assert any("产品不一致 · 印度尼西亚" in t and "还剩 5 天" in t for t in texts)
        assert any("好的,我会在 2026-11-26 10:00 (Asia/Jakarta) 提醒您(截止日 2026-11-27)" in t for t in texts)
        result = next(c for c in api.sent(1) if "产品不一致 · 印度尼西亚" in c.text)
        assert any("ref:unremind:" in b["callback_data"] for row in result.buttons for b in row)
        # The same request again: one reminder, and the chat says it exists.
        assert await _post(app, ask) == 200
        await _until(lambda: any("已经设过提醒" in c.text for c in api.sent(1)))
        assert len(await app.services.store.pending_reminders()) == 1


async def test_forged_or_stale_requests_reach_nothing(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center, token=TOKEN, web_url=WEB, web_port=0, web_host="127.0.0.1",
                           support_chat_id=SUPPORT) as (app, api):
        before = len(api.calls)
        forged = {"initData": _init(token="999:OTHER"), "action": "human", "entry": "dispute-mismatch"}
        assert await _post(app, forged) == 403
        stale = initdata.sign({"user": {"id": 1, "first_name": "Ann"}, "auth_date": str(int(time.time()) - 3 * 86400)},
                              TOKEN)
        assert await _post(app, {**forged, "initData": stale}) == 403
        remind = {"initData": _init(token="999:OTHER"), "action": "remind", "case": "mismatch", "market": "ID",
                  "day": NOW.date().isoformat()}
        assert await _post(app, remind) == 403
        await asyncio.sleep(0.3)
        assert [c for c in api.calls[before:] if c.method != "getUpdates"] == []
        assert await app.services.store.latest_ticket(1) is None
        assert await app.services.store.pending_reminders() == []
