"""Service figures a support lead reads: first-response time, resolution time, reopen rate and
CSAT (the customers' 1-5 ratings), overall, per agent and per day; and the SLA clock, which
only runs inside support hours."""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo
from statistics import median
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from helpcenter.desk.hours import WorkingHours


def working_minutes(hours: WorkingHours | None, start: datetime, end: datetime) -> float:
    """Minutes between start and end that fall inside support hours (all of them without hours)."""
    if end <= start:
        return 0.0
    if hours is None:
        return (end - start).total_seconds() / 60
    total = 0.0
    day = start.date()
    while day <= end.date():
        if day.isoweekday() in hours.days:
            lo = max(start, datetime.combine(day, hours.start, start.tzinfo))
            hi = min(end, datetime.combine(day, hours.end, start.tzinfo))
            if hi > lo:
                total += (hi - lo).total_seconds() / 60
        day += timedelta(days=1)
    return total


def period_start(now: datetime, tz: tzinfo, days: int) -> datetime:
    """The first moment of "the last `days` days" in tz: midnight of the day days-1 before today,
    so every day counted is a whole day of that zone (today so far included)."""
    first = now.astimezone(tz).date() - timedelta(days=days - 1)
    return datetime.combine(first, datetime.min.time(), tz)


def report_zone(name: str) -> ZoneInfo:
    """REPORT_TIMEZONE as a zone (empty: UTC); ValueError with the sentence to print when it is none."""
    name = name.strip() or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"REPORT_TIMEZONE={name} is not a time zone; use an IANA name such as UTC or"
                         " Asia/Shanghai") from None


def zone_name(tz: tzinfo) -> str:
    """How reports name a zone: its IANA key (UTC, Asia/Shanghai)."""
    return getattr(tz, "key", None) or str(tz)


@dataclass(frozen=True, slots=True)
class Figures:
    """One line of the service table."""

    label: str
    tickets: int
    closed: int
    first_response_min: float | None  # median minutes to the first agent answer
    resolution_min: float | None  # median minutes from opening to (last) closing
    reopen_rate: float | None  # share of closed tickets that were reopened at least once
    csat: float | None  # mean rating 1-5
    rated: int


def _figures(label: str, rows: list[dict]) -> Figures:
    first = [(r["first_response_at"] - r["created_at"]).total_seconds() / 60 for r in rows if r["first_response_at"]]
    closed = [r for r in rows if r["status"] == "closed" and r["closed_at"]]
    resolution = [(r["closed_at"] - r["created_at"]).total_seconds() / 60 for r in closed]
    ratings = [r["rating"] for r in rows if r["rating"]]
    reopened = [r for r in closed if r["reopens"]]
    return Figures(label, len(rows), len(closed), median(first) if first else None,
                   median(resolution) if resolution else None,
                   len(reopened) / len(closed) if closed else None,
                   sum(ratings) / len(ratings) if ratings else None, len(ratings))


def summarize(rows: list[dict], tz: ZoneInfo, nobody: str) -> tuple[Figures, list[Figures], list[Figures]]:
    """(all tickets, per agent by name, per day in tz); nobody labels tickets no agent held."""
    total = _figures("", rows)
    agents: dict[str, list[dict]] = {}
    days: dict[str, list[dict]] = {}
    for r in rows:
        agents.setdefault(r["holder"] or nobody, []).append(r)
        days.setdefault(r["created_at"].astimezone(tz).strftime("%Y-%m-%d"), []).append(r)
    per_agent = sorted((_figures(k, v) for k, v in agents.items()), key=lambda f: (-f.tickets, f.label))
    per_day = [_figures(k, days[k]) for k in sorted(days)]
    return total, per_agent, per_day


def minutes(value: float | None, t: Callable[..., str] | None = None) -> str:
    """A duration as minutes under an hour, else hours; t words it (desk.unit.*), else English."""
    if value is None:
        return "—"
    if value < 60:
        return t("desk.unit.min", n=round(value)) if t else f"{value:.0f} min"
    return t("desk.unit.hour", n=f"{value / 60:.1f}") if t else f"{value / 60:.1f} h"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def stars(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}/5"


def line(f: Figures, t: Callable[..., str]) -> str:
    """One row as agents read it in Telegram (t renders a desk.* string)."""
    return t("desk.stats.line", label=f.label, n=f.tickets, closed=f.closed,
             first=minutes(f.first_response_min, t), resolution=minutes(f.resolution_min, t),
             reopen=percent(f.reopen_rate), csat=stars(f.csat), rated=f.rated)


def service_block(rows: list[dict], t: Callable[..., str], tz: ZoneInfo, days: int) -> str:
    """The service part of /stats (Telegram HTML): all tickets, per agent by name, per day in tz
    (named in the title)."""
    lines = [f"<b>{html.escape(t('desk.stats.title', days=days, tz=zone_name(tz)), quote=False)}</b>"]
    if not rows:
        return "\n".join([*lines, t("desk.stats.none")])
    total, per_agent, per_day = summarize(rows, tz, t("desk.stats.nobody"))

    def show(f: Figures) -> str:
        return html.escape(line(f, t), quote=False)

    lines.append(show(replace(total, label=t("desk.stats.all"))))
    lines += ["", f"<b>{t('desk.stats.per_agent')}</b>", *(show(f) for f in per_agent)]
    lines += ["", f"<b>{t('desk.stats.per_day')}</b>", *(show(f) for f in per_day)]
    return "\n".join(lines)


HEADER = ["scope", "label", "tickets", "closed", "first_response_median_min", "resolution_median_min",
          "reopen_rate", "csat_mean", "rated", "timezone"]


def _cells(scope: str, f: Figures, zone: str) -> list[str]:
    def num(v: float | None) -> str:
        return "" if v is None else f"{v:.2f}"
    return [scope, f.label, str(f.tickets), str(f.closed), num(f.first_response_min), num(f.resolution_min),
            num(f.reopen_rate), num(f.csat), str(f.rated), zone]


def to_csv(total: Figures, per_agent: Iterable[Figures], per_day: Iterable[Figures], zone: str = "UTC") -> str:
    """The figures as CSV; every row names the zone its days (and period) are counted in."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerow(_cells("all", total, zone))
    for f in per_agent:
        writer.writerow(_cells("agent", f, zone))
    for f in per_day:
        writer.writerow(_cells("day", f, zone))
    return out.getvalue()


def to_markdown(total: Figures, per_agent: list[Figures], per_day: list[Figures], days: int = 30,
                zone: str = "UTC") -> str:
    head = ["| {} | tickets | closed | first response (median) | resolution (median) | reopened | CSAT | rated |",
            "|---|---|---|---|---|---|---|---|"]

    def row(f: Figures, label: str) -> str:
        cells = [label, str(f.tickets), str(f.closed), minutes(f.first_response_min), minutes(f.resolution_min),
                 percent(f.reopen_rate), stars(f.csat), str(f.rated)]
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    lines = ["# Service", "", f"Tickets opened in the last {days} days; days are counted in {zone}"
             " (REPORT_TIMEZONE). First response: minutes from opening to the"
             " first agent answer (median); resolution: to the last closing (median); reopened: share of"
             " closed tickets the customer reopened; CSAT: the customers' 1–5 ratings.", ""]
    lines += [head[0].format("all"), head[1], row(total, "all tickets"), ""]
    lines += ["## Per agent", "", head[0].format("agent"), head[1], *(row(f, f.label) for f in per_agent), ""]
    lines += [f"## Per day ({zone})", "", head[0].format("day"), head[1], *(row(f, f.label) for f in per_day), ""]
    return "\n".join(lines)
