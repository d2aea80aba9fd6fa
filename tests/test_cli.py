"""The command line's contracts (design.md): ask --json, stdin mode, eval."""

from __future__ import annotations

import json
import subprocess
import sys

from .conftest import ROOT


def _run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "bot.py", *args], cwd=ROOT, input=stdin,
                          capture_output=True, text=True, timeout=60)


def test_ask_json_shape() -> None:
    out = _run("ask", "--json", "怎麼申請退款?")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["query"] == "怎麼申請退款?"
    assert data["answer"]["topic"] == "refund.apply"
    assert set(data["answer"]) == {"id", "topic", "score"}
    assert isinstance(data["answer"]["score"], float)
    assert len(data["suggestions"]) <= 3


def test_ask_json_stdin_one_object_per_line_in_order() -> None:
    out = _run("ask", "--json", "-", stdin="lost parcel\n今天天气怎么样\nhuman agent\n")
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [d["query"] for d in lines] == ["lost parcel", "今天天气怎么样", "human agent"]
    assert lines[0]["answer"]["topic"] == "dispute.lost_package"
    assert lines[1]["answer"] is None
    assert lines[2]["answer"]["topic"] == "handoff.human"


def test_ask_prints_a_readable_answer() -> None:
    out = _run("ask", "--lang", "en", "how long is the return window")
    assert "Return windows by market" in out.stdout
    assert "<b>" not in out.stdout


def test_eval_prints_the_figures(tmp_path) -> None:
    f = tmp_path / "q.tsv"
    f.write_text("# comment\n退款\trefund.apply\n天气\tnone\n", encoding="utf-8")
    out = _run("eval", str(f))
    assert "top-1 accuracy: 100.0% (1/1)" in out.stdout
    assert "none rejected: 100.0% (1/1)" in out.stdout
