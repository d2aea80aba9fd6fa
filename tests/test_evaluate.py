"""The labelled-question format, its parser, per-kind rejection, and the data files themselves."""

from __future__ import annotations

import importlib.util
import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
import yaml

from helpcenter.core import HelpCenter
from helpcenter.knowledge.labelled import ASPECTS, CASES, MARKETS, NONE, NONE_KINDS, ROLES, Labelled, read_questions
from helpcenter.reports.evaluate import evaluate, format_report
from helpcenter.understanding.matcher import Candidate, Match

from .conftest import ROOT, SHARED

QDIR = ROOT / "tests" / "data" / "questions"
FROZEN, TUNE = QDIR / "frozen.tsv", QDIR / "tune.tsv"
DEV = SHARED / "eval" / "dev_questions.tsv"
DISPUTE_CASES = ("mismatch", "counterfeit", "quality_safety", "late_shipment", "lost_package",
                 "damaged_package")
ASKED_ASPECTS = ("acceptance", "evidence_deadline", "decision", "evidence", "apply")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "q.tsv"
    path.write_text(text, encoding="utf-8")
    return path


def norm(text: str) -> str:
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text).casefold())


# --- the parser ---------------------------------------------------------------------------

def test_two_column_lines_still_parse(tmp_path: Path) -> None:
    rows = read_questions(write(tmp_path, "# comment\n\n怎么申请退款\trefund.apply\n"
                                          "退货运费谁出\treturn.ship_back|return.policy\n怎么开直播\tnone\n"))
    assert [r.question for r in rows] == ["怎么申请退款", "退货运费谁出", "怎么开直播"]
    assert rows[1].topics == {"return.ship_back", "return.policy"}
    assert rows[0].case is rows[0].aspect is rows[0].market is rows[0].role is rows[0].source is None
    assert rows[0].line == 3 and not rows[0].is_none
    assert rows[2].topics == {NONE} and rows[2].kind == "none" and rows[2].is_none


def test_slot_columns_are_read_and_dash_means_unset(tmp_path: Path) -> None:
    [row] = read_questions(write(
        tmp_path, "假货多久内可以申请售后\tdispute.counterfeit\tcounterfeit\tacceptance\t-\tbuyer\tteam\n"))
    assert (row.case, row.aspect, row.market, row.role, row.source) == (
        "counterfeit", "acceptance", None, "buyer", "team")
    [row] = read_questions(write(tmp_path, "uk window\treturn.policy\treturn\t\tUK\n"))
    assert (row.case, row.aspect, row.market, row.role, row.source) == ("return", None, "UK", None, None)


def test_none_kinds_count_as_none(tmp_path: Path) -> None:
    rows = read_questions(write(tmp_path, "怎么开直播\tnone:adjacent\t-\t-\t-\t-\tteam\n谢谢\tnone:social\n"))
    assert [r.kind for r in rows] == ["none:adjacent", "none:social"]
    assert all(r.topics == {NONE} and r.is_none for r in rows)


@pytest.mark.parametrize("line, message", [
    ("q\tdispute.counterfeit\tfake\n", "case 'fake'"),
    ("q\tdispute.counterfeit\tcounterfeit\twhen\n", "aspect 'when'"),
    ("q\treturn.policy\treturn\tacceptance\tJP\n", "market 'JP'"),
    ("q\treturn.policy\treturn\tacceptance\tUS\tadmin\n", "role 'admin'"),
    ("q\tnone:weird\n", "none label"),
    ("q\tnone|refund.apply\n", "none label"),
    ("q\tnone:social|none\n", "none label"),
    ("q\n", "expected 'question<TAB>topic|topic'"),
    ("\trefund.apply\n", "expected"),
    ("q\trefund.apply\t-\t-\t-\t-\tteam\textra\n", "at most 7"),
])
def test_bad_lines_name_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = write(tmp_path, "# header\n" + line)
    with pytest.raises(ValueError) as info:
        read_questions(path)
    assert f"{path}:2:" in str(info.value) and message in str(info.value)


@pytest.mark.skipif(not DEV.exists(), reason="shared/eval not beside the repo")
def test_dev_file_stays_readable() -> None:
    rows = read_questions(DEV)
    assert len(rows) >= 40 and any(r.is_none for r in rows)


# --- evaluate: rejection per kind ---------------------------------------------------------

class Scripted:
    """A matcher stand-in that answers the questions it is told to and rejects the rest."""

    def __init__(self, center: HelpCenter, answers: dict[str, str]) -> None:
        self.by_topic = {e.topic: e for e in center.kb.entries}
        self.answers = answers

    def match(self, question: str) -> Match:
        topic = self.answers.get(question)
        if topic is None:
            return Match(question, question, None, ())
        best = Candidate(self.by_topic[topic], 0.9)
        return Match(question, question, best, (best,))


def test_rejection_is_reported_per_kind(center: HelpCenter) -> None:
    rows = [Labelled("a", frozenset({NONE}), 1, kind="none"),
            Labelled("b", frozenset({NONE}), 2, kind="none:adjacent"),
            Labelled("c", frozenset({NONE}), 3, kind="none:adjacent"),
            Labelled("d", frozenset({NONE}), 4, kind="none:social"),
            Labelled("e", frozenset({"refund.apply"}), 5)]
    report = evaluate(Scripted(center, {"b": "refund.apply", "e": "refund.apply"}), rows)
    assert (report.none_total, report.none_rejected) == (4, 3)
    assert report.by_kind == {"none": [1, 1], "none:adjacent": [2, 1], "none:social": [1, 1]}
    assert report.kind_rejection_rate("none:adjacent") == 0.5 and report.top1 == 1
    text = format_report(report)
    assert "none rejected: 75.0% (3/4)" in text
    assert "none:adjacent rejected: 50.0% (1/2)" in text and "none:social rejected: 100.0% (1/1)" in text
    assert "want none:adjacent; answered refund.apply" in text


def test_plain_none_rows_built_by_hand_still_count(center: HelpCenter) -> None:
    report = evaluate(Scripted(center, {}), [Labelled("x", frozenset({NONE}), 1)])
    assert report.by_kind == {"none": [1, 1]} and report.rejection_rate == 1.0
    assert "none:" not in format_report(report)


# --- the data files -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def frozen() -> list[Labelled]:
    return read_questions(FROZEN)


@pytest.fixture(scope="module")
def tune() -> list[Labelled]:
    return read_questions(TUNE)


@pytest.fixture(scope="module")
def both(frozen: list[Labelled], tune: list[Labelled]) -> list[Labelled]:
    return frozen + tune


def topic_ids() -> set[str]:
    path = SHARED / "topics.yaml"
    if not path.exists():
        path = ROOT / "content" / "topics.yaml"
    return set(yaml.safe_load(path.read_text(encoding="utf-8"))["topics"])


def test_every_topic_id_exists_and_every_topic_is_covered(both: list[Labelled]) -> None:
    known = topic_ids()
    unknown = {(r.question, t) for r in both for t in r.topics - {NONE} if t not in known}
    assert not unknown
    primary = Counter(t for r in both if not r.is_none for t in r.topics)
    assert {t: primary[t] for t in known if primary[t] < 8} == {}


def test_slots_are_from_the_allowed_lists(both: list[Labelled]) -> None:
    for r in both:
        assert r.case in (None, *CASES) and r.aspect in (None, *ASPECTS)
        assert r.market in (None, *MARKETS) and r.role in (None, *ROLES)
        assert r.source == "team" or (r.source or "").startswith(("http://", "https://")), r
        if r.is_none:
            assert r.case is None and r.aspect is None, r


def test_no_question_twice_nor_from_the_other_sets(both: list[Labelled]) -> None:
    counts = Counter(norm(r.question) for r in both)
    assert [q for q, n in counts.items() if n > 1] == []
    others = [ROOT / "tests" / "data" / "paraphrases.tsv", ROOT / "tests" / "data" / "probes.tsv"]
    others += [DEV] if DEV.exists() else []
    seen = {norm(r.question) for path in others for r in read_questions(path)}
    assert [r.question for r in both if norm(r.question) in seen] == []


def test_no_question_appears_verbatim_in_content(both: list[Labelled]) -> None:
    strings: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, str):
            strings.append(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                walk(key)
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path in sorted((ROOT / "content").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        # Small-talk words ("在吗", "拜拜") are whole messages by nature: a word list must hold them.
        (data.get("understanding") or {}).pop("social", None)
        walk(data)
    blob = "\n".join(norm(s) for s in strings)
    assert [r.question for r in both if norm(r.question) in blob] == []


def test_the_set_has_the_promised_shape(both: list[Labelled]) -> None:
    assert len(both) >= 400
    zh = sum(bool(re.search(r"[\u4e00-\u9fff]", r.question)) for r in both)
    assert 0.55 <= zh / len(both) <= 0.65
    kinds = Counter(r.kind for r in both if r.is_none)
    assert kinds["none"] + kinds["none:adjacent"] >= 80
    assert kinds["none:adjacent"] >= (kinds["none"] + kinds["none:adjacent"]) / 2 - 5
    assert kinds["none:social"] >= 12
    assert set(kinds) <= set(NONE_KINDS)
    roles = Counter(r.role for r in both)
    assert roles["buyer"] >= 150 and roles["seller"] >= 50
    assert {r.market for r in both} >= set(MARKETS)
    real = [r for r in both if r.source != "team"]
    assert len(real) >= 100


def test_every_dispute_case_is_asked_about_each_aspect(both: list[Labelled]) -> None:
    asked = {(r.case, r.aspect) for r in both}
    assert [(c, a) for c in DISPUTE_CASES for a in ASKED_ASPECTS if (c, a) not in asked] == []


def load_split_module():
    spec = importlib.util.spec_from_file_location("question_split", QDIR / "split.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_split_is_the_seeded_one(frozen: list[Labelled], tune: list[Labelled]) -> None:
    module = load_split_module()
    frozen_lines, tune_lines = module.data_lines(FROZEN), module.data_lines(TUNE)
    lines = frozen_lines + tune_lines
    want_frozen, _ = module.split(lines, {module.question_key(ln) for ln in frozen_lines},
                                  {module.question_key(ln) for ln in tune_lines})
    assert sorted(want_frozen) == sorted(frozen_lines)  # nothing waiting to be topped up
    assert 0.30 <= len(frozen) / (len(frozen) + len(tune)) <= 0.40
    # Stratified: each topic and none kind holds about FROZEN_SHARE of its questions in frozen.tsv.
    total = Counter(module.stratum(ln) for ln in lines)
    held = Counter(module.stratum(ln) for ln in frozen_lines)
    assert {k: (held[k], n) for k, n in total.items()
            if abs(held[k] - round(n * module.FROZEN_SHARE)) > 1} == {}


def test_adding_questions_never_unfreezes_one() -> None:
    module = load_split_module()
    lines = [f"question {i}\trefund.apply" for i in range(20)] + [f"q {i}\tnone:social" for i in range(6)]
    frozen, tune = module.split(lines)
    assert len(frozen) == round(20 * 0.35) + round(6 * 0.35) and len(frozen) + len(tune) == 26
    more = lines + [f"new {i}\trefund.apply" for i in range(10)]
    again, _ = module.split(more, {module.question_key(ln) for ln in frozen},
                            {module.question_key(ln) for ln in tune})
    assert set(frozen) <= set(again) and len(again) == round(30 * 0.35) + round(6 * 0.35)
    assert not set(tune) & set(again)  # a question someone may have tuned on is never frozen
    assert module.split(lines)[0] == frozen  # seeded: the same every time


def test_readme_counts_are_current() -> None:
    table = load_split_module().counts()
    assert table in (QDIR / "README.md").read_text(encoding="utf-8")
