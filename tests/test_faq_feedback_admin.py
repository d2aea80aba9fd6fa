"""Inline mode, deep links, feedback, /stats, the editors' report, /forget and /reload."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from telegram import Update

from handlers.base.userdata import UserData
from helpcenter.core import HelpCenter
from helpcenter.reports.editors import group_questions, to_csv, to_markdown

from .botkit import NOW, chat, running_bot
from .conftest import ROOT

ADMIN = 42


async def _inline(app, api, query: str, language_code: str = "zh-hans") -> list[dict]:
    ann = chat(app, api, language_code=language_code)
    await app.process_update(Update.de_json(ann.factory.inline(query), app.bot))
    call = [c for c in api.calls if c.method == "answerInlineQuery"][-1]
    return call.params["results"]


async def test_inline_mode_in_both_languages(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        results = await _inline(app, api, "退款")
        titles = [r["title"] for r in results]
        assert "如何在 TikTok App 里申请退款" in titles
        article = results[titles.index("如何在 TikTok App 里申请退款")]
        assert "「帮助中心」申请退款" in article["input_message_content"]["message_text"]
        assert article["reply_markup"]["inline_keyboard"][0][0]["url"] == (
            "https://t.me/helpcenter_bot?start=refund-apply")
        english = await _inline(app, api, "lost parcel", language_code="en")
        assert english[0]["title"] == "Lost package"
        assert await _inline(app, api, "what's the weather in Paris") == []


async def test_inline_empty_query_shows_the_most_asked(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        ann = chat(app, api)
        for _ in range(3):
            await ann.send("快递丢了怎么办")
        await ann.send("退款多久到账")
        results = await _inline(app, api, "")
        assert [r["title"] for r in results[:2]] == ["丢失包裹", "退款退到哪里、什么时候到账"]


async def test_every_answer_has_a_share_link_and_feedback(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        ann = chat(app, api)
        await ann.send("包裹丢了")
        answer = ann.last_with("有帮助")  # the market question (asked once) comes below it
        urls = [b.get("url") for row in answer.buttons for b in row if b.get("url")]
        assert urls == ["https://t.me/helpcenter_bot?start=dispute-lost-package"]
        assert "👍 有帮助" in answer.button_texts and "👎 没帮助" in answer.button_texts
        await ann.press("有帮助", answer)
        assert ann.alerts == ["谢谢反馈!"]
        await ann.send("包裹损坏了")
        await ann.press("没帮助", ann.last_with("没帮助"))
        assert "抱歉没帮上忙" in ann.text
        assert "☎️ TikTok 官方客服" in ann.buttons  # no agents configured
        assert any(b.startswith("1. ") for b in ann.buttons)  # the other candidates
        stats = await app.services.store.stats(NOW - timedelta(days=1))
        assert (stats["helpful"], stats["unhelpful"]) == (1, 1)


async def test_stats_for_admins_only(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center, admin_ids=frozenset({ADMIN})) as (app, api):
        store = app.services.store
        yesterday = NOW - timedelta(days=1)
        for moment, text, entry, topic in [(yesterday, "怎么退款", "refund-apply", "refund.apply"),
                                           (NOW, "退款入口", "refund-apply", "refund.apply"),
                                           (NOW, "包裹丢了", "dispute-lost-package", "dispute.lost_package"),
                                           (NOW, "怎么开直播", None, None), (NOW, "怎么开直播", None, None)]:
            qid = await store.log_question(7, "zh", text, entry, topic, 0.8, moment)
        await store.set_feedback(qid - 2, 7, 1)
        user = chat(app, api, user_id=7)
        await user.send("/stats")
        assert "这个命令只供管理员使用" in user.text
        await user.send("/reload")
        assert "这个命令只供管理员使用" in user.text
        admin = chat(app, api, user_id=ADMIN)
        await admin.send("/stats")
        text = admin.text
        assert "问题 5 个,已回答 3 个(60%)" in text
        assert "👍 1 · 👎 0(有帮助 100%)" in text
        assert f"{yesterday:%Y-%m-%d}: 1" in text and f"{NOW:%Y-%m-%d}: 4" in text
        assert "如何在 TikTok App 里申请退款: 2" in text and "refund.apply" not in text  # titles, not ids
        assert "2 × 怎么开直播" in text


def test_report_groups_similar_questions() -> None:
    rows = [("怎么开直播", "zh", None), ("怎么开直播啊", "zh", None), ("直播怎么开通", "zh", None),
            ("how to go live", "en", None), ("how do i go live", "en", None), ("退款太慢", "zh", "refund-arrival"),
            ("", "zh", None), (" ", "en", None)]  # questions that were only emoji or "?": nothing to add
    groups = group_questions(rows)
    assert [(g.example, g.count) for g in groups[:2]] == [("怎么开直播", 2), ("how to go live", 2)]
    assert "refund-arrival" in to_csv(groups)
    assert "| 2 | zh | 怎么开直播 | 怎么开直播啊 | — |" in to_markdown(groups)
    assert [g for g in groups if not g.example.strip()] == []


async def test_report_command_writes_csv_and_markdown(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        ann = chat(app, api)
        await ann.send("怎么开直播")
        await ann.send("怎么开直播呢")
        await ann.send("包裹损坏了")
        await ann.press("没帮助", ann.last_with("没帮助"))
        await ann.send("🤔")
        await ann.send("??")
    out = subprocess.run([sys.executable, "bot.py", "report", "--out", str(tmp_path / "r")], cwd=ROOT,
                         capture_output=True, text=True, env={"DATA_DIR": str(tmp_path), "PATH": "/usr/bin"})
    assert out.returncode == 0, out.stderr
    csv_text = (tmp_path / "r" / "report.csv").read_text(encoding="utf-8")
    assert "2,zh,怎么开直播" in csv_text
    assert "dispute-damaged-package" in csv_text
    report = (tmp_path / "r" / "report.md").read_text(encoding="utf-8")
    assert "| 2 | zh | 怎么开直播 |" in report
    assert "|  |" not in report and ",," not in csv_text.split("\n", 1)[1]  # no group without an example


async def test_forget_asks_first_then_says_what_was_deleted(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        ann = chat(app, api)
        await ann.send("/refund")
        await ann.press("产品不一致")
        await ann.press("印度尼西亚")
        await ann.press("昨天")
        await ann.press("截止前提醒我")
        await ann.send("退款多久到账")
        await ann.send("/forget")
        assert "要删除我们为您保存的全部数据吗" in ann.text
        assert ann.buttons == ["🗑 确定删除", "✖ 不删除"]
        store = app.services.store
        assert len(await store.pending_reminders()) == 1  # nothing deleted before the answer
        await ann.press("不删除")
        assert "没有删除任何数据" in ann.text
        assert len(await store.pending_reminders()) == 1
        assert app.user_data[1].ref.to_dict()
        await ann.send("/forget")
        await ann.press("确定删除")
        assert "已删除:1 条提问记录、1 个提醒、0 个工单,以及对话进度和设置。" in ann.text
        assert await store.pending_reminders() == []
        assert await store.to_review() == []
        assert (await store.stats(NOW - timedelta(days=1)))["total"] == 0
        assert app.user_data.get(1, UserData()).to_dict() == {}
        assert not app.job_queue.get_jobs_by_name("reminder-1")


async def test_one_visible_vote_per_user_and_answer(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        ann = chat(app, api)
        store = app.services.store
        await ann.send("包裹丢了")
        answer = ann.last_with("有帮助")  # the market question (asked once) comes below it
        await ann.press("有帮助", call=answer)
        assert ann.alerts == ["谢谢反馈!"]
        assert [c.method for c in ann.replies] == ["editMessageReplyMarkup"]  # the answer's text stays
        voted = ann.replies[0]
        assert "✓ 👍 有帮助" in voted.button_texts and "👎 没帮助" in voted.button_texts
        await ann.press("有帮助", call=voted)  # the same vote again
        assert ann.alerts == ["您已经投过这一票了。"]
        assert (await store.stats(NOW - timedelta(days=1)))["helpful"] == 1
        await ann.press("没帮助", call=voted)  # changing the vote
        assert "抱歉没帮上忙" in ann.text
        changed = next(c for c in ann.replies if c.method == "editMessageReplyMarkup")
        assert "👍 有帮助" in changed.button_texts and "✓ 👎 没帮助" in changed.button_texts
        await ann.press("没帮助", call=changed)
        assert ann.alerts == ["您已经投过这一票了。"] and "抱歉没帮上忙" not in ann.text
        stats = await store.stats(NOW - timedelta(days=1))
        assert (stats["helpful"], stats["unhelpful"]) == (0, 1)
        await ann.send("包裹丢了")  # the same answer again: the new vote replaces the old one
        await ann.press("有帮助")
        stats = await store.stats(NOW - timedelta(days=1))
        assert (stats["helpful"], stats["unhelpful"]) == (1, 0)
        bob = chat(app, api, user_id=2)
        await bob.send("包裹丢了")
        await bob.press("有帮助", bob.last_with("有帮助"))
        assert (await store.stats(NOW - timedelta(days=1)))["helpful"] == 2


async def test_faq_pages_are_labelled_apart_from_going_back(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        ann = chat(app, api)
        await ann.send("/faq")
        await ann.press("退货")
        assert "(1/2)" in ann.text
        assert "下一页 ➡" in ann.buttons and "↩ 返回主题" in ann.buttons
        assert not {"▶", "◀", "◀ 上一步"} & set(ann.buttons)
        await ann.press("下一页")
        assert "(2/2)" in ann.text and "⬅ 上一页" in ann.buttons
        listing = ann.last_with_buttons()
        await ann.press(listing.buttons[0][0]["text"], call=listing)
        answer = ann.last_with("返回列表")  # above the market question, when the answer asks it
        await ann.press("返回列表", call=answer)
        assert [c.method for c in ann.replies] == ["sendMessage"]  # the answer is not overwritten
        assert api.messages[(1, answer.result["message_id"])]["text"] == answer.text
        await ann.press("上一页")
        assert "(1/2)" in ann.text
        await ann.press("返回主题")
        assert "选一个主题" in ann.text
        bob = chat(app, api, user_id=9, language_code="en")
        await bob.send("/faq")
        await bob.press("Returns")
        assert "Next page ➡" in bob.buttons and "↩ Back to themes" in bob.buttons
        await bob.press("Next page")
        assert "⬅ Prev page" in bob.buttons


async def test_personal_data_never_reaches_the_log_or_the_report(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center, admin_ids=frozenset({ADMIN})) as (app, api):
        ann = chat(app, api, user_id=ADMIN)
        await ann.send("/return")
        for _ in range(3):
            await ann.press("下一步")
        await ann.press("下一步")
        await ann.send("576482930174629381")
        await ann.send("白色 T 恤")
        await ann.press("质量问题")
        await ann.send("ann@example.com")
        assert "联系方式:ann@example.com" in ann.text
        for typed in ("13812345678", "SF1234567890123", "我的邮箱改成 bob.lee@example.com",
                      "订单号应该是 576894321098765432"):
            await ann.send(typed)  # a correction typed after the summary: not a field, so a question
        await ann.send("/stats")
        assert "[phone]" in ann.text and "[number]" in ann.text
        rows = await app.services.store.to_review()
    logged = [r[0] for r in rows]
    # (the last one is answered now: how to fill in the order number; its masking is checked below)
    assert logged[:3] == ["[phone]", "[number]", "我的邮箱改成 [email]"]
    assert set(logged[3:]) <= {"订单号应该是 [number]"}
    db = sqlite3.connect(tmp_path / "helpcenter.sqlite3")
    stored = " ".join(r[0] for r in db.execute("SELECT normalized FROM questions"))
    db.close()
    for secret in ("13812345678", "1234567890123", "example", "576894321098765432"):
        assert secret not in stored and secret not in ann.text
    out = subprocess.run([sys.executable, "bot.py", "report", "--out", str(tmp_path / "r")], cwd=ROOT,
                         capture_output=True, text=True, env={"DATA_DIR": str(tmp_path), "PATH": "/usr/bin"})
    assert out.returncode == 0, out.stderr
    report = (tmp_path / "r" / "report.md").read_text(encoding="utf-8")
    assert "[phone]" in report and "13812345678" not in report and "1234567890123" not in report


async def test_reload_keeps_old_content_on_errors_and_switches_on_success(tmp_path: Path,
                                                                         center: HelpCenter) -> None:
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    async with running_bot(tmp_path / "data", center, admin_ids=frozenset({ADMIN})) as (app, api):
        app.services.center_factory = lambda: HelpCenter(content)
        broken = (content / "refunds.yaml").read_text(encoding="utf-8").replace("role: buyer", "role: shopper", 1)
        (content / "refunds.yaml").write_text(broken, encoding="utf-8")
        admin = chat(app, api, user_id=ADMIN)
        await admin.send("/reload")
        assert "内容有 1 个错误,仍在使用旧内容" in admin.text
        assert "role must be one of buyer, seller, both" in admin.text
        await admin.send("怎么申请退款")
        assert "如何在 TikTok App 里申请退款" in admin.text  # the old content still answers
        fixed = broken.replace("role: shopper", "role: buyer").replace(
            "title: 如何在 TikTok App 里申请退款", "title: 在 App 里申请退款的两条路")
        (content / "refunds.yaml").write_text(fixed, encoding="utf-8")
        await admin.send("/reload")
        assert f"内容已重新加载:{len(center.kb.entries)} 个条目" in admin.text
        await admin.send("怎么申请退款")
        assert "在 App 里申请退款的两条路" in admin.text


def test_check_warns_about_confusing_phrasings(tmp_path: Path) -> None:
    from helpcenter.understanding.matcher import confusions

    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    text = (content / "refunds.yaml").read_text(encoding="utf-8")
    (content / "refunds.yaml").write_text(text.replace("        - 退款到账时间\n", "        - 包裹丢失了怎么办\n"),
                                          encoding="utf-8")
    found = confusions(HelpCenter(content).matcher)
    assert ("refund-arrival", "包裹丢失了怎么办", "dispute.lost_package") in [
        (e.id, q, w.topic) for e, q, w, _ in found]


async def test_faq_with_words_searches_the_questions(tmp_path: Path, center: HelpCenter) -> None:
    """/faq <words> lists the closest entries as buttons (the words quoted, escaped); nothing
    close: says so and offers the themes."""
    async with running_bot(tmp_path, center) as (app, api):
        bob = chat(app, api, user_id=9, language_code="en")
        await bob.send("/faq counterfeit")
        assert bob.text.startswith('FAQ entries closest to "counterfeit"')
        assert any("Counterfeit item" in b for b in bob.buttons)
        await bob.press("Counterfeit item")
        assert bob.text.startswith("Counterfeit item")  # the entry itself
        await bob.send("/faq <b>weather</b>")
        assert 'No FAQ entry matches "<b>weather</b>"' in bob.text  # shown as typed, not as HTML
        assert "❓ FAQ" in bob.buttons
