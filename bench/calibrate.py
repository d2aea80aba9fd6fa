"""Fit the fusion's logistic regression and the decision thresholds on labelled tuning questions,
by k-fold cross-validation (thresholds are chosen on out-of-fold probabilities, so they are judged
on questions the fit did not see). Prints the CALIBRATION block for helpcenter/understanding/matcher.py.

    python bench/calibrate.py [--folds 5] FILE.tsv ...

Never pass the frozen split: it is only for the bench's final report.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpcenter.knowledge.loader import load_knowledge_base  # noqa: E402
from helpcenter.understanding import embedding, fusion  # noqa: E402
from helpcenter.understanding.matcher import OUT_OF_SCOPE, Matcher  # noqa: E402

# shared/ sits beside the main checkout; a worktree is one level deeper.
SHARED = next((p / "shared" for p in ROOT.parents if (p / "shared" / "eval").is_dir()), ROOT.parent / "shared")
# Costs of each outcome: a wrong answer (a wrong deadline) is worse than no answer.
NORMALIZED: dict[str, str] = {}
LEXICAL_SIGNALS = ("lex", "rare", "bm25", "unknown")
GAIN = {"answer_right": 1.0, "answer_wrong": -3.0, "guess_right": 0.6, "guess_wrong": -1.0}


@dataclass(frozen=True, slots=True)
class Row:
    question: str
    topics: frozenset[str]
    kind: str | None  # None in scope; "none", "adjacent", "social" off-topic
    file: str
    line: int


def read_labelled(path: Path) -> list[Row]:
    """The team's labelled format (question, topics, optional columns); none, none:adjacent, none:social."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) < 2 or not cols[0].strip():
            raise ValueError(f"{path}:{number}: expected 'question<TAB>topics'")
        topics = frozenset(t.strip() for t in cols[1].split("|") if t.strip())
        off = [t for t in topics if t == "none" or t.startswith("none:")]
        kind = (off[0].partition(":")[2] or "none") if off else None
        rows.append(Row(cols[0].strip(), topics, kind, path.name, number))
    return rows


def default_tuning() -> list[Path]:
    paths = [SHARED / "eval" / "dev_questions.tsv", ROOT / "tests" / "data" / "paraphrases.tsv",
             ROOT / "tests" / "data" / "probes.tsv"]
    tune = ROOT / "tests" / "data" / "questions" / "tune.tsv"
    return [p for p in [*paths, tune] if p.exists()]


def labels(matcher: Matcher, row: Row) -> np.ndarray:
    """1 for every item that is a right answer: the labelled topics, or the out-of-scope examples."""
    return np.asarray([(row.kind is not None) if item.topic.startswith(OUT_OF_SCOPE) else item.topic in row.topics
                       for item in matcher.items], dtype=np.float64)


def feature_table(matcher: Matcher, rows: list[Row], signals: tuple[str, ...]) -> list[np.ndarray]:
    out = []
    for row in rows:
        normalized, scores = matcher.signals(row.question)
        NORMALIZED[row.question] = normalized
        if not scores:
            scores = {"lex": np.zeros(len(matcher.items), dtype=np.float32)}
            scores |= {s: scores["lex"] for s in signals[1:]}
        out.append(fusion.features({s: scores[s] for s in signals}, matcher.topic_ids))
    return out


def outcomes(matcher: Matcher, rows: list[Row], probs: list[np.ndarray], cal: dict[str, float]) -> dict[str, float]:
    """Decisions under cal, scored: top-1 (answered right), top-3, rejection, gain."""
    stats = dict.fromkeys(("in", "right", "guess_right", "top3", "off", "rejected", "wrong", "gain"), 0.0)
    m = matcher
    for row, prob in zip(rows, probs, strict=True):
        saved = m.calibration
        m.calibration = cal
        match = m.decide(row.question, NORMALIZED.get(row.question) or m.norm.normalize(row.question), prob)
        m.calibration = saved
        if row.kind is not None:
            stats["off"] += 1
            if match.answer is None and match.guess is None:
                stats["rejected"] += 1
            else:
                stats["gain"] += GAIN["answer_wrong"] if match.answer else GAIN["guess_wrong"]
            continue
        stats["in"] += 1
        shown = [c.entry.topic for c in ([match.answer] if match.answer else []) + list(match.suggestions)]
        stats["top3"] += any(t in row.topics for t in shown[:3])
        if match.answer is not None:
            ok = match.answer.entry.topic in row.topics
            stats["right"] += ok
            stats["wrong"] += not ok
            stats["gain"] += GAIN["answer_right"] if ok else GAIN["answer_wrong"]
        elif match.guess is not None:
            ok = match.guess.entry.topic in row.topics
            stats["guess_right"] += ok
            stats["gain"] += GAIN["guess_right"] if ok else GAIN["guess_wrong"]
    return stats


# answer: sure enough alone; clear + ratio: less sure but far ahead of any other topic;
# guess + lead: "I think you mean"; suggest: worth a button.
GRID = {"answer": (0.5, 0.6, 0.7, 0.8), "clear": (0.1, 0.2, 0.3, 0.4), "ratio": (3.0, 4.0, 6.0, 10.0),
        "guess": (0.1, 0.2, 0.3), "lead": (1.5, 2.0, 3.0), "suggest": (0.03,)}
MUST = "dev_questions.tsv"  # thresholds that miss any of these are only taken if nothing else works


def best_thresholds(matcher: Matcher, rows: list[Row], probs: list[np.ndarray], base: dict[str, object],
                    fitted: list[np.ndarray], grid: dict[str, tuple[float, ...]] = GRID,
                    ) -> tuple[dict[str, object], dict[str, float]]:
    """The grid point with the best out-of-fold gain among those that keep every MUST question
    right with the final fit (the dev set stays at 100 %)."""
    best: tuple[float, dict[str, object], dict[str, float]] | None = None
    for values in itertools.product(*grid.values()):
        cal = dict(base) | dict(zip(grid, values, strict=True))
        if cal["guess"] >= cal["answer"] or cal["clear"] >= cal["answer"]:
            continue
        stats = outcomes(matcher, rows, probs, cal)
        must = [i for i, r in enumerate(rows) if r.file == MUST]
        dev = outcomes(matcher, [rows[i] for i in must], [fitted[i] for i in must], cal)
        score = stats["gain"] - (1000.0 if dev["right"] < dev["in"] or dev["rejected"] < dev["off"] else 0.0)
        if best is None or score > best[0]:
            best = (score, cal, stats)
    assert best is not None
    return best[1], best[2]


def calibrate(matcher: Matcher, rows: list[Row], signals: tuple[str, ...], folds: int = 5, l2: float = 1.0,
              grid: dict[str, tuple[float, ...]] = GRID,
              ) -> tuple[dict[str, object], dict[str, float], list[np.ndarray]]:
    """The fitted calibration, its cross-validated outcomes, and each row's out-of-fold probabilities."""
    feats = feature_table(matcher, rows, signals)
    ys = [labels(matcher, r) for r in rows]
    fold_of = np.arange(len(rows)) % folds
    np.random.default_rng(7).shuffle(fold_of)
    oof: list[np.ndarray] = [np.empty(0)] * len(rows)
    for k in range(folds):
        train = [i for i in range(len(rows)) if fold_of[i] != k]
        w, b = fusion.fit_logistic(np.vstack([feats[i] for i in train]), np.concatenate([ys[i] for i in train]), l2)
        for i in np.flatnonzero(fold_of == k):
            oof[i] = fusion.probability(feats[i], w, b)
    base = {"signals": signals, "weights": (), "bias": 0.0}
    w, b = fusion.fit_logistic(np.vstack(feats), np.concatenate(ys), l2)
    cal, cv_stats = best_thresholds(matcher, rows, oof, base, [fusion.probability(f, w, b) for f in feats], grid)
    cal |= {"weights": tuple(round(float(x), 4) for x in w), "bias": round(b, 4)}
    return cal, cv_stats, oof


SKIP = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 2.0)  # 2.0: never skip the model
TOLERANCE = 1.0  # of gain (one right answer) given up for skipping the model more often


def cascade(lexical: Matcher, fused: Matcher, rows: list[Row], lex_oof: list[np.ndarray], lex_cal: dict[str, object],
            fused_oof: list[np.ndarray], fused_cal: dict[str, object]) -> tuple[float, list[str]]:
    """The lexical stage's skip_model: the lowest bar at which skipping the model when the lexical
    decision is that sure gains as much, cross-validated, as always asking it. Returns it and a
    line per bar: how often the model runs and the outcomes."""
    lines: list[str] = []
    gains: list[tuple[float, float]] = []
    for bar in SKIP:
        stats = dict.fromkeys(("in", "right", "guess_right", "top3", "off", "rejected", "wrong", "gain"), 0.0)
        used = 0
        for row, lp, fp in zip(rows, lex_oof, fused_oof, strict=True):
            lexical.calibration = lexical.first_stage = lex_cal
            first = lexical.decide(row.question, NORMALIZED[row.question], lp, lex_cal)
            sure = (first.answer is not None or first.out_of_scope is not None) and first.top >= bar
            if sure:
                one = outcomes(lexical, [row], [lp], lex_cal)
            else:
                used += 1
                one = outcomes(fused, [row], [fp], fused_cal)
            for k in stats:
                stats[k] += one[k]
        lines.append(f"skip_model {bar:.2f}: the model runs for {used / len(rows):.0%} of questions; {describe(stats)}")
        gains.append((bar, stats["gain"]))
    top = max(gain for _, gain in gains)
    return min(bar for bar, gain in gains if gain >= top - TOLERANCE), lines


def describe(stats: dict[str, float]) -> str:
    n, off = stats["in"], max(1.0, stats["off"])
    return (f"top-1 {stats['right'] / n:.3f} (+guess {(stats['right'] + stats['guess_right']) / n:.3f})"
            f" wrong {stats['wrong'] / n:.3f} top-3 {stats['top3'] / n:.3f}"
            f" off-topic rejected {stats['rejected'] / off:.3f} ({n:.0f}+{stats['off']:.0f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--l2", type=float, default=1.0)
    args = parser.parse_args()
    files = args.files or default_tuning()
    assert not any(p.name.startswith("frozen") for p in files), "the frozen split is not for tuning"
    rows = [r for p in files for r in read_labelled(p)]
    print(f"tuning on {len(rows)} questions from {', '.join(p.name for p in files)}")
    kb = load_knowledge_base()
    semantic = embedding.load()
    lexical = Matcher(kb)
    lex_cal, stats, lex_oof = calibrate(lexical, rows, LEXICAL_SIGNALS, args.folds, args.l2)
    print(f"lexical: cross-validated {describe(stats)}")
    if semantic is None:
        print(f'    "lexical": {lex_cal!r},')
        return
    fused = Matcher(kb, semantic=semantic)
    fused_cal, stats, fused_oof = calibrate(fused, rows, (*LEXICAL_SIGNALS, "e5"), args.folds, args.l2)
    print(f"fused: cross-validated {describe(stats)}")
    lex_cal["skip_model"], lines = cascade(lexical, fused, rows, lex_oof, lex_cal, fused_oof, fused_cal)
    print("\n".join(lines))
    for mode, cal in (("lexical", lex_cal), ("fused", fused_cal)):
        print(f'    "{mode}": {cal!r},')
        print("      features:", ", ".join(f"{n}={w:+.2f}" for n, w in
                                       zip(fusion.feature_names(cal["signals"]), cal["weights"], strict=True)))


if __name__ == "__main__":
    main()
