"""Hand-off to human agents: tickets, context cards, relays both ways, lifecycle, bans, failures."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

from telegram import Update

from handlers.offline.botapi import Failure, OfflineBotAPI, UpdateFactory
from helpcenter.answers.render import to_plain
from helpcenter.core import HelpCenter

from .botkit import NOW, TZ, Chat, chat, running_bot

SUPPORT = -1005000
AGENT = 900
AGENTS = frozenset({AGENT})


class Agents:
    """The agents' group, seen from one agent."""

    def __init__(self, app, api: OfflineBotAPI) -> None:
        self.app, self.api = app, api
        self.factory = UpdateFactory(AGENT, "Agent", "zh-hans")

    def messages(self) -> list:
        return [c for c in self.api.calls if str(c.params.get("chat_id")) == str(SUPPORT)
                and c.method in ("sendMessage", "copyMessage")]

    def card(self):
        return next(c for c in self.messages() if c.method == "sendMessage" and "🎫" in c.text)

    async def say(self, text: str | None = None, kind: str | None = None, reply_to_id: int | None = None,
                  thread_id: int | None = None) -> dict:
        reply = {"message_id": reply_to_id, "date": 0, "chat": {"id": SUPPORT, "type": "supergroup"},
                 "from": {"id": 100000001, "is_bot": True, "first_name": "HelpCenter"}} if reply_to_id else None
        raw = self.factory.group(SUPPORT, text, kind, reply, thread_id)
        await self.app.process_update(Update.de_json(raw, self.app.bot))
        return raw


def _copies_to(api: OfflineBotAPI, chat_id: int) -> list:
    return [c for c in api.calls if c.method == "copyMessage" and int(c.params["chat_id"]) == chat_id]


async def _open_ticket(ann: Chat) -> None:
    await ann.send("/human")
    assert "已为您转接人工客服,工单 #1" in ann.text


async def test_open_with_context_card(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center, support_chat_id=SUPPORT, agent_ids=AGENTS) as (app, api):
        ann = chat(app, api)
        await ann.send("/return")
        for _ in range(4):
            await ann.press("下一步")
        await ann.send("退款多久到账")  # a question while the order number is asked for
        await ann.send("576482930174629381")
        await ann.press("转人工")
        assert "工单 #1" in ann.text and "✖ 结束人工对话" in ann.buttons
        card = Agents(app, api).card().text
        assert "🎫 <b>#1</b> · Ann · <code>1</code> · 中文 · 买家" in card
        assert "📍 📦 自行寄回退货(6 步) · 步骤 4/6" in card
        assert "• 订单号:576482930174629381" in card
        assert "Q: 退款多久到账" in card and "A: 退款退到哪里、什么时候到账" in card


async def test_relay_both_ways_by_reply_without_forward_info(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center, support_chat_id=SUPPORT, agent_ids=AGENTS) as (app, api):
        ann = chat(app, api)
        agents = Agents(app, api)
        await _open_ticket(ann)
        card_id = agents.card().result["message_id"]
        await ann.send("包装压坏了,照片在下面")
        await ann.send_media("photo")
        to_agents = _copies_to(api, SUPPORT)
        assert len(to_agents) == 2
        assert all(c.params["from_chat_id"] == 1 for c in to_agents)
        assert all(c.params["reply_parameters"]["message_id"] == card_id for c in to_agents)
        assert ann.replies == []  # relayed, not answered by the bot
        # The agent replies to the copied photo; routing uses our link table (no forward_from exists).
        await agents.say("收到,我们会处理", reply_to_id=to_agents[1].result["message_id"])
        await agents.say(kind="photo", reply_to_id=card_id)
        to_user = _copies_to(api, 1)
        assert [c.params["from_chat_id"] for c in to_user] == [SUPPORT, SUPPORT]
        assert not [c for c in api.calls if c.method == "forwardMessage"]
        # Agents chatting among themselves (no reply, no topic) reach nobody.
        await agents.say("lunch?")
        assert len(_copies_to(api, 1)) == 2


async def test_forum_group_gets_a_topic_per_ticket(tmp_path: Path, center: HelpCenter) -> None:
    api = OfflineBotAPI(forum_chats={SUPPORT})
    async with running_bot(tmp_path, center, api=api, support_chat_id=SUPPORT, agent_ids=AGENTS) as (app, api):
        ann = chat(app, api)
        agents = Agents(app, api)
        await _open_ticket(ann)
        topic = next(c for c in api.calls if c.method == "createForumTopic")
        assert topic.params["name"] == "#1 Ann"
        thread = topic.result["message_thread_id"]
        assert agents.card().params["message_thread_id"] == thread
        await ann.send("还在吗")
        assert _copies_to(api, SUPPORT)[-1].params["message_thread_id"] == thread
        await agents.say("在的", thread_id=thread)  # a plain message in the topic
        assert len(_copies_to(api, 1)) == 1


async def test_close_rate_and_reopen(tmp_path: Path, center: HelpCenter) -> None:
    """After an agent's /close the bot answers again; only the closed message's Reopen button,
    within 30 minutes, reopens the ticket."""
    moment = [NOW]
    async with running_bot(tmp_path, center, support_chat_id=SUPPORT, agent_ids=AGENTS,
                           clock=lambda: moment[0]) as (app, api):
        ann = chat(app, api)
        agents = Agents(app, api)
        await _open_ticket(ann)
        card_id = agents.card().result["message_id"]
        await agents.say("/close", reply_to_id=card_id)
        assert any("工单 #1 已关闭,已通知用户" in c.text for c in agents.messages())
        closed = next(c for c in api.sent(1) if "客服已关闭工单 #1" in c.text)
        assert "30 分钟内点“重新打开”" in closed.text
        assert closed.button_texts == ["⭐", "⭐⭐", "⭐⭐⭐", "⭐⭐⭐⭐", "⭐⭐⭐⭐⭐", "↩ 重新打开工单 #1", "🏠 菜单"]
        await ann.press("⭐⭐⭐⭐", call=closed)
        assert "谢谢您的评分" in ann.text
        assert any("工单 #1 评分:4/5" in c.text for c in agents.messages())
        rated = next(c for c in reversed(api.calls) if c.method == "editMessageReplyMarkup")
        assert rated.button_texts == ["↩ 重新打开工单 #1", "🏠 菜单"]  # the stars go, Reopen stays
        moment[0] = NOW + timedelta(minutes=10)
        relayed = len(_copies_to(api, SUPPORT))
        await ann.send("怎么申请退款")  # plain text after closing: the bot answers, nothing reopens
        assert "如何在 TikTok App 里申请退款" in ann.text and "重新打开" not in ann.text
        assert not (await app.services.store.latest_ticket(1)).open and len(_copies_to(api, SUPPORT)) == relayed
        await ann.press("重新打开工单 #1", call=closed)
        assert "工单 #1 已重新打开" in ann.text and ann.buttons == ["✖ 结束人工对话"]
        assert any("工单 #1 被用户重新打开" in c.text for c in agents.messages())
        await ann.send("还有一个问题")
        assert ann.replies == [] and len(_copies_to(api, SUPPORT)) == relayed + 1
        await agents.say("/close", reply_to_id=card_id)
        closed_again = [c for c in api.sent(1) if "客服已关闭工单 #1" in c.text][-1]
        moment[0] = NOW + timedelta(hours=2)
        await ann.press("重新打开工单 #1", call=closed_again)  # too late: said so, and the bot serves
        assert "工单 #1 已关闭超过 30 分钟,不能再重新打开" in ann.text
        assert not (await app.services.store.latest_ticket(1)).open
        await ann.send("/human")  # and a new ticket can be opened
        assert "工单 #2" in ann.text


async def test_user_can_end_the_conversation(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center, support_chat_id=SUPPORT, agent_ids=AGENTS) as (app, api):
        ann = chat(app, api)
        await _open_ticket(ann)
        await ann.press("结束人工对话")
        assert "已结束人工对话(工单 #1)" in ann.text
        assert any("用户结束了工单 #1" in c.text for c in Agents(app, api).messages())


async def test_only_the_agents_group_can_act_as_agents(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center, support_chat_id=SUPPORT, agent_ids=AGENTS) as (app, api):
        ann = chat(app, api)
        agents = Agents(app, api)
        await _open_ticket(ann)
        card_id = agents.card().result["message_id"]
        mallory = chat(app, api, user_id=66, first_name="Mallory")
        for command in ("/close", "/ban", "/tickets"):
            await mallory.send(command)
            assert "我不认识这个命令" in mallory.text
        other_group = UpdateFactory(66, "Mallory").group(-1009999, "/close", reply_to={
            "message_id": card_id, "date": 0, "chat": {"id": -1009999, "type": "supergroup"}})
        await app.process_update(Update.de_json(other_group, app.bot))
        assert (await app.services.store.latest_ticket(1)).open
        await agents.say("/tickets")
        assert any("#1 · Ann · 1 · zh" in c.text for c in agents.messages())


async def test_ban_stops_relays_both_ways(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center, support_chat_id=SUPPORT, agent_ids=AGENTS) as (app, api):
        ann = chat(app, api)
        agents = Agents(app, api)
        await _open_ticket(ann)
        card_id = agents.card().result["message_id"]
        await agents.say("/ban", reply_to_id=card_id)
        assert any("用户 1 已封禁" in c.text for c in agents.messages())
        relayed = len(_copies_to(api, SUPPORT))
        await ann.send("spam spam")
        assert len(_copies_to(api, SUPPORT)) == relayed
        await agents.say("hello?", reply_to_id=card_id)
        assert _copies_to(api, 1) == []
        assert any("该用户已被封禁,消息未发送" in c.text for c in agents.messages())
        await ann.send("/human")
        assert "工单" not in ann.text and "帮助中心" in ann.text  # TikTok Shop's own service instead
        await agents.say("/unban 1")
        assert any("用户 1 已解除封禁" in c.text for c in agents.messages())


async def test_outside_working_hours_the_user_is_told_when_agents_are_back(tmp_path: Path,
                                                                          center: HelpCenter) -> None:
    # NOW is Sunday 2026-11-22 10:00; agents work 09:00-18:00 Monday to Friday.
    async with running_bot(tmp_path, center, support_chat_id=SUPPORT, agent_ids=AGENTS, support_hours="09:00-18:00",
                           support_days="1-5") as (app, api):
        ann = chat(app, api)
        await _open_ticket(ann)
        assert "客服将于 2026-11-23 09:00 回复您" in ann.text
    monday = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)
    async with running_bot(tmp_path / "2", center, now=monday, support_chat_id=SUPPORT, agent_ids=AGENTS,
                           support_hours="09:00-18:00", support_days="1-5") as (app, api):
        ann = chat(app, api)
        await _open_ticket(ann)
        assert "下班时间" not in ann.text


async def test_a_replayed_human_answers_as_the_first_run_did(tmp_path: Path, center: HelpCenter) -> None:
    """After a SIGKILL between opening a ticket and answering, the durable intake handles /human
    again: the ticket knows the update that opened it, so the replay answers exactly as the first
    run would have (a later /human finds it open and says so)."""
    api = OfflineBotAPI(forum_chats={SUPPORT})
    clock = [NOW]  # Sunday: outside support hours
    async with running_bot(tmp_path, center, api=api, clock=lambda: clock[0], support_chat_id=SUPPORT,
                           agent_ids=AGENTS, support_hours="09:00-18:00", support_days="1-5") as (app, api):
        ann = chat(app, api)
        raw = ann.factory.text("/human")
        # The first run died after storing the ticket, before its topic, card or answer.
        await app.services.store.open_ticket(1, 1, "Ann", "zh", "buyer", NOW, opened_by=raw["update_id"])
        clock[0] = NOW + timedelta(days=1)  # replayed on Monday, inside support hours
        await ann._process(raw)
        assert "已为您转接人工客服,工单 #1" in ann.text
        assert "客服将于 2026-11-23 09:00 回复您" in ann.text  # the hours of when it was opened
        await ann._process(raw)  # and again (a kill after the answer, before the update was done)
        assert "已为您转接人工客服,工单 #1" in ann.text
        assert len([c for c in api.calls if c.method == "createForumTopic"]) == 1
        assert len([c for c in Agents(app, api).messages() if "🎫" in c.text]) == 1
        await ann.send("/human")  # a new request while it is open
        assert "您已在和人工客服对话(工单 #1)" in ann.text
        assert [t.id for t in await app.services.store.open_tickets()] == [1]


async def test_failed_relay_is_kept_and_delivered_after_a_restart(tmp_path: Path, center: HelpCenter) -> None:
    broken = OfflineBotAPI(failures=[Failure("Internal Server Error", code=500, method="copyMessage", times=1000)])
    async with running_bot(tmp_path, center, api=broken, support_chat_id=SUPPORT, agent_ids=AGENTS) as (app, api):
        ann = chat(app, api)
        await _open_ticket(ann)
        await ann.send("我的包裹坏了")
        assert not [c for c in api.calls if c.method == "copyMessage" and c.result != "error 500"]
        pending = await app.services.store.pending_outbox()
        assert [p.payload["op"] for p in pending] == ["copy"]
    # The API is healthy again.
    async with running_bot(tmp_path, center, support_chat_id=SUPPORT, agent_ids=AGENTS) as (app, api):
        for _ in range(40):
            if _copies_to(api, SUPPORT):
                break
            await asyncio.sleep(0.05)
        assert len(_copies_to(api, SUPPORT)) == 1
        assert await app.services.store.pending_outbox() == []


async def test_429_is_retried_after_the_wait_it_asks_for(tmp_path: Path, center: HelpCenter) -> None:
    api = OfflineBotAPI(failures=[Failure("Too Many Requests", code=429, method="copyMessage", retry_after=1)])
    async with running_bot(tmp_path, center, api=api, support_chat_id=SUPPORT, agent_ids=AGENTS) as (app, api):
        ann = chat(app, api)
        await _open_ticket(ann)
        await ann.send("hello")
        assert _copies_to(api, SUPPORT)[-1].result == "error 429"
        await asyncio.sleep(1.5)
        assert _copies_to(api, SUPPORT)[-1].result["message_id"]
        assert len([c for c in _copies_to(api, SUPPORT) if c.result != "error 429"]) == 1  # once, not twice


async def test_user_who_blocked_the_bot_is_reported_to_agents(tmp_path: Path, center: HelpCenter) -> None:
    api = OfflineBotAPI()
    async with running_bot(tmp_path, center, api=api, support_chat_id=SUPPORT, agent_ids=AGENTS) as (app, api):
        ann = chat(app, api)
        agents = Agents(app, api)
        await _open_ticket(ann)
        api.failures.append(Failure("Forbidden: bot was blocked by the user", code=403, method="copyMessage"))
        await agents.say("您好", reply_to_id=agents.card().result["message_id"])
        assert any("工单 #1:消息无法送达用户" in c.text and "blocked" in c.text for c in agents.messages())


async def test_edits_are_mirrored(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center, support_chat_id=SUPPORT, agent_ids=AGENTS) as (app, api):
        ann = chat(app, api)
        await _open_ticket(ann)
        raw = ann.factory.text("订单号 123")
        await app.process_update(Update.de_json(raw, app.bot))
        copy_id = _copies_to(api, SUPPORT)[-1].result["message_id"]
        await app.process_update(Update.de_json(ann.factory.edit(raw, "订单号 576482930174629381"), app.bot))
        edit = next(c for c in api.calls if c.method == "editMessageText" and c.params["message_id"] == copy_id)
        assert edit.params["text"] == "订单号 576482930174629381"


async def test_a_flood_is_queued_and_delivered_not_dropped(tmp_path: Path, center: HelpCenter) -> None:
    """200 messages (with an album of 12 photos) in a burst: all reach the agents, in order, once;
    the user hears only about the one Telegram refused for good, as a reply to it."""
    api = OfflineBotAPI(failures=[Failure("Too Many Requests: retry after 1", code=429, method="copyMessage",
                                          retry_after=1)])
    async with running_bot(tmp_path, center, api=api, support_chat_id=SUPPORT, agent_ids=AGENTS) as (app, api):
        ann = chat(app, api)
        await _open_ticket(ann)
        sent = []
        for i in range(200):
            raw = ann.factory.media("photo") if 50 <= i < 62 else ann.factory.text(f"msg {i}")
            if i == 120:
                api.failures.append(Failure("Bad Request: message to copy not found", code=400,
                                            method="copyMessage"))
            await app.process_update(Update.de_json(raw, app.bot))
            sent.append(raw["message"]["message_id"])
        for _ in range(100):
            if len([c for c in _copies_to(api, SUPPORT) if isinstance(c.result, dict)]) >= 199:
                break
            await asyncio.sleep(0.05)
        delivered = [c.params["message_id"] for c in _copies_to(api, SUPPORT) if isinstance(c.result, dict)]
        refused = [c.params["message_id"] for c in _copies_to(api, SUPPORT) if c.result == "error 400"]
        assert len(refused) == 1 and delivered == [m for m in sent if m not in refused]
        notices = [c for c in api.sent(1) if "未能转给客服" in c.text]
        assert len(notices) == 1 and notices[0].params["reply_parameters"]["message_id"] == refused[0]
        assert not [c for c in api.sent(1) if "消息发得太快了" in c.text]


class SlowAPI(OfflineBotAPI):
    """Telegram has the message at once, but the answer reaches the bot later."""

    async def do_request(self, url, method, request_data=None, **kwargs):
        result = await super().do_request(url, method, request_data, **kwargs)
        if url.endswith("/sendMessage"):
            await asyncio.sleep(0.2)
        return result


async def test_agent_reply_to_a_card_still_in_flight_is_relayed(tmp_path: Path, center: HelpCenter) -> None:
    """The agent answers the card before the bot has stored its link (issue 9 item 2)."""
    async with running_bot(tmp_path, center, api=SlowAPI(), support_chat_id=SUPPORT, agent_ids=AGENTS) as (app, api):
        ann = chat(app, api)
        agents = Agents(app, api)
        opening = asyncio.create_task(ann.send("/human"))
        for _ in range(100):
            if [c for c in agents.messages() if "🎫" in c.text]:
                break
            await asyncio.sleep(0.01)
        raw = agents.factory.group(SUPPORT, "您好,我来帮您", reply_to={
            "message_id": agents.card().result["message_id"], "date": 0,
            "chat": {"id": SUPPORT, "type": "supergroup"}})
        await app.process_update(Update.de_json(raw, app.bot))
        await opening
        assert [c.params["from_chat_id"] for c in _copies_to(api, 1)] == [SUPPORT]


async def test_only_agents_act_in_the_agents_group(tmp_path: Path, center: HelpCenter) -> None:
    """Without AGENT_IDS the group's admins are the agents (getChatMember, asked once); any other
    member is refused, and nothing they write reaches the customer."""
    api = OfflineBotAPI(chat_admins={AGENT})
    async with running_bot(tmp_path, center, api=api, support_chat_id=SUPPORT) as (app, api):
        ann = chat(app, api)
        await _open_ticket(ann)
        card_id = Agents(app, api).card().result["message_id"]
        member = Agents(app, api)
        member.factory = UpdateFactory(77, "Member")
        for command in ("/tickets", "/close", "/ban", "/unban 1"):
            await member.say(command, reply_to_id=card_id)
        await member.say("I am not an agent", reply_to_id=card_id)
        refusals = [c for c in member.messages() if "只有客服人员可以" in c.text]
        assert len(refusals) == 5
        assert _copies_to(api, 1) == []
        assert (await app.services.store.latest_ticket(1)).open
        assert not await app.services.store.is_banned(1)
        agent = Agents(app, api)
        await agent.say("您好", reply_to_id=card_id)
        await agent.say("/tickets")
        assert len(_copies_to(api, 1)) == 1
        assert any("#1 · Ann · 1 · zh" in c.text for c in agent.messages())
        asked = [c.params["user_id"] for c in api.calls if c.method == "getChatMember"]
        assert sorted(asked) == [77, AGENT]  # cached


async def test_tickets_are_paged_and_odd_numbers_are_refused_politely(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center, support_chat_id=SUPPORT, agent_ids=AGENTS) as (app, api):
        for uid in range(1, 101):
            await chat(app, api, user_id=uid, first_name="N" * 60).send("/human")
        agents = Agents(app, api)
        await agents.say("/tickets")
        first = agents.messages()[-1].text
        assert "#1 · " in first and "#26 · " not in first and "第 1/4 页" in first and len(first) <= 4096
        await agents.say("/tickets 4")
        assert "#100 · " in agents.messages()[-1].text
        await agents.say("/unban 99999999999999999999")
        assert "用法" in agents.messages()[-1].text or "unban" in agents.messages()[-1].text


async def test_reply_to_a_user_who_ran_forget_tells_the_agent(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center, support_chat_id=SUPPORT, agent_ids=AGENTS) as (app, api):
        ann = chat(app, api)
        await _open_ticket(ann)
        card_id = Agents(app, api).card().result["message_id"]
        await app.services.store.forget(1)
        agents = Agents(app, api)
        await agents.say("还在吗?", reply_to_id=card_id)
        assert _copies_to(api, 1) == []
        assert any("不属于任何工单" in c.text for c in agents.messages())


async def test_service_messages_are_not_relayed(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center, support_chat_id=SUPPORT, agent_ids=AGENTS) as (app, api):
        ann = chat(app, api)
        await _open_ticket(ann)
        for field, value in (("message_auto_delete_timer_changed", {"message_auto_delete_time": 86400}),
                             ("write_access_allowed", {"from_request": True}),
                             ("users_shared", {"request_id": 1, "users": [{"user_id": 5}]})):
            raw = ann.factory.text("x")
            del raw["message"]["text"]
            raw["message"][field] = value
            await app.process_update(Update.de_json(raw, app.bot))
        assert _copies_to(api, SUPPORT) == []


async def test_a_card_without_its_link_still_routes_by_its_ticket_number(tmp_path: Path, center: HelpCenter) -> None:
    """The bot died after sending the card but before storing its link: the card names the ticket."""
    async with running_bot(tmp_path, center, support_chat_id=SUPPORT, agent_ids=AGENTS) as (app, api):
        ann = chat(app, api)
        await _open_ticket(ann)
        card = Agents(app, api).card()
        await app.services.store.db.execute("DELETE FROM links")
        await app.services.store.db.commit()
        shown = dict(api.messages[(SUPPORT, card.result["message_id"])])
        shown["text"] = to_plain(shown["text"])  # Telegram gives text and entities, not our HTML
        raw = Agents(app, api).factory.group(SUPPORT, "您好", reply_to=shown)
        await app.process_update(Update.de_json(raw, app.bot))
        assert len(_copies_to(api, 1)) == 1
        forged = Agents(app, api).factory.group(SUPPORT, "x", reply_to={
            "message_id": 5, "date": 0, "chat": {"id": SUPPORT, "type": "supergroup"}, "text": "🎫 #1 · fake",
            "from": {"id": 77, "is_bot": False, "first_name": "M"}})
        await app.process_update(Update.de_json(forged, app.bot))
        assert len(_copies_to(api, 1)) == 1  # only the bot's own card counts


async def test_forged_ratings_are_ignored(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center, support_chat_id=SUPPORT, agent_ids=AGENTS) as (app, api):
        ann = chat(app, api)
        await _open_ticket(ann)
        agents = Agents(app, api)
        await agents.say("/close", reply_to_id=agents.card().result["message_id"])
        closed = next(c for c in api.sent(1) if "客服已关闭工单 #1" in c.text)
        for data in ("tk:rate:1:12345", "tk:rate:1:", "tk:rate:1:0", "tk:rate:99999999999999999999:3"):
            await ann.press_data(data, closed)
        assert (await app.services.store.ticket(1)).rating is None
        assert not [c for c in agents.messages() if "评分" in c.text]
        await ann.press("⭐⭐⭐", call=closed)
        assert (await app.services.store.ticket(1)).rating == 3
