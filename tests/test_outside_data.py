"""The outside data (issue 21, item 4): real public phrasings, split into a frozen judging file and a
tuning file. These tests check the data only; nothing here runs the matcher on outside.tsv."""

from __future__ import annotations

import importlib.util
import re
import unicodedata
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from helpcenter.knowledge.labelled import ASPECTS, CASES, MARKETS, NONE, NONE_KINDS, ROLES, Labelled, read_questions

from .conftest import ROOT, SHARED

ODIR = ROOT / "tests" / "data" / "outside"
OUTSIDE, TUNE = ODIR / "outside.tsv", ODIR / "tune.tsv"
COLUMNS = 7


def norm(text: str) -> str:
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text).casefold())


def url_key(url: str) -> str:
    """A URL without scheme, www., trailing slash and lang= parameter: the same page either way."""
    key = re.sub(r"^https?://(www\.|m\.)?", "", url.strip()).rstrip("/").lower()
    return re.sub(r"[?&]lang=[a-z-]+", "", key).rstrip("/")


def load_split_module():
    spec = importlib.util.spec_from_file_location("outside_split", ODIR / "split.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def outside() -> list[Labelled]:
    return read_questions(OUTSIDE)


@pytest.fixture(scope="module")
def tune() -> list[Labelled]:
    return read_questions(TUNE)


@pytest.fixture(scope="module")
def both(outside: list[Labelled], tune: list[Labelled]) -> list[Labelled]:
    return outside + tune


def test_every_row_has_seven_columns() -> None:
    for path in (OUTSIDE, TUNE):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip() and not line.startswith("#"):
                assert len(line.split("\t")) == COLUMNS, f"{path.name}:{number}"


def test_labels_and_slots_are_valid(both: list[Labelled]) -> None:
    known = set(yaml.safe_load((ROOT / "content" / "topics.yaml").read_text(encoding="utf-8"))["topics"])
    for r in both:
        assert r.kind in ("", *NONE_KINDS), r
        if r.is_none:
            assert r.topics == {NONE} and r.case is None and r.aspect is None, r
        else:
            assert r.topics and r.topics <= known, r
        assert r.case in (None, *CASES) and r.aspect in (None, *ASPECTS), r
        assert r.market in (None, *MARKETS) and r.role in (None, *ROLES), r


def test_every_row_has_a_web_source_the_project_had_not_used(both: list[Labelled]) -> None:
    for r in both:
        parts = urlsplit(r.source or "")
        assert parts.scheme in ("http", "https") and parts.hostname, r
    used: set[str] = set()
    for path in [*sorted((ROOT / "tests" / "data").glob("*.tsv")),
                 *sorted((ROOT / "tests" / "data" / "questions").glob("*.tsv")),
                 ROOT / "content" / "sources.yaml"]:
        used.update(url_key(u) for u in re.findall(r"https?://[^\s\"']+", path.read_text(encoding="utf-8")))
    assert [r.source for r in both if url_key(r.source or "") in used] == []


def test_enough_rows_and_enough_none(both: list[Labelled], outside: list[Labelled]) -> None:
    assert len(both) >= 200
    kinds = Counter(r.kind for r in both if r.is_none)
    assert sum(kinds.values()) >= 0.25 * len(both)
    zh = sum(bool(re.search(r"[\u4e00-\u9fff]", r.question)) for r in both)
    assert 0.4 <= zh / len(both) <= 0.6
    roles = Counter(r.role for r in both)
    assert roles["buyer"] >= 50 and roles["seller"] >= 30
    assert 0.4 <= len(outside) / len(both) <= 0.6


def test_no_phrasing_twice_nor_from_the_other_labelled_sets(both: list[Labelled]) -> None:
    counts = Counter(norm(r.question) for r in both)
    assert [q for q, n in counts.items() if n > 1] == []
    others = [*sorted((ROOT / "tests" / "data").glob("*.tsv")),
              *sorted((ROOT / "tests" / "data" / "questions").glob("*.tsv"))]
    dev = SHARED / "eval" / "dev_questions.tsv"
    others += [dev] if dev.exists() else []
    seen = {norm(r.question) for path in others for r in read_questions(path)}
    assert [r.question for r in both if norm(r.question) in seen] == []


def content_blob() -> str:
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
        walk(yaml.safe_load(path.read_text(encoding="utf-8")))
    return "\n".join(norm(s) for s in strings)


def test_no_outside_phrasing_is_in_content(outside: list[Labelled]) -> None:
    """outside.tsv is never tuned on: none of its phrasings may reach content/ (no word list excepted)."""
    blob = content_blob()
    assert [r.question for r in outside if norm(r.question) in blob] == []


def test_the_files_are_the_seeded_split() -> None:
    module = load_split_module()
    for path, text in module.wanted().items():
        assert path.read_text(encoding="utf-8") == text, f"{path.name}: run tests/data/outside/split.py"


def test_the_split_is_stratified_and_never_moves_a_row() -> None:
    module = load_split_module()
    outside_lines, tune_lines = module.data_lines(OUTSIDE), module.data_lines(TUNE)
    total = Counter(module.stratum(ln) for ln in outside_lines + tune_lines)
    held = Counter(module.stratum(ln) for ln in outside_lines)
    assert {k: (held[k], n) for k, n in total.items() if held[k] != module.share(n)} == {}
    lines = [f"question {i}\trefund.apply" for i in range(20)] + [f"q {i}\tnone" for i in range(5)]
    first, rest = module.split(lines)
    assert len(first) == module.share(20) + module.share(5) and module.split(lines)[0] == first
    more = lines + [f"new {i}\trefund.apply" for i in range(10)]
    again, _ = module.split(more, {module.question_key(ln) for ln in first},
                            {module.question_key(ln) for ln in rest})
    assert set(first) <= set(again) and not set(rest) & set(again)


def test_split_check_fails_on_a_hand_moved_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_split_module()
    out, tun = tmp_path / "outside.tsv", tmp_path / "tune.tsv"
    out.write_text(OUTSIDE.read_text(encoding="utf-8"), encoding="utf-8")
    tun.write_text(TUNE.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(module, "OUTSIDE", out)
    monkeypatch.setattr(module, "TUNE", tun)
    monkeypatch.setattr(module, "HEADERS", {out: module.HEADERS[OUTSIDE], tun: module.HEADERS[TUNE]})
    monkeypatch.setattr("sys.argv", ["split.py", "--check"])
    assert module.main() == 0
    # Move one row from outside.tsv to tune.tsv by hand, keeping both files in split.py's order.
    outside_lines, tune_lines = module.data_lines(out), module.data_lines(tun)
    moved = outside_lines.pop(0)
    tune_lines = sorted([*tune_lines, moved], key=lambda ln: (module.stratum(ln), module.question_key(ln)))
    out.write_text(module.render(out, outside_lines), encoding="utf-8")
    tun.write_text(module.render(tun, tune_lines), encoding="utf-8")
    assert module.main() == 1


def test_readme_counts_are_current() -> None:
    assert load_split_module().counts() in (ODIR / "README.md").read_text(encoding="utf-8")
