"""The one parser of button data (handlers/base/callbacks.py) that every prefix shares."""

from __future__ import annotations

from types import SimpleNamespace

from handlers.base.callbacks import callback_fields


def _press(data: str | None) -> SimpleNamespace:
    return SimpleNamespace(callback_query=SimpleNamespace(data=data))


def test_fields_after_the_prefix_are_padded_and_the_last_keeps_its_colons() -> None:
    assert callback_fields(_press("ref:start:mismatch:US"), 2) == ["start", "mismatch:US"]
    assert callback_fields(_press("ref:case"), 2) == ["case", ""]
    assert callback_fields(_press("go:sel_wh"), 1) == ["sel_wh"]
    assert callback_fields(_press("fb:12:up:extra"), 3) == ["12", "up", "extra"]
    assert callback_fields(_press("ret"), 3) == ["", "", ""]


def test_no_button_or_no_data_gives_empty_fields() -> None:
    assert callback_fields(_press(None), 2) == ["", ""]
    assert callback_fields(SimpleNamespace(callback_query=None), 1) == [""]
