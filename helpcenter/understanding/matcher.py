"""Match a question to knowledge-base entries, and decide what to do with the best ones.

Three signals score every entry, and every example of a question the bot does not answer
(content/lexicon.yaml, out_of_scope):
- lex: an IDF-weighted cosine over character grams from an inverted index (a question touches
  only the phrasings that share a gram with it), how much of the question the entry's vocabulary
  covers, and rapidfuzz edit similarity on the few best entries (typos, word order);
- bm25: BM25 over word-level terms (bigrams, English stems), which does not share lex's bias
  towards the team's phrasing;
- e5: cosine of multilingual-e5-small sentence vectors (understanding/embedding.py), which knows
  that 假货 and counterfeit are one thing; absent when the model cannot load.
understanding/fusion.py turns them into one calibrated probability per candidate. The model costs
~20 ms of CPU a question against ~2 ms for the rest, so it runs only when the lexical signals
alone do not decide (a cascade: the lexical calibration first; an answer or an out-of-scope
example it is sure of (skip_model in its CALIBRATION) stands). The decision:
answer when that probability is high; a best guess when one candidate clearly leads but is not
sure enough; otherwise suggestions; nothing when the question is nearest to an out-of-scope
example or nothing is likely at all.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process

from helpcenter.knowledge.model import LANGS, Entry, KnowledgeBase, Text
from helpcenter.understanding import fusion
from helpcenter.understanding.bm25 import Bm25Index
from helpcenter.understanding.classifier import Model, Prediction
from helpcenter.understanding.embedding import Semantic
from helpcenter.understanding.features import Featurizer
from helpcenter.understanding.normalize import Normalizer
from helpcenter.understanding.slots import Understander

RERANK = 8  # entries re-scored with rapidfuzz; also how many candidates a Match keeps
W_COSINE = 0.4  # nearest phrasing
W_COVER = 0.3  # how much of the question the entry's vocabulary explains
W_FUZZ = 0.3  # edit-distance similarity to the nearest phrasing
KEYWORD_WEIGHT = 0.8  # a keyword phrasing counts a little less than a full question
RARE = 2  # a gram at most this many items have is distinctive
LEXICAL = ("lex", "rare", "bm25")  # the signals that need a shared word
RUNNER_UP_FLOOR = 0.001  # after an answer, other entries worth offering when the answer did not help
OUT_OF_SCOPE = "none:"  # topic prefix of the out-of-scope examples
TIKTOK = "tiktok"  # as normalised (content/lexicon.yaml folds "tik tok", "tt" into it)
FOCUS_CHARS = 240  # of a long message, the part that is matched (real questions are shorter)
_PIECES = re.compile(r"[^。！？!?；;\n]+[。！？!?；;\n]*")

# Without a trained model (content/model.npz; a matcher built for a test or a bench): the
# retrieval signals alone, calibrated the same way (cross-validated), one set per mode.
CALIBRATION: dict[str, dict[str, Any]] = {
    "lexical": {"signals": ("lex", "rare", "bm25", "unknown"),
                "weights": (-2.6437, 5.0852, 1.622, 1.7453, -1.0812, -0.5323, -0.2431, 0.7304, -0.3874, -4.3938,
                            3.5169),
                "bias": -0.673, "answer": 0.8, "clear": 0.1, "ratio": 6.0, "guess": 0.1, "lead": 3.0, "suggest": 0.03,
                "skip_model": 0.9},
    "fused": {"signals": ("lex", "rare", "bm25", "unknown", "e5"),
              "weights": (-2.5008, 4.0077, 1.2705, 1.4269, -0.6903, -0.2455, -0.7252, 0.5489, -0.5464, -4.3112, -1.7698,
                          0.9799, 2.1716, 4.1231),
              "bias": -0.4591, "answer": 0.8, "clear": 0.1, "ratio": 3.0, "guess": 0.1, "lead": 3.0, "suggest": 0.03},
}


@dataclass(frozen=True, slots=True)
class Candidate:
    entry: Entry
    score: float  # calibrated probability that this entry answers the question


@dataclass(frozen=True, slots=True)
class Match:
    query: str
    normalized: str
    answer: Candidate | None
    candidates: tuple[Candidate, ...]  # best first, one per entry
    guess: Candidate | None = None  # no answer, but one candidate clearly leads: "I think you mean"
    out_of_scope: str | None = None  # social | adjacent | other: not a returns/refunds question
    suggest_floor: float = 0.1
    top: float = 0.0  # the best item's probability (an entry or an out-of-scope example)
    used_model: bool = False  # decided with the e5 signal (the fused calibration)
    prediction: Prediction | None = None  # what the trained classifiers read (topic, slots)

    @property
    def suggestions(self) -> tuple[Candidate, ...]:
        """Up to three entries to offer: the runners-up, or the best guesses if no answer (the
        guess first). None for an out-of-scope question."""
        if self.out_of_scope:
            return ()
        if self.answer:  # the runners-up: what 👎 offers instead, however unlikely
            return tuple(c for c in self.candidates[1:] if c.score >= RUNNER_UP_FLOOR)[:3]
        return tuple(c for c in self.candidates if c.score >= self.suggest_floor)[:3]


class Matcher:
    """Indexes a knowledge base once; match() then costs only what the question touches."""

    def __init__(self, kb: KnowledgeBase, threshold: float | None = None, *,
                 semantic: Semantic | None = None, background: bool = False,
                 calibration: dict[str, Any] | None = None, model: Model | None = None,
                 understander: Understander | None = None, taught: dict[str, str] | None = None) -> None:
        """semantic: the e5 model and vector store (None: the lexical signals only). background:
        vectors the store lacks are computed in a thread, and the model joins once they are in.
        model: the trained classifiers and their calibration (None: the retrieval signals alone).
        taught: phrasings agents taught (/teach) → their entry: asked in those words (as normalised),
        the answer is that entry, however vague the words (the agent decided; the classifiers never
        saw them)."""
        self.kb = kb
        self.norm = Normalizer(kb.lexicon)
        self.entries: list[Entry] = list(kb.entries)
        # The out-of-scope examples compete with the entries as if they were entries.
        self.items: list[Entry] = self.entries + [
            Entry(id=f"{OUT_OF_SCOPE}{kind}", topic=f"{OUT_OF_SCOPE}{kind}", role="both",
                  texts={lang: Text(texts[0], texts[1:]) for lang, texts in by_lang.items() if texts})
            for kind, by_lang in kb.lexicon.out_of_scope.items() if kind != "platforms" and any(by_lang.values())]
        shops = kb.lexicon.out_of_scope.get("platforms", {})
        names = [self.norm.normalize(n) for texts in shops.values() for n in texts]
        self.platforms = Normalizer._alternation(sorted((n for n in names if n), key=len, reverse=True))
        self.is_entry = np.arange(len(self.items)) < len(self.entries)
        topics = sorted({item.topic for item in self.items})
        self.topic_ids = np.asarray([topics.index(item.topic) for item in self.items], dtype=np.int32)
        texts: list[str] = []
        boosts: list[float] = []
        owner: list[int] = []
        self.starts: list[int] = []
        for idx, entry in enumerate(self.items):
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
        self.by_entry: list[list[str]] = [[] for _ in self.items]
        for phrasing, idx in zip(texts, owner, strict=True):
            self.by_entry[idx].append(phrasing)
        self._build_index([self.norm.grams(t) for t in texts])
        self.bm25 = Bm25Index(self.norm, self.by_entry)
        self.semantic = semantic
        self.background = background
        self.mode = "fused" if semantic is not None else "lexical"
        self.model = model
        self.featurizer = Featurizer(self.norm, understander or Understander(kb), self.other_platform)
        calibrations = model.calibration if model is not None and self.mode in model.calibration else CALIBRATION
        self.calibration = dict(calibration or calibrations[self.mode])
        if threshold is not None:
            self.calibration["answer"] = threshold
        # The cascade's first stage: the lexical calibration, which also says when it is sure.
        self.first_stage = self.calibration if self.mode == "lexical" else dict(calibrations["lexical"])
        self.item_classes = self._item_classes(model) if model is not None else None
        index = {item.id: i for i, item in enumerate(self.items)}
        self.taught = {n: index[e] for text, e in (taught or {}).items()
                       if e in index and (n := self.norm.normalize(text))}
        self._vectors: _Vectors | None = None
        if semantic is not None:
            texts, owner = self.vector_texts()
            semantic.vectors(texts, lambda vectors: self._attach(texts, owner, vectors), background)

    def vector_texts(self) -> tuple[list[str], list[int]]:
        """The titles and questions to embed (keywords are too short to embed well), folded."""
        texts: list[str] = []
        owner: list[int] = []
        for idx, entry in enumerate(self.items):
            seen: set[str] = set()
            for text in (entry.texts[lang] for lang in LANGS if lang in entry.texts):
                for phrase in (text.title, *text.questions):
                    folded = self.norm.fold(phrase)
                    if folded and folded not in seen:
                        seen.add(folded)
                        texts.append(folded)
                        owner.append(idx)
        return texts, owner

    def _item_classes(self, model: Model) -> np.ndarray:
        """For each item, the topic head's class it stands for (the entry, or a none kind)."""
        classes = model.heads[("lexical", "topic")].classes
        kinds = {"social": "none:social", "adjacent": "none:adjacent"}
        return np.asarray([classes.index(kinds.get(item.topic.removeprefix(OUT_OF_SCOPE), "none:other")
                                         if item.topic.startswith(OUT_OF_SCOPE) else item.id)
                           for item in self.items])

    def classify(self, query: str, normalized: str, vector: np.ndarray | None = None) -> Prediction | None:
        """The trained classifiers on the question (the fused stage when its e5 vector is given)."""
        if self.model is None:
            return None
        return self.model.predict(self.featurizer.sparse(query, normalized), vector)

    def item_scores(self, prediction: Prediction) -> np.ndarray:
        """The topic head's probability of each item's class: the "clf" signal."""
        assert self.item_classes is not None
        probs = np.asarray(list(prediction.topic.values()), dtype=np.float32)
        return probs[self.item_classes]

    def _attach(self, texts: list[str], owner: list[int], vectors: np.ndarray) -> None:
        """The phrasing vectors are in: from now on undecided questions also ask the model."""
        owner_arr = np.asarray(owner, dtype=np.int64)
        self._vectors = _Vectors(vectors, [self.norm.normalize(t) for t in texts],
                                 np.searchsorted(owner_arr, np.arange(len(self.items))),
                                 np.bincount(owner_arr, minlength=len(self.items)) > 0)

    @property
    def semantic_ready(self) -> bool:
        """The model is loaded and the phrasing vectors are in."""
        return self.semantic is not None and self.semantic.embedder is not None and self._vectors is not None

    def query_vector(self, query: str) -> np.ndarray | None:
        """The question's e5 vector, or None without a model (or before it is ready)."""
        if self._vectors is None or self.semantic is None:
            return None
        folded = self.norm.fold(query)
        if not folded:
            return None
        return self.semantic.query(folded)

    def semantic_scores(self, query: str, exclude: str | None = None,
                        qvec: np.ndarray | None = None) -> np.ndarray | None:
        """Cosine of the question to each item's nearest phrasing, or None without a model
        (or before it is ready)."""
        vec = self._vectors
        if vec is None or self.semantic is None:
            return None
        qvec = self.query_vector(query) if qvec is None else qvec
        if qvec is None:
            return np.zeros(len(self.items), dtype=np.float32) if not self.norm.fold(query) else None
        cos = vec.vectors @ qvec
        if exclude is not None:
            cos[[i for i, t in enumerate(vec.texts) if t == exclude]] = -1.0
        starts = np.minimum(vec.starts, len(cos) - 1)
        return np.where(vec.has, np.maximum.reduceat(cos, starts), 0.0).astype(np.float32)

    def focus(self, text: str) -> str:
        """The part of a long message that is matched: its first sentences (each cut to
        FOCUS_CHARS) that hold a word some entry knows, up to FOCUS_CHARS in all; a short
        question is itself. Matching and the model then cost the same for any message."""
        if len(text) <= FOCUS_CHARS:
            return text
        kept: list[str] = []
        room = FOCUS_CHARS
        for sentence in _PIECES.findall(text):
            piece = sentence.strip()[:room]
            if piece and any(g in self.idf for g in self.norm.grams(self.norm.normalize(piece))):
                kept.append(piece)
                room -= len(piece)
                if room < FOCUS_CHARS // 8:
                    break
        return " ".join(kept) or text[:FOCUS_CHARS]

    def signals(self, query: str, exclude: str | None = None,
                with_model: bool = True) -> tuple[str, dict[str, np.ndarray]]:
        """The normalised question and each signal's score of every item (entries, then the
        out-of-scope examples); empty when the question has nothing to match on. e5 only
        with_model, and when the model is ready; "clf" when a trained model is there."""
        normalized, scores, _ = self.read(query, exclude, with_model)
        return normalized, scores

    def read(self, query: str, exclude: str | None = None,
             with_model: bool = True) -> tuple[str, dict[str, np.ndarray], Prediction | None]:
        """signals(), and what the classifiers read."""
        normalized = self.norm.normalize(query)
        grams = self.norm.grams(normalized)
        lex = self.lexical(normalized, exclude, grams)
        if not lex.any() and not self.norm.fold(query):
            return normalized, {}, None
        out = {"lex": lex, "rare": self.rare(normalized, grams), "bm25": self.bm25.scores(normalized)}
        # Not a ranking signal but evidence against every entry: the share of the question's
        # words that no item has ("tell me a joke": only "tell" is known).
        out["unknown"] = np.where(self.is_entry, self.unknown_share(normalized, grams), 0.0).astype(np.float32)
        qvec = self.query_vector(query) if with_model else None
        semantic = self.semantic_scores(query, exclude, qvec) if with_model else None
        if semantic is not None:
            out["e5"] = semantic
        prediction = self.classify(query, normalized, qvec)
        if prediction is not None:
            out["clf"] = self.item_scores(prediction)
        return normalized, out, prediction

    def match(self, query: str, exclude: str | None = None) -> Match:
        """The best entries for query and what to do with them. exclude leaves one phrasing (as
        it is indexed) out, so a phrasing can be tested against the rest (see confusions())."""
        normalized, scores, prediction = self.read(query, exclude, with_model=False)
        floor = float(self.calibration["suggest"])
        if not any(scores[name].any() for name in LEXICAL if name in scores):
            # No word of the question is in any entry (e5 alone finds some similarity in
            # anything). Only filler words (你好, hi, please): small talk; words no entry knows
            # (asdfgh, a bare number): not ours; no words at all: nothing.
            kind = ("other" if self.norm.grams(normalized) else "social") if normalized else None
            return Match(query, normalized, None, (), out_of_scope=kind, suggest_floor=floor, prediction=prediction)
        first = self.decide(query, normalized, self.probabilities(scores, self.first_stage), self.first_stage,
                            prediction=prediction)
        if normalized in self.taught:
            return self._as_taught(first, self.items[self.taught[normalized]])
        if self.mode == "lexical" or self.decisive(first):
            return first
        qvec = self.query_vector(query)
        if qvec is None:  # the model is still loading: the lexical decision stands
            return first
        scores["e5"] = self.semantic_scores(query, exclude, qvec)  # type: ignore[assignment]
        prediction = self.classify(query, normalized, qvec)
        if prediction is not None:
            scores["clf"] = self.item_scores(prediction)
        return self.decide(query, normalized, self.probabilities(scores), used_model=True, prediction=prediction)

    @staticmethod
    def _as_taught(match: Match, entry: Entry) -> Match:
        """A taught phrasing: its entry is the answer, the other candidates the runners-up."""
        answer = Candidate(entry, 1.0)
        rest = tuple(c for c in match.candidates if c.entry.id != entry.id)
        return replace(match, answer=answer, guess=None, out_of_scope=None, top=1.0, candidates=(answer, *rest))

    def decisive(self, match: Match) -> bool:
        """The lexical stage is sure: the model would not change the answer (training.py's
        cascade() chose skip_model so, and says how often and how right)."""
        sure = float(self.first_stage.get("skip_model", 2.0))
        if match.answer is not None and match.prediction is not None and match.prediction.unsure:
            return False  # the answer is clear, what is asked about it (case, aspect) is not
        return (match.answer is not None or match.out_of_scope is not None) and match.top >= sure

    def probabilities(self, scores: dict[str, np.ndarray], calibration: dict[str, Any] | None = None) -> np.ndarray:
        """Each item's calibrated probability of being the answer, from the calibrated signals."""
        cal = self.calibration if calibration is None else calibration
        names = tuple(str(name) for name in cal["signals"])
        used = {name: scores[name] for name in names}
        weights = np.asarray(cal["weights"], dtype=np.float32)
        return fusion.probability(fusion.features(used, self.topic_ids), weights, float(cal["bias"]))

    def other_platform(self, normalized: str) -> bool:
        """The question names another shop (Amazon, 淘宝 …) and not TikTok: not ours to answer."""
        return (self.platforms is not None and self.platforms.search(normalized) is not None
                and TIKTOK not in normalized)

    def decide(self, query: str, normalized: str, prob: np.ndarray, calibration: dict[str, Any] | None = None,
               used_model: bool = False, prediction: Prediction | None = None) -> Match:
        """Answer, guess, suggest or nothing, from each item's probability."""
        cal = self.calibration if calibration is None else calibration
        floor = float(cal["suggest"])
        k = min(len(prob), RERANK + len(self.items) - len(self.entries))  # enough for RERANK entries
        top = np.argpartition(-prob, k - 1)[:k]
        order = top[np.argsort(-prob[top], kind="stable")]
        cands = tuple(Candidate(self.items[i], float(prob[i])) for i in order if self.is_entry[i])[:RERANK]
        best = int(order[0])
        plain = Match(query, normalized, None, cands, suggest_floor=floor, top=float(prob[best]), used_model=used_model,
                      prediction=prediction)
        if self.other_platform(normalized):
            return replace(plain, out_of_scope="other", top=1.0)
        if not self.is_entry[best]:
            return replace(plain, out_of_scope=self.items[best].topic.removeprefix(OUT_OF_SCOPE))
        rival = float(np.max(prob, where=self.topic_ids != self.topic_ids[best], initial=0.0))
        return self.judge(plain, rival, cal)

    def judge(self, match: Match, rival: float | None = None, calibration: dict[str, Any] | None = None) -> Match:
        """The calibrated rule on a match's candidates (best first): answer, guess, suggest or
        out of scope. rival is the best item of another topic (out-of-scope examples included);
        by default the best candidate of another topic. Callers that re-weigh the candidates
        (the role prior) decide again with it."""
        if calibration is not None:
            cal = calibration
        else:  # the calibration the match was decided with
            cal = self.calibration if match.used_model or self.mode == "lexical" else self.first_stage
        cands = match.candidates
        plain = replace(match, answer=None, guess=None, out_of_scope=None)
        if not cands:
            return plain
        top = cands[0]
        if rival is None:
            rival = next((c.score for c in cands[1:] if c.entry.topic != top.entry.topic), 0.0)
        if top.score >= float(cal["answer"]) or (
                top.score >= float(cal["clear"]) and top.score >= float(cal["ratio"]) * rival):
            return replace(plain, answer=top)
        if top.score >= float(cal["guess"]) and top.score >= float(cal["lead"]) * rival:
            return replace(plain, guess=top)
        if top.score < float(cal["suggest"]):
            return replace(plain, out_of_scope="other")
        return plain

    def _build_index(self, grams: list[dict[str, float]]) -> None:
        # Document frequency counts entries, not phrasings: a gram every phrasing of one entry
        # repeats is that entry's signature, not noise.
        df: Counter[str] = Counter()
        for idx in range(len(self.items)):
            lo = self.starts[idx]
            hi = self.starts[idx + 1] if idx + 1 < len(self.items) else len(grams)
            df.update(set().union(*grams[lo:hi]))
        n = len(self.items)
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

    def unknown_share(self, normalized: str, grams: dict[str, float] | None = None) -> float:
        """Weight share of whole words (English words, Chinese bigrams) that no item contains."""
        grams = self.norm.grams(normalized) if grams is None else grams
        words = {g: w for g, w in grams.items()
                 if g.startswith("w:") or (len(g) == 2 and not g.isascii())}
        total = sum(words.values())
        return sum(w for g, w in words.items() if g not in self.idf) / total if total else 0.0

    def rare(self, normalized: str, grams: dict[str, float] | None = None) -> np.ndarray:
        """Share of the question's weight in grams that at most RARE items have, per item holding
        them: the words that tell cases apart (假货, lost) outweigh the ones all entries share (多久)."""
        out = np.zeros(len(self.items), dtype=np.float32)
        grams = self.norm.grams(normalized) if grams is None else grams
        weights = {g: w * self.idf.get(g, self.unknown_idf) for g, w in grams.items()}
        total = sum(weights.values()) or 1.0
        for g, v in weights.items():
            owners = self.entry_postings.get(g)
            if owners is not None and len(owners) <= RARE:
                out[owners] += v / total
        return out

    def lexical(self, normalized: str, exclude: str | None = None,
                grams: dict[str, float] | None = None) -> np.ndarray:
        """The n-gram matcher's score of every item: cosine to the nearest phrasing and coverage
        for all, plus rapidfuzz edit similarity for the RERANK best (others keep 0 for it)."""
        out = np.zeros(len(self.items), dtype=np.float32)
        grams = self.norm.grams(normalized) if grams is None else grams
        if not grams:
            return out
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
        cover = np.zeros(len(self.items), dtype=np.float32)
        for g, v in qvec.items():
            owners = self.entry_postings.get(g)
            if owners is not None:
                cover[owners] += v / total
        prelim = W_COSINE * np.maximum.reduceat(scores, self.starts_arr) + W_COVER * cover
        out[:] = prelim
        k = min(RERANK, len(prelim))
        for idx in np.argpartition(-prelim, k - 1)[:k]:
            if prelim[idx] <= 0.0:
                continue
            choices = self.by_entry[idx] if exclude is None else [p for p in self.by_entry[idx] if p != exclude]
            best = process.extractOne(normalized, choices, scorer=fuzz.ratio)
            fuzzy = best[1] / 100.0 if best else 0.0
            # Edit similarity only counts as far as the entry explains the question: short junk
            # is always somewhat "similar" to some short phrasing.
            gate = min(1.0, float(cover[idx]) * 2)
            out[idx] += W_FUZZ * fuzzy * gate
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


@dataclass(frozen=True, slots=True)
class _Vectors:
    """The phrasing vectors of one matcher's items, attached whole (one assignment) when ready."""

    vectors: np.ndarray  # (phrasings × dim), unit rows
    texts: list[str]  # each phrasing as it is indexed (normalised), for exclude
    starts: np.ndarray  # first row of each item
    has: np.ndarray  # whether an item has any row
