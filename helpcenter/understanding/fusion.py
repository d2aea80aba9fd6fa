"""Fuse the matcher's signals into one calibrated probability per candidate.

Each signal scores every item (entries, and the out-of-scope examples): the n-gram matcher
("lex", "rare"), BM25 ("bm25"), the trained topic classifier's probability ("clf") and, when the
model is loaded, e5 cosine ("e5"). Raw scores live on
different scales and e5 cosines are bunched (0.8-0.98 for almost anything), so no raw score is
thresholded directly. Instead each candidate gets a few features per signal — its score, its lead
over the best item of another topic, and its rank — and a logistic regression fitted on labelled
questions (training.py, cross-validated, `make model`) turns them into the probability that this
candidate is the right answer. Ranking and deciding then use that one number.
"""

from __future__ import annotations

import numpy as np

E5_FLOOR = 0.8  # e5 cosines below this mean "unrelated" for this model; above it, stretched to 0..1
PLAIN = ("unknown",)  # per-item evidence used as it is, not a ranking signal


def _lead(x: np.ndarray, topic_ids: np.ndarray) -> np.ndarray:
    """Each item's score minus the best score of an item of another topic."""
    first = int(np.argmax(x))
    other = topic_ids != topic_ids[first]
    best_other = np.full(len(x), x[first], dtype=np.float32)
    if other.any():
        best_other[~other] = np.max(x, where=other, initial=-np.inf)
    return x - best_other


def ranks(x: np.ndarray) -> np.ndarray:
    order = np.argsort(-x, kind="stable")
    out = np.empty(len(x), dtype=np.float32)
    out[order] = np.arange(len(x), dtype=np.float32)
    return out


def feature_names(signals: tuple[str, ...]) -> tuple[str, ...]:
    names = []
    for s in signals:
        names += [s] if s in PLAIN else [f"{s}", f"{s}_lead", f"{s}_rank"]
    return (*names, "agree")


def features(scores: dict[str, np.ndarray], topic_ids: np.ndarray) -> np.ndarray:
    """(items × features) for the signals present, in the order of feature_names()."""
    cols: list[np.ndarray] = []
    tops = []
    for name, raw in scores.items():
        x = raw.astype(np.float32)
        if name in PLAIN:
            cols.append(x)
            continue
        if name == "bm25":
            top = float(x.max())
            x = x / top if top > 0 else x  # relative: BM25 grows with the question's length
        elif name == "e5":
            x = np.clip((x - E5_FLOOR) / (1 - E5_FLOOR), 0.0, 1.0)
        # Items a signal does not score at all have no rank in it (ties at zero are not a ranking).
        cols += [x, _lead(x, topic_ids), np.where(x > 0, 1.0 / (1.0 + ranks(x)), 0.0)]
        if raw.max() > 0:
            tops.append(topic_ids[int(np.argmax(raw))])
    # How many signals rank this item's topic first: agreement of independent views.
    agree = np.zeros(len(topic_ids), dtype=np.float32)
    for t in tops:
        agree += (topic_ids == t).astype(np.float32)
    cols.append(agree / max(1, len(tops)))
    return np.stack(cols, axis=1)


def probability(feats: np.ndarray, weights: np.ndarray, bias: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(feats @ weights + bias)))


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 50) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by Newton's method (a few hundred rows: exact and fast)."""
    n, d = x.shape
    xb = np.hstack([x, np.ones((n, 1))])
    w = np.zeros(d + 1)
    reg = np.full(d + 1, l2)
    reg[-1] = 0.0  # the bias is not shrunk
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(xb @ w)))
        grad = xb.T @ (p - y) + reg * w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + np.diag(reg) + 1e-9 * np.eye(d + 1)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])
