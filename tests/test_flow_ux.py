"""The guided flows as a new user meets them (issue 9's rule "never overwrite a message the user
still needs"): kept results, the return form's checks and prompts, a closed refund window, the
date words, and /forget. Everything through the real Application; the clock is 2026-11-22 10:00
(a Sunday, Asia/Shanghai)."""

from __future__ import annotations

from pathlib import Path

from handlers.offline.botapi import Call, OfflineBotAPI
from helpcenter.answers.render import to_plain
from helpcenter.core import HelpCenter

from .botkit import Chat, chat, running_bot

ORDER = "576482930174629381"


def _still_there(api: OfflineBotAPI, ann: Chat, call: Call) -> str:
    """The text the chat shows now for a message sent earlier (edits change it)."""
    return api.messages[(ann.user_id, call.result["message_id"])]["text"]


def _sent_only(ann: Chat) -> bool:
    return bool(ann.replies) and all(c.method == "sendMessage" for c in ann.replies)


# --- 1. kept messages ------------------------------------------------------------------------

async def test_another_case_keeps_the_computed_deadline(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        ann = chat(app, api)
        await ann.send("/refund")
        await ann.press("产品不一致")
        await ann.press("印度尼西亚")
        await ann.press("昨天")
        result = ann.last_with_buttons()
        assert "最迟 2026-11-27" in to_plain(result.text)
        await ann.press("换一个情况", call=result)
        assert _sent_only(ann)  # the case chooser comes as a new message
        assert "您遇到的是哪种情况" in ann.text
        assert _still_there(api, ann, result) == result.text  # the deadline is still in the chat
        await ann.press("丢失包裹")  # a pure picker: edited in place
        assert [c.method for c in ann.replies] == ["editMessageText"]
        await ann.press("菜单", call=result)  # any button on the result: a new message
        assert _sent_only(ann) and _still_there(api, ann, result) == result.text


async def test_next_at_step_4_keeps_its_instructions(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        ann = chat(app, api)
        await ann.send("/return")
        for _ in range(3):
            await ann.press("下一步")
        step4 = ann.last_with_buttons()
        assert "填写退货申请  步骤 4/6" in to_plain(step4.text)
        await ann.press("下一步", call=step4)
        assert _sent_only(ann) and "请输入订单号" in ann.text
        assert _still_there(api, ann, step4) == step4.text
        await ann.press("下一步", call=step4)  # pressed again: stale, the current question below
        assert _sent_only(ann) and "请输入订单号" in ann.text
        assert _still_there(api, ann, step4) == step4.text


async def test_seller_back_keeps_the_warehouse_and_response_time(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        ann = chat(app, api)
        await ann.send("/seller")
        await ann.press("退货仓库")
        await ann.press("美国本土卖家")
        warehouse = ann.last_with_buttons()
        assert "Return Warehouse" in to_plain(warehouse.text) or "退货仓库" in to_plain(warehouse.text)
        await ann.press("上一步", call=warehouse)
        assert _sent_only(ann) and "您是哪类卖家" in ann.text
        assert _still_there(api, ann, warehouse) == warehouse.text
        await ann.send("/seller")
        await ann.press("处理退款")
        await ann.press("美国")
        response = ann.last_with_buttons()
        assert "24 小时" in to_plain(response.text)
        await ann.press("换个市场", call=response)
        assert _sent_only(ann) and "您在哪个市场经营" in ann.text
        assert _still_there(api, ann, response) == response.text


# --- 2. the return form ----------------------------------------------------------------------

async def _to_form(ann: Chat, lang: str = "zh") -> None:
    await ann.send("/return")
    for _ in range(4):
        await ann.press("下一步" if lang == "zh" else "Next")


async def test_fields_want_words_and_say_what_is_expected(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        ann = chat(app, api)
        await _to_form(ann)
        await ann.send(ORDER)
        await ann.send("👍")
        assert "请用文字写出商品名称和规格(至少 2 个字或字母)" in ann.text
        await ann.send("耳机")
        await ann.send("a")
        assert "请用文字写出退货原因(至少 2 个字或字母" in ann.text
        assert "与描述不符" in ann.buttons  # the reasons are still buttons
        await ann.send("左耳没有声音")
        await ann.send("ann@example.com")
        assert "退货原因:左耳没有声音" in ann.text
        await ann.press("下一步")
        await ann.press("下一步")
        await ann.send("?")
        assert "请输入物流公司的名称(至少 2 个字或字母)" in ann.text
        await ann.send("J&T")
        assert "请输入物流单号" in ann.text


async def test_prompts_show_the_step_and_the_step_buttons(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        ann = chat(app, api)
        await _to_form(ann)
        assert "填写退货信息 · 步骤 4/6 · 第 1/4 项" in ann.text and "请输入订单号" in ann.text
        assert ann.buttons == ["◀ 上一步", "💬 提个问题", "☎️ TikTok 官方客服", "✖ 取消"]
        await ann.send("12345")  # an error keeps the mark and the buttons
        assert "步骤 4/6 · 第 1/4 项" in ann.text and ann.buttons[-3:] == ["💬 提个问题", "☎️ TikTok 官方客服", "✖ 取消"]
        await ann.send(ORDER)
        await ann.send("耳机")
        await ann.press("质量问题")
        await ann.send("ann@example.com")
        await ann.press("下一步")
        await ann.press("下一步")
        assert "步骤 5/6 · 第 1/2 项" in ann.text and "💬 提个问题" in ann.buttons


async def test_ask_button_in_a_field_answers_the_question(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        ann = chat(app, api)
        await _to_form(ann)
        await ann.press("提个问题")
        await ann.send(ORDER)  # pressed by mistake: a valid order number is still the answer
        assert "要退的是哪件商品" in ann.text
        await ann.press("提个问题")
        assert "请直接输入您的问题" in ann.text
        await ann.send("吊牌剪了还能退吗")  # would pass as an item name: it is a question here
        assert "准备退货商品" in ann.text and "↩ 回到刚才的步骤" in ann.buttons
        await ann.press("回到刚才的步骤")
        assert "要退的是哪件商品" in ann.text
        await ann.send("耳机")
        assert "退货原因是什么" in ann.text
        assert app.user_data[1].ret.product == "耳机"
        await ann.press("提个问题")
        await ann.send("吊牌剪了还能退吗")
        await ann.send("尺码太小")  # one question per tap: the next text is the answer again
        assert "留一个联系方式" in ann.text and app.user_data[1].ret.reason == "尺码太小"


async def test_after_going_back_every_later_field_is_shown_again(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        ann = chat(app, api)
        await _to_form(ann)
        await ann.send(ORDER)
        await ann.send("白色 T 恤")
        await ann.press("与描述不符")
        assert "留一个联系方式" in ann.text
        await ann.press("上一步")
        assert "退货原因是什么" in ann.text and "现在填的是:与描述不符" in ann.text
        await ann.press("上一步")
        assert "现在填的是:白色 T 恤" in ann.text and "✓ 保留,下一项" in ann.buttons
        await ann.send("黑色 T 恤 L 码")
        assert "退货原因是什么" in ann.text  # not skipped: the user sees the reason and confirms it
        assert "现在填的是:与描述不符" in ann.text
        await ann.press("保留")
        assert "留一个联系方式" in ann.text
        await ann.send("ann@example.com")
        assert "商品:黑色 T 恤 L 码" in ann.text and "退货原因:与描述不符" in ann.text


async def test_failed_check_gets_the_field_message_in_both_languages(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        bob = chat(app, api, user_id=7, language_code="en", first_name="Bob")
        await _to_form(bob, "en")
        await bob.send(ORDER)
        await bob.send("Blue mug")
        await bob.press("Not as described")
        await bob.send("not a contact")
        assert "does not look like a contact" in bob.text
        await bob.send("how long does a refund take")  # a question word: answered, then asked again
        assert "refund" in bob.text.lower() and "still waiting" in bob.text and "Leave a contact" in bob.text
        ann = chat(app, api)
        await _to_form(ann)
        await ann.send(ORDER)
        await ann.send("耳机")
        await ann.press("质量问题")
        await ann.send("不是联系方式")
        assert "这看起来不像联系方式" in ann.text
        await ann.send("退款多久到账")
        assert "我仍在等您输入上面要求的内容" in ann.text and "留一个联系方式" in ann.text


# --- 3. a closed refund window ---------------------------------------------------------------

async def test_closed_window_says_what_to_do_instead(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        ann = chat(app, api)
        await ann.send("/refund")
        await ann.press("产品不一致")
        await ann.press("印度尼西亚")
        await ann.send("2026-11-01")
        text = ann.text
        assert "❌ 已于 2026-11-07 截止。" in text
        assert "现在可以怎么做" in text and "平台不再对这个情况作出裁决" in text and "联系卖家" in text
        assert "如果今天提交" not in text and "怎么提交" not in text and "证明材料上传期限" not in text
        assert "售后争议指南" in text  # the source of "no ruling past the window"
        assert "⏰ 截止前提醒我" not in ann.buttons
        bob = chat(app, api, user_id=7, language_code="en", first_name="Bob")
        await bob.send("/refund")
        await bob.press("Item not as ordered")
        await bob.press("Indonesia")
        await bob.send("Nov 1")
        text = bob.text
        assert "❌ Closed on 2026-11-07." in text and "What you can do now" in text
        assert "If you file today" not in text and "How to file" not in text


# --- 4. date words ---------------------------------------------------------------------------

async def test_date_step_reads_month_numerals_day_marks_and_weekdays(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        ann = chat(app, api)
        bob = chat(app, api, user_id=7, language_code="en", first_name="Bob")
        for who, typed, day in ((ann, "十一月二十日", "2026-11-20"), (ann, "18号", "2026-11-18"),
                                (ann, "30日", "2026-10-30"), (ann, "上周五", "2026-11-13"),
                                (bob, "last Friday", "2026-11-20"), (bob, "Sunday", "2026-11-22")):
            await who.send("/refund")
            await who.press("产品不一致" if who is ann else "Item not as ordered")
            market = "印度尼西亚" if who is ann else "Indonesia"
            if market in who.buttons:  # asked the first time, then remembered
                await who.press(market)
            await who.send(typed)
            assert f"{day}" in who.text and ("起算日" in who.text or "Counted from" in who.text), (typed, who.text)


# --- 5, 6. /forget ---------------------------------------------------------------------------

async def test_forget_counts_only_pending_reminders(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        ann = chat(app, api)
        await ann.send("/refund")
        await ann.press("产品不一致")
        await ann.press("印度尼西亚")
        await ann.press("昨天")
        await ann.press("截止前提醒我")
        await ann.press("取消提醒")
        assert ann.alerts == ["已取消提醒。"]
        await ann.press("换一个情况")
        await ann.press("假冒产品")  # the market stays chosen
        await ann.press("昨天")
        await ann.press("截止前提醒我")
        await ann.send("/forget")
        await ann.press("确定删除")
        assert "0 条提问记录、1 个提醒、0 个工单" in ann.text


async def test_after_forget_an_english_user_stays_in_english(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        bob = chat(app, api, user_id=7, language_code="en", first_name="Bob")
        await bob.send("/return")
        await bob.send("how long does a refund take")
        answer = bob.last_with_buttons()
        assert "↩ Back to where I was" in answer.button_texts
        await bob.send("/forget")
        await bob.press("Yes, delete")
        await bob.press("Back to where I was", call=answer)  # user_data is gone
        assert "Hello Bob!" in bob.text and "buyer or a seller" in bob.text
        assert _still_there(api, bob, answer) == answer.text
        assert app.user_data[7].lang == "en"


async def test_menu_button_on_an_answer_keeps_the_answer(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        ann = chat(app, api)
        await ann.send("/start")
        await ann.press("我是买家")
        await ann.send("退款多久到账")
        answer = ann.last_with_buttons()
        assert "🏠 菜单" in answer.button_texts
        await ann.press("菜单", call=answer)
        assert _sent_only(ann) and "买家菜单" in ann.text
        assert _still_there(api, ann, answer) == answer.text
        await ann.press("申请退款")  # the menu itself is a pure menu: edited in place
        assert [c.method for c in ann.replies] == ["editMessageText"]


async def test_a_greeting_says_only_what_the_buttons_below_it_offer(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        for user_id, language, hello, menu in ((1, "en", "hi", "menu"), (2, "zh-hans", "你好", "菜单")):
            ann = chat(app, api, user_id=user_id, language_code=language)
            await ann.send("/refund")  # inside a flow: the greeting has only the way back
            await ann.send(hello)
            greeting = ann.replies[0]
            assert greeting.button_texts == ["↩ 回到刚才的步骤" if language != "en" else "↩ Back to where I was"]
            assert menu not in to_plain(greeting.text).lower(), greeting.text  # no menu to point at
            await ann.send("/menu")
            await ann.send(hello)  # on the menu: the greeting, then the menu itself
            assert [c.method for c in ann.replies] == ["sendMessage", "sendMessage"]
            assert ann.replies[1].buttons
