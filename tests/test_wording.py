"""What users read: every screen in one language, flat parentheses, no internal words, one step
mark, hand-off wording true with and without agents, the agents' card and /stats in words."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from helpcenter.answers.render import to_plain
from helpcenter.core import HelpCenter

from .botkit import NOW, Chat, chat, running_bot

SUPPORT = -1005000
ADMIN = 42

HAN = re.compile(r"[\u3400-\u9fff]")
MARKED_ZH = re.compile(r"「[^」]*」")  # a quoted in-app name that exists only in Chinese
URL = re.compile(r"<https?://[^>]*>")
INTERNAL = re.compile(r"\b(seed|seeds|mission|policy-facts|todo|fixme)\b|种子", re.IGNORECASE)
RAW_ID = re.compile(r"\b[a-z]+_[a-z_]+\b|\b(refund|return|dispute|seller|handoff)\.[a-z_]+\b")
ENTITY = re.compile(r"&(#\d+|#x[0-9a-f]+|[a-z]+);")
STEP_MARK = re.compile(r"第 ?\d+ ?步|步骤 ?\d+|\bStep \d+")
LATIN_WORD = re.compile(r"[A-Za-z0-9.&'-]*[A-Za-z][A-Za-z0-9.&'-]*")
# Proper names that a Chinese screen writes in Latin letters (brands, sites, app names).
PROPER = {"TikTok", "Tiktok", "Shop", "by", "Tokopedia", "App", "Mall", "SKU", "BigSeller", "ChannelX",
          "TT123", "zz988.cn", "tktoc.com", "56ok"}


def _depth_ok(text: str) -> bool:
    depth = 0
    for ch in text:
        if ch in "((":
            depth += 1
            if depth > 1:
                return False
        elif ch in "))":
            depth = max(depth - 1, 0)
    return True


def _screens(center: HelpCenter) -> list[tuple[str, str, str]]:
    """(what, lang, plain text) for every entry, with and without agents, and flow steps as shown."""
    out = []
    for agents in (False, True):
        r = center.renderer.for_agents(agents)
        for entry in center.kb.entries:
            for lang in ("zh", "en"):
                progress = r.t("step_of", lang, n=entry.step, total=6) if entry.step else ""
                for shown in (r.answer(entry, lang), r.answer(entry, lang, progress=progress)):
                    out.append((f"{entry.id} agents={agents}", lang, "\n".join(map(to_plain, shown))))
                if entry.seller is not None:  # the seller's view of a dispute case
                    out.append((f"{entry.id} seller agents={agents}", lang,
                                "\n".join(map(to_plain, r.seller_case(entry, lang)))))
    return out


async def _refund_results(tmp_path: Path, center: HelpCenter) -> list[tuple[str, str, str]]:
    """Every refund case x variant x market result, in both languages, as the bot sends it."""
    kb = center.kb
    out = []
    async with running_bot(tmp_path, center) as (app, api):
        for n, lang in enumerate(("zh", "en")):
            user = chat(app, api, user_id=100 + n, language_code="en" if lang == "en" else "zh-hans")
            for case in kb.glossary.cases:
                for market in kb.vocabulary.markets:
                    rule = kb.rule_for(case, market)
                    for variant in (rule.variants if rule and rule.variants else [None]):
                        user.app.user_data[user.user_id].market = None  # the market picker every time
                        await user.send("/refund")
                        await user.press_data(f"ref:case:{case}", user.last_with_buttons())
                        await user.press_data(f"ref:mkt:{market}", user.last_with_buttons())
                        if variant:
                            await user.press_data(f"ref:var:{variant}", user.last_with_buttons())
                        if rule is not None:
                            await user.press_data(f"ref:day:{(NOW - timedelta(days=1)).date()}",
                                                  user.last_with_buttons())
                            assert "⏰" in " ".join(user.buttons) or "❌" in user.text, (case, market, lang)
                        else:  # no public figure there: where to look, and a person
                            assert ("🌏" in " ".join(user.buttons) and "👤" in " ".join(user.buttons)) or \
                                "☎️" in " ".join(user.buttons), (case, market, lang)
                        for mark in ("👤", "☎️"):  # a button the text points to is there
                            assert mark not in user.text or mark in " ".join(user.buttons), (case, market, lang)
                        out.append((f"refund {case}/{variant}/{market}", lang, user.text))
    return out


def _entry_texts(center: HelpCenter, lang: str) -> list[str]:
    """Content written by editors (steps, notes, titles): they may quote in-app names as they are."""
    texts = []
    for entry in center.kb.entries:
        t = entry.texts[lang]
        texts += [t.title, *t.steps, *t.notes]
    # where to look in the app (content/markets.yaml): in-app names quoted as the app shows them
    texts += [look.texts[lang] for looks in center.kb.markets.look.values() for look in looks.values()]
    return sorted(texts, key=len, reverse=True)


def _check(center: HelpCenter, screens: list[tuple[str, str, str]]) -> None:
    editors = {lang: _entry_texts(center, lang) for lang in ("zh", "en")}
    for what, lang, text in screens:
        plain = URL.sub("", text)
        assert _depth_ok(plain), (what, lang, [line for line in plain.splitlines() if not _depth_ok(line)])
        assert not INTERNAL.search(plain), (what, lang, INTERNAL.search(plain))
        assert not RAW_ID.search(plain), (what, lang, RAW_ID.search(plain))
        assert not ENTITY.search(plain), (what, lang, ENTITY.search(plain))  # escaped twice
        for line in plain.splitlines():
            assert len(STEP_MARK.findall(line)) <= 1, (what, lang, line)
        if lang == "en":
            stray = HAN.findall(MARKED_ZH.sub("", plain))
            assert not stray, (what, [line for line in plain.splitlines() if HAN.search(MARKED_ZH.sub("", line))])
        else:
            generated = plain
            for piece in editors["zh"]:
                generated = generated.replace(piece, "")
            generated = re.sub(r"/[a-z]+", "", generated)  # bot commands are typed as they are
            generated = re.sub(r"\b[A-Z][a-z]+/[A-Z][A-Za-z_]+\b", "", generated)  # time zones: IANA names
            english = {w.rstrip(".") for w in LATIN_WORD.findall(generated)} - PROPER
            assert not english, (what, english)


async def test_every_screen_is_flat_one_language_and_free_of_internal_words(tmp_path: Path,
                                                                              center: HelpCenter) -> None:
    screens = _screens(center) + await _refund_results(tmp_path, center)
    assert len({what for what, _, _ in screens if what.startswith("refund")}) >= 6
    _check(center, screens)


def test_the_checks_catch_what_the_issue_quoted(center: HelpCenter) -> None:
    """The checks themselves, on the texts users were shown before the fix."""
    assert not _depth_ok("• 美国(商品损坏或有缺陷(退款保证,不含二手)):90 天")
    assert not _depth_ok("• 卖家响应时限(印度尼西亚(东南亚)):2 个自然日")
    assert INTERNAL.search("Path 1 (seed article, Chinese app): Me → …")
    assert len(STEP_MARK.findall("Step 1: check the return policy  Step 1/6")) == 2
    assert HAN.search(MARKED_ZH.sub("", "[1] TikTok小店售后如何退款?(TT123 跨境问答), 2024-12-30"))
    assert not HAN.search(MARKED_ZH.sub("", "More features (「更多功能」)"))
    assert RAW_ID.search("dispute.quality_safety: 3")


def test_figures_read_as_label_then_value(center: HelpCenter) -> None:
    en = to_plain(center.renderer.answer(center.kb.by_id["refund-arrival"], "en")[0])
    assert "• United States · Time for most refunds to be issued: 3–10 business days" in en
    zh = to_plain(center.renderer.answer(center.kb.by_id["seller-handle-refund"], "zh")[0])
    assert "• 美国 · 卖家响应退货/退款申请的时限,超时自动同意:24 小时" in zh
    assert "(美国)" not in zh and "within (" not in en


def test_a_flow_step_shows_one_step_mark(center: HelpCenter) -> None:
    r = center.renderer
    entry = center.kb.flow_steps()[0]
    for lang, mark, title in (("zh", "步骤 1/6", "了解退货政策"), ("en", "Step 1/6", "Check the return policy")):
        first = to_plain(r.answer(entry, lang, progress=r.t("step_of", lang, n=1, total=6))[0]).splitlines()[0]
        assert first.startswith(title) and first.endswith(mark), first
        assert len(STEP_MARK.findall(first)) == 1
        # Outside the flow (an answer, the FAQ) the title keeps its own step number.
        assert STEP_MARK.search(to_plain(r.answer(entry, lang)[0]).splitlines()[0])


# --- /human and the hand-off FAQ entry -------------------------------------------------------------

async def test_human_without_agents_says_so_and_points_to_tiktok(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        ann = chat(app, api)
        await ann.send("/human")
        text = ann.text
        assert "本机器人没有人工客服,无法为您转接真人" in text
        assert "订单 → 右上角「帮助中心」" in text and "Your orders → Help(右上角)→ Get Help → Contact us" in text
        assert "也可以" not in text  # no "also" after nothing
        assert "客服会接手" not in text
        bob = chat(app, api, user_id=2, language_code="en")
        await bob.send("/human")
        assert "This bot has no live agents" in bob.text
        assert "Your orders → Help (top right) → Get Help → Contact us" in bob.text
        assert "also" not in bob.text.lower()
        cai = chat(app, api, user_id=3)  # an Indonesian buyer: the US app's path is another market's
        await cai.send("/market")
        await cai.press("印度尼西亚")
        await cai.send("/human")
        own, others = cai.text.split("🌏 其他市场")
        assert "订单 → 右上角「帮助中心」" in own and "Get Help → Contact us" in others
        # The FAQ entry about reaching a person says the same, opened from a button.
        await ann.press_data("ans:handoff-human", ann.last_with_buttons())
        assert "本机器人没有人工客服" in ann.text and "客服会接手" not in ann.text


async def test_faq_entry_promises_agents_only_when_there_are_some(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center, support_chat_id=SUPPORT) as (app, api):
        ann = chat(app, api)
        await ann.send("/start")
        await ann.press("我是买家")
        await ann.press_data("ans:handoff-human", ann.last_with_buttons())
        assert "本机器人的客服会接手,并能看到您和我刚才的对话" in ann.text
        assert "没有人工客服" not in ann.text
        assert "「帮助中心」" in ann.text  # TikTok's own service is still named


def test_handoff_entry_says_the_same_paths_in_both_languages(center: HelpCenter) -> None:
    entry = center.kb.by_id["handoff-human"]
    zh, en = (" ".join(entry.texts[lang].steps) for lang in ("zh", "en"))
    us_path = ("Your orders", "Help", "Get Help", "Contact us")
    for text in (zh, en):
        assert all(part in text for part in us_path) and "帮助中心" in text
    assert "美国" in zh and "US app" in en


# --- the agents' card ----------------------------------------------------------------------------

def _card(api) -> str:
    return next(c.text for c in api.calls if c.method == "sendMessage"
                and str(c.params.get("chat_id")) == str(SUPPORT) and "🎫" in c.text)


async def _refund_then_human(user: Chat, case: str, variant: str | None = None) -> None:
    await user.send("/refund")
    await user.press_data(f"ref:case:{case}", user.last_with_buttons())
    await user.press_data("ref:mkt:ID", user.last_with_buttons())
    if variant:
        await user.press_data(f"ref:var:{variant}", user.last_with_buttons())
    await user.press_data(f"ref:day:{(NOW - timedelta(days=1)).date()}", user.last_with_buttons())
    shown = user.text
    await user.press_data("human", user.last_with_buttons())
    assert "最晚 2026-11-27(还剩 5 天)" in shown or "file by 2026-11-27 (5 days left)" in shown


async def test_card_in_chinese_has_words_and_the_deadline_the_user_saw(tmp_path: Path,
                                                                       center: HelpCenter) -> None:
    async with running_bot(tmp_path, center, support_chat_id=SUPPORT) as (app, api):
        ann = chat(app, api)
        await _refund_then_human(ann, "damaged_package")
        card = _card(api)
        assert "· 中文 · 买家" in card
        assert "• 情况:损坏包裹" in card and "• 市场:印度尼西亚" in card
        assert "• 起算日:2026-11-21" in card
        assert "• 最晚申请日:2026-11-27(还剩 5 天)" in card
        for raw in ("case", "market", "day", ": ID", " zh ", "buyer", "damaged_package"):
            assert raw not in card, raw


async def test_card_follows_support_lang_with_variant(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center, support_chat_id=SUPPORT, support_lang="en") as (app, api):
        ann = chat(app, api)  # a Chinese-speaking buyer, English-speaking agents
        await ann.send("/refund")
        await ann.press_data("ref:case:quality_safety", ann.last_with_buttons())
        await ann.press_data("ref:mkt:ID", ann.last_with_buttons())
        await ann.press_data("ref:var:non_durable", ann.last_with_buttons())
        await ann.send("2026-11-22")
        await ann.press_data("human", ann.last_with_buttons())
        card = _card(api)
        assert "· Chinese · buyer" in card
        assert "• Case: Quality or safety problem" in card and "• Variant: other consumer goods" in card
        assert "• Market: Indonesia" in card and "• Counted from: 2026-11-22" in card
        assert "• Last day to file: 2026-12-06 (14 days left)" in card
        assert not HAN.search(card), card


# --- /stats ----------------------------------------------------------------------------------------

async def test_stats_show_titles_and_say_none(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center, admin_ids=frozenset({ADMIN})) as (app, api):
        admin = chat(app, api, user_id=ADMIN)
        await admin.send("/stats")
        assert "未回答最多的问题\n无" in admin.text and "热门主题\n无" in admin.text
        store = app.services.store
        await store.log_question(7, "zh", "东西坏了", "dispute-quality-safety", "dispute.quality_safety", 0.9, NOW)
        boss = chat(app, api, user_id=ADMIN, language_code="en")
        await boss.send("/lang")
        await boss.press("English")
        await boss.send("/stats")
        title = center.kb.by_id["dispute-quality-safety"].texts["en"].title
        assert f"Top topics\n{title}: 1" in boss.text
        assert "Top unanswered questions\nnone" in boss.text
        assert "dispute.quality_safety" not in boss.text


async def test_card_names_the_seller_screen_not_its_code(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center, support_chat_id=SUPPORT) as (app, api):
        sam = chat(app, api, user_id=5)
        await sam.send("/seller")
        await sam.press("设置退货仓库")
        await sam.press_data("human", sam.last_with_buttons())
        card = _card(api)
        assert "📍 🏬 设置退货仓库" in card and "sel_wh" not in card
        assert "· 中文 · 卖家" in card


def test_a_source_title_in_one_language_is_refused_with_its_line(content_copy: Path) -> None:
    from helpcenter.core import check

    path = content_copy / "sources.yaml"
    text = path.read_text(encoding="utf-8")
    old = '    title:\n      zh: "TikTok Shop 美国:退货政策"\n      en: "TikTok Shop US: Return policy"\n'
    assert old in text
    line = text[: text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, '    title: "TikTok Shop US: Return policy"\n'), encoding="utf-8")
    errors = [str(e) for e in check(content_copy)]
    assert any(e.endswith(f"sources.yaml:{line}: source us-return-policy: title needs both languages"
                          " ({zh: ..., en: ...})") for e in errors), errors


def test_content_never_points_up_or_down(center: HelpCenter) -> None:
    """Where a figure shows depends on the screen (the chat folds it below the steps, a seller's
    case leads with it, a market may have none): an entry's text never says "below" or "见下方"."""
    where = re.compile(r"\b(below|above)\b|下方|上方|见下", re.IGNORECASE)
    for entry in center.kb.entries:
        for lang, text in entry.texts.items():
            for line in (*text.steps, *text.notes, *text.advice):
                assert not where.search(line), (entry.id, lang, line)
        for lang, text in (entry.seller.texts.items() if entry.seller else ()):
            for line in (*text.steps, *text.notes, *text.advice):
                assert not where.search(line), (entry.id, "seller", lang, line)
