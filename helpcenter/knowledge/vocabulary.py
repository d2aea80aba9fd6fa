"""Read content/understanding.yaml's `understanding` section into a Vocabulary, with file:line errors.

Kept apart from content.py's loader so the question reader's data can grow without touching the
knowledge-base loader; it uses the same error collector, so `bot.py check` reports both alike.
"""

from __future__ import annotations

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
KEYS = {"limit_roles", "roles", "cases", "aspects", "markets", "scope", "adjacent", "social", "filler",
        "chitchat", "followup", "home"}


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

    def terms(value: Any, at: int, what: str) -> tuple[Term, ...]:
        if not isinstance(value, list) or not value:
            r.error(at, f"{what} must be a non-empty list of words")
            return ()
        out: list[Term] = []
        for i, item in enumerate(value):
            parts = item if isinstance(item, list) else [item]
            if not parts or not all(isinstance(p, str) and p.strip() for p in parts):
                r.error(line_of(value, i, at), f"{what}: each word must be non-empty text or a list of texts")
                continue
            out.append(tuple(p.strip() for p in parts))
        return tuple(out)

    def section(key: str, allowed: tuple[str, ...] | None = None) -> dict[str, tuple[yamlsrc.Mapping | Any, int]]:
        value = node.get(key)
        if value is None:
            return {}
        spec = r.mapping(value, line_of(node, key), f"understanding.{key}")
        if spec is None:
            return {}
        if allowed is not None:
            for k in spec:
                if k not in allowed:
                    r.error(line_of(spec, k), f"unknown {key[:-1] if key.endswith('s') else key} {k!r}"
                            f" in understanding.{key} (allowed: {', '.join(allowed)})")
        return {str(k): (v, line_of(spec, k)) for k, v in spec.items() if allowed is None or k in allowed}

    roles = {k: terms(v, at, f"role {k}") for k, (v, at) in section("roles", READER_ROLES).items()}
    limit_roles: dict[str, str] = {}
    for kind, (who, at) in section("limit_roles", LIMIT_KINDS).items():
        if who not in READER_ROLES:
            r.error(at, f"limit_roles.{kind} must be one of {', '.join(READER_ROLES)}")
        limit_roles[kind] = str(who)

    case_ids = (*glossary.cases, *GENERAL_CASES)
    cases: dict[str, CaseWords] = {}
    for cid, (spec, at) in section("cases", case_ids).items():
        what = f"case {cid}"
        spec = r.mapping(spec, at, what)
        if spec is None:
            continue
        r.check_keys(spec, {"words", "entry", "table", "figures", "seller_figures"}, {"words"}, what)
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
        cases[cid] = CaseWords(cid, terms(spec.get("words"), line_of(spec, "words", spec.line), f"{what} words"),
                               str(entry or ""), table, shown, seller)
    for cid in case_ids:
        if cid not in cases and "cases" in node:
            r.error(line_of(node, "cases"), f"understanding.cases has no words for case {cid!r}")

    aspects: dict[str, AspectWords] = {}
    for aid, (spec, at) in section("aspects", ASPECTS).items():
        what = f"aspect {aid}"
        spec = r.mapping(spec, at, what)
        if spec is None:
            continue
        r.check_keys(spec, {"words", "figure", "limits"}, {"words"}, what)
        limits = spec.get("limits") or []
        for i, kind in enumerate(limits if isinstance(limits, list) else []):
            if kind not in LIMIT_KINDS:
                r.error(line_of(limits, i, at),
                        f"{what}: unknown limit kind {kind!r} (allowed: {', '.join(LIMIT_KINDS)})")
        if not isinstance(limits, list):
            r.error(line_of(spec, "limits"), f"{what}: limits must be a list")
            limits = []
        if not isinstance(spec.get("figure", False), bool):
            r.error(line_of(spec, "figure"), f"{what}: figure must be true or false")
        aspects[aid] = AspectWords(aid, terms(spec.get("words"), line_of(spec, "words", spec.line), f"{what} words"),
                                   bool(spec.get("figure", False)), tuple(map(str, limits)))
    for aid in ASPECTS:
        if aid not in aspects and "aspects" in node:
            r.error(line_of(node, "aspects"), f"understanding.aspects has no words for aspect {aid!r}")

    markets: dict[str, MarketWords] = {}
    for mid, (spec, at) in section("markets", MARKETS).items():
        what = f"market {mid}"
        spec = r.mapping(spec, at, what)
        if spec is None:
            continue
        r.check_keys(spec, {"name", "words", "cased"}, {"name", "words"}, what)
        cased = spec.get("cased") or []
        if not isinstance(cased, list) or not all(isinstance(c, str) and c for c in cased):
            r.error(line_of(spec, "cased"), f"{what}: cased must be a list of texts")
            cased = []
        markets[mid] = MarketWords(mid, r.bilingual(spec.get("name"), line_of(spec, "name", spec.line), f"{what} name"),
                                   terms(spec.get("words"), line_of(spec, "words", spec.line), f"{what} words"),
                                   tuple(cased))

    adjacent: dict[str, AdjacentTopic] = {}
    for tid, (spec, at) in section("adjacent").items():
        what = f"adjacent topic {tid}"
        spec = r.mapping(spec, at, what)
        if spec is None:
            continue
        r.check_keys(spec, {"go", "words", "always"}, {"go", "words"}, what)
        if not isinstance(spec.get("always", False), bool):
            r.error(line_of(spec, "always"), f"{what}: always must be true or false")
        adjacent[tid] = AdjacentTopic(tid, str(spec.get("go", "")),
                                      terms(spec.get("words"), line_of(spec, "words", spec.line), f"{what} words"),
                                      bool(spec.get("always", False)))
    social = {k: terms(v, at, f"social {k}") for k, (v, at) in section("social", SOCIAL).items()}

    def plain(key: str) -> tuple[Term, ...]:
        return terms(node[key], line_of(node, key), f"understanding.{key}") if key in node else ()

    return Vocabulary(roles=roles, cases=cases, aspects=aspects, markets=markets, limit_roles=limit_roles,
                      scope=plain("scope"), adjacent=adjacent, social=social, filler=plain("filler"),
                      chitchat=plain("chitchat"), home=plain("home"), followup=plain("followup"))


__all__ = ["ASPECTS", "LANGS", "MARKETS", "read_vocabulary"]
