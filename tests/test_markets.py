"""Every market's own figures first (issue 22), over every combination, on the core functions:

- case × aspect × market × role × language: a time-limit answer's first line is that market's
  figure (or one says it is unknown there), or one line "‹market›: no public figure" followed by
  where to look in the app; another market's figure appears only under "other markets";
- every entry and every seller view × market × role × language: the first figure belongs to the
  market or the market is said to have none; the market's own part cites no other market's source;
- the calculator, case × market × variant × language × the day: never ends without a deadline or
  a next step (what to do instead, where to look in the app, or that the window has not started),
  says which time zone it counted in, and cites only the market's own sources.

Figures themselves are checked against content/rules.yaml by tests/test_content_truth.py (its
inspect() is used here as well). A few bot-level paths close the file.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from helpcenter.answers.deadlines import acceptance_deadline
from helpcenter.answers.render import Renderer, to_plain
from helpcenter.core import HelpCenter
from helpcenter.knowledge.model import OWN
from helpcenter.knowledge.vocabulary import ASPECTS, MARKETS
from helpcenter.understanding.slots import Slots

from .botkit import chat, running_bot
from .test_content_truth import LANGS, inspect, own_markets

ROLES = (None, "buyer", "seller")
NOW = datetime(2026, 11, 29, 21, 18, tzinfo=ZoneInfo("UTC"))  # already the 30th in Asia, the 29th in the US


def _names(center: HelpCenter, lang: str) -> dict[str, str]:
    """Market code → the name a line starts with."""
    r = center.renderer
    return {m: r.market_label(m, lang) for m in (*center.kb.glossary.markets, *MARKETS)}


def _first_figure(center: HelpCenter, text: str, lang: str) -> tuple[str, str] | None:
    """("none", market) when a "no public figure" line comes first, ("figure", market) for the
    first line with a time limit (its market: the line's label, else the heading above it)."""
    r = center.renderer
    names = _names(center, lang)
    units = [re.escape(r.t(f"unit.{u}", lang, n=n)).replace(str(n), r"\d+") for n in (1, 7) for u in
             ("hour", "day", "calendar_day", "business_day", "working_day", "month")]
    limit = re.compile("|".join([*units, re.escape(r.t("unknown", lang))]))
    none = {r.t(key, lang, market=name, name=r.market_name(m, lang)): m for m, name in names.items()
            for key in ("mkt.none", "mkt.none_described")}
    heading = None
    for raw in text.split("\n"):
        line = to_plain(raw).removeprefix("┆ ").strip()
        if line in none:
            return "none", none[line]
        if raw.removeprefix("<blockquote expandable>").startswith("<b>"):
            heading = next((m for m, name in sorted(names.items(), key=lambda x: -len(x[1]))
                            if f"· {name}" in line or line.startswith(name)), heading)
            continue
        if line.startswith("•") and limit.search(line):
            label = line.split(r.t("colon", lang))[0]
            named = [m for m, name in sorted(names.items(), key=lambda x: -len(x[1])) if name in label]
            return "figure", named[0] if named else (heading or "?")
    return None


def _mine(center: HelpCenter, market: str, code: str) -> bool:
    return code in own_markets(market) or center.kb.markets.place((code,), market) == OWN


def _ok_first(center: HelpCenter, text: str, lang: str, market: str, what: str) -> None:
    first = _first_figure(center, text, lang)
    if first is None:
        return  # no figure at all (an entry without time limits)
    kind, code = first
    assert (kind == "none" and code == market) or (kind == "figure" and _mine(center, market, code)), \
        (what, lang, first, text[:400])


# --- the time-limit answer -------------------------------------------------------------------------

def test_a_time_limit_answer_leads_with_the_markets_figure_or_says_it_has_none(center: HelpCenter) -> None:
    reader, r = center.understander, center.renderer
    cases = (*center.kb.glossary.cases, "return", "refund")
    seen = 0
    for case in cases:
        for aspect in ASPECTS:
            for market in MARKETS:
                for role in ROLES:
                    answer = reader.figures(Slots(role=role, case=case, aspect=aspect, market=market))
                    if answer is None:
                        continue
                    for lang in LANGS:
                        text = r.figure_first(answer, lang)
                        what = f"{case} × {aspect} × {market} × {role}"
                        lines = [to_plain(x) for x in text.split("\n")]
                        second = lines[1]
                        name = r.market_label(market, lang)
                        if answer.lines:
                            assert second.startswith(f"• {name}") or any(
                                second.startswith(f"• {r.market_label(m, lang)}") for m in own_markets(market)
                                if m in center.kb.glossary.markets), (what, lang, second)
                        else:
                            assert second == r.t("mkt.none", lang, market=name), (what, lang, second)
                            assert lines[2].startswith(r.t("mkt.look", lang, path="")) or \
                                lines[3].startswith(r.t("mkt.look", lang, path="")), (what, lang, lines[:4])
                        shown = inspect([text], lang, own_markets(market), what)
                        assert not shown.problems, shown.problems
                        seen += 1
    assert seen > 500, seen


# --- every answer and seller view ----------------------------------------------------------------

def test_every_answer_leads_with_the_markets_own_figure_in_every_market_role_and_language(
        center: HelpCenter) -> None:
    r: Renderer = center.renderer
    for entry in center.kb.entries:
        for market in MARKETS:
            for role in ROLES:
                for lang in LANGS:
                    text = "\n".join(r.answer(entry, lang, market=market, role=role))
                    _ok_first(center, text, lang, market, f"answer {entry.id} {role}")
                    if role is None and entry.seller is not None:
                        seller = "\n".join(r.seller_case(entry, lang, market=market))
                        _ok_first(center, seller, lang, market, f"seller {entry.id}")
                        assert not inspect([seller], lang, own_markets(market), entry.id).problems


def test_a_market_without_figures_says_so_in_one_line_and_where_to_look(center: HelpCenter) -> None:
    r = center.renderer
    for market in ("MY", "PH", "SG", "other"):
        for lang in LANGS:
            text = to_plain(r.answer(center.kb.by_id["return-policy"], lang, market=market)[0])
            lines = text.split("\n")
            assert lines[1] == r.t("mkt.none", lang, market=r.market_label(market, lang)), lines
            assert lines[2].startswith(r.t("mkt.look", lang, path="")), lines
            own, others = text.split(r.t("mkt.others", lang))
            thirty = r.t("unit.calendar_day", lang, n=30)
            assert thirty not in own and thirty in others  # the US's 30 days: only under other markets


# --- the calculator --------------------------------------------------------------------------------

def _days(now: datetime) -> list[date | None]:
    today = now.date()
    return [today, today - timedelta(days=3), today - timedelta(days=40), today - timedelta(days=400), None]


def test_the_calculator_never_ends_without_a_deadline_or_a_next_step(center: HelpCenter) -> None:
    kb, r = center.kb, center.renderer
    results = 0
    for case in kb.glossary.cases:
        for market in MARKETS:
            rule = kb.rule_for(case, market)
            zone = r.zone(market, "Asia/Shanghai")
            now = NOW.astimezone(ZoneInfo(zone[0]))
            for variant in (rule.variants if rule and rule.variants else (None,)):
                for day in _days(now) if rule else [None]:
                    for lang in LANGS:
                        text, limits = r.refund_result(rule, variant, day, now, lang, market=market, zone=zone,
                                                       case=case)
                        plain = to_plain(text)
                        what = f"{case} × {market} × {variant} × {day}"
                        deadline = acceptance_deadline(limits)
                        next_step = any(r.t(k, lang) in plain for k in ("ref.closed_title", "ref.not_started")) or \
                            r.t("mkt.look", lang, path="") in plain
                        assert (deadline is not None and deadline.open) or next_step, (what, lang, plain)
                        if rule is None:  # no public figure there: the way into the app, and a person
                            assert r.t("mkt.none", lang, market=r.market_label(market, lang)) in plain
                        else:
                            assert zone[0] in plain, (what, lang)  # the zone the dates were counted in
                            assert now.date().isoformat() in plain  # and what today is there
                        assert not inspect([text], lang, own_markets(market), what).problems
                        results += 1
    assert results > 300, results


def test_every_market_with_a_public_window_computes_its_deadline(center: HelpCenter) -> None:
    """US 30 days and up to 90 for damaged or defective items, UK 14/30, VN 15, TH 15/7, ID as
    sourced: the windows each market's calculator counts."""
    kb, r = center.kb, center.renderer
    expected = {("damaged_package", "US", None): {30, 90}, ("quality_safety", "US", None): {30, 90},
                ("mismatch", "US", None): {30}, ("counterfeit", "UK", None): {14, 30},
                ("mismatch", "VN", None): {15}, ("lost_package", "TH", "mall"): {15},
                ("lost_package", "TH", "non_mall"): {7}, ("mismatch", "ID", None): {6},
                ("quality_safety", "ID", "durable"): {6}}
    for (case, market, variant), values in expected.items():
        rule = kb.rule_for(case, market)
        assert rule is not None, (case, market)
        day = NOW.date() - timedelta(days=1)
        _, limits = r.refund_result(rule, variant, day, NOW, "en", zone=r.zone(market, "Asia/Shanghai"))
        assert {lim.window.value for lim in limits if lim.kind == "acceptance"} == values, (case, market)
    assert kb.rule_for("lost_package", "US") is None and kb.rule_for("mismatch", "MY") is None


def test_zones_are_content_and_a_multi_zone_market_says_its_zone_is_assumed(center: HelpCenter) -> None:
    r = center.renderer
    assert r.zone("US", "Asia/Shanghai") == ("America/Los_Angeles", True)
    assert r.zone("TH", "Asia/Shanghai") == ("Asia/Bangkok", False)
    assert r.zone("other", "Asia/Shanghai") == ("Asia/Shanghai", False)
    today = NOW.astimezone(ZoneInfo("America/Los_Angeles")).date()
    assert today.isoformat() == "2026-11-29"  # 21:18 UTC: still the 29th in the US
    note = r.zone_note("US", "America/Los_Angeles", True, today, "en")
    assert "America/Los_Angeles" in note and "assumed" in note and "2026-11-29" in note
    assert "本助手" in r.zone_note("other", "Asia/Shanghai", False, today, "zh")


# --- through the bot ---------------------------------------------------------------------------------

@pytest.mark.parametrize("language", ["zh-hans", "en"])
async def test_a_us_buyer_with_a_crushed_box_gets_the_us_windows_and_todays_date_there(
        tmp_path: Path, center: HelpCenter, language: str) -> None:
    zh = language != "en"
    async with running_bot(tmp_path, center, now=NOW) as (app, api):
        ann = chat(app, api, language_code=language)
        await ann.send("/market")
        await ann.press("美国" if zh else "United States")
        crushed = "盒子压坏了,美国能申请多少天" if zh else "the box arrived crushed, how many days do I have in the US"
        await ann.send(crushed)
        lines = ann.text.split("\n")
        assert lines[1].startswith("• 美国 · " if zh else "• United States · "), lines
        await ann.press("⏰")
        assert "America/Los_Angeles" in ann.text and "2026-11-29" in ann.text  # the US's today, not Shanghai's
        assert "美国" not in " ".join(ann.buttons) and "United States" not in " ".join(ann.buttons)  # not asked again
        await ann.send("29号" if zh else "delivered on the 29th")
        text = ann.text
        assert ("起算日:2026-11-29" if zh else "Counted from: 2026-11-29") in text
        assert ("最晚 2026-12-29" if zh else "file by 2026-12-29") in text  # 30 calendar days
        assert "2027-02-27" in text  # up to 90 days for a damaged item
        assert "bigseller" not in text and "tokopedia" not in text  # no other market's source


async def test_a_market_without_a_public_window_gets_the_app_and_a_person_not_a_dead_end(
        tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center, now=NOW, support_chat_id=-100) as (app, api):
        ann = chat(app, api, language_code="en")
        await ann.send("/market")
        await ann.press("Malaysia")
        await ann.send("/refund")
        await ann.press("Damaged package")  # the saved market: no market question
        text = ann.text
        assert text.startswith("Damaged package · Malaysia\nMalaysia: no public figure.\nWhere to look:")
        assert "👤 Talk to a human" in ann.buttons and "🌏 Change market" in ann.buttons
        await ann.press("Change market")
        await ann.press("Thailand")
        assert "Mall sellers" in " ".join(ann.buttons)  # Thailand's rule asks Mall or not
        await ann.press("non-Mall")
        await ann.press("Not delivered yet")
        assert "has not started" in ann.text and "7 calendar days" in ann.text


async def test_a_thai_seller_is_answered_for_thailand_under_the_right_title(tmp_path: Path,
                                                                           center: HelpCenter) -> None:
    async with running_bot(tmp_path, center, now=NOW) as (app, api):
        sam = chat(app, api, language_code="zh-hans")
        await sam.send("/market")
        await sam.press("泰国")
        await sam.send("/seller")
        await sam.send("作为卖家,买家申请退货我要多久处理")
        assert sam.text.startswith("卖家响应退货/退款申请的时限\n• 泰国 · "), sam.text
        await sam.send("/seller")
        await sam.press("争议规则")
        await sam.press("假冒产品")
        lines = sam.text.split("\n")
        assert lines[2].startswith("• 泰国 · 退货/退款申请期限"), lines  # Thailand first, not Indonesia
        assert "卖家证明材料上传期限、审核时间:泰国没有公开数据。" in sam.text
        assert "印度尼西亚" not in sam.text.split("🌏 其他市场")[0]


async def test_a_question_at_the_date_prompt_is_answered_and_the_day_asked_again(tmp_path: Path,
                                                                                 center: HelpCenter) -> None:
    async with running_bot(tmp_path, center, now=NOW) as (app, api):
        ann = chat(app, api)
        await ann.send("/market")
        await ann.press("印度尼西亚")
        await ann.send("/refund")
        await ann.press("产品不一致")
        await ann.send("签收日期在哪里看啊?")
        assert "在哪里看签收(送达)日期" in ann.text and "那是哪一天" in ann.text
        await ann.send("29号")
        assert "起算日:2026-11-29" in ann.text
