"""Deadline arithmetic for the refund flow: when a window counted from an event closes."""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import opencc

from helpcenter.knowledge.model import DateWords, Window

_NUMERIC = re.compile(r"^(?:(\d{4})[-/.])?(\d{1,2})[-/.](\d{1,2})(?:[-/.](\d{4}))?$")
_ORDINAL = r"(\d{1,2})(?:st|nd|rd|th)?"


# Past the acceptance window: "the platform makes no ruling and refers the buyer to the seller"
# (the dispute guidelines the windows come from); contact the seller in the app, keep the chat,
# and ask TikTok's customer service for help (seed 001).
CLOSED_SOURCES = ("id-dispute-guidelines", "seed-001")


class DateError(ValueError):
    """The text is not a date we understand, or it lies in the future."""


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def _base(text: str) -> str:
    """NFKC, lower case, simplified script, single spaces, no final punctuation."""
    text = re.sub(r"[。!?\s]+$", "", _t2s().convert(unicodedata.normalize("NFKC", text)).lower()).strip()
    return " ".join(text.split())


def _fold(text: str, words: DateWords) -> str:
    """_base, then 年/月 become '-' and 日/号 go (2026年11月18日 → 2026-11-18)."""
    for part, sep in (("year", "-"), ("month", "-"), ("day", "")):
        for mark in words.marks.get(part, ()):
            text = text.replace(mark, sep)
    return " ".join(text.split())


def _count(text: str, words: DateWords) -> int | None:
    """A number of days: digits, a number word, or Chinese numerals composed with 十 (十五, 二十)."""
    if text.isdigit():
        return int(text)
    if text in words.numbers:
        return words.numbers[text]
    ten = next((w for w, n in words.numbers.items() if n == 10 and len(w) == 1), None)
    if ten and ten in text and text.count(ten) == 1:
        tens, _, units = text.partition(ten)
        high = words.numbers.get(tens, 0 if tens == "" else -1)
        low = words.numbers.get(units, 0 if units == "" else -1)
        if tens == "":
            high = 1
        if 0 < high < 10 and 0 <= low < 10:
            return high * 10 + low
    return None


def _recent(month: int, day: int, today: date) -> date:
    """The most recent month-day that is not after today (Feb 29 looks back to a leap year)."""
    for year in range(today.year, today.year - 9, -1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate <= today:
            return candidate
    raise DateError(f"{month}-{day}")


def _month_day(a: int, b: int, year: int | None, today: date) -> date:
    """a-b is month-day (as the day buttons show it), or day-month when a cannot be a month."""
    month, day = (a, b) if a <= 12 else (b, a)
    if not (1 <= month <= 12 and 1 <= day <= 31):
        raise DateError(f"{a}-{b}")
    if year is None:
        return _recent(month, day, today)
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise DateError(f"{year}-{month}-{day}") from exc


def parse_day(text: str, today: date, words: DateWords | None = None) -> date:
    """The day a user typed, not after today. Forms: the words of content/lexicon.yaml's dates
    section (今天, 昨日, 两天前, 3 days ago; 周五, 上周五, last Friday), 2026-11-18 (also / . 年月日),
    11-18, 11/18, 11月18日, 十一月二十八日, 18号 / 18日 / the 18th (that day of this month, or of
    the month before when it has not come yet), Nov 18, 18 Nov, November 18 2026. A month-day
    without a year is the most recent such day. Words around the date (dates.filler: "delivered
    on", 签收于) are dropped when the text does not read as a date with them."""
    words = words or DateWords()
    try:
        return _parse(_base(text), today, words, text)
    except DateError:
        plain = _without_filler(_base(text), words)  # "delivered on the 29th", "签收是29号"
        if not plain or plain == _base(text):
            raise
        return _parse(plain, today, words, text)


def _without_filler(base: str, words: DateWords) -> str:
    """The text without the words around a date (dates.filler): Chinese ones anywhere, others as
    whole words."""
    for word in sorted(words.filler, key=len, reverse=True):
        if re.search(r"[a-z]", word):
            base = re.sub(rf"(?<![a-z]){re.escape(word)}(?![a-z])", " ", base)
        else:
            base = base.replace(word, " ")
    return " ".join(base.split())


def _parse(base: str, today: date, words: DateWords, text: str) -> date:
    day = _word_day(base, today, words)
    if day is None:
        day = _marked_day(base, today, words)
    if day is None:
        cleaned = _fold(base, words)
        day = _named_month(cleaned, today, words) if words.months else None
        if day is None:
            day = _numeric(_numerals(cleaned, words), today, text)
    if day > today:
        raise DateError(text)
    return day


def _word_day(base: str, today: date, words: DateWords) -> date | None:
    """今天, 两天前, 3 days ago, 一周前, a week ago, 周五, 上周五, last friday; None when it is none of these."""
    if base in words.days_before:
        return today - timedelta(days=words.days_before[base])
    for ago, days in sorted([(w, 7) for w in words.weeks_ago] + [(w, 1) for w in words.ago],
                            key=lambda x: len(x[0]), reverse=True):
        if base.endswith(ago) and (n := _count(base[:-len(ago)].strip(), words)) is not None:
            return today - timedelta(days=n * days)
    return _weekday(base, today, words)


def _weekday(base: str, today: date, words: DateWords) -> date | None:
    """A weekday, alone (the most recent one, today included), after a word for a week (上周五:
    that weekday of the week before this one, weeks from Monday), or after "last" (the most
    recent one before today)."""
    if base in words.weekdays:
        return today - timedelta(days=(today.weekday() - words.weekdays[base]) % 7)
    for prefix in sorted(words.before_today, key=len, reverse=True):
        rest = base[len(prefix):].strip()
        if base.startswith(prefix) and rest in words.weekdays:
            return today - timedelta(days=(today.weekday() - words.weekdays[rest] - 1) % 7 + 1)
    for prefix in sorted(words.weeks_before, key=len, reverse=True):
        rest = base[len(prefix):].strip()
        if base.startswith(prefix) and rest in words.weekdays:
            monday = today - timedelta(days=today.weekday(), weeks=words.weeks_before[prefix])
            return monday + timedelta(days=words.weekdays[rest])
    return None


def _marked_day(base: str, today: date, words: DateWords) -> date | None:
    """18号, 十八日, the 18th: a day of the month alone, this month's or, if still ahead, last
    month's."""
    n = None
    if (m := re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)", base)) is not None:
        n = int(m.group(1))
    for mark in words.marks.get("day", ()):
        if n is None and base.endswith(mark):
            n = _count(base[:-len(mark)].strip(), words)
    if n is None:
        return None
    if not 1 <= n <= 31:
        raise DateError(base)
    month = date(today.year, today.month, 1)
    for _ in range(3):  # the 31st looks back past 30-day months
        if n <= calendar.monthrange(month.year, month.month)[1] and (d := month.replace(day=n)) <= today:
            return d
        month = (month - timedelta(days=1)).replace(day=1)
    raise DateError(base)


def _numerals(cleaned: str, words: DateWords) -> str:
    """十一-二十八 → 11-28: number words between the separators become digits."""
    parts = re.split(r"([-/. ])", cleaned)
    return "".join(str(n) if (n := _count(part, words)) is not None and not part.isdigit() else part
                   for part in parts)


def _numeric(cleaned: str, today: date, text: str) -> date:
    m = _NUMERIC.match(cleaned.replace(" ", ""))
    if not m or (m.group(1) and m.group(4)):
        raise DateError(text)
    if m.group(1):  # year first: year-month-day, never day-month
        if int(m.group(2)) > 12:
            raise DateError(text)
        return _month_day(int(m.group(2)), int(m.group(3)), int(m.group(1)), today)
    return _month_day(int(m.group(2)), int(m.group(3)), int(m.group(4)) if m.group(4) else None, today)


def _named_month(cleaned: str, today: date, words: DateWords) -> date | None:
    """Nov 18 / November 18th, 2026 / 18 Nov / 18 November 2026; None when no month is named."""
    names = "|".join(re.escape(w) for w in sorted(words.months, key=len, reverse=True))
    plain = " ".join(re.sub(r"[,.]", " ", cleaned).split())
    m = (re.fullmatch(rf"({names}) {_ORDINAL}(?: (\d{{4}}))?", plain)
         or re.fullmatch(rf"{_ORDINAL} (?:of )?({names})(?: (\d{{4}}))?", plain))
    if m is None:
        return None
    first, second, year = m.groups()
    month, day = (first, second) if first in words.months else (second, first)
    try:
        if year is None:
            return _recent(words.months[month], int(day), today)
        return date(int(year), words.months[month], int(day))
    except ValueError as exc:
        raise DateError(cleaned) from exc


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


def acceptance_deadline(limits: Iterable[Limit]) -> Deadline | None:
    """The last day to file: the acceptance window's deadline (the refund result, its reminder and
    the agents' card read it here). With several windows (a market's 30 days, and up to 90 for a
    damaged item), the first one still open: the one not to miss; all closed, the last to close."""
    found = [lim.deadline for lim in limits if lim.kind == "acceptance" and lim.deadline]
    still = [d for d in found if d.open]
    if still:
        return min(still, key=lambda d: d.last_day)
    return max(found, key=lambda d: d.last_day) if found else None


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
