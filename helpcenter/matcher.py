"""Match a question to knowledge-base entries.

Two signals, both over the entries' phrasings (questions, titles and keywords, in both
languages): an IDF-weighted cosine over character grams, computed from an inverted index so a
question touches only the phrasings that share a gram with it, and rapidfuzz's similarity on
the few best entries, which forgives typos and word order. An answer is given only above a
threshold and with a margin over the best entry of another topic (Rasa's FallbackClassifier
idea); otherwise the caller offers suggestions.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from .model import LANGS, Entry, KnowledgeBase
from .normalize import Normalizer

THRESHOLD = 0.4  # below this the best entry is a guess, not an answer
MARGIN = 0.03  # the best must beat the best entry of another topic by this much
CLEAR_FLOOR = 0.3  # ...or, above this lower floor, be a clear winner:
CLEAR_RATIO = 1.6  # this many times the best entry of another topic
SUGGEST_FLOOR = 0.22  # weaker than this is not worth suggesting
RERANK = 8  # entries re-scored with rapidfuzz
W_COSINE = 0.4  # nearest phrasing
W_COVER = 0.3  # how much of the question the entry's vocabulary explains
W_FUZZ = 0.3  # edit-distance similarity to the nearest phrasing
KEYWORD_WEIGHT = 0.8  # a keyword phrasing counts a little less than a full question


@dataclass(frozen=True, slots=True)
class Candidate:
    entry: Entry
    score: float


@dataclass(frozen=True, slots=True)
class Match:
    query: str
    normalized: str
    answer: Candidate | None
    candidates: tuple[Candidate, ...]  # best first, one per entry
    guess: Candidate | None = None  # no answer, but one candidate clearly leads: "I think you mean"

    @property
    def suggestions(self) -> tuple[Candidate, ...]:
        """Up to three entries to offer: the runners-up, or the best guesses if no answer."""
        rest = self.candidates[1:] if self.answer else self.candidates
        return tuple(c for c in rest if c.score >= SUGGEST_FLOOR)[:3]


class Matcher:
    """Indexes a knowledge base once; match() then costs only what the question touches."""

    def __init__(self, kb: KnowledgeBase, threshold: float = THRESHOLD, margin: float = MARGIN) -> None:
        self.kb = kb
        self.threshold, self.margin = threshold, margin
        self.norm = Normalizer(kb.lexicon)
        self.entries: list[Entry] = list(kb.entries)
        texts: list[str] = []
        boosts: list[float] = []
        owner: list[int] = []
        self.starts: list[int] = []
        for idx, entry in enumerate(self.entries):
            self.starts.append(len(texts))
            seen: set[str] = set()
            for lang in LANGS:
                text = entry.texts.get(lang)
                if text is None:
                    continue
                for phrase, boost in ([(text.title, 1.0)] + [(q, 1.0) for q in text.questions]
                                      + [(k, KEYWORD_WEIGHT) for k in text.keywords]):
                    norm = self.norm.normalize(phrase)
                    if norm and norm not in seen:
                        seen.add(norm)
                        texts.append(norm)
                        boosts.append(boost)
                        owner.append(idx)
            if len(texts) == self.starts[-1]:  # keep reduceat's segments non-empty
                texts.append(entry.id)
                boosts.append(0.0)
                owner.append(idx)
        self.phrasings = texts
        self.owner = np.asarray(owner, dtype=np.int32)
        self.boost = np.asarray(boosts, dtype=np.float32)
        self.by_entry: list[list[str]] = [[] for _ in self.entries]
        for text, idx in zip(texts, owner, strict=True):
            self.by_entry[idx].append(text)
        self._build_index([self.norm.grams(t) for t in texts])

    def _build_index(self, grams: list[Counter[str]]) -> None:
        # Document frequency counts entries, not phrasings: a gram every phrasing of one entry
        # repeats is that entry's signature, not noise.
        df: Counter[str] = Counter()
        for idx in range(len(self.entries)):
            lo = self.starts[idx]
            hi = self.starts[idx + 1] if idx + 1 < len(self.entries) else len(grams)
            df.update(set().union(*grams[lo:hi]))
        n = len(self.entries)
        self.idf = {g: math.log(1 + n / c) for g, c in df.items()}
        self.unknown_idf = math.log(1 + n)
        postings: dict[str, tuple[list[int], list[float]]] = {}
        for pid, counts in enumerate(grams):
            vec = {g: w * self.idf[g] for g, w in counts.items()}
            length = math.sqrt(sum(v * v for v in vec.values())) or 1.0
            for g, v in vec.items():
                ids, ws = postings.setdefault(g, ([], []))
                ids.append(pid)
                ws.append(v / length)
        self.postings = {g: (np.asarray(ids, dtype=np.int32), np.asarray(ws, dtype=np.float32))
                         for g, (ids, ws) in postings.items()}
        self.entry_postings = {g: np.unique(self.owner[ids]) for g, (ids, _) in self.postings.items()}
        self.starts_arr = np.asarray(self.starts, dtype=np.int64)

    def match(self, query: str, exclude: str | None = None) -> Match:
        """The best entries for query. exclude leaves one phrasing (as it is indexed) out, so a
        phrasing can be tested against the rest of the knowledge base (see confusions())."""
        normalized = self.norm.normalize(query)
        scored = self._score(normalized, exclude)
        if not scored:
            return Match(query, normalized, None, ())
        best = scored[0]
        rival = next((c for c in scored[1:] if c.entry.topic != best.entry.topic), None)
        rival_score = rival.score if rival else 0.0
        confident = ((best.score >= self.threshold and best.score - rival_score >= self.margin)
                     or (best.score >= CLEAR_FLOOR and best.score >= CLEAR_RATIO * rival_score))
        return Match(query, normalized, best if confident else None, tuple(scored))

    def _score(self, normalized: str, exclude: str | None = None) -> list[Candidate]:
        grams = self.norm.grams(normalized)
        if not grams:
            return []
        qvec = {g: w * self.idf.get(g, self.unknown_idf) for g, w in grams.items()}
        qlen = math.sqrt(sum(v * v for v in qvec.values())) or 1.0
        scores = np.zeros(len(self.phrasings), dtype=np.float32)
        for g, v in qvec.items():
            post = self.postings.get(g)
            if post is not None:
                scores[post[0]] += post[1] * (v / qlen)
        scores *= self.boost
        if exclude is not None:
            scores[[i for i, text in enumerate(self.phrasings) if text == exclude]] = 0.0
        total = sum(qvec.values())
        cover = np.zeros(len(self.entries), dtype=np.float32)
        for g, v in qvec.items():
            owners = self.entry_postings.get(g)
            if owners is not None:
                cover[owners] += v / total
        prelim = W_COSINE * np.maximum.reduceat(scores, self.starts_arr) + W_COVER * cover
        k = min(RERANK, len(prelim))
        top = np.argpartition(-prelim, k - 1)[:k]
        out = []
        for idx in top:
            if prelim[idx] <= 0.0:
                continue
            choices = self.by_entry[idx] if exclude is None else [p for p in self.by_entry[idx] if p != exclude]
            best = process.extractOne(normalized, choices, scorer=fuzz.ratio)
            fuzzy = best[1] / 100.0 if best else 0.0
            # Edit similarity only counts as far as the entry explains the question: short junk
            # is always somewhat "similar" to some short phrasing.
            gate = min(1.0, float(cover[idx]) * 2)
            out.append(Candidate(self.entries[idx], float(prelim[idx]) + W_FUZZ * fuzzy * gate))
        out.sort(key=lambda c: c.score, reverse=True)
        return out


def confusions(matcher: Matcher) -> list[tuple[Entry, str, Entry, float]]:
    """Questions that, left out of their own entry, match another entry better: phrasings that
    pull the matcher towards the wrong answer. (entry, question, winner, its score)."""
    found = []
    for entry in matcher.entries:
        for lang in LANGS:
            text = entry.texts.get(lang)
            for question in text.questions if text else ():
                match = matcher.match(question, exclude=matcher.norm.normalize(question))
                top = match.candidates[0] if match.candidates else None
                if top is not None and top.entry.topic != entry.topic and match.answer is not None:
                    found.append((entry, question, top.entry, top.score))
    return found
