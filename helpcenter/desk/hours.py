"""Agents' working hours ("09:00-18:00" on ISO weekdays "1-5"), and when they are next back."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

_HOURS = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")
_DAYS = re.compile(r"^([1-7])(?:-([1-7]))?$")


@dataclass(frozen=True, slots=True)
class WorkingHours:
    start: time
    end: time
    days: frozenset[int]  # ISO weekdays, 1 = Monday

    @classmethod
    def parse(cls, hours: str, days: str = "1-7") -> WorkingHours | None:
        """None (always open) for an empty spec; ValueError for one we cannot read."""
        if not hours.strip():
            return None
        m = _HOURS.match(hours.replace(" ", ""))
        if not m:
            raise ValueError(f"working hours must look like 09:00-18:00, got {hours!r}")
        start, end = time(int(m.group(1)), int(m.group(2))), time(int(m.group(3)), int(m.group(4)))
        chosen: set[int] = set()
        for part in (days or "1-7").replace(" ", "").split(","):
            d = _DAYS.match(part)
            if not d:
                raise ValueError(f"working days must look like 1-5 or 1,3,5, got {days!r}")
            lo, hi = int(d.group(1)), int(d.group(2) or d.group(1))
            chosen.update(range(lo, hi + 1))
        return cls(start, end, frozenset(chosen))

    def is_open(self, now: datetime) -> bool:
        return now.isoweekday() in self.days and self.start <= now.time() < self.end

    def next_open(self, now: datetime) -> datetime:
        """The next moment agents are at work (now, if they are)."""
        if self.is_open(now):
            return now
        day = now.date()
        for offset in range(8):
            candidate = datetime.combine(day + timedelta(days=offset), self.start, now.tzinfo)
            if candidate.isoweekday() in self.days and candidate > now:
                return candidate
        return now
