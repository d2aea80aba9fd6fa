"""The agents' desk through the real Application on the offline Bot API: take a ticket, SLA,
notes, transcript, /kb, /teach and the service figures, as agents and customers see them."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from telegram import Update

from handlers.base.common import Settings
from handlers.offline.botapi import Call, OfflineBotAPI, UpdateFactory
from handlers.support.desk import take as desk
from helpcenter.answers.render import to_plain
from helpcenter.core import HelpCenter
from helpcenter.desk.hours import WorkingHours
from helpcenter.desk.taught import check_overlay, mask
from helpcenter.reports.service_stats import service_block, working_minutes
from helpcenter.storage.desk_records import Desk
from helpcenter.storage.store import StoreError

from .botkit import NOW, TZ, Chat, chat, running_bot
from .conftest import ROOT

SUPPORT = -1005000
ADMIN = 777
AGENTS: dict[str, Any] = {"agent_ids": frozenset({900, 901})}  # AGENT_IDS: Lin and Bob are agents


class DocsAPI(OfflineBotAPI):
    """The offline Bot API that also keeps uploaded files (sendDocument)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.files: list[tuple[str, bytes]] = []

    async def do_request(self, url: str, method: str, request_data: Any = None, *args: Any, **kw: Any):
        if request_data is not None and request_data.multipart_data:
            self.files += [(name, content) for name, content, _ in request_data.multipart_data.values()]
        return await super().do_request(url, method, request_data, *args, **kw)


class Agent:
    """One agent in the agents' group."""

    def __init__(self, app, api: OfflineBotAPI, user_id: int = 900, name: str = "Lin") -> None:
        self.app, self.api = app, api
        self.factory = UpdateFactory(user_id, name, "zh-hans")
        self.mark = 0

    async def _process(self, raw: dict) -> None:
        self.mark = len(self.api.calls)
        await self.app.process_update(Update.de_json(raw, self.app.bot))

    async def say(self, text: str | None = None, reply_to: dict | None = None, thread_id: int | None = None,
                  kind: str | None = None) -> None:
        raw = self.factory.group(SUPPORT, text, kind, reply_to, thread_id)
        if text and not text[1:2].isalpha():  # "// note" is no bot command for Telegram
            raw["message"].pop("entities", None)
        await self._process(raw)

    async def reply_to(self, call: Call, text: str, quoted: str | None = None) -> None:
        """Reply to a message the bot put in the group (a card, a relayed customer message whose
        text Telegram shows as quoted)."""
        message = {"message_id": call.result["message_id"], "date": 0,
                   "chat": {"id": SUPPORT, "type": "supergroup"},
                   "from": {"id": 100000001, "is_bot": True, "first_name": "HelpCenter"}}
        if quoted or call.params.get("text"):
            message["text"] = quoted or call.params["text"]
        await self.say(text, reply_to=message)

    async def press(self, label: str, call: Call) -> None:
        for b in (b for row in call.buttons for b in row):
            if label in b["text"]:
                message = dict(call.result) if isinstance(call.result, dict) else {}
                message.setdefault("chat", {"id": SUPPORT, "type": "supergroup"})
                message.setdefault("date", 0)
                await self._process(self.factory.click(b["callback_data"], message))
                return
        raise AssertionError(f"no button {label!r} in {call.button_texts}")

    @property
    def seen(self) -> list[Call]:
        """What the bot did in the agents' group since this agent's last action."""
        return [c for c in self.api.calls[self.mark:] if c.chat_id == SUPPORT]

    @property
    def text(self) -> str:
        return "\n".join(to_plain(c.text) for c in self.seen if c.text)

    @property
    def toasts(self) -> list[str]:
        return [str(c.params.get("text", "")) for c in self.api.calls[self.mark:]
                if c.method == "answerCallbackQuery" and c.params.get("text")]


def card(api: OfflineBotAPI) -> Call:
    return next(c for c in api.calls if c.chat_id == SUPPORT and c.method == "sendMessage" and "🎫" in c.text)


def relayed(api: OfflineBotAPI) -> list[Call]:
    return [c for c in api.calls if c.method == "copyMessage" and c.chat_id == SUPPORT]


def to_customer(api: OfflineBotAPI, user_id: int = 1) -> list[Call]:
    return [c for c in api.sent(user_id)]


async def _ticket(ann: Chat) -> None:
    await ann.send("/human")
    assert "工单 #1" in ann.text


async def test_take_it_shows_the_holder_and_another_agent_can_take_over(tmp_path: Path, center: HelpCenter) -> None:
    api = OfflineBotAPI(forum_chats={SUPPORT})
    async with running_bot(tmp_path, center, **AGENTS, api=api, support_chat_id=SUPPORT) as (app, api):
        ann = chat(app, api)
        lin, bob = Agent(app, api), Agent(app, api, 901, "Bob")
        await _ticket(ann)
        the_card = card(api)
        assert the_card.button_texts == ["🙋 我来接"]
        await lin.press("我来接", the_card)
        assert lin.toasts == ["工单 #1 现在由您处理。"]
        assert "🙋 Lin 接手了工单 #1。" in lin.text
        markup = next(c for c in lin.seen if c.method == "editMessageReplyMarkup")
        assert markup.params["message_id"] == the_card.result["message_id"]
        assert markup.button_texts == ["🔁 Lin 处理中 · 改由我接手"]
        topic = next(c for c in api.calls if c.method == "editForumTopic")
        assert topic.params["name"] == "#1 Ann · 🙋 Lin"
        await lin.press("我来接", the_card)  # a second press changes nothing
        assert lin.toasts == ["工单 #1 已经在您手上。"] and "接手" not in lin.text
        await lin.say("/mine")
        assert "您手上的工单:\n#1 · Ann · zh" in lin.text
        await bob.press("改由我接手", markup)
        assert "🔁 Bob 从 Lin 手中接过了工单 #1。" in bob.text
        assert [c.params["name"] for c in api.calls if c.method == "editForumTopic"][-1] == "#1 Ann · 🙋 Bob"
        await lin.say("/mine")
        assert "您手上没有进行中的工单" in lin.text
        await bob.say("/mine")
        assert "#1 · Ann" in bob.text
        claims = [(e.author, e.text) for e in await app.services.desk.history(1) if e.kind == "claim"]
        assert claims == [("Lin", ""), ("Bob", "Lin")]


async def test_the_agents_group_has_its_own_command_menu(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center, **AGENTS, support_chat_id=SUPPORT, support_lang="en") as (_, api):
        menu = next(c for c in api.calls if c.method == "setMyCommands" and c.params.get("scope"))
        assert menu.params["scope"] == {"type": "chat", "chat_id": SUPPORT}
        assert [c["command"] for c in menu.params["commands"]][:5] == ["mine", "kb", "transcript", "teach", "stats"]
        assert menu.params["commands"][0]["description"] == "My open tickets"


async def test_the_first_answer_takes_an_untaken_ticket(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center, **AGENTS, support_chat_id=SUPPORT) as (app, api):
        ann = chat(app, api)
        lin = Agent(app, api)
        await _ticket(ann)
        await lin.reply_to(card(api), "您好,我来看看")
        assert len([c for c in api.calls if c.method == "copyMessage" and c.chat_id == 1]) == 1
        assert "🙋 Lin 接手了工单 #1。" in lin.text


async def test_buttons_outside_the_agents_group_do_nothing(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center, **AGENTS, support_chat_id=SUPPORT) as (app, api):
        ann = chat(app, api)
        await _ticket(ann)
        mallory = chat(app, api, user_id=66, first_name="Mallory")
        await mallory.press_data("dk:take:1", Call("sendMessage", {}, {"message_id": 5, "date": 0,
                                                                      "chat": mallory.factory.chat}))
        assert not [c for c in api.calls if c.method == "editMessageReplyMarkup"]
        assert (await app.services.desk.holding(1)) is None or (await app.services.desk.holding(1)).holder_id is None
        for command in ("/mine", "/kb 退款", "/transcript 1", "/teach"):
            await mallory.send(command)
            assert "我不认识这个命令" in mallory.text


async def test_only_agents_use_the_desk(tmp_path: Path, center: HelpCenter) -> None:
    """The agents-only rule (handoff's check: AGENT_IDS, else the group's admins) applies to every
    desk command, button and note: others are refused and leave no trace in the history."""
    async with running_bot(tmp_path, center, **AGENTS, support_chat_id=SUPPORT) as (app, api):
        await _ticket(chat(app, api))
        member, lin = Agent(app, api, 77, "Member"), Agent(app, api)
        for command in ("/mine", "/kb 退款", "/transcript", "/teach", "/stats"):
            await member.reply_to(card(api), command)
            assert member.text == "只有客服人员可以使用这个功能。", command
        await member.press("我来接", card(api))
        assert member.toasts == ["只有客服人员可以使用这个功能。"]
        assert not [c for c in member.seen if c.method == "editMessageReplyMarkup"]
        await member.reply_to(card(api), "// not my business")
        assert "内部备注" not in member.text and "只有客服人员可以" in member.text  # handoff refuses it
        assert not [c for c in api.calls if c.method == "copyMessage" and c.chat_id == 1]
        assert [e.kind for e in await app.services.desk.history(1)] == []
        await lin.press("我来接", card(api))
        assert "🙋 Lin 接手了工单 #1。" in lin.text
        await lin.reply_to(card(api), "// 这才是备注")
        assert "内部备注已记入工单 #1" in lin.text


async def test_without_agent_ids_the_groups_admins_are_the_agents(tmp_path: Path, center: HelpCenter) -> None:
    api = OfflineBotAPI(chat_admins={900})
    async with running_bot(tmp_path, center, api=api, support_chat_id=SUPPORT) as (app, api):
        await _ticket(chat(app, api))
        lin, member = Agent(app, api), Agent(app, api, 77, "Member")
        await member.press("我来接", card(api))
        assert member.toasts == ["只有客服人员可以使用这个功能。"]
        await lin.press("我来接", card(api))
        assert "🙋 Lin 接手了工单 #1。" in lin.text


async def test_untaken_ticket_is_announced_again_then_sent_to_admins(tmp_path: Path, center: HelpCenter) -> None:
    moment = [NOW]
    settings = {**AGENTS, "support_chat_id": SUPPORT, "admin_ids": frozenset({ADMIN}), "clock": lambda: moment[0]}
    async with running_bot(tmp_path, center, **settings) as (app, api):
        await _ticket(chat(app, api))
        moment[0] = NOW + timedelta(minutes=9)
        assert await desk.sla_sweep(app) == 0
        moment[0] = NOW + timedelta(minutes=10)
        assert await desk.sla_sweep(app) == 1
        again = [c for c in api.calls if c.chat_id == SUPPORT and "⏰" in c.text]
        assert [to_plain(c.text) for c in again] == ["⏰ 工单 #1(Ann)已等待 10 分钟,还没有人接手。"]
        assert again[0].button_texts == ["🙋 我来接"]
        assert again[0].params["reply_parameters"]["message_id"] == card(api).result["message_id"]
        assert await desk.sla_sweep(app) == 0  # said once
    moment[0] = NOW + timedelta(minutes=21)
    async with running_bot(tmp_path, center, **settings) as (app, api):  # a restart: the clock goes on
        assert await desk.sla_sweep(app) == 1
        assert [c.text for c in api.sent(ADMIN)] == ["⏰ 工单 #1(Ann)已等待 21 分钟,仍没有客服接手,请安排人处理。"]
        assert any("已通知管理员" in c.text for c in api.sent(SUPPORT))
        assert await desk.sla_sweep(app) == 0


async def test_taking_from_the_sla_notice_updates_both_buttons(tmp_path: Path, center: HelpCenter) -> None:
    moment = [NOW]
    async with running_bot(tmp_path, center, **AGENTS, support_chat_id=SUPPORT, clock=lambda: moment[0]) as (app, api):
        await _ticket(chat(app, api))
        moment[0] = NOW + timedelta(minutes=12)
        await desk.sla_sweep(app)
        notice = next(c for c in api.calls if c.chat_id == SUPPORT and "⏰" in c.text)
        lin = Agent(app, api)
        await lin.press("我来接", notice)
        assert "🙋 Lin 接手了工单 #1。" in lin.text
        edited = {c.params["message_id"]: c.button_texts for c in lin.seen if c.method == "editMessageReplyMarkup"}
        assert edited == {card(api).result["message_id"]: ["🔁 Lin 处理中 · 改由我接手"],
                          notice.result["message_id"]: ["🔁 Lin 处理中 · 改由我接手"]}


async def test_sla_counts_support_hours_only_and_stops_once_taken(tmp_path: Path, center: HelpCenter) -> None:
    moment = [NOW]  # Sunday 10:00; agents work Monday to Friday, 09:00-18:00
    async with running_bot(tmp_path, center, **AGENTS, support_chat_id=SUPPORT, support_hours="09:00-18:00",
                           support_days="1-5", sla_minutes=10.0, clock=lambda: moment[0]) as (app, api):
        await _ticket(chat(app, api))
        moment[0] = datetime(2026, 11, 23, 9, 5, tzinfo=TZ)
        assert await desk.sla_sweep(app) == 0
        moment[0] = datetime(2026, 11, 23, 9, 10, tzinfo=TZ)
        assert await desk.sla_sweep(app) == 1
        await Agent(app, api).press("我来接", card(api))
        moment[0] = datetime(2026, 11, 23, 12, 0, tzinfo=TZ)
        assert await desk.sla_sweep(app) == 0


async def test_note_stays_in_the_group_and_in_the_history(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center, **AGENTS, support_chat_id=SUPPORT) as (app, api):
        ann = chat(app, api)
        lin = Agent(app, api)
        await _ticket(ann)
        await lin.reply_to(card(api), "// 用户语气很急,先安抚")
        assert lin.text == "📝 内部备注已记入工单 #1 的记录,不会发给用户。"
        assert not [c for c in api.calls if c.method == "copyMessage" and c.chat_id == 1]
        history = await app.services.desk.history(1)
        assert [(e.kind, e.author, e.text) for e in history] == [("note", "Lin", "用户语气很急,先安抚")]
        await lin.say("// 午饭吃什么")  # in no ticket: goes nowhere, and says so
        assert "不属于任何工单" in lin.text
        assert not [c for c in api.calls if c.method == "copyMessage" and c.chat_id == 1]


async def test_note_prefix_is_configurable(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center, **AGENTS, support_chat_id=SUPPORT, note_prefix="!!") as (app, api):
        await _ticket(chat(app, api))
        lin = Agent(app, api)
        await lin.reply_to(card(api), "!! internal")
        assert "内部备注" in lin.text
        await lin.reply_to(card(api), "// not a note here")
        assert len([c for c in api.calls if c.method == "copyMessage" and c.chat_id == 1]) == 1


async def test_transcript_has_the_whole_conversation_and_survives_closing(tmp_path: Path, center: HelpCenter) -> None:
    api = DocsAPI()
    async with running_bot(tmp_path, center, **AGENTS, api=api, support_chat_id=SUPPORT) as (app, api):
        ann = chat(app, api)
        lin = Agent(app, api)
        await ann.send("退款多久到账")  # answered by the bot before the hand-off
        await _ticket(ann)
        await ann.send("还没收到退款 <b>急</b>")
        await ann.send_media("photo")
        await lin.reply_to(card(api), "我帮您查一下")
        await lin.reply_to(card(api), "// 查了后台,退款已发起")
        await lin.reply_to(card(api), "/close")
        await ann.press("⭐⭐⭐⭐⭐", call=next(c for c in api.sent(1) if "请为本次服务打分" in c.text))
        await lin.reply_to(card(api), "/transcript")
        doc = next(c for c in lin.seen if c.method == "sendDocument")
        assert doc.params["caption"] == "📄 工单 #1 的完整对话记录"
        name, page = api.files[-1]
        html = page.decode("utf-8")
        assert name == "ticket-1.html"
        assert "用户问:</span> 退款多久到账" in html and "机器人答:</span> 退款退到哪里、什么时候到账" in html
        assert "还没收到退款 &lt;b&gt;急&lt;/b&gt;" in html  # the customer's text, escaped
        assert "[附件:photo]" in html
        assert "客服 · Lin</span>: 我帮您查一下" in html
        assert 'class="ev note"' in html and "📝 内部备注(未发给用户) · Lin</span>: 查了后台,退款已发起" in html
        assert "✅ 关闭工单 · Lin" in html and "⭐ 评分: 5/5" in html
        order = [html.index(s) for s in ("退款多久到账", "还没收到退款", "我帮您查一下", "查了后台", "关闭工单")]
        assert order == sorted(order)
        await lin.say("/transcript 1")  # by number, anywhere in the group
        assert any(c.method == "sendDocument" for c in lin.seen)
        await lin.say("/transcript")
        assert "用法:在工单话题里" in lin.text


async def test_kb_offers_three_entries_and_sends_one_in_the_customers_language(tmp_path: Path,
                                                                             center: HelpCenter) -> None:
    async with running_bot(tmp_path, center, **AGENTS, support_chat_id=SUPPORT) as (app, api):
        ann = chat(app, api, language_code="en")
        lin = Agent(app, api)
        await ann.send("/human")
        await lin.reply_to(card(api), "/kb 退款多久到账")
        offer = next(c for c in lin.seen if c.buttons)
        lines = to_plain(offer.text).splitlines()
        assert lines[0].startswith("📚 知识库 · “退款多久到账”")
        assert lines[1] == "1. 退款退到哪里、什么时候到账"
        assert len([x for x in lines if x[:2] in ("1.", "2.", "3.")]) == 3
        assert offer.button_texts == ["📤 发送 1", "📤 发送 2", "📤 发送 3"]
        before = len(api.sent(1))
        await lin.press("发送 1", offer)
        answer = api.sent(1)[before:]
        assert answer and "refund" in to_plain(answer[0].text).lower()
        assert "Where the refund goes and when it arrives" in to_plain(answer[0].text)  # English, as the customer
        assert lin.toasts == ["已发送。"]
        assert "📤 Lin 把“退款退到哪里、什么时候到账”发给了用户(工单 #1,英文)。" in lin.text
        assert [e.kind for e in await app.services.desk.history(1)][-2:] == ["kb", "claim"]
        await lin.say("/kb 退款")
        assert "找不到对应的工单" in lin.text
        await lin.reply_to(card(api), "/kb")
        assert "用法:在工单里发送 /kb 关键词" in lin.text


async def test_kb_answer_keeps_to_the_customers_market(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center, **AGENTS, support_chat_id=SUPPORT) as (app, api):
        ann = chat(app, api)
        lin = Agent(app, api)
        await ann.send("/refund")
        await ann.press("产品不一致")
        await ann.press("印度尼西亚")
        await ann.press("昨天")
        await ann.press("转人工")
        await lin.reply_to(card(api), "/kb 退货期限是多久")
        offer = next(c for c in lin.seen if c.buttons)
        assert "第 1 步:了解退货政策(期限和条件)" in to_plain(offer.text)
        data = next(b["callback_data"] for row in offer.buttons for b in row
                    if b["callback_data"].endswith(":return-policy"))
        before = len(api.sent(1))
        await lin._process(lin.factory.click(data, dict(offer.result)))
        sent = "\n".join(to_plain(c.text) for c in api.sent(1)[before:])
        own, others = sent.split("🌏 其他市场")  # the full entry lists both; the customer's market first
        assert "• 印度尼西亚:" in own and "• 美国:" not in own and "• 美国:" in others


async def test_teach_stores_a_masked_phrasing_used_after_reload(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center, **AGENTS, support_chat_id=SUPPORT,
                           admin_ids=frozenset({ADMIN})) as (app, api):
        ann = chat(app, api)
        lin = Agent(app, api)
        question = "钱咋还没回到我卡上 电话13800138000 邮箱 ann@example.com"
        await _ticket(ann)
        await ann.send(question)
        before = app.services.center.matcher.match("钱咋还没回到我卡上")
        await lin.reply_to(relayed(api)[-1], "/teach", quoted=question)
        offer = next(c for c in lin.seen if c.buttons)
        assert "“钱咋还没回到我卡上 电话[phone] 邮箱 [email]”" in to_plain(offer.text)
        assert "ann@example.com" not in offer.text and "13800138000" not in offer.text
        assert len(offer.button_texts) == 3
        target = next(b["callback_data"] for row in offer.buttons for b in row
                      if b["callback_data"].endswith(":refund-arrival"))
        await lin._process(lin.factory.click(target, dict(offer.result)))
        assert "🎓 已记下" in lin.text and "/reload 后" in lin.text
        taught = await app.services.desk.taught()
        assert [(p.entry_id, p.text) for p in taught] == [
            ("refund-arrival", "钱咋还没回到我卡上 电话[phone] 邮箱 [email]")]
        admin = chat(app, api, user_id=ADMIN, first_name="Boss")
        await admin.send("/reload")
        after = app.services.center.matcher.match("钱咋还没回到我卡上")
        assert app.services.center.matcher.mode == center.matcher.mode  # the overlay keeps the model
        assert after.answer is not None and after.answer.entry.id == "refund-arrival"
        assert before.answer is None or before.answer.score < after.answer.score
        await lin.reply_to(card(api), "/teach")  # the card is not something the customer said
        assert "用法:回复用户的一条消息" in lin.text


async def test_service_figures_per_agent_and_day_in_stats(tmp_path: Path, center: HelpCenter) -> None:
    moment = [NOW]
    async with running_bot(tmp_path, center, **AGENTS, support_chat_id=SUPPORT, admin_ids=frozenset({ADMIN}),
                           clock=lambda: moment[0]) as (app, api):
        ann = chat(app, api)
        lin = Agent(app, api)
        await _ticket(ann)
        moment[0] = NOW + timedelta(minutes=4)
        await lin.reply_to(card(api), "您好")
        moment[0] = NOW + timedelta(minutes=30)
        await lin.reply_to(card(api), "/close")
        await ann.press("⭐⭐⭐⭐", call=next(c for c in api.sent(1) if "请为本次服务打分" in c.text))
        moment[0] = NOW + timedelta(minutes=35)
        await ann.press("重新打开工单 #1")
        await ann.send("还有一个问题")
        moment[0] = NOW + timedelta(minutes=60)
        await lin.reply_to(card(api), "/close")
        await lin.say("/stats")
        text = lin.text
        assert "🧑‍💼 客服服务(最近 7 天,按 UTC 时间计日)" in text
        assert "全部工单:1 单,已关闭 1 · 首次响应 4 分钟 · 解决 1.0 小时 · 重开 100% · 满意度 4.0/5(1 个评分)" in text
        assert "Lin:1 单" in text and "2026-11-22:1 单" in text and "900" not in text
        admin = chat(app, api, user_id=ADMIN, first_name="Boss")
        await admin.send("/stats")
        assert "Lin:1 单" in admin.text


async def test_operators_count_days_in_the_report_zone_and_say_which(tmp_path: Path, center: HelpCenter) -> None:
    """A ticket opened at 21:53 UTC on 1 December is 1 December's by default (REPORT_TIMEZONE=UTC),
    2 December's with REPORT_TIMEZONE=Asia/Shanghai; /stats names the zone (BOT_TIMEZONE, the
    buyers' dates, plays no part)."""
    late = datetime(2026, 12, 1, 21, 53, tzinfo=UTC)
    for zone, day in (("UTC", "2026-12-01"), ("Asia/Shanghai", "2026-12-02")):
        zoned = {} if zone == "UTC" else {"report_timezone": zone}
        async with running_bot(tmp_path / zone.replace("/", "-"), center, now=late, **AGENTS, **zoned,
                               support_chat_id=SUPPORT, admin_ids=frozenset({ADMIN})) as (app, api):
            ann = chat(app, api)
            await ann.send("退款多久到账")
            await _ticket(ann)
            admin = chat(app, api, user_id=ADMIN, first_name="Boss")
            await admin.send("/stats")
            text = admin.text
            assert f"📊 最近 7 天(按 {zone} 时间计日)" in text and f"\n{day}: 1\n" in text
            assert f"🧑‍💼 客服服务(最近 7 天,按 {zone} 时间计日)" in text and f"\n{day}:1 单" in text


async def test_a_replayed_update_adds_nothing_to_the_history(tmp_path: Path, center: HelpCenter) -> None:
    """After a crash the durable intake handles an update again: the history keeps it once."""
    async with running_bot(tmp_path, center, **AGENTS, support_chat_id=SUPPORT) as (app, api):
        ann = chat(app, api)
        lin = Agent(app, api)
        await _ticket(ann)
        raw = ann.factory.text("包裹还没到")
        on_card = {"message_id": card(api).result["message_id"], "date": 0,
                   "chat": {"id": SUPPORT, "type": "supergroup"}}
        note = lin.factory.group(SUPPORT, "// 查物流", reply_to=on_card)
        note["message"].pop("entities", None)
        for _ in range(2):
            await app.process_update(Update.de_json(raw, app.bot))
            await app.process_update(Update.de_json(note, app.bot))
        assert [(e.kind, e.text) for e in await app.services.desk.history(1)] == [("user", "包裹还没到"),
                                                                                  ("note", "查物流")]


async def test_what_the_bot_answers_while_on_hold_is_not_in_the_ticket(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center, **AGENTS, support_chat_id=SUPPORT) as (app, api):
        ann = chat(app, api)
        await _ticket(ann)
        await ann.send("/refund")  # a bot command: the relay is put on hold
        await ann.send("退款多久到账")  # answered by the bot, not relayed
        assert not relayed(api)
        assert [e.kind for e in await app.services.desk.history(1) if e.kind == "user"] == []
        await ann.press("回到客服对话", call=next(c for c in api.sent(1) if "⏸" in c.text))
        await ann.send("我还是要找客服")
        assert [e.text for e in await app.services.desk.history(1) if e.kind == "user"] == ["我还是要找客服"]


async def test_forget_deletes_the_ticket_history(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center, **AGENTS, support_chat_id=SUPPORT) as (app, api):
        ann = chat(app, api)
        await _ticket(ann)
        await ann.send("我的电话 13800138000")
        assert await app.services.desk.history(1)
        await ann.press("结束人工对话")
        await ann.send("/forget")
        await ann.press("确定删除")
        assert await app.services.desk.history(1) == []


def _bot(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "bot.py", *args], cwd=ROOT, capture_output=True, text=True,
                          env={"DATA_DIR": str(tmp_path), "PATH": "/usr/bin"}, timeout=120)


async def test_report_lists_service_figures_and_taught_phrasings_and_check_validates_them(
        tmp_path: Path, center: HelpCenter) -> None:
    moment = [datetime.now(TZ)]
    async with running_bot(tmp_path, center, **AGENTS, support_chat_id=SUPPORT, clock=lambda: moment[0]) as (app, api):
        ann = chat(app, api)
        lin = Agent(app, api)
        await ann.send("退款多久到账")  # answered by the bot: the chart's answer rate
        await ann.send("今天天气怎么样")  # not answered
        await _ticket(ann)
        await ann.send("钱咋还没回到我卡上")
        moment[0] += timedelta(minutes=6)
        await lin.reply_to(card(api), "在查")
        await lin.reply_to(relayed(api)[-1], "/teach", quoted="钱咋还没回到我卡上")
        offer = next(c for c in lin.seen if c.buttons)
        await lin.press("退款退到哪里", offer)
        await lin.reply_to(card(api), "/close")
        await ann.press("⭐⭐⭐", call=next(c for c in api.sent(1) if "请为本次服务打分" in c.text))
    out = _bot(tmp_path, "report", "--out", str(tmp_path / "r"))
    assert out.returncode == 0, out.stderr
    assert "1 taught phrasing(s)" in out.stdout
    service_csv = (tmp_path / "r" / "service.csv").read_text(encoding="utf-8")
    assert "all,,1,1,6.00,6.00,0.00,3.00,1" in service_csv
    assert "agent,Lin,1,1,6.00" in service_csv
    assert "| Lin | 1 | 1 | 6 min | 6 min | 0% | 3.0/5 | 1 |" in (tmp_path / "r" / "service.md").read_text("utf-8")
    assert "| refund-arrival | 退款退到哪里、什么时候到账 | zh | 钱咋还没回到我卡上 | Lin |" in (
        tmp_path / "r" / "taught.md").read_text(encoding="utf-8")
    chart = (tmp_path / "r" / "service.svg").read_text(encoding="utf-8")
    assert chart.startswith("<svg") and chart.count("<rect") == 1  # one day: one bar, one point
    assert f"{moment[0].astimezone(UTC):%Y-%m-%d}: 1</title></rect>" in chart  # one ticket, its day in UTC
    assert "<title>Tickets and answer rate per day (UTC)</title>" in chart
    assert "days are counted in UTC (REPORT_TIMEZONE)" in (tmp_path / "r" / "service.md").read_text("utf-8")
    assert service_csv.splitlines()[0].endswith(",timezone") and service_csv.splitlines()[1].endswith(",UTC")
    assert '<circle cx="320.0" cy="130.0"' in chart  # half of the typed questions answered: mid-height
    assert check_overlay(tmp_path / "desk.sqlite3", center.kb) == []  # (bot.py check prints "OK" then)
    with sqlite3.connect(tmp_path / "desk.sqlite3") as db:
        db.execute("INSERT INTO taught(text, lang, entry_id, at) VALUES ('订单 576482930174629381', 'zh', 'gone', '')")
    check = _bot(tmp_path, "check")
    assert check.returncode == 1
    assert "row 2: unknown entry 'gone'" in check.stdout and "still holds personal data" in check.stdout


def test_mask_hides_personal_data() -> None:
    text = "订单 576482930174629381, 电话 +86 138-0013-8000, ann@example.com, @ann_88, https://x.co/a\n9400111899562737"
    assert mask(text) == "订单 [number], 电话 [phone], [email], [user], [link] [number]"
    assert mask("退款多久到账") == "退款多久到账"


def test_desk_settings_from_the_environment() -> None:
    settings = Settings.from_env({"SLA_MINUTES": "15", "NOTE_PREFIX": "!!"})
    assert (settings.sla_minutes, settings.note_prefix) == (15.0, "!!")
    default = Settings.from_env({"SLA_MINUTES": "soon", "NOTE_PREFIX": " "})
    assert (default.sla_minutes, default.note_prefix) == (10.0, "//")


def test_service_block_in_english_counts_and_words_durations(center: HelpCenter) -> None:
    opened = datetime(2026, 11, 22, 10, 0, tzinfo=TZ)

    def row(n: int, holder: str | None, first: int | None, closed: int | None, rating: int | None) -> dict:
        return {"id": n, "created_at": opened,
                "first_response_at": opened + timedelta(minutes=first) if first else None,
                "closed_at": opened + timedelta(minutes=closed) if closed else None,
                "status": "closed" if closed else "open", "rating": rating, "holder_id": None, "holder": holder,
                "reopens": 0}

    rows = [row(1, "Lin", 3, 90, 5), row(2, "Lin", 5, 150, 3), row(3, None, None, None, None)]
    text = to_plain(service_block(rows, lambda key, **v: center.renderer.t(key, "en", **v), TZ, 7))
    assert ("All tickets: 3 tickets, 2 closed · first response 4 min · resolution 2.0 h · reopened 0%"
            " · CSAT 4.0/5 (2 rated)") in text
    assert "Lin: 2 tickets, 2 closed" in text and "(nobody): 1 ticket, 0 closed · first response —" in text


def test_working_minutes_count_support_hours_only() -> None:
    hours = WorkingHours.parse("09:00-18:00", "1-5")
    friday_5pm = datetime(2026, 11, 27, 17, 0, tzinfo=TZ)
    assert working_minutes(hours, friday_5pm, datetime(2026, 11, 30, 9, 30, tzinfo=TZ)) == 90  # over the weekend
    assert working_minutes(None, friday_5pm, friday_5pm + timedelta(minutes=7)) == 7
    assert working_minutes(hours, friday_5pm, friday_5pm - timedelta(minutes=1)) == 0


async def test_desk_schema_1_is_migrated_and_a_newer_one_refused(tmp_path: Path) -> None:
    path = tmp_path / "desk.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript("CREATE TABLE events (id INTEGER PRIMARY KEY, ticket_id INTEGER NOT NULL, user_id INTEGER"
                         " NOT NULL, at TEXT NOT NULL, kind TEXT NOT NULL, author_id INTEGER, author TEXT NOT NULL"
                         " DEFAULT '', text TEXT NOT NULL DEFAULT ''); PRAGMA user_version=1;")
    store = Desk(path)
    await store.open()
    await store.record(1, 1, "user", NOW, "hi", source="1:1")
    await store.record(1, 1, "user", NOW, "hi", source="1:1")
    assert [e.text for e in await store.history(1)] == ["hi"]
    await store.close()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version=99")
    with pytest.raises(StoreError, match="newer"):
        await Desk(path).open()


async def test_desk_and_relay_agree_on_a_card_whose_link_was_lost(tmp_path: Path, center: HelpCenter) -> None:
    """The desk once had its own ticket lookup without the card's "🎫 #n" fallback: after a crash
    between sending the card and storing its link, a reply to the card reached the customer but
    /kb on the same card found no ticket. Now both read support/tickets.ticket_for."""
    async with running_bot(tmp_path, center, **AGENTS, support_chat_id=SUPPORT) as (app, api):
        ann = chat(app, api)
        lin = Agent(app, api)
        await _ticket(ann)
        await app.services.store.db.execute("DELETE FROM links WHERE from_msg=0")  # the card's link
        quoted = to_plain(card(api).text)
        await lin.reply_to(card(api), "/kb 退款多久到账", quoted=quoted)
        offer = next(c for c in lin.seen if c.buttons)
        assert offer.button_texts == ["📤 发送 1", "📤 发送 2", "📤 发送 3"]
        await lin.reply_to(card(api), "您好,我来看一下", quoted=quoted)
        assert relayed(api) == [] and any("您好,我来看一下" in (c.text or "") or c.method == "copyMessage"
                                          for c in api.calls[lin.mark:] if c.chat_id == 1)
