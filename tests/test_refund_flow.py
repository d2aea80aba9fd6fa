"""Refund request by case: deadlines computed from content/rules.yaml on a fixed clock
(2026-11-22 10:00, Asia/Shanghai: 09:00 in Jakarta, where Indonesia's dates are counted), reminders
that survive a restart."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from helpcenter.core import HelpCenter

from .botkit import TZ, Chat, chat, running_bot

JAKARTA = ZoneInfo("Asia/Jakarta")


async def _case(ann: Chat, case: str, market: str = "印度尼西亚") -> None:
    await ann.send("/refund")
    assert "您遇到的是哪种情况" in ann.text
    await ann.press(case)
    if market in ann.buttons:  # asked once, then remembered
        await ann.press(market)


async def test_mismatch_window_open_with_last_day_and_evidence_deadline(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        ann = chat(app, api)
        await _case(ann, "产品不一致")
        assert "申请期限自收到商品起计算" in ann.text
        assert ann.buttons[:2] == ["今天", "昨天"]
        await ann.press("昨天")
        text = ann.text
        assert "产品不一致 · 印度尼西亚" in text
        assert "起算日:2026-11-21" in text
        assert "受理期:最多 6 天,收到商品起" in text  # the platform's own page (rules.yaml)
        assert "\n   ✅ 最迟 2026-11-27(这是上限,还剩 5 天;以 App 显示的为准)" in text
        assert "买家证明材料上传期限:24 小时,提交售后申请起" in text
        assert "如果今天提交:最晚 2026-11-23" in text
        assert "审核时间:24 小时,收到证明材料起" in text
        assert "平台接受的证据:物流详情、照片、视频 [" in text
        assert "「帮助中心」申请退款" in text and "「更多功能」" in text  # both in-app refund paths of seed 000
        assert "⏰ 截止前提醒我" in ann.buttons


async def test_durable_quality_problem_counts_months(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        ann = chat(app, api)
        await ann.send("/refund")
        await ann.press("产品质量安全问题")
        await ann.press("印度尼西亚")
        assert "受理期分几种" in ann.text  # Indonesia's rule has two windows: which applies
        await ann.press("耐用消费品")
        await ann.send("2026-06-01")
        assert "受理期(耐用消费品):6 个月" in ann.text
        assert "其他消费品" not in ann.text
        assert "最晚 2026-12-01(还剩 9 天)" in ann.text
        assert "买家证明材料上传期限:未知(公开来源没有给出这个时限)" in ann.text


async def test_late_shipment_window_closed(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        ann = chat(app, api)
        await _case(ann, "延迟发货")
        assert "最后一次物流更新起" in ann.text
        await ann.send("3天前")
        assert "受理期:48 小时,最后一次物流更新起" in ann.text
        assert "❌ 已于 2026-11-21 截止" in ann.text
        assert "从事件发生的具体时刻起算" in ann.text
        assert "⏰ 截止前提醒我" not in ann.buttons


async def test_counterfeit_shows_both_evidence_deadlines(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        ann = chat(app, api)
        await _case(ann, "假冒产品")
        await ann.press("今天")
        assert "买家证明材料上传期限(问题肉眼可见):24 小时" in ann.text
        assert "买家证明材料上传期限(问题肉眼不可见,如无法使用):7 天" in ann.text
        assert "如果今天提交:最晚 2026-11-29" in ann.text
        assert "审核时间:未知" in ann.text


async def test_other_market_is_unknown_not_guessed(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        ann = chat(app, api)
        await ann.send("/refund")
        await ann.press("丢失包裹")
        await ann.press("其他市场")
        text = ann.text
        assert text.startswith("丢失包裹 · 其他市场\n其他市场:没有公开数据。\n在哪里查看:")
        assert "天" not in text.split("来源")[0]  # no figure guessed
        assert "☎️ TikTok 官方客服" in ann.buttons and "🌏 换个市场" in ann.buttons  # never a dead end
        await ann.press("换个市场")
        await ann.press("马来西亚")
        assert ann.text.startswith("丢失包裹 · 马来西亚\n马来西亚:没有公开数据。")


async def test_bad_and_future_dates_are_refused(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        ann = chat(app, api)
        await _case(ann, "损坏包裹")
        await ann.send("上周吧")
        assert "没看懂这个日期" in ann.text
        day_buttons = [b for b in ann.buttons if b not in ("◀ 上一步", "✖ 取消")]
        assert len(day_buttons) >= 3, ann.buttons  # the day is asked again, its buttons with it
        await ann.send("2026-12-25")
        assert "没看懂这个日期,或它在未来" in ann.text
        await ann.send("2026/11/20")
        assert "最晚 2026-11-26(还剩 4 天)" in ann.text


async def test_reminder_is_stored_and_survives_a_restart(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        ann = chat(app, api)
        await _case(ann, "产品不一致")
        await ann.press("昨天")
        await ann.press("截止前提醒我")
        assert "我会在 2026-11-26 10:00 (Asia/Jakarta) 提醒您(截止日 2026-11-27)" in ann.text
        assert app.job_queue.get_jobs_by_name("reminder-1")
    async with running_bot(tmp_path, center) as (app, api):  # restarted, still days before
        assert app.job_queue.get_jobs_by_name("reminder-1")
    due = datetime(2026, 11, 26, 10, 0, 1, tzinfo=JAKARTA)  # 10:00 where the deadline is counted
    async with running_bot(tmp_path, center, now=due) as (app, api):  # restarted after it fell due
        for _ in range(50):
            if api.sent(1):
                break
            await asyncio.sleep(0.05)
        assert any("提醒:您的“产品不一致”售后申请期限将在 2026-11-27 截止" in c.text for c in api.sent(1))
        assert await app.services.store.pending_reminders() == []


async def test_remind_me_twice_keeps_one_reminder_and_can_be_cancelled(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        ann = chat(app, api)
        await _case(ann, "产品不一致")
        await ann.press("昨天")
        result = ann.last_with_buttons()
        await ann.press("截止前提醒我")
        # The result's text stays; its buttons change to a confirmation and a way to cancel.
        assert [c.method for c in ann.replies] == ["editMessageReplyMarkup", "sendMessage"]
        assert "我会在 2026-11-26 10:00 (Asia/Jakarta) 提醒您" in ann.text
        assert ann.buttons[:2] == ["✅ 已设提醒:11-26 10:00", "✖ 取消提醒"]
        await ann.press("截止前提醒我", call=result)  # the same button again, from the old keyboard
        assert ann.alerts == ["这个截止日已经设过提醒了:我会在 2026-11-26 10:00 (Asia/Jakarta) 提醒您。"]
        assert ann.buttons[:2] == ["✅ 已设提醒:11-26 10:00", "✖ 取消提醒"]
        assert "我会在" not in ann.text  # no second confirmation message either
        for _ in range(200):
            await ann.press_data("ref:remind", result)
        store = app.services.store
        assert len(await store.pending_reminders()) == 1
        assert len(app.job_queue.get_jobs_by_name("reminder-1")) == 1
        await ann.press("已设提醒")
        assert ann.alerts == ["这个截止日已经设过提醒了:我会在 2026-11-26 10:00 (Asia/Jakarta) 提醒您。"]
        await ann.press("取消提醒")
        assert ann.alerts == ["已取消提醒。"]
        assert "⏰ 截止前提醒我" in ann.buttons
        assert await store.pending_reminders() == []
        assert not [j for j in app.job_queue.get_jobs_by_name("reminder-1") if not j.removed]
        await ann.press("截止前提醒我")  # asked again after cancelling: a new reminder
        assert len(await store.pending_reminders()) == 1
        await ann.send("/refund")  # the result shown again knows its reminder
        await ann.press("产品不一致")  # the market is remembered
        await ann.press("昨天")
        assert "✅ 已设提醒:11-26 10:00" in ann.buttons


async def test_store_keeps_one_pending_reminder_per_request(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, _api):
        store = app.services.store
        due = datetime(2026, 11, 26, 10, 0, tzinfo=TZ)
        request = "mismatch:ID:-:2026-11-21"
        ids = await asyncio.gather(*(store.add_reminder(1, 1, due, {"case": "x"}, due, request=request)
                                     for _ in range(200)))
        assert len(set(ids)) == 1 and len(await store.pending_reminders()) == 1
        await store.add_reminder(1, 1, due, {"case": "y"}, due, request="lost_package:ID:-:2026-11-21")
        await store.add_reminder(2, 2, due, {"case": "x"}, due, request="mismatch:ID:-:2026-11-21")
        assert len(await store.pending_reminders()) == 3  # another request, another user


async def test_date_step_reads_common_forms(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        ann = chat(app, api)
        for typed in ("11月18日", "11-18", "11/18", "两天前"):
            await _case(ann, "损坏包裹")
            label = "11-18"
            assert label in ann.buttons  # the bot's own day button, typed
            await ann.send(typed)
            expected = "起算日:2026-11-20" if typed == "两天前" else "起算日:2026-11-18"
            assert expected in ann.text, (typed, ann.text)
        bob = chat(app, api, user_id=9, language_code="en-GB", first_name="Bob")
        for typed, day in (("Nov 18", "2026-11-18"), ("18 Nov", "2026-11-18"), ("November 18, 2026", "2026-11-18"),
                           ("2 days ago", "2026-11-20")):
            await bob.send("/refund")
            await bob.press("Damaged package")
            if "Indonesia" in bob.buttons:
                await bob.press("Indonesia")
            await bob.send(typed)
            assert f"Counted from: {day}" in bob.text, (typed, bob.text)
        await _case(ann, "损坏包裹")
        await ann.send("12月25日")  # no year: the most recent 25 December, last year
        assert "起算日:2025-12-25" in ann.text


async def test_refund_in_english(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        bob = chat(app, api, user_id=9, language_code="en-GB", first_name="Bob")
        await bob.send("/refund")
        await bob.press("Lost package")
        await bob.press("Indonesia")
        await bob.send("yesterday")
        assert "Acceptance window: 7 days, after the last tracking update" in bob.text
        assert "✅ Still open: file by 2026-11-28 (6 days left)" in bob.text
        assert "Decision time: unknown (no public source states this limit)" in bob.text


async def test_cancelled_reminder_is_not_sent_after_a_restart(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        ann = chat(app, api)
        await _case(ann, "产品不一致")
        await ann.press("昨天")
        await ann.press("截止前提醒我")
        await ann.press("取消提醒")
    due = datetime(2026, 11, 26, 10, 0, 1, tzinfo=JAKARTA)
    async with running_bot(tmp_path, center, now=due) as (app, api):
        await asyncio.sleep(0.3)
        assert not any("提醒:" in c.text for c in api.sent(1))


async def test_reminders_of_an_older_database_are_kept(tmp_path: Path, center: HelpCenter) -> None:
    import sqlite3

    with sqlite3.connect(tmp_path / "helpcenter.sqlite3") as db:  # the table before request keys
        db.execute("CREATE TABLE reminders (id INTEGER PRIMARY KEY, chat_id INTEGER NOT NULL, user_id INTEGER"
                   " NOT NULL, due_at TEXT NOT NULL, payload TEXT NOT NULL, status TEXT NOT NULL DEFAULT"
                   " 'pending', created_at TEXT NOT NULL)")
        db.execute("INSERT INTO reminders(chat_id, user_id, due_at, payload, created_at) VALUES"
                   " (1, 1, '2026-11-26T02:00:00+00:00', '{\"lang\": \"zh\", \"case\": \"产品不一致\","
                   " \"deadline\": \"2026-11-27\"}', '2026-11-22T02:00:00+00:00')")
    async with running_bot(tmp_path, center) as (app, api):
        assert [r.id for r in await app.services.store.pending_reminders()] == [1]
        ann = chat(app, api)
        await _case(ann, "产品不一致")
        await ann.press("昨天")
        await ann.press("截止前提醒我")
        assert "我会在 2026-11-26 10:00 (Asia/Jakarta) 提醒您" in ann.text
        assert len(await app.services.store.pending_reminders()) == 2


# --- a lost package where the window counts from Delivered (Thailand, Vietnam) ---------------------

LOST = {  # language → (the case, the "never delivered" button, what the result says)
    "zh-hans": ("丢失包裹", "📭 一直没有签收/送达",
                ("公开来源规定这个期限自订单显示“已签收/已送达”起计算,但没有说明如果这一步一直没有发生",
                 "在哪里查看:", "TikTok 官方客服")),
    "en": ("Lost package", "📭 Never delivered",
           ("The public source opens this window after the order is marked Delivered, and does not say how it"
            " applies if that never happens", "Where to look:", "TikTok's official customer service")),
}


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("market", ["VN", "TH"])
async def test_a_lost_package_is_not_told_to_wait_for_delivery(tmp_path: Path, center: HelpCenter, language: str,
                                                                market: str) -> None:
    """A lost parcel may never be marked Delivered: the calculator does not say the window "has not
    started, send /refund once it has"; it says the source does not say how the window applies
    then, where to look in the app, and TikTok's customer service."""
    case, never, says = LOST[language]
    zh = language != "en"
    names = {"VN": ("越南", "Vietnam"), "TH": ("泰国", "Thailand")}[market]
    async with running_bot(tmp_path, center) as (app, api):
        ann = chat(app, api, language_code=language)
        await ann.send("/refund")
        await ann.press(case)
        await ann.press(names[0] if zh else names[1])
        if market == "TH":
            await ann.press("非 Mall" if zh else "non-Mall")
        assert never in ann.buttons
        assert not any("Not delivered yet" in b or "还没签收" in b for b in ann.buttons)
        await ann.press(never)
        text = ann.text
        for part in says:
            assert part in text, text
        assert ("15 个自然日" if market == "VN" else "7 个自然日") in text if zh else \
            ("15 calendar days" if market == "VN" else "7 calendar days") in text
        for wait in ("还没开始计算", "再算一次", "has not started", "once it has"):
            assert wait not in text
        assert ("☎️ TikTok 官方客服" if zh else "☎️ TikTok support") in ann.buttons  # no agents: TikTok's own
        assert ("☎️ TikTok 官方客服" if zh else "☎️ TikTok support") in text  # and the text names that button
        assert not any("⏰" in b for b in ann.buttons)  # no deadline, no reminder


async def test_a_lost_package_with_a_day_says_what_the_window_counts_from(tmp_path: Path,
                                                                          center: HelpCenter) -> None:
    async with running_bot(tmp_path, center, support_chat_id=-100) as (app, api):
        bob = chat(app, api, language_code="en")
        await bob.send("/refund")
        await bob.press("Lost package")
        await bob.press("Vietnam")
        await bob.press("Yesterday")
        assert "Still open: file by 2026-12-06 (14 days left)" in bob.text
        assert "If that never happened (as with a lost parcel), the public source does not say" in bob.text
        await bob.send("/refund")
        await bob.press("Damaged package")  # Vietnam kept; a damaged parcel arrives: "not yet" as before
        await bob.press("Not delivered yet")
        assert "has not started" in bob.text and "never happen" not in bob.text
        await bob.send("/refund")
        await bob.press("Lost package")
        await bob.press("Never delivered")
        assert 'tap "👤 Talk to a human" below' in bob.text  # with agents: a person


def test_the_general_lost_and_late_answers_claim_no_start_event_for_every_market(center: HelpCenter) -> None:
    """Only Indonesia's sources count the lost and late windows from the last tracking update:
    the entries' general steps do not say it; Vietnam's and Thailand's answers do not show it."""
    r, kb = center.renderer, center.kb
    for entry_id in ("dispute-lost-package", "dispute-late-shipment"):
        entry = kb.by_id[entry_id]
        for lang in ("zh", "en"):
            tracking = kb.glossary.events["last_tracking_update"][lang]
            assert not any(tracking.removeprefix("after ") in s for s in entry.texts[lang].steps)
            for market in ("VN", "TH"):
                own = "\n".join(r.answer(entry, lang, market=market)).split(r.t("mkt.others", lang))[0]
                assert tracking not in own, (entry_id, lang, market)


# --- Thailand: Mall or not, when the buyer does not know -----------------------------------------

@pytest.mark.parametrize("language", ["zh-hans", "en"])
async def test_a_buyer_not_sure_which_variant_gets_each_window_labelled(tmp_path: Path, center: HelpCenter,
                                                                        language: str) -> None:
    zh = language != "en"
    async with running_bot(tmp_path, center) as (app, api):
        ann = chat(app, api, language_code=language)
        await ann.send("/refund")
        await ann.press("损坏包裹" if zh else "Damaged package")
        await ann.press("泰国" if zh else "Thailand")
        unsure = "🤷 不确定,都列出来" if zh else "🤷 Not sure: show each"
        assert unsure in ann.buttons
        await ann.press(unsure)
        await ann.press("昨天" if zh else "Yesterday")  # Bangkok: 2026-11-22, so the 21st
        text = ann.text
        if zh:
            assert "退货/退款申请期限(Mall 商家):15 个自然日" in text
            assert "退货/退款申请期限(非 Mall 商家):7 个自然日" in text
            assert "最晚 2026-12-06(还剩 14 天)" in text and "最晚 2026-11-28(还剩 6 天)" in text
            assert "您不确定属于哪一种" in text
        else:
            assert "Return/refund request window (Mall sellers): 15 calendar days" in text
            assert "Return/refund request window (non-Mall sellers): 7 calendar days" in text
            assert "file by 2026-12-06 (14 days left)" in text and "file by 2026-11-28 (6 days left)" in text
            assert "You were not sure which applies" in text
        await ann.press("⏰")
        assert "2026-11-28" in ann.text  # reminded of the first window to close
        assert app.user_data[ann.user_id].ref.variant == "unsure"


async def test_a_seller_at_refund_is_pointed_to_the_sellers_side(tmp_path: Path, center: HelpCenter) -> None:
    """/refund is the buyer's filing window: a seller sees that first, with the way to the seller's
    side of each case, and can still go on (a seller may be a buyer too)."""
    async with running_bot(tmp_path, center) as (app, api):
        bob = chat(app, api, user_id=77, language_code="en")
        await bob.send("/start")
        await bob.press("I am a seller")
        await bob.send("/refund")
        assert bob.text.startswith("This works out a buyer's filing deadlines.")
        assert "Lost package" in bob.buttons
        await bob.press("Dispute rules by case")
        assert "seller's side" in bob.text
        ann = chat(app, api, user_id=78, language_code="en")
        await ann.send("/start")
        await ann.press("I am a buyer")
        await ann.send("/refund")
        assert ann.text.startswith("What happened?") and "⚖️ Dispute rules by case" not in ann.buttons
