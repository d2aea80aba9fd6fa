"""Many users at once through the emulator: every user gets every reply, nothing crosses."""

from __future__ import annotations

from pathlib import Path

from .emulator import Emulator
from .loaddriver import FLOW, run_load
from .test_e2e import bot_process

USERS = 150  # the full 500-user run is bench/load_bench.py


def test_many_users_at_once_all_get_every_reply(tmp_path: Path) -> None:
    with Emulator() as emu, bot_process(emu, tmp_path):
        result = run_load(emu, USERS)
        print(result.summary())
        assert result.missing == []
        assert result.updates == USERS * len(FLOW)
        assert result.crossed == 0
