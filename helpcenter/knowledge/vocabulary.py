"""Read content/understanding.yaml's `understanding` section into a Vocabulary, with file:line errors.

Kept apart from loader.py so the question reader's data can grow without touching the
knowledge-base loader; it uses the same error collector, so `bot.py check` reports both alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from helpcenter.knowledge import yamlsrc
from helpcenter.knowledge.model import (
    LANGS,
    LIMIT_KINDS,
    AdjacentTopic,
    AspectWords,
    CaseWords,
    Entry,
    Figure,
    Glossary,
    MarketWords,
    Term,
    Vocabulary,
)
from helpcenter.knowledge.yamlsrc import line_of

ASPECTS = ("acceptance", "evidence_deadline", "decision", "evidence", "apply", "where", "who_pays",
           "arrival", "escalation")
MARKETS = ("US", "UK", "ID", "TH", "VN", "MY", "PH", "SG", "other")
GENERAL_CASES = ("return", "refund")  # beside the six dispute cases of the glossary
READER_ROLES = ("buyer", "seller")
TABLES = ("return_windows",)
SOCIAL = ("greeting", "thanks", "bye")
KEYS = {"limit_roles", "self_identified", "roles", "cases", "aspects", "markets", "scope", "adjacent", "social",
        "filler", "chitchat", "followup", "home"}


class Reader(Protocol):
    def error(self, line: int, message: str) -> None: ...
    def mapping(self, value: Any, line: int, what: str) -> yamlsrc.Mapping | None: ...
    def check_keys(self, node: yamlsrc.Mapping, allowed: Any, required: Any, what: str) -> None: ...
    def bilingual(self, node: Any, line: int, what: str) -> dict[str, str]: ...


def figure_lists(r: Reader, spec: yamlsrc.Mapping, key: str, what: str,
                 figures: dict[str, Figure]) -> dict[str, tuple[str, ...]]:
    """aspect -> figure ids, each id checked against content/rules.yaml figures."""
    shown: dict[str, tuple[str, ...]] = {}
    fspec = spec.get(key)
    if fspec is None or not (fspec := r.mapping(fspec, line_of(spec, key), f"{what} {key}")):
        return shown
    for aspect, ids in fspec.items():
        at = line_of(fspec, aspect)
        if aspect not in ASPECTS:
            r.error(at, f"{what} {key}: unknown aspect {aspect!r} (allowed: {', '.join(ASPECTS)})")
        if not isinstance(ids, list) or not ids:
            r.error(at, f"{what} {key}.{aspect} must be a list of figure ids")
            continue
        for i, fid in enumerate(ids):
            if str(fid) not in figures:
                r.error(line_of(ids, i, at), f"{what} {key}.{aspect}: unknown figure {fid!r}"
                        " (content/rules.yaml figures)")
        shown[str(aspect)] = tuple(str(f) for f in ids)
    return shown


def read_vocabulary(r: Reader, node: Any, line: int, glossary: Glossary, entries: dict[str, Entry],
                    figures: dict[str, Figure]) -> Vocabulary:
    """The vocabulary, or an empty one (the reader then detects nothing) after reporting errors."""
    node = r.mapping(node, line, "understanding")
    if node is None:
        return Vocabulary()
    r.check_keys(node, KEYS, ("cases", "aspects", "markets"), "understanding")
    read = _VocabularyReader(r, node)
    # in this order: errors are listed as found
    said, roles, limit_roles = read.roles("self_identified"), read.roles(), read.limit_roles()
    cases, aspects, markets = read.cases(glossary, entries, figures), read.aspects(), read.markets()
    adjacent, social = read.adjacent(), read.social()
    return Vocabulary(self_identified=said, roles=roles, cases=cases, aspects=aspects, markets=markets,
                      limit_roles=limit_roles, scope=read.plain("scope"), adjacent=adjacent, social=social,
                      filler=read.plain("filler"), chitchat=read.plain("chitchat"), home=read.plain("home"),
                      followup=read.plain("followup"))


class _VocabularyReader:
    """One method per part of the `understanding` section; errors go to the shared reader."""

    def __init__(self, r: Reader, node: yamlsrc.Mapping) -> None:
        self.r, self.node = r, node

    def terms(self, value: Any, at: int, what: str) -> tuple[Term, ...]:
        """A list of words, each a text or a list of texts (all of which must appear)."""
        if not isinstance(value, list) or not value:
            self.r.error(at, f"{what} must be a non-empty list of words")
            return ()
        out: list[Term] = []
        for i, item in enumerate(value):
            parts = item if isinstance(item, list) else [item]
            if not parts or not all(isinstance(p, str) and p.strip() for p in parts):
                self.r.error(line_of(value, i, at), f"{what}: each word must be non-empty text or a list of texts")
                continue
            out.append(tuple(p.strip() for p in parts))
        return tuple(out)

    def words(self, spec: yamlsrc.Mapping, what: str) -> tuple[Term, ...]:
        return self.terms(spec.get("words"), line_of(spec, "words", spec.line), f"{what} words")

    def section(self, key: str, allowed: tuple[str, ...] | None = None) -> dict[str, tuple[Any, int]]:
        """understanding.<key> as {id: (value, line)}, ids outside allowed reported and left out."""
        value = self.node.get(key)
        if value is None:
            return {}
        spec = self.r.mapping(value, line_of(self.node, key), f"understanding.{key}")
        if spec is None:
            return {}
        if allowed is not None:
            for k in spec:
                if k not in allowed:
                    self.r.error(line_of(spec, k), f"unknown {key[:-1] if key.endswith('s') else key} {k!r}"
                                 f" in understanding.{key} (allowed: {', '.join(allowed)})")
        return {str(k): (v, line_of(spec, k)) for k, v in spec.items() if allowed is None or k in allowed}

    def specs(self, key: str, allowed: tuple[str, ...] | None, kind: str, keys: set[str],
              required: set[str]) -> Iterator[tuple[str, yamlsrc.Mapping, str]]:
        """(id, mapping, what) of each item of understanding.<key> that is a mapping, keys checked."""
        for item_id, (spec, at) in self.section(key, allowed).items():
            what = f"{kind} {item_id}"
            mapping = self.r.mapping(spec, at, what)
            if mapping is not None:
                self.r.check_keys(mapping, keys, required, what)
                yield item_id, mapping, what

    def missing(self, key: str, found: dict[str, Any], ids: tuple[str, ...], kind: str) -> None:
        for item_id in ids:
            if item_id not in found and key in self.node:
                self.r.error(line_of(self.node, key), f"understanding.{key} has no words for {kind} {item_id!r}")

    def plain(self, key: str) -> tuple[Term, ...]:
        node = self.node
        return self.terms(node[key], line_of(node, key), f"understanding.{key}") if key in node else ()

    def roles(self, key: str = "roles") -> dict[str, tuple[Term, ...]]:
        return {k: self.terms(v, at, f"{key} {k}") for k, (v, at) in self.section(key, READER_ROLES).items()}

    def social(self) -> dict[str, tuple[Term, ...]]:
        return {k: self.terms(v, at, f"social {k}") for k, (v, at) in self.section("social", SOCIAL).items()}

    def limit_roles(self) -> dict[str, str]:
        limit_roles: dict[str, str] = {}
        for kind, (who, at) in self.section("limit_roles", LIMIT_KINDS).items():
            if who not in READER_ROLES:
                self.r.error(at, f"limit_roles.{kind} must be one of {', '.join(READER_ROLES)}")
            limit_roles[kind] = str(who)
        return limit_roles

    def cases(self, glossary: Glossary, entries: dict[str, Entry], figures: dict[str, Figure]) -> dict[str, CaseWords]:
        r = self.r
        case_ids = (*glossary.cases, *GENERAL_CASES)
        cases: dict[str, CaseWords] = {}
        keys = {"words", "entry", "table", "figures", "seller_figures"}
        for cid, spec, what in self.specs("cases", case_ids, "case", keys, {"words"}):
            entry = spec.get("entry")
            if entry is None:
                entry = next((e.id for e in entries.values() if e.dispute_case == cid), None)
                if entry is None:
                    r.error(spec.line, f"{what} needs an 'entry' (no entry has dispute_case {cid})")
            elif str(entry) not in entries:
                r.error(line_of(spec, "entry"), f"{what}: unknown entry {entry!r}")
            table = spec.get("table")
            if table is not None and table not in TABLES:
                r.error(line_of(spec, "table"), f"{what}: table must be one of {', '.join(TABLES)}")
            shown = figure_lists(r, spec, "figures", what, figures)
            seller = figure_lists(r, spec, "seller_figures", what, figures)
            cases[cid] = CaseWords(cid, self.words(spec, what), str(entry or ""), table, shown, seller)
        self.missing("cases", cases, case_ids, "case")
        return cases

    def aspects(self) -> dict[str, AspectWords]:
        r = self.r
        aspects: dict[str, AspectWords] = {}
        for aid, spec, what in self.specs("aspects", ASPECTS, "aspect", {"words", "figure", "limits"}, {"words"}):
            limits = spec.get("limits") or []
            for i, kind in enumerate(limits if isinstance(limits, list) else []):
                if kind not in LIMIT_KINDS:
                    r.error(line_of(limits, i, line_of(spec, "limits")),
                            f"{what}: unknown limit kind {kind!r} (allowed: {', '.join(LIMIT_KINDS)})")
            if not isinstance(limits, list):
                r.error(line_of(spec, "limits"), f"{what}: limits must be a list")
                limits = []
            if not isinstance(spec.get("figure", False), bool):
                r.error(line_of(spec, "figure"), f"{what}: figure must be true or false")
            aspects[aid] = AspectWords(aid, self.words(spec, what), bool(spec.get("figure", False)),
                                       tuple(map(str, limits)))
        self.missing("aspects", aspects, ASPECTS, "aspect")
        return aspects

    def markets(self) -> dict[str, MarketWords]:
        markets: dict[str, MarketWords] = {}
        for mid, spec, what in self.specs("markets", MARKETS, "market", {"name", "words", "cased"}, {"name", "words"}):
            cased = spec.get("cased") or []
            if not isinstance(cased, list) or not all(isinstance(c, str) and c for c in cased):
                self.r.error(line_of(spec, "cased"), f"{what}: cased must be a list of texts")
                cased = []
            name = self.r.bilingual(spec.get("name"), line_of(spec, "name", spec.line), f"{what} name")
            markets[mid] = MarketWords(mid, name, self.words(spec, what), tuple(cased))
        return markets

    def adjacent(self) -> dict[str, AdjacentTopic]:
        adjacent: dict[str, AdjacentTopic] = {}
        for tid, spec, what in self.specs("adjacent", None, "adjacent topic", {"go", "words"}, {"go", "words"}):
            adjacent[tid] = AdjacentTopic(tid, str(spec.get("go", "")), self.words(spec, what))
        return adjacent


__all__ = ["ASPECTS", "LANGS", "MARKETS", "read_vocabulary"]
