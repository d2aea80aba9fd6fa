"""BM25 over whole entries (bm25s): a word-level signal that does not share the n-gram matcher's
bias towards the team's own phrasing style.

Each entry is one document (all its phrasings, both languages, normalised the same way as
questions), so term frequency rewards words an entry repeats across its phrasings. Its terms are
Normalizer.terms(): Chinese character bigrams (a lone character stays itself) and stemmed English
words. Bigrams need no dictionary: a word segmenter (jieba) cost a second and ~75 MB at every
start for a signal that ranked no better (0.842 vs 0.849 top-1, cross-validated, when it was measured).
"""

from __future__ import annotations

import logging

import bm25s
import numpy as np

from helpcenter.understanding.normalize import Normalizer

logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG


class Bm25Index:
    """Scores every entry at once for a normalised question."""

    def __init__(self, norm: Normalizer, documents: list[list[str]]) -> None:
        """documents: per entry, its normalised phrasings."""
        self.norm = norm
        self.retriever = bm25s.BM25()
        corpus = [norm.terms(" ".join(phrasings)) or ["\x00"] for phrasings in documents]
        self.retriever.index(corpus, show_progress=False)
        self.size = len(documents)

    def scores(self, normalized: str) -> np.ndarray:
        """BM25 score of every entry (zeros when the question shares no word with any)."""
        tokens = [t for t in self.norm.terms(normalized) if t in self.retriever.vocab_dict]
        if not tokens:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self.retriever.get_scores(tokens), dtype=np.float32)
