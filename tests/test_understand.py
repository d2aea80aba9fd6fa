"""The question reader on varied phrasings, its figures against rules.yaml itself, and its content
validation (file:line errors)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from helpcenter.core import ADJACENT, ANSWER, FIGURE, GUESS, OFF_TOPIC, HelpCenter
from helpcenter.knowledge.labelled import Labelled, read_questions
from helpcenter.knowledge.loader import load_content
from helpcenter.knowledge.vocabulary import ASPECTS, MARKETS
from helpcenter.understanding.slots import Slots, Understander

ROOT = Path(__file__).resolve().parent.parent

SLOTTED = [r for r in read_questions(ROOT / "tests" / "data" / "slots.tsv") if not r.is_none]


@pytest.fixture(scope="module")
def reader(center: HelpCenter) -> Understander:
    return center.understander


@pytest.mark.parametrize("row", SLOTTED, ids=[r.question for r in SLOTTED])
def test_the_bot_reads_the_slots(center: HelpCenter, row: Labelled) -> None:
    """Varied forms (traditional, full width, typos, colloquial words) of the team's slot examples
    (tests/data/slots.tsv, also training data): case, aspect and market as labelled; a role when
    the question implies one, never the other side (not sure: no role)."""
    got = center.read(row.question).stated
    assert (got.case, got.aspect, got.market) == (row.case, row.aspect, row.market)
    assert got.role in (row.role, None) or (row.role is None and got.role == "buyer"), got.role


def test_nothing_is_read_into_chatter(center: HelpCenter) -> None:
    for question in ("碎片化时间怎么用", "蓝色小盒子的事", "我朋友说的那个办法行不行啊", "tell me a joke"):
        reading = center.read(question)
        assert (reading.stated.case, reading.stated.aspect) == (None, None), question


@pytest.mark.parametrize(("question", "social"), [
    ("hi", "greeting"), ("Hello there!", "greeting"), ("你好", "greeting"), ("您好呀", "greeting"),
    ("thanks", "thanks"), ("thank you so much", "thanks"), ("谢谢", "thanks"), ("謝謝你", "thanks"), ("bye", "bye"),
    ("你好,我想退款", None), ("hi, how do I return an item", None), ("thanks, but what about a fake item", None),
    ("hi 123456789012", "greeting"),
])
def test_small_talk_only_when_nothing_else_is_asked(reader: Understander, question: str, social: str | None) -> None:
    assert reader.read(question).social == social


@pytest.mark.parametrize(("question", "adjacent"), [
    ("怎么在TikTok上开直播", "live"), ("tiktok shop suspended my account", "account"),
    ("how do I open a shop", "selling"), ("这个商品多少钱", "prices"), ("how to run ads", "ads"),
    ("运费模板怎么设置", "shipping_settings"),
    ("直播间买的东西怎么退货", None), ("my live stream order came broken, how do I return it", None),
    ("淘宝买的假货怎么退款", "other_platforms"), ("ebay seller wont refund me", "other_platforms"),
])
def test_adjacent_subjects_unless_the_question_is_about_after_sales(center: HelpCenter, question: str,
                                                                    adjacent: str | None) -> None:
    """Not ours (learnt): a scoped reply naming the subject; ours: an answer, whatever it mentions."""
    reply = center.ask(question, "zh")
    if adjacent is None:
        assert reply.kind in (ANSWER, FIGURE, GUESS), reply.kind
    else:
        assert (reply.kind, reply.reading.adjacent if reply.reading else None) == (ADJACENT, adjacent)


def test_chitchat_gets_no_entry(center: HelpCenter) -> None:
    for question in ("tell me a joke", "讲个笑话", "今天天气怎么样"):
        assert center.ask(question, "zh").kind == OFF_TOPIC, question
    assert center.ask("is it a joke that my refund takes 10 days", "en").entry is not None


def test_follow_ups_take_the_other_slots_from_the_previous_question(center: HelpCenter) -> None:
    before = Slots(case="lost_package", aspect="acceptance", market="ID")
    got = center.read("那假货呢?", previous=before).slots
    assert (got.case, got.aspect, got.market) == ("counterfeit", "acceptance", "ID")
    got = center.read("in the US?", previous=before).slots
    assert (got.case, got.aspect, got.market) == ("lost_package", "acceptance", "US")
    assert center.read("what about fake items?", previous=before).slots.case == "counterfeit"
    # a whole new question does not inherit, nor does a question with no slot at all
    assert center.read("退货运费谁出", previous=before).slots.market is None
    assert not center.read("今天天气怎么样", previous=before).slots


def test_profile_fills_role_and_market(center: HelpCenter) -> None:
    got = center.read("假货多久内可以申请", profile={"role": "seller", "market": "US"}).slots
    assert (got.role, got.market) == ("seller", "US")
    assert center.read("假货多久内可以申请", profile={"market": "Mars"}).slots.market is None


def _raw_rules() -> dict:
    return yaml.safe_load((ROOT / "content" / "rules.yaml").read_text(encoding="utf-8"))


def test_every_figure_shown_is_rules_yaml_value_for_exactly_that_case_and_market(center: HelpCenter) -> None:
    """case × aspect × market: each figure the bot leads with is rules.yaml's own value for that
    case and that market (read here straight from the YAML, not through the loader)."""
    raw = _raw_rules()
    reader, vocab = center.understander, center.kb.vocabulary
    checked = 0
    for case_id, case in vocab.cases.items():
        for aspect in ASPECTS:
            for role in (None, "buyer", "seller"):
                for market in (None, *MARKETS):
                    slots = Slots(role=role, case=case_id, aspect=aspect, market=market)
                    answer = reader.figures(slots)
                    if answer is None:
                        continue
                    expected = _expected(raw, case, aspect, market, role, vocab.aspects[aspect].limits,
                                         vocab.limit_roles)
                    shown = sorted((line.market, line.window.value, line.window.value_max, line.window.unit,
                                    line.window.source) for line in answer.lines)
                    assert shown == sorted(expected), (case_id, aspect, market, role)
                    if market is not None and not expected:  # other markets: only known values, apart
                        assert all(line.window.value is not None for line in answer.others), (case_id, aspect)
                    for lang in ("zh", "en"):
                        text = center.renderer.figure_first(answer, lang)
                        for line in answer.lines:
                            if line.window.value is not None:
                                assert center.renderer.amount(line.window, lang) in text
                        if not answer.lines:  # another market's figure only under "other markets"
                            own = text.split(center.renderer.t("mkt.others", lang))[0]
                            other = [w for r in raw["dispute_rules"] if r["case"] == case_id
                                     for k in vocab.aspects[aspect].limits for w in r.get(k, [])]
                            assert not any(f" {w['value']} " in own for w in other if w.get("value"))
                    checked += 1
    assert checked > 100


def _expected(raw: dict, case: object, aspect: str, market: str | None, role: str | None,
              limits: tuple[str, ...], limit_roles: dict[str, str]) -> list[tuple]:
    def ok(m: str) -> bool:
        return market is None or m in (market, "ALL")

    def row(m: str, w: dict) -> tuple:
        return (m, w.get("value"), w.get("value_max"), w.get("unit"), w["source"])

    lists = case.seller_figures if role == "seller" and aspect in case.seller_figures else case.figures  # type: ignore[attr-defined]
    if aspect in lists:
        figs = [raw["figures"][f] for f in lists[aspect]]
        return [row(f["market"], f["window"]) for f in figs if "window" in f and ok(f["market"])]
    if getattr(case, "table", None) == "return_windows":
        return [row(r["market"], w) for r in raw["return_windows"] if ok(r["market"]) for w in r["windows"]]
    kinds = [k for k in limits if role is None or limit_roles.get(k, role) == role]
    return [row(r["market"], w) for r in raw["dispute_rules"] if r["case"] == case.id and ok(r["market"])  # type: ignore[attr-defined]
            for k in kinds for w in r.get(k, [])]


@pytest.mark.parametrize(("old", "new", "message"), [
    ("    counterfeit:\n      words:", "    counterfit:\n      words:", "unknown case 'counterfit'"),
    ("    who_pays:\n", "    who_pay:\n", "unknown aspect 'who_pay'"),
    ("entry: refund-arrival", "entry: refund-nowhere", "unknown entry 'refund-nowhere'"),
    ("[us-refund-timing]", "[us-refund-tming]", "unknown figure 'us-refund-tming'"),
    ("limits: [decision]", "limits: [decisions]", "unknown limit kind 'decisions'"),
    ("    SG: {", "    SGP: {", "unknown market 'SGP'"),
])
def test_understanding_errors_name_file_and_line(content_copy: Path, old: str, new: str, message: str) -> None:
    path = content_copy / "understanding.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    line = next(i for i, ln in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if new.split("\n")[0] in ln)
    _, errors = load_content(content_copy)
    found = [e for e in errors if message in e.message]
    assert found, [str(e) for e in errors]
    assert found[0].file.name == "understanding.yaml"
    assert abs(found[0].line - line) <= 1, (found[0].line, line)


def test_figure_score_counts_the_figure_the_bot_leads_with(tmp_path: Path, center: HelpCenter) -> None:
    from helpcenter.knowledge.labelled import read_questions
    from helpcenter.reports.evaluate import figure_score

    labelled = tmp_path / "q.tsv"
    labelled.write_text(
        "# question\ttopics\tcase\taspect\tmarket\trole\tsource\n"
        "假货多久内可以申请售后\tdispute.counterfeit\tcounterfeit\tacceptance\t-\tbuyer\tteam\n"
        "how many days do I have to claim a lost package\tdispute.lost_package\tlost_package\tacceptance\t-\t-\tteam\n"
        "美国的假货多久内可以申请\tdispute.counterfeit\tcounterfeit\tacceptance\tUS\t-\tteam\n"
        "质量问题多久内可以申请\tdispute.quality_safety\tcounterfeit\tacceptance\t-\t-\tteam\n"  # wrong label
        "怎么申请退款\trefund.apply\trefund\tapply\t-\t-\tteam\n"  # not a time limit: not counted
        "退款多久到账\trefund.arrival\n", encoding="utf-8")  # no slot columns: not counted
    score = figure_score(center, read_questions(labelled))
    assert (score.total, score.right) == (4, 3)
    assert score.misses[0][0].line == 5 and "quality_safety" in score.misses[0][1]


def test_a_missing_string_for_the_vocabulary_stops_the_start(tmp_path: Path) -> None:
    import shutil

    from helpcenter.knowledge.loader import InvalidContent

    templates = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", templates)
    strings = templates / "i18n.yaml"
    strings.write_text("".join(line for line in strings.read_text(encoding="utf-8").splitlines(keepends=True)
                               if not line.startswith("und.go.seller_center:")), encoding="utf-8")
    with pytest.raises(InvalidContent) as raised:
        HelpCenter(templates_dir=templates)
    assert any("und.go.seller_center" in e.message and e.file.name == "i18n.yaml" for e in raised.value.errors)


def test_stale_or_foreign_slots_in_user_data_are_ignored() -> None:
    assert Slots.from_dict(None) == Slots()
    assert Slots.from_dict({"case": 3, "aspect": "acceptance", "junk": "x"}) == Slots(aspect="acceptance")
    assert Slots.from_dict(Slots(case="counterfeit", market="US").as_dict()) == Slots(case="counterfeit", market="US")
