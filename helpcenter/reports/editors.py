"""The editors' to-do list: unanswered and not-helpful questions, grouped by similarity."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from rapidfuzz import fuzz

SIMILAR = 75  # rapidfuzz ratio at which two questions count as the same request


@dataclass
class Group:
    example: str
    lang: str
    questions: list[str] = field(default_factory=list)
    answered_with: set[str] = field(default_factory=set)

    @property
    def count(self) -> int:
        return len(self.questions)


def group_questions(rows: list[tuple[str, str, str | None]], threshold: int = SIMILAR) -> list[Group]:
    """Greedy grouping: each question joins the first group whose example is similar enough;
    questions with no words left once normalised are left out."""
    groups: list[Group] = []
    for text, lang, entry in rows:
        if not text.strip():  # only emoji or punctuation ("?", "👍"): nothing for an editor to add
            continue
        home = next((g for g in groups if g.lang == lang and fuzz.ratio(text, g.example) >= threshold), None)
        if home is None:
            home = Group(text, lang)
            groups.append(home)
        home.questions.append(text)
        if entry:
            home.answered_with.add(entry)
    return sorted(groups, key=lambda g: -g.count)  # stable: ties keep the order first asked


def to_csv(groups: list[Group]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["count", "lang", "example", "variants", "answered_with (not helpful)"])
    for g in groups:
        writer.writerow([g.count, g.lang, g.example, " | ".join(sorted(set(g.questions))),
                         " ".join(sorted(g.answered_with))])
    return out.getvalue()


def to_markdown(groups: list[Group]) -> str:
    lines = ["# Questions to add to the knowledge base", "",
             "Unanswered and not-helpful questions, grouped by similarity, most frequent first.", "",
             "| count | lang | example | variants | answered with (👎) |", "|---|---|---|---|---|"]
    for g in groups:
        variants = "; ".join(sorted(set(g.questions) - {g.example})) or "—"
        cells = [str(g.count), g.lang, g.example, variants, ", ".join(sorted(g.answered_with)) or "—"]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"
