"""Seller flows, free-text questions anywhere, FAQ browsing, and hand-off without an agents' group."""

from __future__ import annotations

from pathlib import Path

from helpcenter.core import HelpCenter

from .botkit import chat, running_bot


async def test_seller_warehouse_by_kind_of_seller(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        sam = chat(app, api, user_id=5)
        await sam.send("/seller")
        assert "卖家菜单" in sam.text
        await sam.press("设置退货仓库")
        assert sam.buttons[:3] == ["美国本土卖家", "中国跨境卖家(美国站)", "东南亚跨境卖家"]
        await sam.press("中国跨境卖家")
        assert "Seller Center → 仓库管理 → 退货仓库设置" in sam.text
        assert "DPV" in sam.text
        assert "我的账户 → 卖家资料" not in sam.text  # only what applies to this seller
        await sam.press("上一步")
        await sam.press("东南亚跨境卖家")
        assert "我的账户 → 卖家资料 → 仓库地址 → 退货仓库 → 新建仓库" in sam.text
        assert "仅退款" in sam.text


async def test_seller_response_time_by_market(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        sam = chat(app, api, user_id=5)
        await sam.send("/seller")
        await sam.press("处理退款/退货申请")
        await sam.press("美国")
        assert "美国 · 卖家响应退货/退款申请的时限,超时自动同意:24 小时" in sam.text
        assert "2023-12-05" in sam.text
        assert "泰国" not in sam.text.split("来源")[0]
        await sam.press("换个市场")
        await sam.press("泰国")
        assert "泰国 · 卖家响应退货/退款申请的时限,超时自动同意退款:1 个工作日,提交售后申请起" in sam.text
        await sam.send("/seller")
        await sam.press("处理退款/退货申请")  # the market said once: straight to its view
        assert sam.text.startswith("卖家处理买家的退款/退货申请\n• 美国")


async def test_seller_dispute_case_and_prevention(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        sam = chat(app, api, user_id=5, language_code="en")
        await sam.send("/seller")
        await sam.press("Dispute rules by case")
        await sam.press("Item not as ordered")
        assert "Seller's evidence deadline: 24 hours, after the seller is notified" in sam.text
        await sam.send("/menu")
        await sam.press("Dispute prevention checklist")
        assert "Check quantity, colour, size, model and accessories before shipping" in sam.text


async def test_free_text_anywhere_is_answered(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        ann = chat(app, api)
        await ann.send("包裹損壞了怎麼辦")  # traditional characters
        assert ann.text.startswith("损坏包裹")
        answer = ann.last_with("🏠 菜单")  # the market question (asked once) comes below it
        assert "☎️ TikTok 官方客服" in answer.button_texts  # no agents configured
        await ann.press("➜ 退换货/售后争议规则总览", answer)
        assert ann.text.startswith("退换货/售后争议规则总览")


async def test_unclear_question_offers_did_you_mean_then_a_human(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        ann = chat(app, api)
        await ann.send('退货 退款 <b>bold</b> & <a href="x">')
        assert "您是不是想问" in ann.text
        first = ann.replies[-1]
        assert "&lt;b&gt;bold&lt;/b&gt; &amp; &lt;a href=&#34;x&#34;&gt;" in first.text  # shown literally
        assert any(label.startswith("1. ") for label in ann.buttons)
        await ann.send("今天天气怎么样")
        assert "我只能回答 TikTok Shop 退货、退款和售后的问题" in ann.text
        assert "查看怎么联系 TikTok Shop 官方客服" in ann.text  # second miss in a row (no agents)
        await ann.press("TikTok 官方客服")
        assert "TikTok Shop 官方客服" in ann.text


async def test_asking_for_a_person_in_words_hands_off(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        bob = chat(app, api, user_id=3, language_code="en")
        await bob.send("I want to talk to a real person")
        assert "Reach a person" in bob.text
        assert "the order → Help Centre" in bob.text  # no agents' group: TikTok Shop's own service
        assert "an agent takes over" not in bob.text  # and no promise nobody can keep


async def test_faq_browses_by_role_and_theme_with_pages(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        ann = chat(app, api)
        await ann.send("/start")
        await ann.press("我是买家")
        await ann.send("/faq")
        assert "常见问题 · 买家" in ann.text
        assert "🏪 卖家操作" not in ann.buttons
        await ann.press("📦 退货")
        assert "📦 退货(1/2)" in ann.text
        assert len([b for b in ann.buttons if b not in ("下一页 ➡", "↩ 返回主题")]) == 6
        await ann.press("下一页")
        assert "📦 退货(2/2)" in ann.text
        await ann.press("第 6 步")
        assert ann.text.startswith("第 6 步:寄回后等待退款或协商解决")
        assert "◀ 返回列表" in ann.buttons
        await ann.press("返回列表")
        assert "📦 退货(2/2)" in ann.text
        await ann.press("返回主题")
        await ann.press("切换到卖家")
        assert "🏪 卖家操作" in ann.buttons


async def test_huge_and_odd_unicode_messages_get_a_reply(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        ann = chat(app, api)
        for text in ["退" * 4096, "\u202e\u200b\u200d", "🙂" * 100, "<script>alert(1)</script>", "/start junk junk"]:
            replies = await ann.send(text)
            assert replies, text
            assert all("<script>" not in r.text for r in replies)
