"""Matcher benchmark: latency and dev-set accuracy of our matcher against two baselines,
measured in the same run on the same entries, plus latency on a generated 10,000-entry KB.

    python bench/matcher_bench.py [--questions FILE.tsv] [--big N]
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bm25s  # noqa: E402
import jieba  # noqa: E402
from rapidfuzz import process  # noqa: E402

from helpcenter.content import load_knowledge_base  # noqa: E402
from helpcenter.evaluate import NONE, read_questions  # noqa: E402
from helpcenter.matcher import Matcher  # noqa: E402
from helpcenter.model import Entry, KnowledgeBase, Text  # noqa: E402

jieba.setLogLevel(logging.WARNING)


def phrasings(entry: Entry) -> list[str]:
    return [p for t in entry.texts.values() for p in (t.title, *t.questions, *t.keywords)]


def timed(fn: Callable[[str], str | None], questions: list[str], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        for q in questions:
            start = time.perf_counter()
            fn(q)
            samples.append((time.perf_counter() - start) * 1000)
    return samples


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def ours(kb: KnowledgeBase) -> Callable[[str], str | None]:
    matcher = Matcher(kb)

    def top(q: str) -> str | None:
        m = matcher.match(q)
        return m.answer.entry.topic if m.answer else None

    return top


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


def _tokens(text: str) -> list[str]:
    return [t for t in jieba.lcut_for_search(text.lower()) if t.strip()]


def bm25_baseline(kb: KnowledgeBase) -> Callable[[str], str | None]:
    corpus = [_tokens(" ".join(phrasings(e))) for e in kb.entries]
    retriever = bm25s.BM25()
    retriever.index(corpus, show_progress=False)
    topics = [e.topic for e in kb.entries]

    def top(q: str) -> str | None:
        tokens = _tokens(q)
        if not tokens:
            return None
        docs, _ = retriever.retrieve([tokens], k=1, show_progress=False)
        return topics[int(docs[0][0])]

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", default=str(ROOT.parent / "shared" / "eval" / "dev_questions.tsv"))
    parser.add_argument("--big", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    kb = load_knowledge_base()
    rows = read_questions(Path(args.questions))
    in_scope = [r for r in rows if NONE not in r.topics]
    questions = [r.question for r in rows]
    print(f"knowledge base: {len(kb.entries)} entries; questions: {len(rows)} ({len(in_scope)} in scope)")
    print(f"{'matcher':<28}{'p50 ms':>9}{'p99 ms':>9}{'top-1':>8}{'none rejected':>15}")
    for name, build in (("ours (n-gram + rapidfuzz)", ours), ("rapidfuzz extractOne", rapidfuzz_baseline),
                        ("BM25 (bm25s + jieba)", bm25_baseline)):
        top = build(kb)
        samples = timed(top, questions, args.repeat)
        hits = sum(top(r.question) in r.topics for r in in_scope)
        rejected = sum(top(r.question) is None for r in rows if NONE in r.topics)
        nones = len(rows) - len(in_scope)
        print(f"{name:<28}{pct(samples, 50):>9.3f}{pct(samples, 99):>9.3f}"
              f"{hits / len(in_scope):>8.1%}{f'{rejected}/{nones}':>15}")

    big = generated_kb(kb, args.big)
    start = time.perf_counter()
    top = ours(big)
    build_s = time.perf_counter() - start
    samples = timed(top, questions, max(1, args.repeat // 4))
    base = rapidfuzz_baseline(big)
    base_samples = timed(base, questions, 1)
    print(f"\ngenerated knowledge base: {args.big} entries, {sum(len(phrasings(e)) for e in big.entries)}"
          f" phrasings; index built in {build_s:.1f} s")
    print(f"{'matcher':<28}{'p50 ms':>9}{'p99 ms':>9}")
    print(f"{'ours (n-gram + rapidfuzz)':<28}{pct(samples, 50):>9.3f}{pct(samples, 99):>9.3f}")
    print(f"{'rapidfuzz extractOne':<28}{pct(base_samples, 50):>9.3f}{pct(base_samples, 99):>9.3f}")


if __name__ == "__main__":
    main()
