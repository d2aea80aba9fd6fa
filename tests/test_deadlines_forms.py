"""Deadline arithmetic and form validation, without Telegram."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from helpcenter import forms
from helpcenter.deadlines import DateError, add_months, deadline, parse_day, window_end
from helpcenter.model import Window

TODAY = date(2026, 11, 22)
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.mark.parametrize("text, expected", [
    ("today", TODAY), ("今天", TODAY), ("昨天", date(2026, 11, 21)), ("Yesterday", date(2026, 11, 21)),
    ("前天", date(2026, 11, 20)), ("3天前", date(2026, 11, 19)), ("10 days ago", date(2026, 11, 12)),
    ("2026-11-01", date(2026, 11, 1)), ("2026/6/1", date(2026, 6, 1)), ("2026年6月1日", date(2026, 6, 1)),
])
def test_parse_day(text: str, expected: date) -> None:
    assert parse_day(text, TODAY) == expected


@pytest.mark.parametrize("text", ["tomorrow", "2026-13-01", "2026-02-30", "2026-12-01", "", "上周"])
def test_parse_day_refuses(text: str) -> None:
    with pytest.raises(DateError):
        parse_day(text, TODAY)


def test_add_months_clamps_to_month_end() -> None:
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert add_months(date(2026, 1, 15), 1) == date(2026, 2, 15)


def test_business_days_skip_weekends() -> None:
    friday = datetime(2026, 11, 20, tzinfo=NOW.tzinfo)
    end = window_end(friday, Window(value=3, unit="business_day", source="s"))
    assert end is not None and end.date() == date(2026, 11, 25)


def test_deadline_open_closed_and_unknown() -> None:
    six_days = Window(value=6, unit="day", source="s")
    d = deadline(date(2026, 11, 21), six_days, NOW)
    assert d is not None and d.last_day == date(2026, 11, 27) and d.days_left == 5 and d.open
    closed = deadline(date(2026, 11, 1), six_days, NOW)
    assert closed is not None and not closed.open
    assert deadline(TODAY, Window(value=None, source="s"), NOW) is None


def test_order_numbers() -> None:
    assert forms.order_number(" 5764 8293 0174 6293 81 ") == "576482930174629381"
    assert forms.order_number("５７６４８２９３０１７４６２９３８１") == "576482930174629381"  # full width
    for bad in ("12345", "abc", "5764829301746293812345678", ""):
        assert forms.order_number(bad) is None


def test_tracking_and_free_text() -> None:
    assert forms.tracking_number("1z 999 aa1 0123456784") == "1Z999AA10123456784"
    assert forms.tracking_number("??") is None
    assert forms.free_text("   ") is None
    assert len(forms.free_text("x" * 500) or "") == forms.MAX_FIELD
