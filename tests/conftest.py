"""Shared fixtures: the real help center, and a scratch copy of the content to break."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Most tests run on the lexical signals (fast start-up, also in the bot processes they spawn);
# tests/test_ranking.py loads the embedding model once for the tests of the fused path.
os.environ.setdefault("EMBEDDINGS", "off")

from helpcenter.core import HelpCenter

ROOT = Path(__file__).resolve().parent.parent

SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def center() -> HelpCenter:
    return HelpCenter()


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    """A writable copy of content/, so a test can break one thing and see the error."""
    target = tmp_path / "content"
    shutil.copytree(ROOT / "content", target)
    return target
