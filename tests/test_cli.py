"""The command line's contracts (design.md): ask --json, stdin mode, eval, --help, .env."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import bot
from handlers.base.common import Settings
from helpcenter.reports.service_stats import report_zone

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


def test_help_is_written_for_users() -> None:
    out = _run("--help")
    assert out.returncode == 0
    assert "Composition root" not in out.stdout  # the module docstring is for developers
    assert "TikTok Shop returns & refunds help center" in out.stdout
    assert "TELEGRAM_BOT_TOKEN" in out.stdout and ".env" in out.stdout
    for command in ("run", "console", "ask", "check", "eval", "report"):
        assert f"\n    {command} " in out.stdout, command  # each command with its one line
    ask = " ".join(_run("ask", "--help").stdout.split())  # argparse wraps at the terminal's width
    assert "QUESTION the question in Chinese or English" in ask and "one question per line from stdin" in ask


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A cwd with no .env, and SUPPORT_LANG / SUPPORT_CHAT_ID unset (restored after the test,
    also when load_env_file sets them)."""
    monkeypatch.chdir(tmp_path)
    for name in ("SUPPORT_LANG", "SUPPORT_CHAT_ID"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    return tmp_path


def test_dot_env_in_the_cwd_is_read(clean_env: Path) -> None:
    (clean_env / ".env").write_text("SUPPORT_LANG=en   # agents speak English\nSUPPORT_CHAT_ID=-1005000\n",
                                    encoding="utf-8")
    assert Settings.from_env().support_lang == "zh"  # not read yet
    assert bot.load_env_file()
    settings = Settings.from_env()
    assert settings.support_lang == "en" and settings.support_chat_id == -1005000


def test_the_real_environment_wins_over_dot_env(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (clean_env / ".env").write_text("SUPPORT_LANG=en\nSUPPORT_CHAT_ID=-1005000\n", encoding="utf-8")
    monkeypatch.setenv("SUPPORT_LANG", "zh")
    monkeypatch.setenv("SUPPORT_CHAT_ID", "")  # set, even empty: stays as the environment says
    bot.load_env_file()
    settings = Settings.from_env()
    assert settings.support_lang == "zh" and settings.support_chat_id is None


def test_no_dot_env_is_fine(clean_env: Path) -> None:
    assert not bot.load_env_file()
    assert Settings.from_env().support_chat_id is None


def _console_human(cwd: Path, **env: str) -> str:
    base = {k: v for k, v in os.environ.items() if k not in ("TELEGRAM_BOT_TOKEN", "SUPPORT_CHAT_ID", "DATA_DIR")}
    out = subprocess.run([sys.executable, str(ROOT / "bot.py")], cwd=cwd, input="1\n/human\n/quit\n",
                         capture_output=True, text=True, timeout=120, env={**base, **env})
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_bot_started_next_to_a_dot_env_uses_it(tmp_path: Path) -> None:
    """What a user sees: SUPPORT_CHAT_ID from .env makes /human open a ticket; the same variable
    set (empty) in the environment turns agents off again."""
    (tmp_path / ".env").write_text("SUPPORT_CHAT_ID=-1005000\nDATA_DIR=./state\n", encoding="utf-8")
    assert "工单 #1" in _console_human(tmp_path)
    assert (tmp_path / "state").is_dir()  # DATA_DIR from the file too
    assert "工单" not in _console_human(tmp_path, SUPPORT_CHAT_ID="", DATA_DIR=str(tmp_path / "other"))


def test_ask_with_undecodable_bytes_and_a_closed_pipe() -> None:
    bad = subprocess.run([sys.executable, "bot.py", "ask", "-"], cwd=ROOT, input=b"\xe9\x80 \xe9\x80\x80\n",
                         capture_output=True, timeout=60)
    assert bad.returncode == 0 and b"Traceback" not in bad.stderr
    reader = subprocess.Popen([sys.executable, "bot.py", "ask", "退货申请怎么填?"], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert reader.stdout is not None
    reader.stdout.close()  # like `| head`, which has gone before the answer is printed
    _, err = reader.communicate(timeout=60)
    assert reader.returncode == 0 and b"Traceback" not in err


def test_report_zone_is_read_from_the_environment_and_checked() -> None:
    assert Settings.from_env({}).report_timezone == "UTC"  # the operators' default, not BOT_TIMEZONE
    assert Settings.from_env({"REPORT_TIMEZONE": "Asia/Shanghai"}).report_timezone == "Asia/Shanghai"
    assert report_zone(" ").key == "UTC"
    with pytest.raises(ValueError, match="REPORT_TIMEZONE=Mars/Olympus is not a time zone; use an IANA name"):
        report_zone("Mars/Olympus")
