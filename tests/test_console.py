"""The console chat runs the real handlers: a scripted session walks a whole return."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT

SCRIPT = "\n".join([
    "1",  # I am a buyer
    "1",  # self-ship return
    "1", "2", "2",  # next from step 1, then next (button 2 once Back exists) to step 4
    "2",  # next: asks for the order number
    "576482930174629381",
    "Blue mug",
    "1",  # first reason button
    "ann@example.com",
    "2",  # next to step 5
    "2",  # next: asks for the carrier
    "USPS",
    "9400111899562737462123",
    "2",  # next to step 6
    "/quit",
]) + "\n"


def test_console_walks_a_whole_return(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "DATA_DIR": str(tmp_path), "HOME": str(tmp_path),
           "EMBEDDINGS": os.environ.get("EMBEDDINGS", "off")}
    out = subprocess.run([sys.executable, "bot.py", "console", "--lang", "en"], cwd=ROOT, input=SCRIPT,
                         capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    transcript = out.stdout
    assert "[1] 🛍 I am a buyer" in transcript
    for n in range(1, 7):
        assert f"Step {n}/6" in transcript
    assert "Order number: 576482930174629381" in transcript
    assert "Tracking number: 9400111899562737462123" in transcript
    assert "Return flow complete!" in transcript
    assert "Traceback" not in out.stderr
