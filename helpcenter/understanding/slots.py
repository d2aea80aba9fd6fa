"""Read what a question is about: role, case, aspect and market, from words kept in content/.

The matcher finds the nearest entry; this finds the slots a deadline depends on, so a question
about one case's time limit is answered with that case's figure for that market and never with
another case's (a wrong deadline is worse than none). Pure data in, slots out; no Telegram.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from helpcenter.knowledge.model import CaseWords, Figure, KnowledgeBase, Term, Vocabulary, Window
from helpcenter.understanding.normalize import Normalizer
from helpcenter.understanding.stem import stem

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_TOKENS = re.compile(r"[a-z0-9']+")
FUZZY_MIN = 5  # words this long forgive one typo...
FUZZY_TWO = 9  # ...and this long, two
SHORT_FOLLOWUP = 10  # a question this short (characters, no spaces) can be a follow-up...
SHORT_FOLLOWUP_WORDS = 5  # ...or this many English words
SLOTS = ("role", "case", "aspect", "market")


@dataclass(frozen=True, slots=True)
class Slots:
    """What a question is about; None where it does not say."""

    role: str | None = None
    case: str | None = None
    aspect: str | None = None
    market: str | None = None

    def as_dict(self) -> dict[str, str]:
        return {k: v for k in SLOTS if (v := getattr(self, k)) is not None}

    @classmethod
    def from_dict(cls, data: Any) -> Slots:
        """From user_data (anything stored there may be stale or foreign)."""
        if not isinstance(data, dict):
            return cls()
        return cls(**{k: str(data[k]) for k in SLOTS if isinstance(data.get(k), str)})

    def over(self, base: Slots) -> Slots:
        """These slots, with base's where these say nothing."""
        return Slots(*(getattr(self, k) or getattr(base, k) for k in SLOTS))

    def __bool__(self) -> bool:
        return any(getattr(self, k) for k in SLOTS)


@dataclass(frozen=True, slots=True)
class Reading:
    """A question's slots (stated, or carried over from the previous question or the profile)
    and what kind of message it is."""

    slots: Slots
    stated: Slots  # only what the question itself says
    social: str | None = None  # greeting / thanks / bye: the whole message is small talk
    adjacent: str | None = None  # a TikTok subject outside returns and refunds
    chitchat: bool = False  # small talk outside the domain ("tell me a joke")
    in_domain: bool = False  # a case or a returns/refunds word was found
    followup: bool = False  # slots were carried over from the previous question


@dataclass(frozen=True, slots=True)
class FigureLine:
    market: str  # the rule's market (a glossary market id)
    window: Window
    label: dict[str, str] | None = None  # a limit kind or figure label; None: the aspect itself
    kind: str | None = None  # the dispute-rule limit kind it comes from (its name depends on the rule)
    basis: str = "dispute"  # the rule's basis (a market's return window shows as such)


@dataclass(frozen=True, slots=True)
class FigureAnswer:
    """The figures that answer case × aspect (× market): only that case's, only that market's.
    When the asked market has none, lines is empty; known lists the markets whose public sources
    give a value. others: the other markets' lines, shown apart (under "other markets")."""

    case: str
    aspect: str
    market: str | None
    lines: tuple[FigureLine, ...]
    known: tuple[str, ...] = ()
    entry: str = ""  # the entry with the full answer
    sources: tuple[str, ...] = field(default=())
    others: tuple[FigureLine, ...] = ()
    seller: bool = False  # the seller's figures (a seller's response time, not a review time)
    role: str | None = None  # who asks (where to look in the app when the market has no figure)


class _Words:
    """One compiled word list: Chinese words by substring, English words by stems. Single words
    go into one regular expression and one set of stem sequences; only "all of" terms are looped."""

    def __init__(self, terms: tuple[Term, ...], vocab_stems: set[str]) -> None:
        self.terms = [tuple(_part(p) for p in term) for term in terms]
        for term in self.terms:
            for kind, value in term:
                if kind == "en":
                    vocab_stems.update(value)
        zh = sorted({t[0][1] for t in self.terms if len(t) == 1 and t[0][0] == "zh"}, key=len, reverse=True)
        self.zh = re.compile("|".join(map(re.escape, zh))) if zh else None
        self.en = {t[0][1] for t in self.terms if len(t) == 1 and t[0][0] == "en" and t[0][1]}
        self.longest = max((len(p) for p in self.en), default=0)
        self.multi = [t for t in self.terms if len(t) > 1]

    def find(self, text: str, stems: tuple[str, ...]) -> bool:
        """Whether any term is in the question."""
        if self.zh is not None and self.zh.search(text):
            return True
        if self.en:
            for i in range(len(stems)):
                for n in range(1, min(self.longest, len(stems) - i) + 1):
                    if stems[i:i + n] in self.en:
                        return True
        return any(all(_has(part, text, stems) for part in term) for term in self.multi)

    def remove(self, text: str) -> str:
        """text with every single-part Chinese term cut out (for the small-talk test)."""
        return self.zh.sub(" ", text) if self.zh is not None else text

    def en_stems(self) -> set[tuple[str, ...]]:
        return set(self.en)


@lru_cache(maxsize=8192)
def _stem(word: str) -> str:
    return stem(word.strip("'"))


def _part(word: str) -> tuple[str, Any]:
    folded = Normalizer.fold(word)
    if _HAN.search(folded):
        return ("zh", folded)
    return ("en", tuple(_stem(w) for w in _TOKENS.findall(folded)))


def _has(part: tuple[str, Any], text: str, stems: tuple[str, ...]) -> bool:
    kind, value = part
    if kind == "zh":
        return value in text
    n = len(value)
    return n > 0 and any(stems[i:i + n] == value for i in range(len(stems) - n + 1))


class Understander:
    """Compiled once per knowledge base; read() then costs a few substring and tuple scans."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        v: Vocabulary = kb.vocabulary
        self.vocab = v
        stems: set[str] = set()
        self.roles = {k: _Words(t, stems) for k, t in v.roles.items()}
        self.cases = {k: _Words(c.words, stems) for k, c in v.cases.items()}
        self.aspects = {k: _Words(a.words, stems) for k, a in v.aspects.items()}
        self.markets = {k: _Words(m.words, stems) for k, m in v.markets.items()}
        self.cased = {k: m.cased for k, m in v.markets.items()}
        self.scope = _Words(v.scope, stems)
        self.adjacent = {k: _Words(a.words, stems) for k, a in v.adjacent.items()}
        self.social = {k: _Words(t, stems) for k, t in v.social.items()}
        self.filler = _Words(v.filler, stems)
        self.chitchat = _Words(v.chitchat, stems)
        self.home = _Words(v.home, stems)
        self.always = {k: w for k, w in self.adjacent.items() if v.adjacent[k].always}
        self.followup = _Words(v.followup, stems)
        self.known_stems = stems
        self.fuzzy_pool = sorted(s for s in stems if len(s) >= FUZZY_MIN)

    # --- reading ------------------------------------------------------------------------------

    def _stems(self, folded: str) -> tuple[str, ...]:
        """The question's English words as vocabulary stems, typos forgiven for long words."""
        out = []
        for word in _TOKENS.findall(folded):
            stem = _stem(word)
            if stem not in self.known_stems and len(stem) >= FUZZY_MIN and self.fuzzy_pool:
                limit = 2 if len(stem) >= FUZZY_TWO else 1
                hit = process.extractOne(stem, self.fuzzy_pool, scorer=Levenshtein.distance,
                                         score_cutoff=limit)
                if hit is not None:
                    stem = hit[0]
            out.append(stem)
        return tuple(out)

    @staticmethod
    def _first(found: dict[str, _Words], text: str, stems: tuple[str, ...]) -> str | None:
        """The first value (in content order) with a word in the question."""
        return next((k for k, w in found.items() if w.find(text, stems)), None)

    def read(self, question: str, profile: dict[str, str] | None = None,
             previous: Slots | None = None) -> Reading:
        """Slots of question; profile (role, market) and previous fill what a follow-up leaves out."""
        raw = unicodedata.normalize("NFKC", question)
        text = Normalizer.fold(question)
        stems = self._stems(text)
        market = self._first(self.markets, text, stems)
        if market is None:
            market = next((m for m, cased in self.cased.items()
                           if any(re.search(rf"(?<![A-Za-z]){re.escape(c)}(?![A-Za-z])", raw) for c in cased)),
                          None)
        stated = Slots(role=self._first(self.roles, text, stems), case=self._first(self.cases, text, stems),
                       aspect=self._first(self.aspects, text, stems), market=market)
        in_domain = stated.case is not None or bool(self.scope.find(text, stems))
        social = None if in_domain else self._social(text, stems)
        adjacent = None if self.home.find(text, stems) else self._first(self.always, text, stems)
        if adjacent is None and not in_domain:
            adjacent = self._first(self.adjacent, text, stems)
        chitchat = not in_domain and adjacent is None and bool(self.chitchat.find(text, stems))
        slots, followup = stated, False
        if previous and stated and not social and self._is_followup(text, stems, stated):
            slots, followup = stated.over(previous), True
        base = Slots(role=(profile or {}).get("role"), market=(profile or {}).get("market"))
        slots = slots.over(Slots(role=base.role if base.role in self.vocab.roles else None,
                                 market=base.market if base.market in self.vocab.markets else None))
        return Reading(slots, stated, social, adjacent, chitchat, in_domain, followup)

    def _is_followup(self, text: str, stems: tuple[str, ...], stated: Slots) -> bool:
        if stated.case and stated.aspect:
            return False  # a whole new question
        short = len(text.replace(" ", "")) <= SHORT_FOLLOWUP if _HAN.search(text) else \
            len(_TOKENS.findall(text)) <= SHORT_FOLLOWUP_WORDS
        return short or bool(self.followup.find(text, stems))

    def _social(self, text: str, stems: tuple[str, ...]) -> str | None:
        """greeting/thanks/bye when nothing but small-talk words (and filler) is left."""
        kind = next((k for k, w in self.social.items() if w.find(text, stems)), None)
        if kind is None:
            return None
        rest = text
        for words in (*self.social.values(), self.filler):
            rest = words.remove(rest)
        if _HAN.search(rest):
            return None
        left = list(self._stems(rest))
        for words in (*self.social.values(), self.filler):
            for phrase in sorted(words.en_stems(), key=len, reverse=True):
                n = len(phrase)
                i = 0
                while i + n <= len(left):
                    if tuple(left[i:i + n]) == phrase:
                        del left[i:i + n]
                    else:
                        i += 1
        return kind if not [w for w in left if not w.isdigit()] else None

    # --- figures ------------------------------------------------------------------------------

    def is_time_question(self, slots: Slots) -> bool:
        """A case and a time-limit aspect that content can answer with a figure."""
        if slots.case is None or slots.aspect is None:
            return False
        aspect = self.vocab.aspects.get(slots.aspect)
        case = self.vocab.cases.get(slots.case)
        if aspect is None or case is None or not aspect.figure:
            return False
        if slots.aspect in self._figure_ids(case, slots):
            return True
        if slots.case in self.kb.glossary.cases:
            return bool(aspect.limits)
        return case.table == "return_windows" and slots.aspect == "acceptance"

    def figures(self, slots: Slots) -> FigureAnswer | None:
        """That case's figures for that aspect, in that market only (or every market, labelled,
        when none is known); None when this is not a time-limit question."""
        if not self.is_time_question(slots):
            return None
        assert slots.case is not None and slots.aspect is not None
        kb, case = self.kb, self.vocab.cases[slots.case]
        aspect = self.vocab.aspects[slots.aspect]
        lines: list[FigureLine] = []
        entry = case.entry
        ids = self._figure_ids(case, slots).get(slots.aspect, ())
        seller = bool(ids) and slots.role == "seller" and slots.aspect in case.seller_figures
        if ids:
            entry = next((e.id for e in kb.entries if ids[0] in e.figures), entry)
            for fid in ids:
                fig: Figure = kb.figures[fid]
                if fig.window is not None:
                    lines.append(FigureLine(fig.market, fig.window, fig.label))
        elif slots.case in kb.glossary.cases:
            kinds = [k for k in aspect.limits
                     if slots.role is None or self.vocab.limit_roles.get(k, slots.role) == slots.role]
            several = len(kinds) > 1
            for rule in kb.rules_for(slots.case):
                for kind in kinds:
                    for w in rule.limits.get(kind, ()):
                        lines.append(FigureLine(rule.market, w, kb.glossary.limits[kind] if several else None,
                                                kind, rule.basis))
        else:
            for rw in kb.return_windows:
                lines.extend(FigureLine(rw.market, w) for w in rw.windows)
        # Only markets whose sources give a value are "known"; an unknown limit is not an answer.
        known = tuple(dict.fromkeys(line.market for line in lines if line.window.value is not None))
        if slots.market is not None:
            here = tuple(line for line in lines if kb.markets.covers(line.market, slots.market))
            others = tuple(line for line in lines if line not in here and line.window.value is not None)
            return FigureAnswer(slots.case, slots.aspect, slots.market, here, known, entry,
                                tuple(dict.fromkeys(line.window.source for line in here)), others, seller, slots.role)
        return FigureAnswer(slots.case, slots.aspect, slots.market, tuple(lines), (), entry,
                            tuple(dict.fromkeys(line.window.source for line in lines)), (), seller, slots.role)

    @staticmethod
    def _figure_ids(case: CaseWords, slots: Slots) -> dict[str, tuple[str, ...]]:
        """The case's figure lists: the seller's where the user is a seller and content has them."""
        if slots.role == "seller" and slots.aspect in case.seller_figures:
            return case.seller_figures
        return case.figures
