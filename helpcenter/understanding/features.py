"""What the classifiers read of a question (helpcenter/understanding/classifier.py).

Two kinds of features, the same at training (training.py) and at answering time:
- sparse: the n-gram matcher's grams of the normalised question (Chinese character uni- and
  bigrams, English stems, word bigrams, character trigrams), and which word lists of
  content/understanding.yaml and content/lexicon.yaml it touches ("hit:case:counterfeit",
  "hit:platform"): the lists are evidence a classifier weighs, never rules whose order decides;
- dense: the question's e5 vector, when the model runs (the cascade's second stage).

A sparse row is TF-IDF weighted and of unit length, so a long question and a short one weigh the
same; the vocabulary and IDF come with the trained model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from helpcenter.understanding.normalize import Normalizer

if TYPE_CHECKING:  # slots.py reads the classifiers' predictions: no import circle at run time
    from helpcenter.understanding.slots import Understander

VERSION = 1  # part of the trained model's key: what sparse() produces; bump it with any change
DENSE_WEIGHT = 2.0  # the e5 vector's scale against the unit-length sparse row (cross-validated)


class Featurizer:
    """The sparse features of a question."""

    def __init__(self, norm: Normalizer, understander: Understander, other_platform: Callable[[str], bool]) -> None:
        self.norm = norm
        self.understander = understander
        self.other_platform = other_platform  # another shop named, TikTok not (Matcher.other_platform)

    def sparse(self, question: str, normalized: str | None = None) -> dict[str, float]:
        normalized = self.norm.normalize(question) if normalized is None else normalized
        feats = {gram: float(weight) for gram, weight in self.norm.grams(normalized).items()}
        feats.update(dict.fromkeys(self.understander.hits(question), 1.0))
        if self.other_platform(normalized):
            feats["hit:platform"] = 1.0
        return feats


class Vectorizer:
    """Sparse features to a TF-IDF row of unit length, over a fixed vocabulary."""

    def __init__(self, vocabulary: list[str], idf: np.ndarray) -> None:
        self.index = {name: i for i, name in enumerate(vocabulary)}
        self.idf = idf.astype(np.float32)

    @classmethod
    def fit(cls, rows: Sequence[Mapping[str, float]], min_df: int = 1) -> Vectorizer:
        """The vocabulary and smooth IDF (sklearn's formula) of the training rows."""
        df: dict[str, int] = {}
        for row in rows:
            for name in row:
                df[name] = df.get(name, 0) + 1
        names = sorted(n for n, c in df.items() if c >= min_df)
        n = len(rows)
        idf = np.asarray([np.log((1 + n) / (1 + df[name])) + 1.0 for name in names], dtype=np.float32)
        return cls(names, idf)

    @property
    def vocabulary(self) -> list[str]:
        return sorted(self.index, key=self.index.__getitem__)

    def row(self, feats: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
        """(column indexes, values) of one question; features outside the vocabulary are dropped."""
        cols = [(self.index[name], value) for name, value in feats.items() if name in self.index]
        if not cols:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        idx = np.fromiter((c for c, _ in cols), dtype=np.int64, count=len(cols))
        val = np.fromiter((v for _, v in cols), dtype=np.float32, count=len(cols)) * self.idf[idx]
        norm = float(np.linalg.norm(val))
        return idx, (val / norm if norm else val)
