"""Score the matcher on a labelled question file (helpcenter/knowledge/labelled.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from helpcenter.knowledge.labelled import NONE, NONE_KINDS, Labelled
from helpcenter.understanding.matcher import Match, Matcher

if TYPE_CHECKING:
    from helpcenter.core import HelpCenter


@dataclass
class Report:
    in_scope: int = 0
    top1: int = 0
    top3: int = 0
    none_total: int = 0
    none_rejected: int = 0
    # none kind -> [questions, rejected]
    by_kind: dict[str, list[int]] = field(default_factory=dict)
    misses: list[tuple[Labelled, Match]] = field(default_factory=list)

    @property
    def top1_rate(self) -> float:
        return self.top1 / self.in_scope if self.in_scope else 1.0

    @property
    def top3_rate(self) -> float:
        return self.top3 / self.in_scope if self.in_scope else 1.0

    @property
    def rejection_rate(self) -> float:
        return self.none_rejected / self.none_total if self.none_total else 1.0

    def kind_rejection_rate(self, kind: str) -> float:
        total, rejected = self.by_kind.get(kind, (0, 0))
        return rejected / total if total else 1.0


def ranked_topics(match: Match) -> list[str]:
    """Topics in the order the bot would show them: the answer, then its suggestions."""
    shown = ([match.answer] if match.answer else []) + list(match.suggestions)
    return [c.entry.topic for c in shown]


def evaluate(matcher: Matcher, rows: list[Labelled]) -> Report:
    report = Report()
    for row in rows:
        match = matcher.match(row.question)
        if row.is_none or NONE in row.topics:
            kind = row.kind or NONE
            counts = report.by_kind.setdefault(kind, [0, 0])
            counts[0] += 1
            report.none_total += 1
            if match.answer is None:
                counts[1] += 1
                report.none_rejected += 1
            else:
                report.misses.append((row, match))
            continue
        report.in_scope += 1
        hit1 = match.answer is not None and match.answer.entry.topic in row.topics
        hit3 = any(t in row.topics for t in ranked_topics(match)[:3])
        report.top1 += hit1
        report.top3 += hit3
        if not hit1:
            report.misses.append((row, match))
    return report


def format_report(report: Report) -> str:
    lines = []
    for row, match in report.misses:
        got = (f"answered {match.answer.entry.topic} ({match.answer.score:.2f})" if match.answer
               else "no answer")
        shown = ", ".join(f"{c.entry.topic} {c.score:.2f}" for c in match.candidates[:3])
        lines.append(f"  miss line {row.line}: {row.question!r} want {row.kind or '|'.join(sorted(row.topics))};"
                     f" {got}; top: {shown}")
    lines.append(f"in-scope questions: {report.in_scope}, none questions: {report.none_total}")
    lines.append(f"top-1 accuracy: {report.top1_rate:.1%} ({report.top1}/{report.in_scope})")
    lines.append(f"top-3 accuracy: {report.top3_rate:.1%} ({report.top3}/{report.in_scope})")
    lines.append(f"none rejected: {report.rejection_rate:.1%}"
                 f" ({report.none_rejected}/{report.none_total})")
    if set(report.by_kind) - {NONE}:
        for kind in NONE_KINDS:
            if kind in report.by_kind:
                total, rejected = report.by_kind[kind]
                lines.append(f"  {kind} rejected: {report.kind_rejection_rate(kind):.1%}"
                             f" ({rejected}/{total})")
    return "\n".join(lines)


# --- case × aspect figure right (issue 10): does the bot lead with the labelled case's figure? ---

@dataclass
class FigureScore:
    total: int = 0  # labelled rows whose case × aspect (× market) has a figure in content
    right: int = 0
    misses: list[tuple[Labelled, str]] = field(default_factory=list)  # the row, and what was shown

    @property
    def rate(self) -> float:
        return self.right / self.total if self.total else 1.0


def figure_score(center: HelpCenter, rows: list[Labelled]) -> FigureScore:
    """For rows labelled with a case and a time-limit aspect: the reply must lead with exactly the
    figures content has for that case, aspect and market (and role, when labelled)."""
    from helpcenter.core import FIGURE, guess_lang
    from helpcenter.understanding.slots import Slots

    score = FigureScore()
    for row in rows:
        if row.is_none or row.case is None or row.aspect is None:
            continue
        want = center.understander.figures(Slots(role=row.role, case=row.case, aspect=row.aspect,
                                                 market=row.market))
        if want is None:
            continue  # not a time-limit aspect, or content has no figure for this case
        score.total += 1
        # The labelled role is the asker's: the bot knows it from the saved profile.
        reply = center.ask(row.question, guess_lang(row.question), profile={"role": row.role} if row.role else None)
        got = reply.figure if reply.kind == FIGURE else None
        if got is not None and (got.case, got.aspect, got.market, got.lines) == (
                want.case, want.aspect, want.market, want.lines):
            score.right += 1
        else:
            entry = reply.entry.id if reply.entry else ""
            shown = f"{got.case}/{got.aspect}/{got.market}" if got else f"{reply.kind} {entry}"
            score.misses.append((row, shown))
    return score
