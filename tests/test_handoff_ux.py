"""The hand-off as a new user meets it in the chat: ending it really ends it, using the bot while a
ticket is open is never silent, the way back to a flow survives the hand-off, and a bot without
agents never offers one. Each test drives the real Application and checks what the user is sent."""

from __future__ import annotations

from pathlib import Path

from telegram import Update

from handlers.offline.botapi import OfflineBotAPI
from helpcenter.core import HelpCenter

from .botkit import chat, running_bot
from .test_handoff import AGENTS, SUPPORT, Agents, _copies_to


async def test_a_conversation_the_user_ended_stays_ended(tmp_path: Path, center: HelpCenter) -> None:
    """The new-user transcript: /human, End, /menu, a question. The bot answers it; no reopening."""
    async with running_bot(tmp_path, center, support_chat_id=SUPPORT, agent_ids=AGENTS) as (app, api):
        ann = chat(app, api, language_code="en")
        await ann.send("/human")
        await ann.press("End the conversation")
        assert "The conversation with customer service has ended (ticket #1)" in ann.text
        assert "The bot answers your messages again" in ann.text
        assert ann.buttons == ["🏠 Menu"]
        await ann.send("/menu")
        assert "on hold" not in ann.text  # no ticket is open any more
        await ann.send("what is the return window")
        assert "Ticket #1 is open again" not in ann.text and "30 calendar days" in ann.text
        assert not (await app.services.store.latest_ticket(1)).open
        assert _copies_to(api, SUPPORT) == []
        await ann.press("End the conversation", call=next(c for c in api.sent(1) if "ticket #1." in c.text))
        assert "has already ended" in ann.text  # an old End button says where the user is


async def test_a_bot_command_puts_the_relay_on_hold_and_says_so(tmp_path: Path, center: HelpCenter) -> None:
    """/human, /refund, /menu, a question: the bot answers it (it used to go to the agents unseen)."""
    async with running_bot(tmp_path, center, support_chat_id=SUPPORT, agent_ids=AGENTS) as (app, api):
        ann = chat(app, api)
        agents = Agents(app, api)
        await ann.send("/human")
        await ann.send("/refund")
        hold = ann.replies[0]
        assert "与客服的对话已暂停(工单 #1 仍开着" in hold.text and "现在您发送的消息由机器人回答" in hold.text
        assert hold.button_texts == ["💬 回到客服对话", "✖ 结束人工对话"]
        assert "选择您遇到的情况" in ann.text or len(ann.replies) == 2  # and the refund screen after it
        await ann.send("/menu")
        assert "暂停" not in ann.text  # said once, not on every screen
        await ann.send("退款多久到账")
        assert "退款退到哪里、什么时候到账" in ann.text
        assert _copies_to(api, SUPPORT) == []
        # The agent writes meanwhile: the user gets it, with one tap back to the agent.
        await agents.say("您好,请问订单号是多少?", reply_to_id=agents.card().result["message_id"])
        copy = _copies_to(api, 1)[-1]
        assert copy.button_texts == ["💬 回到客服对话"]
        await ann.press("回到客服对话", call=hold)
        assert "已回到客服对话(工单 #1)" in ann.text
        await ann.send("576482930174629381")
        assert ann.replies == [] and len(_copies_to(api, SUPPORT)) == 1  # to the agent again


async def test_cancel_while_a_ticket_is_open_is_not_a_dead_end(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center, support_chat_id=SUPPORT, agent_ids=AGENTS) as (app, api):
        ann = chat(app, api)
        await ann.send("/human")
        await ann.send("/cancel")
        assert "与客服的对话已暂停" in ann.text
        await ann.send("怎么申请退款")
        assert "如何在 TikTok App 里申请退款" in ann.text and _copies_to(api, SUPPORT) == []
        await ann.send("/human")  # /human is the way back to the agent, too
        assert "您已在和人工客服对话(工单 #1)" in ann.text
        await ann.send("还在吗")
        assert ann.replies == [] and len(_copies_to(api, SUPPORT)) == 1


async def test_flows_work_during_a_hold_and_a_reply_to_the_agent_reaches_the_agent(tmp_path: Path,
                                                                                   center: HelpCenter) -> None:
    async with running_bot(tmp_path, center, support_chat_id=SUPPORT, agent_ids=AGENTS) as (app, api):
        ann = chat(app, api)
        agents = Agents(app, api)
        await ann.send("/human")
        await agents.say("请稍等", reply_to_id=agents.card().result["message_id"])
        await ann.send("/return")
        for _ in range(4):
            await ann.press("下一步")
        await ann.send("576482930174629381")  # the flow's own field, not a message for the agent
        assert "要退的是哪件商品" in ann.text and _copies_to(api, SUPPORT) == []
        # A Telegram reply to the agent's message is meant for the agent: relayed, and the hold ends.
        agent_copy = _copies_to(api, 1)[-1]
        raw = ann.factory.text("好的,谢谢")
        raw["message"]["reply_to_message"] = {"message_id": agent_copy.result["message_id"], "date": 0,
                                              "chat": ann.factory.chat,
                                              "from": {"id": 100000001, "is_bot": True, "first_name": "HelpCenter"}}
        await app.process_update(Update.de_json(raw, app.bot))
        assert len(_copies_to(api, SUPPORT)) == 1
        assert any("已回到客服对话(工单 #1)" in c.text for c in api.sent(1))


async def test_ending_the_conversation_offers_the_way_back_to_the_flow(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center, support_chat_id=SUPPORT, agent_ids=AGENTS) as (app, api):
        ann = chat(app, api, language_code="en")
        await ann.send("/return")
        await ann.press("Next")
        assert "Step 2/6" in ann.text
        await ann.press("Talk to a human")
        await ann.press("End the conversation")
        assert ann.buttons == ["↩ Back to where I was"]
        await ann.press("Back to where I was")
        assert "Step 2/6" in ann.text
        # An agent's /close offers it as well.
        await ann.press("Talk to a human")
        agents = Agents(app, api)
        card = [c for c in agents.messages() if "🎫" in c.text][-1]
        await agents.say("/close", reply_to_id=card.result["message_id"])
        closed = next(c for c in api.sent(1) if "closed ticket #2" in c.text)
        assert closed.button_texts[-2:] == ["↩ Reopen ticket #2", "↩ Back to where I was"]


async def test_without_agents_nothing_offers_a_hand_off(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        ann = chat(app, api)
        await ann.send("/start")
        await ann.press("我是买家")
        assert "☎️ TikTok 官方客服" in ann.buttons and not [b for b in ann.buttons if "转人工" in b]
        await ann.press("TikTok 官方客服")
        assert "请联系 TikTok Shop 官方客服" in ann.text and "帮助中心" in ann.text
        assert ann.buttons == ["🏠 菜单"]
        await ann.send("明天会下雨吗")
        assert "需要人工帮助时,发送 /human 查看怎么联系 TikTok Shop 官方客服" in ann.text and "转人工" not in ann.text
        await ann.send("今天天气怎么样")  # second miss in a row
        assert "转人工" not in ann.text and "查看怎么联系 TikTok Shop 官方客服" in ann.text
        assert "☎️ TikTok 官方客服" in ann.buttons
        # Through an FAQ answer's related link: the page has no button leading to itself.
        await ann.send("寄回去之后要做什么")
        await ann.press("➜ 联系人工客服")
        assert "本机器人没有人工客服" in ann.text
        assert not [b for b in ann.buttons if "客服" in b or "人工" in b]
        await ann.send("/help")
        assert "/human 怎么联系 TikTok Shop 官方客服" in ann.text and "转人工" not in ann.text
        assert "/market 选择或更改我的市场" in ann.text
        await ann.send_media("photo")
        assert "转人工" not in ann.text and "本机器人没有人工客服" in ann.text
    commands = [c for c in api.calls if c.method == "setMyCommands"]
    assert {c.params["commands"][6]["description"] for c in commands} == {"TikTok 官方客服联系方式",
                                                                           "How to reach TikTok support"}


async def test_with_agents_the_button_still_hands_off(tmp_path: Path, center: HelpCenter) -> None:
    api = OfflineBotAPI()
    async with running_bot(tmp_path, center, api=api, support_chat_id=SUPPORT, agent_ids=AGENTS) as (app, api):
        ann = chat(app, api)
        await ann.send("明天会下雨吗")
        assert "需要时发送 /human 转人工客服。" in ann.text
        await ann.send("寄回去之后要做什么")
        assert "👤 转人工" in ann.buttons
        await ann.press("➜ 联系人工客服")
        assert "本机器人的客服会接手" in ann.text and "👤 转人工" in ann.buttons
        await ann.press("👤 转人工")
        assert "已为您转接人工客服,工单 #1" in ann.text
    commands = [c for c in api.calls if c.method == "setMyCommands" and not c.params.get("scope")]  # private menus
    assert {c.params["commands"][6]["description"] for c in commands} == {"转人工客服", "Talk to a human"}


def test_help_lists_every_command_of_the_menu(center: HelpCenter) -> None:
    from handlers.app import COMMANDS

    for agents in (True, False):
        wording = center.renderer.for_agents(agents)
        for lang in ("zh", "en"):
            text = wording.t("help", lang, human=wording.t("help.human", lang))
            assert [c for c in COMMANDS if f"/{c} " not in text and c not in ("start", "help")] == []


def test_without_agents_no_string_offers_this_bots_agents(center: HelpCenter) -> None:
    """Every string a bot without agents can show (its .no_agents variant where there is one),
    except those of an open ticket and of the agents' group, which such a bot never shows."""
    wording = center.renderer.for_agents(False)
    only_with_agents = ("handoff.", "agent.", "desk.", "btn.end_ticket", "btn.back_to_agent", "btn.reopen")
    offers = ("转人工", "/human 联系客服", "talk to a person", "reach a person", "talk to a human")
    shown = [k for k in wording.strings if not k.endswith(".no_agents") and not k.startswith(only_with_agents)]
    wrong = [(key, lang) for key in shown for lang in ("zh", "en")
             if any(o in wording.strings.get(key + ".no_agents", wording.strings[key])[lang].lower() for o in offers)]
    assert wrong == []
