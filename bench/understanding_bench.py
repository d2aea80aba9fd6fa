"""Understanding, judged on questions nobody tuned on: the frozen split
(tests/data/questions/frozen.tsv) and the outside set (tests/data/outside/outside.tsv, phrasings
from public pages the project had not used); the dev set too, which is training data.

    python bench/understanding_bench.py [--repeat 1]

Side by side, on the same rows (only those whose wording, case and punctuation folded, is neither
in content/ nor in the labelled training questions):
- BM25 alone: bm25s over jieba words of the titles, questions and keywords in content/, untuned,
  the best phrasing's entry (the plain anchor);
- e5 alone: the entry of the nearest title or question by multilingual-e5-small cosine;
- n-gram alone: the n-gram matcher's best entry (its "lex" signal);
- classifier alone: the trained topic head's best entry (fused stage);
- fusion: the matcher's calibrated decision (answer, or none);
- what users see: HelpCenter.ask, the reply the chat shows (understanding, role, figures).
The single signals always name an entry, so their top-1 is "ranked first"; the fusion and what
users see may decline, and their top-1 is "answered and right". Also: top-3, wrong answers,
off-topic declined (none rows neither answered nor guessed), how often the e5 model ran, the
case × aspect × market figure right (frozen), and the latency of ask() with and without the model.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpcenter.core import ANSWER, FIGURE, GUESS, HelpCenter, guess_lang  # noqa: E402
from helpcenter.knowledge.labelled import Labelled, read_questions  # noqa: E402
from helpcenter.reports.evaluate import figure_score  # noqa: E402
from helpcenter.understanding.training import TRAINING_FILES  # noqa: E402

SETS = {"frozen": ROOT / "tests" / "data" / "questions" / "frozen.tsv",
        "outside": ROOT / "tests" / "data" / "outside" / "outside.tsv"}
DEV = ROOT / "tests" / "data" / "dev_questions.tsv"  # training data: scored on its own, every row


def folded(text: str) -> str:
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text).casefold())


def known_wording(center: HelpCenter) -> set[str]:
    """Every phrasing of content/ and every labelled training question, folded."""
    out = {folded(p) for e in center.kb.entries for t in e.texts.values() for p in (t.title, *t.questions, *t.keywords)}
    out |= {folded(r.question) for path in TRAINING_FILES for r in read_questions(path)}
    return out


@dataclass
class Tally:
    n: int = 0  # in-scope rows
    top1: int = 0
    guess: int = 0
    top3: int = 0
    wrong: int = 0
    off: int = 0  # off-topic rows
    declined: int = 0
    model: int = 0  # questions the e5 model was asked about
    asked: int = 0
    declines: bool = True  # the configuration can decline (else off-topic is not scored)

    def line(self) -> str:
        def rate(x: int, n: int) -> str:
            return f"{x / n:.3f}" if n else "-"
        off = rate(self.declined, self.off) if self.declines else "-"
        model = rate(self.model, self.asked) if self.asked else "-"
        return (f"{rate(self.top1, self.n):>7}{rate(self.top1 + self.guess, self.n):>8}{rate(self.top3, self.n):>7}"
                f"{rate(self.wrong, self.n):>7}{off:>9}{model:>8}")


HEADER = f"{'':<22}{'top-1':>7}{'+guess':>8}{'top-3':>7}{'wrong':>7}{'off-dec':>9}{'e5 ran':>8}"


@dataclass
class Outcome:
    ranked: list[str]  # topics, best first
    answered: str | None  # the topic answered, or None (declined); for rankers: ranked[0]
    guessed: str | None = None
    used_model: bool | None = None


def bm25_anchor(center: HelpCenter) -> Callable[[str], Outcome]:
    import bm25s
    import jieba

    jieba.setLogLevel(logging.WARNING)

    def tokens(text: str) -> list[str]:
        return [w for w in jieba.lcut_for_search(text.lower()) if w.strip() and any(c.isalnum() for c in w)]

    docs, topics = [], []
    for e in center.kb.entries:
        for t in e.texts.values():
            for p in (t.title, *t.questions, *t.keywords):
                docs.append(tokens(p))
                topics.append(e.topic)
    index = bm25s.BM25()
    index.index(docs, show_progress=False)

    def rank(question: str) -> Outcome:
        words = [w for w in tokens(question) if w in index.vocab_dict]
        if not words:
            return Outcome([], None)
        scores = index.get_scores(words)
        order = list(dict.fromkeys(topics[i] for i in np.argsort(-scores)[:50] if scores[i] > 0))
        return Outcome(order, order[0] if order else None)

    return rank


def signal_ranker(center: HelpCenter, name: str) -> Callable[[str], Outcome]:
    m = center.matcher

    def rank(question: str) -> Outcome:
        _, scores = m.signals(question)
        if name not in scores:
            return Outcome([], None)
        x = scores[name][: len(m.entries)]
        order = list(dict.fromkeys(m.entries[i].topic for i in np.argsort(-x) if x[i] > 0))
        return Outcome(order, order[0] if order else None)

    return rank


def fusion(center: HelpCenter) -> Callable[[str], Outcome]:
    def decide(question: str) -> Outcome:
        match = center.matcher.match(question)
        shown = ([match.answer] if match.answer else []) + list(match.suggestions)
        return Outcome([c.entry.topic for c in shown], match.answer.entry.topic if match.answer else None,
                       match.guess.entry.topic if match.guess else None, match.used_model)

    return decide


def users(center: HelpCenter) -> Callable[[str], Outcome]:
    def reply(question: str) -> Outcome:
        r = center.ask(question, guess_lang(question))
        answered = r.entry.topic if r.kind in (ANSWER, FIGURE) and r.entry else None
        guessed = r.answered.topic if r.kind == GUESS and r.answered else None
        shown = [t for t in (answered, guessed) if t] + [c.entry.topic for c in r.match.suggestions]
        return Outcome(list(dict.fromkeys(shown)), answered, guessed, r.match.used_model)

    return reply


def score(rows: list[Labelled], fn: Callable[[str], Outcome], declines: bool) -> Tally:
    tally = Tally(declines=declines)
    for row in rows:
        out = fn(row.question)
        if out.used_model is not None:
            tally.asked += 1
            tally.model += out.used_model
        if row.is_none:
            tally.off += 1
            tally.declined += out.answered is None and out.guessed is None
            continue
        tally.n += 1
        tally.top1 += out.answered in row.topics
        tally.guess += out.answered is None and out.guessed in row.topics
        tally.wrong += out.answered is not None and out.answered not in row.topics
        tally.top3 += any(t in row.topics for t in out.ranked[:3])
    return tally


@dataclass
class Latency:
    samples: list[float] = field(default_factory=list)

    def line(self) -> str:
        ordered = sorted(self.samples)
        pct = (lambda p: ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]) if ordered else None
        return f"p50 {pct(50):.2f} ms, p99 {pct(99):.2f} ms" if pct else "-"


def latency(center: HelpCenter, questions: list[str]) -> Latency:
    out = Latency()
    semantic = center.matcher.semantic
    for q in questions:
        if semantic is not None and semantic.embedder is not None:
            semantic.embedder.forget()  # every question new to the model
        start = time.perf_counter()
        center.ask(q, guess_lang(q))
        out.samples.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    center = HelpCenter()
    lexical = _lexical()
    known = known_wording(center)
    configs: list[tuple[str, Callable[[str], Outcome], bool]] = [
        ("BM25 alone (plain)", bm25_anchor(center), False),
        ("e5 alone", signal_ranker(center, "e5"), False),
        ("n-gram alone", signal_ranker(center, "lex"), False),
        ("classifier alone", signal_ranker(center, "clf"), False),
        ("fusion (matcher)", fusion(center), True),
        ("what users see", users(center), True),
        ("users, no model", users(lexical), True),
    ]
    for name, path in SETS.items():
        rows = read_questions(path)
        kept = [r for r in rows if folded(r.question) not in known]
        n_in = sum(not r.is_none for r in kept)
        print(f"\n{name}: {len(kept)} of {len(rows)} rows whose wording is new ({n_in} in scope,"
              f" {len(kept) - n_in} off-topic)\n{HEADER}")
        for label, fn, declines in configs:
            print(f"{label:<22}{score(kept, fn, declines).line()}")
        if name == "frozen":
            fig = figure_score(center, kept)
            print(f"case × aspect × market figure right: {fig.rate:.3f} ({fig.right}/{fig.total})")
    dev = read_questions(DEV)
    print(f"\ndev set (training data, every row): what users see {score(dev, users(center), True).line()}")
    questions = [r.question for p in SETS.values() for r in read_questions(p)]
    print(f"\nask() per question, every question new to the model ({len(questions)} questions):")
    print(f"  with the model:    {latency(center, questions).line()}")
    print(f"  lexical (no model): {latency(lexical, questions).line()}")
    load = os.getloadavg()
    print(f"machine load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} (2 cores)")


def _lexical() -> HelpCenter:
    """The same help center without the e5 model (EMBEDDINGS=off)."""
    from helpcenter.understanding import embedding

    saved = os.environ.get("EMBEDDINGS")
    os.environ["EMBEDDINGS"] = "off"
    embedding._reported = True
    try:
        return HelpCenter()
    finally:
        if saved is None:
            os.environ.pop("EMBEDDINGS", None)
        else:
            os.environ["EMBEDDINGS"] = saved


if __name__ == "__main__":
    main()
