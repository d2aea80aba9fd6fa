"""The agents' desk in the real bot process (python bot.py) against the Bot API emulator: the card's
Take it button, a note, /mine, /kb with its send button, /teach, /stats, /transcript as an uploaded HTML file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from handlers.offline.botapi import UpdateFactory
from helpcenter.answers.render import to_plain

from .emulator import Emulator
from .test_e2e import SUPPORT, EmuUser, bot_process


def _linked(data_dir: Path, message_id: int) -> bool:
    """The bot has recorded which ticket the copy in the agents' group belongs to."""
    with sqlite3.connect(f"file:{data_dir / 'helpcenter.sqlite3'}?mode=ro", uri=True) as db:
        row = db.execute("SELECT 1 FROM links WHERE to_chat=? AND to_msg=?", (SUPPORT, message_id)).fetchone()
    return row is not None


def test_agents_desk_against_the_real_process(tmp_path: Path) -> None:
    with Emulator() as emu, bot_process(emu, tmp_path):
        cai = EmuUser(emu, 31)
        cai.send("退款多久到账", "退款退到哪里")
        cai.send("/human", "已为您转接人工客服")
        card = emu.wait_for(lambda calls: next((c for c in calls if c.method == "sendMessage"
                                                and str(c.params["chat_id"]) == str(SUPPORT)
                                                and "🎫" in str(c.params["text"])), None))
        assert card.button_texts == ["🙋 我来接"]
        lin = UpdateFactory(900, "Lin")
        lin._update_ids = iter(range(10**9))

        def group_text(expect: str) -> str:
            def seen(calls: list) -> str | None:
                text = "\n".join(to_plain(str(c.params.get("text") or c.params.get("caption") or ""))
                                 for c in calls if str(c.params.get("chat_id")) == str(SUPPORT))
                return text if expect in text else None
            return emu.wait_for(seen)

        card_message = emu.api.messages[(SUPPORT, card.result["message_id"])]
        emu.push(lin.click(card.buttons[0][0]["callback_data"], card_message))
        group_text("🙋 Lin 接手了工单 #1。")
        reply_to = {"message_id": card.result["message_id"], "date": 0, "chat": {"id": SUPPORT, "type": "supergroup"}}
        note = lin.group(SUPPORT, "// 老客户,优先处理", reply_to=reply_to)
        note["message"].pop("entities", None)  # "//" is no bot command for Telegram
        emu.push(note)
        group_text("📝 内部备注已记入工单 #1")
        emu.push(lin.group(SUPPORT, "/mine"))
        group_text("#1 · U31 · zh")
        emu.push(lin.group(SUPPORT, "/kb 退款多久到账", reply_to=reply_to))
        offer = emu.wait_for(lambda calls: next((c for c in calls if str(c.params.get("chat_id")) == str(SUPPORT)
                                                 and "📚" in str(c.params.get("text", ""))), None))
        offer_message = emu.api.messages[(SUPPORT, offer.result["message_id"])]
        emu.push(lin.click(offer.buttons[0][0]["callback_data"], offer_message))
        group_text("📤 Lin 把“退款退到哪里、什么时候到账”发给了用户")
        emu.push(cai.factory.text("钱咋还没回到我卡上"))
        copy = emu.wait_for(lambda calls: [c for c in calls if c.method == "copyMessage"
                                           and str(c.params["chat_id"]) == str(SUPPORT)])[-1]
        quoted = {**reply_to, "message_id": copy.result["message_id"], "text": "钱咋还没回到我卡上"}
        emu.wait_for(lambda _: _linked(tmp_path, copy.result["message_id"]))  # the bot stores it after sending
        emu.push(lin.group(SUPPORT, "/teach", reply_to=quoted))
        pick = emu.wait_for(lambda calls: next((c for c in calls if "🎓" in str(c.params.get("text", ""))
                                                and c.buttons), None))
        data = next(b["callback_data"] for row in pick.buttons for b in row if b["callback_data"].endswith(
            ":refund-arrival"))
        emu.push(lin.click(data, emu.api.messages[(SUPPORT, pick.result["message_id"])]))
        emu.wait_for(lambda calls: any("🎓 已记下" in str(c.params.get("text", "")) for c in calls))
        emu.push(lin.group(SUPPORT, "/stats"))
        group_text("Lin:1 单")
        emu.push(lin.group(SUPPORT, "/transcript", reply_to=reply_to))
        doc = emu.wait_for(lambda calls: next((c for c in calls if c.method == "sendDocument"), None))
        assert doc.params["document"]["filename"] == "ticket-1.html"
        page = doc.params["document"]["content"].decode("utf-8")
        assert "老客户,优先处理" in page and "📚 发送知识库答案 · Lin" in page and "用户问:</span> 退款多久到账" in page
        assert not [c for c in emu.calls if c.method == "copyMessage" and str(c.params["chat_id"]) == "31"]  # the note
        sent = [to_plain(str(c.params.get("text", ""))) for c in emu.calls
                if c.method == "sendMessage" and str(c.params["chat_id"]) == "31"]
        assert sent[-1].startswith("退款退到哪里、什么时候到账")  # the /kb answer reached the customer
