"""BM25 over whole entries (bm25s + jieba): a word-level signal that does not share the
n-gram matcher's bias towards the team's own phrasing style.

Each entry is one document (all its phrasings, both languages, normalised the same way as
questions), so term frequency rewards words an entry repeats across its phrasings. Chinese is
cut into words by jieba's search mode (overlapping words), English words are stemmed.
"""

from __future__ import annotations

import logging
import re

import bm25s
import jieba
import numpy as np

from helpcenter.understanding.normalize import Normalizer
from helpcenter.understanding.stem import stem_latin

jieba.setLogLevel(logging.WARNING)
logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


class Bm25Index:
    """Scores every entry at once for a normalised question."""

    def __init__(self, norm: Normalizer, documents: list[list[str]]) -> None:
        """documents: per entry, its normalised phrasings."""
        self.norm = norm
        self.retriever = bm25s.BM25()
        corpus = [self.tokens(" ".join(phrasings)) or ["\x00"] for phrasings in documents]
        self.retriever.index(corpus, show_progress=False)
        self.size = len(documents)

    def tokens(self, normalized: str) -> list[str]:
        out = []
        for token in jieba.lcut_for_search(normalized):
            token = token.strip().strip("'")
            if not token:
                continue
            if _HAN.search(token):
                if token not in self.norm.stop_zh:
                    out.append(token)
            elif token not in self.norm.stop_en:
                out.append(stem_latin(token))
        return out

    def scores(self, normalized: str) -> np.ndarray:
        """BM25 score of every entry (zeros when the question shares no word with any)."""
        tokens = [t for t in self.tokens(normalized) if t in self.retriever.vocab_dict]
        if not tokens:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self.retriever.get_scores(tokens), dtype=np.float32)
