"""The trained classifiers: which entry a question is about (or which kind of question the bot
does not answer), and its slots (case, aspect, role). Each is a multinomial
logistic regression over the features of features.py.

They are trained by training.py (`make model`, with scikit-learn) into content/model.npz,
together with the fusion's calibration; here they are only applied, with numpy. Two stages, as
the matcher's cascade: "lexical" reads the sparse features only, "fused" also the e5 vector.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from helpcenter.understanding.features import DENSE_WEIGHT, Vectorizer

log = logging.getLogger(__name__)

MODEL_FILE = Path(__file__).resolve().parents[2] / "content" / "model.npz"
STAGES = ("lexical", "fused")  # sparse features only; sparse features and the e5 vector
HEADS = ("topic", "case", "aspect", "role")
UNSTATED = "-"  # a slot head's class for "the question does not say"
NONE_KINDS = ("none:other", "none:adjacent", "none:social")  # the topic head's classes outside scope
# How likely a slot head's reading must be to count; below it the slot stays empty (the abstain
# region: a wrong case or aspect would lead with a wrong deadline), and the lexical stage is not
# sure enough to skip the model.
SURE = {"case": 0.5, "aspect": 0.5, "role": 0.6}


@dataclass(frozen=True, slots=True)
class Head:
    """One linear classifier: scores = row · sparse + e5 · dense + bias, then softmax."""

    classes: tuple[str, ...]
    sparse: np.ndarray  # (features × classes)
    bias: np.ndarray  # (classes,)
    dense: np.ndarray | None = None  # (e5 dimensions × classes), the fused stage only

    def probabilities(self, idx: np.ndarray, val: np.ndarray, vector: np.ndarray | None = None) -> np.ndarray:
        z = self.bias + val @ self.sparse[idx]
        if self.dense is not None and vector is not None:
            z = z + vector @ self.dense
        z = np.exp(z - z.max())
        return (z / z.sum()).astype(np.float32)


@dataclass(frozen=True, slots=True)
class Prediction:
    """What the classifiers read in one question, at one stage."""

    stage: str
    topic: dict[str, float]  # every topic head class (entry ids and NONE_KINDS) → probability
    slots: dict[str, tuple[str, float]]  # case / aspect / role → (most likely class, its probability)

    def slot(self, head: str) -> str | None:
        """The head's class when it is SURE enough and not UNSTATED: else the abstain region."""
        value, p = self.slots.get(head, (UNSTATED, 0.0))
        return value if value != UNSTATED and p >= SURE[head] else None

    @property
    def unsure(self) -> bool:
        """The case or the aspect head is in its abstain region (not even sure the slot is unstated)."""
        return any(self.slots.get(head, (UNSTATED, 0.0))[1] < SURE[head] for head in ("case", "aspect"))

    @property
    def out_of_scope(self) -> float:
        return sum(self.topic.get(k, 0.0) for k in NONE_KINDS)


class Model:
    """The vocabulary, the heads of both stages, and the fusion's calibration of both stages."""

    def __init__(self, vectorizer: Vectorizer, heads: dict[tuple[str, str], Head],
                 calibration: dict[str, dict[str, Any]], key: str) -> None:
        self.vectorizer = vectorizer
        self.heads = heads
        self.calibration = calibration
        self.key = key  # what it was trained from (training.model_key): stale when content changes

    def predict(self, feats: dict[str, float], vector: np.ndarray | None = None) -> Prediction:
        """Every head of the lexical stage, or of the fused one when the e5 vector is given."""
        stage = "fused" if vector is not None else "lexical"
        idx, val = self.vectorizer.row(feats)
        dense = vector * DENSE_WEIGHT if vector is not None else None
        topic = self.heads[(stage, "topic")]
        p = topic.probabilities(idx, val, dense)
        slots = {}
        for name in HEADS[1:]:
            head = self.heads[(stage, name)]
            q = head.probabilities(idx, val, dense)
            best = int(np.argmax(q))
            slots[name] = (head.classes[best], float(q[best]))
        return Prediction(stage, dict(zip(topic.classes, map(float, p), strict=True)), slots)

    def save(self, path: Path) -> None:
        arrays: dict[str, Any] = {"vocabulary": np.asarray(self.vectorizer.vocabulary, dtype=str),
                                  "idf": self.vectorizer.idf.astype(np.float32),
                                  "calibration": np.asarray(json.dumps(self.calibration, sort_keys=True)),
                                  "key": np.asarray(self.key)}
        for (stage, name), head in self.heads.items():
            arrays[f"{stage}.{name}.classes"] = np.asarray(head.classes, dtype=str)
            arrays[f"{stage}.{name}.sparse"] = head.sparse.astype(np.float16)
            arrays[f"{stage}.{name}.bias"] = head.bias.astype(np.float32)
            if head.dense is not None:
                arrays[f"{stage}.{name}.dense"] = head.dense.astype(np.float16)
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("wb") as fh:
            np.savez_compressed(fh, **arrays)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> Model | None:
        """The shipped model, or None (logged) when the file is missing or unreadable."""
        try:
            with np.load(path, allow_pickle=False) as data:
                vectorizer = Vectorizer([str(v) for v in data["vocabulary"]], data["idf"])
                heads = {}
                for stage in STAGES:
                    for name in HEADS:
                        dense = data.get(f"{stage}.{name}.dense")
                        heads[(stage, name)] = Head(
                            tuple(str(c) for c in data[f"{stage}.{name}.classes"]),
                            data[f"{stage}.{name}.sparse"].astype(np.float32),
                            data[f"{stage}.{name}.bias"].astype(np.float32),
                            dense.astype(np.float32) if dense is not None else None)
                calibration = json.loads(str(data["calibration"]))
                key = str(data["key"])
        except (OSError, KeyError, ValueError) as exc:
            log.error("cannot read the trained model %s: %s; run `make model`", path, exc)
            return None
        return cls(vectorizer, heads, calibration, key)
