"""Training, at build time (`make model`, `python bot.py model`): the classifiers of classifier.py
and the fusion's calibration, from content/ and the labelled tuning questions, into
content/model.npz. Needs scikit-learn (requirements-dev.txt); the bot itself only applies the result.

What is learnt from what:
- the topic head (classes: the entries, and the kinds of question the bot does not answer): every
  title, question and keyword of content/ (its entry; a labelled question's topic is shared by
  the entries of that topic), the examples
  of questions the bot does not answer (content/lexicon.yaml out_of_scope), and the labelled
  tuning questions (TRAINING_FILES; never tests/data/questions/frozen.tsv or
  tests/data/outside/outside.tsv, which only judge);
- the case and role heads also from content/: a dispute entry's phrasings name its case, a return
  entry's "return", a refund entry's "refund"; a seller's entry is asked by sellers (a buyer's
  entry is not labelled: "how long does a refund take" could be asked by either);
- the aspect and role heads from the labelled questions that state them (the files with slot
  columns; "-" there is a class of its own: the question does not say);
- the fusion (fusion.py) of the matcher's signals with the topic head's probability ("clf"): its
  weights and decision thresholds by cross-validation, the topic head's probabilities for the
  labelled questions coming from heads that did not see them (out of fold), so the fusion learns
  how far to trust a head on new wording. Then the cascade's bar (skip_model): when the lexical
  stage is sure enough to skip the model.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from helpcenter.knowledge.labelled import Labelled, read_questions
from helpcenter.knowledge.model import LANGS, KnowledgeBase
from helpcenter.understanding import fusion
from helpcenter.understanding.classifier import HEADS, STAGES, UNSTATED, Head, Model
from helpcenter.understanding.embedding import Semantic
from helpcenter.understanding.features import DENSE_WEIGHT, VERSION, Featurizer, Vectorizer
from helpcenter.understanding.matcher import KEYWORD_WEIGHT, OUT_OF_SCOPE, Match, Matcher
from helpcenter.understanding.slots import Understander

DATA = Path(__file__).resolve().parents[2] / "tests" / "data"
TRAINING_FILES = (DATA / "dev_questions.tsv", DATA / "paraphrases.tsv", DATA / "probes.tsv", DATA / "slots.tsv",
                  DATA / "aspects.tsv",
                  DATA / "questions" / "tune.tsv", DATA / "outside" / "tune.tsv")
# Written for the aspect head: the topic head and the fusion learn as well without them (with them,
# cross-checked on the bench: top-1 fell a point or two on frozen and outside).
SLOTS_ONLY = ("aspects.tsv",)
TRAINING = 8  # part of the model's key: bump it with any change to what is learnt from what
C = 30.0  # inverse L2 strength of every head (cross-validated on the tuning questions)
FOLDS = 5
SEED = 7
LEXICAL = ("lex", "rare", "bm25", "unknown", "clf")
FUSED = ("lex", "rare", "bm25", "unknown", "e5", "clf")
# The decision thresholds tried (answer: sure enough alone; clear + ratio: less sure but far
# ahead of any other topic; guess + lead: "I think you mean"; suggest: worth a button), and the
# gain each outcome counts: a wrong answer (a wrong deadline) is worse than none.
GRID = {"answer": (0.5, 0.6, 0.7, 0.8), "clear": (0.2, 0.3, 0.4), "ratio": (3.0, 5.0, 8.0),
        "guess": (0.2, 0.3), "lead": (2.0, 3.0), "suggest": (0.03,)}
GAIN = {"answer_right": 1.0, "answer_wrong": -3.0, "guess_right": 0.6, "guess_wrong": -1.0}
MUST = "dev_questions.tsv"  # thresholds that miss any of these are taken only if nothing else works
SKIP = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 2.0)  # skip_model bars tried; 2.0: always ask the model
# Skipping the model may cost at most this much top-1 and add at most this much wrong answers
# (cross-validated, against always asking it): the model costs ~20 ms of CPU a question.
TOLERANCE = 0.01
NONE_CLASS = {"none": "none:other", "none:adjacent": "none:adjacent", "none:social": "none:social"}
ITEM_CLASS = {"social": "none:social", "adjacent": "none:adjacent"}  # other out-of-scope kinds: none:other


@dataclass
class Example:
    """One text to learn from: its entry (or none kind) classes, weighted, and the slots it states."""

    text: str
    topics: list[tuple[str, float]]  # entry ids and none kinds
    weight: float = 1.0
    slots: dict[str, str] = field(default_factory=dict)  # head → class (UNSTATED included); absent: unlabelled
    row: Labelled | None = None  # a labelled question (the fusion is calibrated on these)
    file: str = ""


def content_case(topic: str, dispute_case: str | None) -> str | None:
    """The case a content phrasing names by being where it is."""
    if dispute_case:
        return dispute_case
    group = topic.split(".", 1)[0]
    return group if group in ("return", "refund") else None


def examples(kb: KnowledgeBase, files: Iterable[Path] = TRAINING_FILES) -> list[Example]:
    out = []
    by_topic: dict[str, list[str]] = {}
    for entry in kb.entries:
        by_topic.setdefault(entry.topic, []).append(entry.id)
    for entry in kb.entries:
        case = content_case(entry.topic, entry.dispute_case)
        labels = ({"case": case} if case else {}) | ({"role": "seller"} if entry.role == "seller" else {})
        for lang in LANGS:
            text = entry.texts.get(lang)
            if text is None:
                continue
            for phrase, weight in [(p, 1.0) for p in (text.title, *text.questions)] + [
                    (k, KEYWORD_WEIGHT) for k in text.keywords]:
                out.append(Example(phrase, [(entry.id, 1.0)], weight, dict(labels)))
    for kind, by_lang in kb.lexicon.out_of_scope.items():
        if kind == "platforms":
            continue
        for texts in by_lang.values():
            out += [Example(t, [(ITEM_CLASS.get(kind, "none:other"), 1.0)], slots=dict.fromkeys(HEADS[1:], UNSTATED))
                    for t in texts]  # nothing the bot answers: no case, aspect or role stated
    for path in files:
        for row in read_questions(path):
            if row.kind:
                topics = [(NONE_CLASS[row.kind], 1.0)]
            else:  # labelled by topic: shared by the entries of each topic
                topics = [(e, 1.0 / len(row.topics) / len(by_topic[t]))
                          for t in sorted(row.topics) for e in by_topic[t]]
            slots = {h: getattr(row, h) or UNSTATED for h in HEADS[1:]} if row.slotted or row.kind else {}
            if path.name in SLOTS_ONLY:  # teaches the slot heads only: no topic, no calibration
                out.append(Example(row.question, [], 1.0, slots, None, path.name))
                continue
            out.append(Example(row.question, topics, 1.0, slots, row, path.name))
    return out


def model_key(kb: KnowledgeBase, files: Iterable[Path] = TRAINING_FILES) -> str:
    """What a trained model depends on: the entries' phrasings, the lexicon and the vocabulary
    (they make the features), the labelled questions, and the feature and training code's versions."""
    digest = hashlib.sha256(f"features {VERSION}; training {TRAINING}; C {C}; folds {FOLDS}; seed {SEED}\n".encode())
    for entry in kb.entries:
        digest.update(repr((entry.id, entry.topic, entry.dispute_case, sorted(entry.texts.items()))).encode())
    digest.update(repr((kb.lexicon, kb.vocabulary)).encode())
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:24]


class Trainer:
    """Features and vectors of every example, computed once; heads fitted on any subset."""

    def __init__(self, kb: KnowledgeBase, semantic: Semantic | None, files: Iterable[Path] = TRAINING_FILES,
                 report: Callable[[str], None] = print) -> None:
        self.kb, self.report = kb, report
        self.files = tuple(files)
        self.matcher = Matcher(kb, semantic=semantic)  # the signals (no classifier yet)
        self.featurizer = Featurizer(self.matcher.norm, Understander(kb), self.matcher.other_platform)
        self.examples = examples(kb, self.files)
        self.feats = [self.featurizer.sparse(e.text) for e in self.examples]
        self.vectorizer = Vectorizer.fit(self.feats)
        self.vectors = self._vectors(semantic)
        self.rows = [i for i, e in enumerate(self.examples) if e.row is not None]
        self.normalized: dict[int, str] = {}  # each labelled question as the matcher normalises it
        self.fusion_probs: dict[str, dict[int, np.ndarray]] = {}  # per stage: out-of-fold fusion probabilities

    def _vectors(self, semantic: Semantic | None) -> np.ndarray | None:
        """Every example's e5 vector (the store's, computed and kept when new)."""
        if semantic is None or semantic.embedder is None:
            return None
        texts = [self.matcher.norm.fold(e.text) or "-" for e in self.examples]
        vectors, missing = semantic.store.lookup(texts)
        if vectors is None:
            todo = list(dict.fromkeys(texts[i] for i in missing))
            self.report(f"embedding {len(todo)} training texts")
            semantic.store.add(todo, semantic.embedder.embed(todo))
            vectors, _ = semantic.store.lookup(texts)
        return vectors

    def design(self, idx: list[int], stage: str) -> Any:
        """The training matrix of some examples for a stage (scipy sparse)."""
        from scipy import sparse

        rows = [self.vectorizer.row(self.feats[i]) for i in idx]
        indptr = np.cumsum([0] + [len(r[0]) for r in rows])
        matrix = sparse.csr_matrix((np.concatenate([r[1] for r in rows]) if rows else np.zeros(0),
                                    np.concatenate([r[0] for r in rows]) if rows else np.zeros(0, dtype=np.int64),
                                    indptr), shape=(len(idx), len(self.vectorizer.index)))
        if stage == "fused":
            assert self.vectors is not None
            matrix = sparse.hstack([matrix, sparse.csr_matrix(self.vectors[idx] * DENSE_WEIGHT)]).tocsr()
        return matrix

    def fit(self, head: str, stage: str, use: Iterable[int] | None = None) -> Head:
        """One head on the examples that carry its label (all of them, or those in use)."""
        from sklearn.linear_model import LogisticRegression

        chosen = set(range(len(self.examples)) if use is None else use)
        idx, labels, weights = [], [], []
        for i, ex in enumerate(self.examples):
            if i not in chosen:
                continue
            if head == "topic":
                for label, share in ex.topics:
                    idx.append(i)
                    labels.append(label)
                    weights.append(ex.weight * share)
            elif head in ex.slots:
                idx.append(i)
                labels.append(ex.slots[head])
                weights.append(ex.weight)
        classes = tuple(sorted(set(labels)))
        y = np.asarray([classes.index(label) for label in labels])
        clf = LogisticRegression(C=C, max_iter=5000)
        clf.fit(self.design(idx, stage), y, sample_weight=np.asarray(weights))
        coef = np.zeros((len(classes), clf.coef_.shape[1]), dtype=np.float32)
        bias = np.full(len(classes), -30.0, dtype=np.float32)  # a class no example of this fold has
        if len(clf.classes_) == 2 and coef.shape[0] == 2:  # binary: sklearn keeps one row
            coef[1], bias[1], bias[0] = clf.coef_[0], clf.intercept_[0], 0.0
        else:
            coef[clf.classes_], bias[clf.classes_] = clf.coef_, clf.intercept_
        n = len(self.vectorizer.index)
        dense = coef[:, n:].T.copy() if stage == "fused" else None
        return Head(classes, coef[:, :n].T.copy(), bias, dense)

    def out_of_fold(self, stage: str) -> dict[int, np.ndarray]:
        """The topic head's probabilities for each labelled question, from a head trained
        without its fold (and with everything else)."""
        fold = np.random.default_rng(SEED).integers(0, FOLDS, len(self.rows))
        out: dict[int, np.ndarray] = {}
        for k in range(FOLDS):
            test = [i for i, f in zip(self.rows, fold, strict=True) if f == k]
            head = self.fit("topic", stage, set(range(len(self.examples))) - set(test))
            for i in test:
                out[i] = head.probabilities(*self.vectorizer.row(self.feats[i]), self._dense(i, stage))
        return out

    def _dense(self, i: int, stage: str) -> np.ndarray | None:
        return self.vectors[i] * DENSE_WEIGHT if stage == "fused" and self.vectors is not None else None

    def train(self) -> Model:
        stages = STAGES if self.vectors is not None else ("lexical",)
        heads = {(stage, name): self.fit(name, stage) for stage in stages for name in HEADS}
        calibration: dict[str, dict[str, Any]] = {}
        oof = {}
        for stage in stages:
            oof[stage] = self.out_of_fold(stage)
            calibration[stage], stats = self.calibrate(stage, oof[stage], heads[(stage, "topic")])
            self.report(f"{stage}: cross-validated {describe(stats)}")
        if "fused" in calibration:
            bar, lines = self.cascade(oof, calibration)
            calibration["lexical"]["skip_model"] = bar
            for line in lines:
                self.report(line)
        return Model(self.vectorizer, heads, calibration, model_key(self.kb, self.files))

    # --- the fusion's calibration ---------------------------------------------------------------

    def item_classes(self, classes: tuple[str, ...]) -> np.ndarray:
        """For each matcher item, the topic head's class it stands for."""
        out = []
        for item in self.matcher.items:
            if item.topic.startswith(OUT_OF_SCOPE):
                out.append(classes.index(ITEM_CLASS.get(item.topic.removeprefix(OUT_OF_SCOPE), "none:other")))
            else:
                out.append(classes.index(item.id))
        return np.asarray(out)

    def signals(self, i: int, stage: str, clf: np.ndarray, item_cls: np.ndarray) -> tuple[str, np.ndarray]:
        ex = self.examples[i]
        normalized, scores = self.matcher.signals(ex.text, with_model=stage == "fused")
        if not scores:
            zero = np.zeros(len(self.matcher.items), dtype=np.float32)
            scores = dict.fromkeys(FUSED, zero)
        scores["clf"] = clf[item_cls].astype(np.float32)
        names = FUSED if stage == "fused" else LEXICAL
        return normalized, fusion.features({s: scores[s] for s in names}, self.matcher.topic_ids)

    def labels(self, row: Labelled) -> np.ndarray:
        return np.asarray([row.is_none if item.topic.startswith(OUT_OF_SCOPE) else item.topic in row.topics
                           for item in self.matcher.items], dtype=np.float64)

    def calibrate(self, stage: str, oof: dict[int, np.ndarray], topic: Head,
                  ) -> tuple[dict[str, Any], dict[str, float]]:
        """The fusion's weights (fitted on all labelled questions) and thresholds (the best
        cross-validated gain that keeps the dev questions right)."""
        item_cls = self.item_classes(topic.classes)
        table = [self.signals(i, stage, oof[i], item_cls) for i in self.rows]
        feats = [f for _, f in table]
        ys = [self.labels(self.examples[i].row) for i in self.rows]  # type: ignore[arg-type]
        fold = np.arange(len(self.rows)) % FOLDS
        np.random.default_rng(SEED).shuffle(fold)
        probs: list[np.ndarray] = [np.empty(0)] * len(self.rows)
        for k in range(FOLDS):
            train = [j for j in range(len(self.rows)) if fold[j] != k]
            w, b = fusion.fit_logistic(np.vstack([feats[j] for j in train]), np.concatenate([ys[j] for j in train]))
            for j in np.flatnonzero(fold == k):
                probs[j] = fusion.probability(feats[j], w, b)
        w, b = fusion.fit_logistic(np.vstack(feats), np.concatenate(ys))
        fitted = [fusion.probability(f, w, b) for f in feats]
        base: dict[str, Any] = {"signals": list(FUSED if stage == "fused" else LEXICAL),
                                "weights": [round(float(x), 4) for x in w], "bias": round(b, 4)}
        self.normalized |= {self.rows[j]: n for j, (n, _) in enumerate(table)}
        self.fusion_probs[stage] = dict(zip(self.rows, probs, strict=True))
        best: tuple[float, dict[str, Any], dict[str, float]] | None = None
        must = [j for j, i in enumerate(self.rows) if self.examples[i].file == MUST]
        for values in itertools.product(*GRID.values()):
            cal = base | dict(zip(GRID, values, strict=True))
            if cal["guess"] >= cal["answer"] or cal["clear"] >= cal["answer"]:
                continue
            stats = self.outcomes(list(range(len(self.rows))), probs, cal)
            dev = self.outcomes(must, fitted, cal)
            score = stats["gain"] - (1000.0 if dev["right"] < dev["in"] or dev["rejected"] < dev["off"] else 0.0)
            if best is None or score > best[0]:
                best = (score, cal, stats)
        assert best is not None
        return best[1], best[2]

    def decide(self, j: int, prob: np.ndarray, cal: dict[str, Any]) -> Match:
        i = self.rows[j]
        return self.matcher.decide(self.examples[i].text, self.normalized[i], prob, cal)

    def outcomes(self, js: list[int], probs: list[np.ndarray], cal: dict[str, Any]) -> dict[str, float]:
        """Decisions under cal on labelled questions (indexes into self.rows), scored."""
        stats = dict.fromkeys(("in", "right", "guess_right", "top3", "off", "rejected", "wrong", "gain"), 0.0)
        for j in js:
            row = self.examples[self.rows[j]].row
            assert row is not None
            score(stats, row, self.decide(j, probs[j], cal))
        return stats

    def cascade(self, oof: dict[str, dict[int, np.ndarray]], calibration: dict[str, dict[str, Any]],
                ) -> tuple[float, list[str]]:
        """The lowest bar at which skipping the model when the lexical stage is that sure answers
        about as well, cross-validated, as always asking it (TOLERANCE); and a line per bar tried."""
        lines: list[str] = []
        rates: list[tuple[float, float, float]] = []
        lexical, fused = self.fusion_probs["lexical"], self.fusion_probs["fused"]
        for bar in SKIP:
            stats = dict.fromkeys(("in", "right", "guess_right", "top3", "off", "rejected", "wrong", "gain"), 0.0)
            used = 0
            for j, i in enumerate(self.rows):
                row = self.examples[i].row
                assert row is not None
                first = self.decide(j, lexical[i], calibration["lexical"])
                if (first.answer is not None or first.out_of_scope is not None) and first.top >= bar:
                    score(stats, row, first)
                else:
                    used += 1
                    score(stats, row, self.decide(j, fused[i], calibration["fused"]))
            lines.append(f"skip_model {bar:.2f}: the model runs for {used / len(self.rows):.0%} of the questions;"
                         f" {describe(stats)}")
            rates.append((bar, stats["right"] / max(1.0, stats["in"]), stats["wrong"] / max(1.0, stats["in"])))
        _, right, wrong = rates[-1]  # always asking the model
        return min(bar for bar, r, w in rates if r >= right - TOLERANCE and w <= wrong + TOLERANCE), lines


def score(stats: dict[str, float], row: Labelled, match: Match) -> None:
    if row.is_none:
        stats["off"] += 1
        if match.answer is None and match.guess is None:
            stats["rejected"] += 1
        else:
            stats["gain"] += GAIN["answer_wrong"] if match.answer else GAIN["guess_wrong"]
        return
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


def describe(stats: dict[str, float]) -> str:
    n, off = max(1.0, stats["in"]), max(1.0, stats["off"])
    return (f"top-1 {stats['right'] / n:.3f} (+guess {(stats['right'] + stats['guess_right']) / n:.3f})"
            f" wrong {stats['wrong'] / n:.3f} top-3 {stats['top3'] / n:.3f}"
            f" off-topic rejected {stats['rejected'] / off:.3f} ({n:.0f}+{stats['off']:.0f})")


