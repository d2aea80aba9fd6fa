"""BM25 over whole entries: a word-level signal that does not share the n-gram matcher's bias
towards the team's own phrasing style.

Each entry is one document (all its phrasings, both languages, normalised the same way as
questions), so term frequency rewards words an entry repeats across its phrasings. Its terms are
Normalizer.terms(): Chinese character bigrams (a lone character stays itself) and stemmed English
words. Bigrams need no dictionary: a word segmenter (jieba) cost a second and ~75 MB at every
start for a signal that ranked no better (0.842 vs 0.849 top-1, cross-validated, when it was measured).

The scoring is Lucene's BM25 (k1 1.5, b 0.75), the same numbers bm25s gives (a test compares
them); written out here because bm25s imports scipy whenever it is installed — and it is, for
`make model` — which cost every start of the bot 0.3 s and 16 MB for ~25 documents.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from helpcenter.understanding.normalize import Normalizer

K1 = 1.5
B = 0.75


class Bm25Index:
    """Scores every entry at once for a normalised question."""

    def __init__(self, norm: Normalizer, documents: list[list[str]]) -> None:
        """documents: per entry, its normalised phrasings."""
        self.norm = norm
        self.size = len(documents)
        counts = [Counter(norm.terms(" ".join(phrasings))) for phrasings in documents]
        lengths = np.asarray([sum(c.values()) for c in counts], dtype=np.float32)
        norm_len = K1 * (1 - B + B * lengths / max(float(lengths.mean()), 1e-9))
        postings: dict[str, tuple[list[int], list[float]]] = {}
        for doc, c in enumerate(counts):
            for term, tf in c.items():
                ids, weights = postings.setdefault(term, ([], []))
                ids.append(doc)
                weights.append(tf / (tf + float(norm_len[doc])))  # Lucene's: no (k1 + 1) factor
        n = self.size
        self.postings = {term: (np.asarray(ids, dtype=np.int32),
                                np.asarray(weights, dtype=np.float32) * _idf(n, len(ids)))
                         for term, (ids, weights) in postings.items()}

    def scores(self, normalized: str) -> np.ndarray:
        """BM25 score of every entry (zeros when the question shares no word with any)."""
        out = np.zeros(self.size, dtype=np.float32)
        for term in self.norm.terms(normalized):
            posting = self.postings.get(term)
            if posting is not None:
                out[posting[0]] += posting[1]
        return out


def _idf(documents: int, holding: int) -> float:
    """Lucene's IDF: never negative, even for a term most entries hold."""
    return math.log(1 + (documents - holding + 0.5) / (holding + 0.5))
