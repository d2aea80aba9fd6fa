"""Deadline arithmetic for the refund flow: when a window counted from an event closes."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from .model import Window

# Words people use for recent days, in both languages (and traditional script after folding).
_RELATIVE = {"today": 0, "今天": 0, "今日": 0, "yesterday": 1, "昨天": 1, "昨日": 1,
             "前天": 2, "day before yesterday": 2}
_AGO = re.compile(r"^(\d{1,3})\s*(?:天前|日前|days? ago)$")
_ISO = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")


class DateError(ValueError):
    """The text is not a date we understand, or it lies in the future."""


def parse_day(text: str, today: date) -> date:
    """'today', 'yesterday', '3天前', 'YYYY-MM-DD' (also / . 年月日) → a date not after today."""
    cleaned = " ".join(text.strip().lower().split())
    if cleaned in _RELATIVE:
        return today - timedelta(days=_RELATIVE[cleaned])
    if m := _AGO.match(cleaned):
        return today - timedelta(days=int(m.group(1)))
    m = _ISO.match(cleaned.replace(" ", ""))
    if not m:
        raise DateError(text)
    try:
        day = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError as exc:
        raise DateError(text) from exc
    if day > today:
        raise DateError(text)
    return day


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def window_end(start: datetime, window: Window) -> datetime | None:
    """The moment a window that opened at start closes; None when the window is unknown."""
    if window.value is None or window.unit is None:
        return None
    n = window.value_max if window.value_max is not None else window.value
    if window.unit == "hour":
        return start + timedelta(hours=n)
    if window.unit == "month":
        return datetime.combine(add_months(start.date(), int(n)), start.time(), start.tzinfo)
    if window.unit in ("business_day", "working_day"):
        day, left = start.date(), int(n)
        while left:
            day += timedelta(days=1)
            left -= day.weekday() < 5
        return datetime.combine(day, start.time(), start.tzinfo)
    return start + timedelta(days=n)


@dataclass(frozen=True, slots=True)
class Deadline:
    """Where a window stands today: the last day to act, and whether that is still ahead."""

    last_day: date
    days_left: int  # negative once closed
    exact_time: bool  # an hour-based window, whose end depends on the time of the event

    @property
    def open(self) -> bool:
        return self.days_left >= 0


def deadline(event_day: date, window: Window, now: datetime) -> Deadline | None:
    """Deadline of a window that started on event_day (time of day unknown), judged at now."""
    start = datetime.combine(event_day, time(0, 0), now.tzinfo)
    end = window_end(start, window)
    if end is None:
        return None
    # A day-based window that opens on day D lasts until the end of day D + n.
    last_day = end.date()
    return Deadline(last_day, (last_day - now.date()).days, window.unit == "hour")


@dataclass(frozen=True, slots=True)
class Limit:
    """One time limit of a dispute rule as it applies to a buyer's case today."""

    kind: str
    window: Window
    deadline: Deadline | None  # None: unknown, or not a date (counts from a later event)


def assess(limits: dict[str, tuple[Window, ...]], variant: str | None, event_day: date,
           now: datetime) -> list[Limit]:
    """The buyer's view of a rule: the acceptance window from the event day, the buyer's evidence
    deadline if the request is filed today, and the decision time as a duration."""
    out: list[Limit] = []
    for w in limits.get("acceptance", ()):
        if variant is None or w.when in (None, variant):
            out.append(Limit("acceptance", w, deadline(event_day, w, now)))
    for w in limits.get("evidence_buyer", ()):
        out.append(Limit("evidence_buyer", w, deadline(now.date(), w, now)))
    out.extend(Limit("decision", w, None) for w in limits.get("decision", ()))
    return out
