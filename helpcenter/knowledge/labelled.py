"""Labelled questions: the team's format for questions with the answer they should get
(shared/eval/dev_questions.tsv, tests/data/**/*.tsv). Tab-separated, `#` lines are comments:
    question<TAB>topics[<TAB>case<TAB>aspect<TAB>market<TAB>role<TAB>source]
topics are `|`-separated topic ids, or one of the none kinds (`none`, `none:adjacent`,
`none:social`), all of which the bot must not answer confidently. The columns after the second
are optional; `-` (or an empty cell) means not stated. tests/data/questions/README.md says more.
The trained classifiers learn from these files (understanding/training.py), the evaluation
scores on them (reports/evaluate.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

NONE = "none"
NONE_KINDS = ("none", "none:adjacent", "none:social")
CASES = ("mismatch", "counterfeit", "quality_safety", "late_shipment", "lost_package",
         "damaged_package", "return", "refund")
ASPECTS = ("acceptance", "evidence_deadline", "decision", "evidence", "apply", "where", "who_pays",
           "arrival", "escalation")
MARKETS = ("US", "UK", "ID", "TH", "VN", "MY", "PH", "SG", "other")
ROLES = ("buyer", "seller")
# The optional columns in file order, with the values each may take.
SLOTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("case", CASES), ("aspect", ASPECTS), ("market", MARKETS), ("role", ROLES))
UNSET = "-"


@dataclass(frozen=True, slots=True)
class Labelled:
    """One labelled question. Every none kind also puts NONE in topics, so callers that only
    ask `NONE in row.topics` keep working; `kind` keeps the finer label."""

    question: str
    topics: frozenset[str]
    line: int
    kind: str = ""  # "" for an in-scope question, else one of NONE_KINDS
    case: str | None = None
    aspect: str | None = None
    market: str | None = None
    role: str | None = None
    source: str | None = None
    slotted: bool = False  # the line has the slot columns (a "-" there says the slot is not stated)

    @property
    def is_none(self) -> bool:
        return bool(self.kind)


def _cell(value: str) -> str | None:
    value = value.strip()
    return None if value in ("", UNSET) else value


def parse_line(line: str, where: str, number: int) -> Labelled:
    """One non-comment line; ValueError names the file and line of anything malformed."""
    cells = line.rstrip("\r\n").split("\t")
    question = cells[0].strip()
    labels = [t.strip() for t in (cells[1] if len(cells) > 1 else "").split("|") if t.strip()]
    if not question or not labels:
        raise ValueError(f"{where}:{number}: expected 'question<TAB>topic|topic'")
    if len(cells) > 7:
        raise ValueError(f"{where}:{number}: {len(cells)} columns, at most 7"
                         " (question, topics, case, aspect, market, role, source)")
    kinds = [t for t in labels if t in NONE_KINDS or t.startswith(NONE + ":")]
    if kinds and (len(labels) > 1 or kinds[0] not in NONE_KINDS):
        raise ValueError(f"{where}:{number}: a none label stands alone and is one of"
                         f" {', '.join(NONE_KINDS)}; got {'|'.join(labels)}")
    slots: dict[str, str | None] = {}
    for (name, allowed), raw in zip(SLOTS, cells[2:6], strict=False):
        value = _cell(raw)
        if value is not None and value not in allowed:
            raise ValueError(f"{where}:{number}: {name} {value!r} is not one of"
                             f" {', '.join(allowed)} or {UNSET}")
        slots[name] = value
    source = _cell(cells[6]) if len(cells) > 6 else None
    kind = kinds[0] if kinds else ""
    topics = frozenset([NONE]) if kind else frozenset(labels)
    return Labelled(question, topics, number, kind=kind, source=source, slotted=len(cells) >= 6, **slots)


def read_questions(path: Path) -> list[Labelled]:
    """Every labelled question of a file; '#' lines and blank lines are skipped."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        rows.append(parse_line(line, str(path), number))
    return rows
