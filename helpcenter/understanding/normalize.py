"""Turn what people type into comparable text and into weighted character grams.

Chinese has no spaces, so it is compared on character unigrams and bigrams; Latin-script words
are compared whole and on character trigrams, which keeps typos close to the right word.
"""

from __future__ import annotations

import re
from collections import defaultdict

from helpcenter.knowledge.model import Lexicon
from helpcenter.knowledge.text import clean, fold
from helpcenter.understanding.stem import stem_latin

__all__ = ["Normalizer", "clean", "fold"]

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUNS = re.compile(rf"[{_HAN}]+|[^\s{_HAN}]+")
_IS_HAN = re.compile(rf"[{_HAN}]")

# Gram weights: bigrams carry Chinese meaning, unigrams catch typos and word-order changes.
W_HAN_BIGRAM = 1.0
W_HAN_UNIGRAM = 0.5
W_WORD = 1.0
W_TRIGRAM = 0.25
W_WORD_BIGRAM = 0.5  # "how many", "many day": English phrases, not just words


class Normalizer:
    """Normalises text the same way for the knowledge base and for questions."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.stop_en = frozenset(w.lower() for w in lexicon.stopwords.get("en", ()))
        self.stop_zh = tuple(sorted(lexicon.stopwords.get("zh", ()), key=len, reverse=True))
        variants = sorted(lexicon.synonyms, key=len, reverse=True)
        self.synonyms = {self.fold(v): self.fold(c) for v, c in lexicon.synonyms.items()}
        self._syn_re = self._alternation([self.fold(v) for v in variants])
        self.patterns = [(re.compile(p), r) for p, r in lexicon.patterns]

    @staticmethod
    def _alternation(words: list[str]) -> re.Pattern[str] | None:
        parts = []
        for word in words:
            if not word:
                continue
            escaped = re.escape(word)
            # Latin variants only match whole words; Chinese ones match anywhere.
            parts.append(escaped if _IS_HAN.search(word) else rf"(?<![a-z0-9']){escaped}(?![a-z0-9'])")
        return re.compile("|".join(parts)) if parts else None

    fold = staticmethod(fold)  # NFKC, case, traditional→simplified, punctuation to spaces

    def normalize(self, text: str) -> str:
        """fold() plus the lexicon's patterns and synonyms: the form that is matched."""
        text = self.fold(text)
        for pattern, replacement in self.patterns:
            text = pattern.sub(replacement, text)
        if self._syn_re is not None:
            text = self._syn_re.sub(lambda m: self.synonyms.get(m.group(0), m.group(0)), text)
        return text

    def terms(self, text: str) -> list[str]:
        """Word-level terms of normalised text, stopwords left out: Chinese character bigrams (a
        lone character is itself) and stemmed English words, in order (BM25's vocabulary)."""
        out: list[str] = []
        for run in _RUNS.findall(text):
            if _IS_HAN.match(run):
                for stop in self.stop_zh:
                    run = run.replace(stop, " ")
                for piece in run.split():
                    out += [piece] if len(piece) == 1 else [piece[i:i + 2] for i in range(len(piece) - 1)]
            else:
                word = run.strip("'")
                if word and word not in self.stop_en:
                    out.append(stem_latin(word))
        return out

    def grams(self, text: str) -> dict[str, float]:
        """Weighted grams of normalised text, with stopwords left out."""
        grams: defaultdict[str, float] = defaultdict(float)
        previous = ""
        for run in _RUNS.findall(text):
            if _IS_HAN.match(run):
                previous = ""
                for stop in self.stop_zh:
                    run = run.replace(stop, " ")
                for piece in run.split():
                    for i, ch in enumerate(piece):
                        grams[ch] += W_HAN_UNIGRAM
                        if i + 1 < len(piece):
                            grams[piece[i:i + 2]] += W_HAN_BIGRAM
            else:
                word = run.strip("'")
                if not word or word in self.stop_en:
                    continue
                word = stem_latin(word)
                grams["w:" + word] += W_WORD
                if previous:
                    grams[f"b:{previous}_{word}"] += W_WORD_BIGRAM
                previous = word
                if len(word) >= 4:
                    padded = f"#{word}#"
                    for i in range(len(padded) - 2):
                        grams[padded[i:i + 3]] += W_TRIGRAM
        return grams
