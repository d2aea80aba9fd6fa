"""Bad content is refused with file:line messages; the real content is valid."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from helpcenter.core import HelpCenter, check
from helpcenter.knowledge.loader import InvalidContent, load_knowledge_base

from .conftest import ROOT, SHARED


def _edit(path: Path, old: str, new: str) -> int:
    """Replace the first occurrence and return its 1-based line number."""
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    line = text[: text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return line


def _errors(content: Path) -> list[str]:
    return [str(e) for e in check(content)]


def _line_of(path: Path, needle: str) -> int:
    text = path.read_text(encoding="utf-8")
    return text[: text.index(needle)].count("\n") + 1


def test_real_content_is_valid() -> None:
    assert check() == []


def test_every_topic_of_the_contract_is_answered_in_both_languages() -> None:
    kb = load_knowledge_base()
    contract = yaml.safe_load((ROOT / "content" / "topics.yaml").read_text(encoding="utf-8"))
    for topic in contract["topics"]:
        entries = [e for e in kb.entries if e.topic == topic]
        assert entries, topic
        assert all(set(e.texts) == {"zh", "en"} for e in entries), topic


@pytest.mark.skipif(not (SHARED / "topics.yaml").exists(), reason="shared/ not beside the repo")
def test_topics_contract_matches_shared_copy() -> None:
    ours = yaml.safe_load((ROOT / "content" / "topics.yaml").read_text(encoding="utf-8"))
    theirs = yaml.safe_load((SHARED / "topics.yaml").read_text(encoding="utf-8"))
    assert ours == theirs


def test_unknown_key_reported_with_file_and_line(content_copy: Path) -> None:
    path = content_copy / "refunds.yaml"
    line = _edit(path, "    role: buyer\n", "    role: buyer\n    colour: red\n") + 1
    assert f"content/refunds.yaml:{line}: unknown key 'colour' in entry refund-apply" in "\n".join(
        _errors(content_copy)).replace(str(content_copy.parent) + "/", "")


def test_missing_language(content_copy: Path) -> None:
    path = content_copy / "handoff.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.index("    en:\n")], encoding="utf-8")
    errors = _errors(content_copy)
    line = _line_of(path, "  - id: handoff-human")
    assert any(e.endswith(f"handoff.yaml:{line}: entry handoff-human is missing 'en'") for e in errors), errors


def test_unknown_topic(content_copy: Path) -> None:
    path = content_copy / "refunds.yaml"
    line = _edit(path, "topic: refund.arrival", "topic: refund.arival")
    errors = _errors(content_copy)
    assert any(e.endswith(f"refunds.yaml:{line}: unknown topic 'refund.arival'") for e in errors), errors
    # and the topic it left uncovered is reported against the contract
    assert any("topic 'refund.arrival' has no knowledge-base entry" in e and "topics.yaml:" in e
               for e in errors), errors


def test_duplicate_id(content_copy: Path) -> None:
    path = content_copy / "refunds.yaml"
    line = _edit(path, "id: refund-arrival", "id: refund-apply")
    errors = _errors(content_copy)
    assert any(f"refunds.yaml:{line}: duplicate entry id 'refund-apply' (first at" in e for e in errors), errors


def test_duplicate_phrasing_across_entries_even_in_traditional(content_copy: Path) -> None:
    path = content_copy / "refunds.yaml"
    # refund-apply already asks "在哪里申请退款"; the same question in traditional script is a duplicate.
    line = _edit(path, "        - 退款到账时间\n", "        - 在哪裡申請退款?\n        - 退款到账时间\n")
    errors = _errors(content_copy)
    assert any(f"refunds.yaml:{line}: entry refund-arrival: question '在哪裡申請退款?' duplicates one in"
               " entry refund-apply" in e for e in errors), errors


def test_broken_related_link(content_copy: Path) -> None:
    path = content_copy / "disputes.yaml"
    line = _edit(path, "related: [dispute-overview, dispute-quality-safety]",
                 "related: [dispute-overview, dispute-nothing]")
    errors = _errors(content_copy)
    assert any(e.endswith(f"disputes.yaml:{line}: entry dispute-counterfeit: related entry"
                          " 'dispute-nothing' does not exist") for e in errors), errors


def test_unknown_source_unit_and_event_in_rules(content_copy: Path) -> None:
    path = content_copy / "rules.yaml"
    line = _edit(path, "{value: 6, unit: day, up_to: true, from: received, source: id-returns}",
                 "{value: 6, unit: fortnight, from: arrival, source: nowhere}")
    errors = "\n".join(_errors(content_copy))
    assert f"rules.yaml:{line}: dispute rule mismatch/ID acceptance: unknown unit 'fortnight'" in errors
    assert f"rules.yaml:{line}: unknown source 'nowhere'" in errors
    assert f"rules.yaml:{line}: unknown event 'arrival'" in errors


def test_invalid_yaml_reports_parser_line(content_copy: Path) -> None:
    path = content_copy / "seller.yaml"
    line = _edit(path, "      title: 卖家设置退货仓库", "      title: [unclosed")
    errors = _errors(content_copy)
    assert any(f"seller.yaml:{line + 1}: invalid YAML" in e or f"seller.yaml:{line}: invalid YAML" in e
               for e in errors), errors


def test_template_that_fails_to_render_is_a_content_error(content_copy: Path, tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    import shutil

    shutil.copytree(ROOT / "templates", templates)
    answer = templates / "answer.html.j2"
    answer.write_text(answer.read_text(encoding="utf-8").replace("{{ title }}",
                                                                 "{{ text.headline }}"), encoding="utf-8")
    errors = [str(e) for e in check(content_copy, templates)]
    assert errors and all("fails to render" in e for e in errors)
    assert any("refunds.yaml:" in e and "entry refund-apply (zh)" in e for e in errors), errors


def test_a_start_after_a_template_change_renders_everything_again(
        content_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A start on bytes rendered before skips rendering them (core.render_key); a template edited
    since is rendered at the next start, which refuses it, so the stamp never hides a broken one."""
    import shutil

    monkeypatch.setenv("CACHE_DIR", str(tmp_path / "cache"))
    templates = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", templates)
    HelpCenter(content_copy, templates)
    assert list((tmp_path / "cache").glob("rendered-*")), "a full render leaves its stamp"
    HelpCenter(content_copy, templates)  # the same bytes: starts without rendering them again
    answer = templates / "answer.html.j2"
    answer.write_text(answer.read_text(encoding="utf-8").replace("{{ title }}", "{{ text.headline }}"),
                      encoding="utf-8")
    with pytest.raises(InvalidContent) as info:
        HelpCenter(content_copy, templates)
    assert any("fails to render" in str(e) for e in info.value.errors)


def test_invalid_content_refuses_to_build(content_copy: Path) -> None:
    _edit(content_copy / "refunds.yaml", "role: buyer", "role: shopper")
    with pytest.raises(InvalidContent) as info:
        HelpCenter(content_copy)
    assert "role must be one of buyer, seller, both" in str(info.value)


def test_check_command_exit_status() -> None:
    ok = subprocess.run([sys.executable, "bot.py", "check"], cwd=ROOT, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "content OK" in ok.stdout


def test_every_figure_has_market_source_and_date() -> None:
    kb = load_knowledge_base()
    windows = [w for r in kb.dispute_rules for ws in r.limits.values() for w in ws]
    windows += [w for rw in kb.return_windows for w in rw.windows]
    windows += [f.window or f.count for f in kb.figures.values()]
    for w in windows:
        assert w is not None and w.source in kb.sources
        assert kb.sources[w.source].date
    assert all(r.market for r in kb.dispute_rules) and all(f.market for f in kb.figures.values())


def test_bad_pattern_is_reported(content_copy: Path) -> None:
    path = content_copy / "lexicon.yaml"
    line = _edit(path, '  "[0-9一二三四五六七八九十两几半]', '  "(unclosed": x\n  "[0-9一二三四五六七八九十两几半]')
    errors = _errors(content_copy)
    assert any(f"lexicon.yaml:{line}: pattern '(unclosed' is not a regular expression" in e for e in errors), errors


def test_entries_the_code_opens_come_from_flows_yaml(content_copy: Path) -> None:
    kb = load_knowledge_base()
    assert (kb.flows.handoff_entry, kb.flows.refund_entry, kb.flows.prevent_entry) == (
        "handoff-human", "refund-apply", "seller-prevent-disputes")
    path = content_copy / "flows.yaml"
    line = _edit(path, "    refund: refund-apply", "    refund: refund-aply")
    assert any(e.endswith(f"flows.yaml:{line}: unknown entry 'refund-aply'") for e in _errors(content_copy))


def test_the_schema_names_nested_places_as_the_loader_always_did(content_copy: Path) -> None:
    """knowledge/schema.py checks the shape (pydantic, extra keys forbidden); its errors keep the
    loader's file:line and wording, down to a window inside a dispute rule."""
    rules = content_copy / "rules.yaml"
    line = _edit(rules, "when: damaged_defective, source: us-money-back}\n  - market: UK",
                 "colour: red, when: damaged_defective, source: us-money-back}\n  - market: UK")
    sources = content_copy / "sources.yaml"
    url_line = _edit(sources, "url: \"https://", "url: \"http://")
    refunds = content_copy / "refunds.yaml"
    text = refunds.read_text(encoding="utf-8")
    start = text.index("      questions:\n")
    end = text.index("\n      steps:", start)
    q_line = text[:start].count("\n") + 1
    refunds.write_text(text[:start] + "      questions: []" + text[end:], encoding="utf-8")
    errors = "\n".join(_errors(content_copy))
    assert (f"rules.yaml:{line}: unknown key 'colour' in return window US (allowed: from, source, unit, up_to,"
            " value, value_max, when)") in errors
    assert f"sources.yaml:{url_line}: source " in errors and "url must be https://… or null" in errors
    assert f"refunds.yaml:{q_line}: entry refund-apply zh: needs at least one question" in errors
