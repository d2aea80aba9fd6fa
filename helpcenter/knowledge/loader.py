"""Load content/ into a KnowledgeBase, validating everything and reporting file:line errors.

The bot must never run on half-valid content, so loading collects every error it can find
and raises them together instead of stopping at the first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpcenter.knowledge import schema, yamlsrc
from helpcenter.knowledge.model import (
    COUNT_UNITS,
    LANGS,
    LIMIT_KINDS,
    OVERVIEW,
    UNITS,
    DateWords,
    DisputeRule,
    Entry,
    Figure,
    Flows,
    Glossary,
    KnowledgeBase,
    Lexicon,
    Look,
    MarketFacts,
    ReturnWindow,
    SellerSide,
    SideText,
    Source,
    Tags,
    Text,
    ViewOption,
    Vocabulary,
    Window,
)
from helpcenter.knowledge.text import fold  # the same folding the matcher uses
from helpcenter.knowledge.vocabulary import read_vocabulary
from helpcenter.knowledge.yamlsrc import line_of

PROJECT_DIR = Path(__file__).resolve().parents[2]
CONTENT_DIR = PROJECT_DIR / "content"

SECTIONS = (
    "topics", "sources", "markets", "events", "conditions", "cases", "limits",
    "dispute_rules", "return_windows", "figures", "entries", "synonyms", "stopwords", "patterns", "flows",
    "out_of_scope",
    "dates",
    "understanding",  # content/understanding.yaml: the question reader's words (knowledge/vocabulary.py)
    "market_facts",  # content/markets.yaml: time zones, groups, where to look in the app
)
OUT_OF_SCOPE = ("social", "adjacent", "other", "platforms")  # questions the bot does not answer; other shops
SIDE_KEYS = {"steps", "notes", "advice"}
TABLES = ("dispute_rules", "return_windows")
DATE_KEYS = ("days_before", "ago", "numbers", "months", "marks")
DATE_OPTIONAL = ("weekdays", "weeks_before", "before_today", "filler", "weeks_ago")
DATE_MARKS = ("year", "month", "day")


# flows.entries: the keys content names, and the Flows fields they fill
FLOW_ENTRIES = {"handoff": "handoff_entry", "refund": "refund_entry", "seller_prevent": "prevent_entry"}


@dataclass(frozen=True, slots=True)
class ContentError:
    file: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{display_path(self.file)}:{self.line}: {self.message}"


class InvalidContent(Exception):
    """Raised with every error found, so an editor can fix them in one pass."""

    def __init__(self, errors: list[ContentError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


def display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class _Reader:
    """Collects errors while turning raw YAML values into model objects."""

    def __init__(self) -> None:
        self.errors: list[ContentError] = []
        self.file = Path("?")

    def error(self, line: int, message: str, file: Path | None = None) -> None:
        self.errors.append(ContentError(file or self.file, line, message))

    def mapping(self, value: Any, line: int, what: str) -> yamlsrc.Mapping | None:
        if isinstance(value, yamlsrc.Mapping):
            return value
        self.error(line, f"{what} must be a mapping")
        return None

    def check_keys(self, node: yamlsrc.Mapping, allowed: Iterable[str], required: Iterable[str],
                   what: str) -> None:
        allowed = set(allowed)
        for key in node:
            if key not in allowed:
                self.error(line_of(node, key), f"unknown key {key!r} in {what}"
                           f" (allowed: {', '.join(sorted(map(str, allowed)))})")
        for key in required:
            if key not in node:
                self.error(node.line, f"{what} is missing {key!r}")

    def text(self, node: yamlsrc.Mapping, key: str, what: str, optional: bool = False) -> str:
        value = node.get(key)
        if value is None and optional:
            return ""
        if not isinstance(value, str) or not value.strip():
            if key in node or not optional:
                self.error(line_of(node, key), f"{what}: {key!r} must be non-empty text")
            return ""
        return value.strip()

    def texts(self, node: yamlsrc.Mapping, key: str, what: str) -> tuple[str, ...]:
        value = node.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.error(line_of(node, key), f"{what}: {key!r} must be a list of non-empty texts")
            return ()
        return tuple(v.strip() for v in value)

    def bilingual(self, node: Any, line: int, what: str) -> dict[str, str]:
        node = self.mapping(node, line, what)
        if node is None:
            return {}
        self.check_keys(node, LANGS, LANGS, what)
        return {lang: self.text(node, lang, what) for lang in LANGS if lang in node}


def load_knowledge_base(content_dir: Path = CONTENT_DIR) -> KnowledgeBase:
    """Load and validate; raises InvalidContent listing every problem."""
    kb, errors = load_content(content_dir)
    if errors or kb is None:
        raise InvalidContent(errors)
    return kb


def load_content(content_dir: Path) -> tuple[KnowledgeBase | None, list[ContentError]]:
    """The knowledge base (None if it could not be built) and every error found."""
    reader = _Reader()
    raw: dict[str, tuple[Path, Any, int]] = {}
    raw_entries: list[tuple[Path, Any]] = []
    files = sorted(content_dir.glob("*.yaml"))
    if not files:
        reader.error(1, "no content files (*.yaml) found", file=content_dir)
    for path in files:
        reader.file = path
        try:
            data = yamlsrc.load(path)
        except yamlsrc.YamlError as exc:
            reader.error(exc.line, exc.message)
            continue
        if data is None:
            continue
        if not isinstance(data, yamlsrc.Mapping):
            reader.error(1, "a content file must be a mapping of sections")
            continue
        for section, value in data.items():
            line = line_of(data, section)
            if section not in SECTIONS:
                reader.error(line, f"unknown section {section!r} (allowed: {', '.join(SECTIONS)})")
            elif section == "entries":
                raw_entries.append((path, value))
            elif section in raw:
                reader.error(line, f"section {section!r} already defined in {display_path(raw[section][0])}")
            else:
                raw[section] = (path, value, line)
    for section in SECTIONS:
        if section not in raw and section not in ("entries", "synonyms", "stopwords", "patterns", "dates",
                                                  "out_of_scope", "understanding"):
            reader.error(1, f"section {section!r} is missing", file=content_dir)
    if reader.errors:
        return None, reader.errors
    builder = _Builder(reader, raw)
    kb = builder.build(raw_entries)
    return kb, reader.errors


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) and value.strip() else ""


def _texts(value: Any) -> tuple[str, ...]:
    """The texts of a list its schema checked ((): not a list of non-empty texts)."""
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        return ()
    return tuple(v.strip() for v in value)


def _bilingual(value: Any) -> dict[str, str]:
    return {lang: _text(value[lang]) for lang in LANGS if lang in value} if isinstance(value, dict) else {}


class _Builder:
    """Builds the model from sections whose shape knowledge/schema.py checks; what stays here are
    the checks a schema cannot make (references, duplicates, coverage, units, the date words)."""

    def __init__(self, reader: _Reader, raw: dict[str, tuple[Path, Any, int]]) -> None:
        self.r = reader
        self.raw = raw
        self._raw_specs: dict[str, yamlsrc.Mapping] = {}

    def check(self, spec: type[schema.Spec], node: Any, what: str, line: int) -> bool:
        return schema.check(spec, node, what, line, self.r.error)

    def section(self, name: str) -> yamlsrc.Mapping | yamlsrc.Sequence | None:
        if name not in self.raw:
            return None
        path, value, line = self.raw[name]
        self.r.file = path
        if not isinstance(value, (yamlsrc.Mapping, yamlsrc.Sequence)):
            self.r.error(line, f"section {name!r} must be a mapping or a list")
            return None
        return value

    def build(self, raw_entries: list[tuple[Path, Any]]) -> KnowledgeBase:
        topics = self.topics()
        sources = self.sources()
        glossary = Glossary(**{name: self.names(name) for name in
                               ("markets", "events", "conditions", "cases", "limits")})
        self.glossary, self.sources_by_id = glossary, sources
        sources = self.source_markets(sources)
        self.sources_by_id = sources
        facts = self.market_facts()
        self.facts = facts
        rules = self.dispute_rules()
        windows = self.return_windows()
        figures = self.figures()
        lexicon = self.lexicon()
        entries = self.entries(raw_entries, topics, figures)
        flows = self.flows({e.id: e for e in entries}, figures)
        vocabulary = Vocabulary()
        if "understanding" in self.raw:
            path, value, line = self.raw["understanding"]
            self.r.file = path
            vocabulary = read_vocabulary(self.r, value, line, glossary, {e.id: e for e in entries}, figures)
        return KnowledgeBase(entries=tuple(entries), topics=topics, sources=sources,
                             glossary=glossary, dispute_rules=tuple(rules),
                             return_windows=tuple(windows), figures=figures, lexicon=lexicon,
                             flows=flows, vocabulary=vocabulary, markets=facts)

    def flows(self, entries: dict[str, Entry], figures: dict[str, Figure]) -> Flows:
        empty = Flows({}, {}, "", (), ())
        node = self.section("flows")
        if not isinstance(node, yamlsrc.Mapping):
            return empty
        self.check(schema.FlowsSpec, node, "flows", node.line)
        lists = {}
        for key in ("return_reasons", "return_keep", "question_words"):
            spec = node.get(key)
            if isinstance(spec, dict):
                lists[key] = {lang: _texts(spec.get(lang)) for lang in LANGS}
        ids: dict[str, str] = {}
        spec = node.get("entries")
        if isinstance(spec, dict):
            for key, name in FLOW_ENTRIES.items():
                found = self.ref(spec.get(key), entries, line_of(spec, key), "entry")
                if found is not None and found in entries:
                    ids[name] = found
        wh_entry, wh_options = self.view_options(node, "seller_warehouse", entries, figures)
        sr_entry, sr_options = self.view_options(node, "seller_response", entries, figures)
        return Flows(lists.get("return_reasons", {}), lists.get("return_keep", {}), wh_entry,
                     wh_options, sr_options, sr_entry, lists.get("question_words", {}), **ids)

    def view_options(self, node: yamlsrc.Mapping, key: str, entries: dict[str, Entry],
                     figures: dict[str, Figure]) -> tuple[str, tuple[ViewOption, ...]]:
        """flows.<key>: an entry and the filtered views of it a flow offers, each citing
        only its own sources (figures add theirs)."""
        what_all = f"flows.{key}"
        spec_all = node.get(key)
        if not isinstance(spec_all, dict):
            return "", ()
        entry_id = self.ref(spec_all.get("entry"), entries, line_of(spec_all, "entry"), "entry") or ""
        entry = entries.get(entry_id)
        options: list[ViewOption] = []
        raw = spec_all.get("options") or []
        for i, spec in enumerate(raw):
            if not isinstance(spec, yamlsrc.Mapping):
                self.r.error(line_of(raw, i), f"{what_all} option must be a mapping")
                continue
            what = f"{what_all} option {spec.get('id')}"
            self.check(schema.OptionSpec, spec, what, line_of(raw, i))
            picks: dict[str, tuple[int, ...]] = {}
            for pick, limit in (("steps", len(entry.texts["zh"].steps) if entry else 0),
                                ("notes", len(entry.texts["zh"].notes) if entry else 0)):
                picks[pick] = tuple(spec.get(pick) or ())
                if any(not isinstance(n, int) or not 1 <= n <= limit for n in picks[pick]):
                    self.r.error(line_of(spec, pick), f"{what}: {pick} must be numbers from 1 to {limit}")
            refs: dict[str, tuple[str, ...]] = {}
            for ref_key, known, kind in (("figures", figures, "figure"), ("sources", self.sources_by_id, "source")):
                items = spec.get(ref_key) or []
                for j, item in enumerate(items):
                    self.ref(item, known, line_of(items, j), kind)
                refs[ref_key] = tuple(map(str, items))
            market = self.ref(spec.get("market"), self.glossary.markets, line_of(spec, "market"), "market")
            if "label" in spec:
                label = _bilingual(spec.get("label"))
            elif market:
                label = dict(self.glossary.markets.get(market, {}))
            else:
                self.r.error(spec.line, f"{what} needs a 'label' or a 'market'")
                label = {}
            for fid in refs["figures"]:
                fig = figures.get(fid)
                if market and fig is not None and fig.market != market:
                    self.r.error(line_of(spec, "figures"), f"{what}: figure {fid} is for market"
                                 f" {fig.market}, not {market}")
            options.append(ViewOption(str(spec.get("id")), label, picks["steps"], picks["notes"], refs["figures"],
                                      refs["sources"], market=market))
        return entry_id, tuple(options)

    # --- reference data -------------------------------------------------------------------

    def topics(self) -> dict[str, dict[str, str]]:
        node = self.section("topics")
        if not isinstance(node, yamlsrc.Mapping):
            return {}
        self.topics_file = self.r.file
        self.topic_lines = dict(node.key_lines)
        result = {}
        for topic, spec in node.items():
            self.check(schema.TopicSpec, spec, f"topic {topic}", line_of(node, topic))
            if isinstance(spec, dict):
                result[topic] = {k: str(v) for k, v in spec.items()}
        return result

    def sources(self) -> dict[str, Source]:
        node = self.section("sources")
        result: dict[str, Source] = {}
        if not isinstance(node, yamlsrc.Mapping):
            return result
        for sid, spec in node.items():
            self.check(schema.SourceSpec, spec, f"source {sid}", line_of(node, sid))
            if not isinstance(spec, yamlsrc.Mapping):
                continue
            url, date, title = spec.get("url"), str(spec.get("date", "")), spec.get("title")
            if not (isinstance(url, str) and url.startswith("https://")):
                url = None
            # one language per screen, footnotes included: a plain title is an error, kept for both
            result[sid] = Source(sid, {lang: title for lang in LANGS} if isinstance(title, str) else _bilingual(title),
                                 url, date)
        return result

    def source_markets(self, sources: dict[str, Source]) -> dict[str, Source]:
        """sources.*.markets, checked against the glossary's markets (read after the sources)."""
        node = self.section("sources")
        if not isinstance(node, yamlsrc.Mapping):
            return sources
        result = dict(sources)
        for sid, spec in node.items():
            items = spec.get("markets") if isinstance(spec, dict) else None
            if sid not in result or not isinstance(items, list):
                continue
            markets = tuple(m for i, item in enumerate(items)
                            if (m := self.ref(item, self.glossary.markets, line_of(items, i), "market")))
            old = result[sid]
            result[sid] = Source(old.id, old.title, old.url, old.date, markets)
        return result

    def market_facts(self) -> MarketFacts:
        """content/markets.yaml: time zones (each must exist), groups of markets, and where to look
        in the app (per market or "default", per role, with an optional source)."""
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        node = self.section("market_facts")
        if not isinstance(node, yamlsrc.Mapping) or not self.check(schema.MarketFactsSpec, node, "market_facts",
                                                                   node.line):
            return MarketFacts()
        markets = self.glossary.markets
        zones: dict[str, str] = {}
        assumed: set[str] = set()
        for market, spec in node["zones"].items():
            line = line_of(node["zones"], market)
            self.ref(market, markets, line, "market")
            try:
                ZoneInfo(str(spec["zone"]))
            except (ZoneInfoNotFoundError, ValueError):
                self.r.error(line_of(spec, "zone"), f"market_facts.zones.{market}: unknown time zone {spec['zone']!r}")
                continue
            zones[str(market)] = str(spec["zone"]).strip()
            if spec.get("assumed"):
                assumed.add(str(market))
        groups: dict[str, tuple[str, ...]] = {}
        for group, members in (node.get("groups") or {}).items():
            self.ref(group, markets, line_of(node["groups"], group), "market")
            groups[str(group)] = tuple(m for i, item in enumerate(members)
                                       if (m := self.ref(item, markets, line_of(members, i), "market")))
        look: dict[str, dict[str, Look]] = {}
        for market, roles in node["look"].items():
            if market != "default":
                self.ref(market, markets, line_of(node["look"], market), "market")
            look[str(market)] = {}
            for role, spec in roles.items():
                if role not in ("buyer", "seller"):
                    self.r.error(line_of(roles, role), f"market_facts.look.{market}: role must be buyer or seller")
                    continue
                source = self.ref(spec.get("source"), self.sources_by_id, line_of(spec, "source"), "source")
                look[str(market)][str(role)] = Look(_bilingual(spec), source)
        if not all(role in look.get("default", {}) for role in ("buyer", "seller")):
            self.r.error(line_of(node, "look"), "market_facts.look needs a default for buyer and seller")
        return MarketFacts(zones, frozenset(assumed), groups, look)

    def tags(self, node: Any, counts: dict[str, int], what: str) -> dict[str, tuple[Tags, ...]]:
        """entry.markets (and seller.markets): steps and notes by number -> the markets they are
        about, as one tuple per step or note (None: every market)."""
        result: dict[str, tuple[Tags, ...]] = {"steps": (), "notes": ()}
        if not isinstance(node, yamlsrc.Mapping):
            return result
        known = {*self.glossary.markets, OVERVIEW}
        for kind in ("steps", "notes"):
            spec = node.get(kind) or {}
            if not isinstance(spec, dict):
                continue
            tags: list[Tags] = [None] * counts[kind]
            for number, value in spec.items():
                line = line_of(spec, number)
                if not isinstance(number, int) or not 1 <= number <= counts[kind]:
                    self.r.error(line, f"{what} markets: {kind} {number!r} is not one of 1..{counts[kind]}")
                    continue
                items = value if isinstance(value, list) else [value]
                codes = tuple(str(v) for v in items if self.ref(v, known, line, "market") is not None)
                tags[number - 1] = codes or None
            result[kind] = tuple(tags)
        return result

    def names(self, name: str) -> dict[str, dict[str, str]]:
        node = self.section(name)
        if not isinstance(node, yamlsrc.Mapping):
            return {}
        for key, value in node.items():
            self.check(schema.Bilingual, value, f"{name}.{key}", line_of(node, key))
        return {key: _bilingual(value) for key, value in node.items()}

    def ref(self, value: Any, known: dict[str, Any] | Iterable[str], line: int, what: str) -> str | None:
        if value is None:
            return None
        if str(value) not in known:
            self.r.error(line, f"unknown {what} {value!r}")
        return str(value)

    def window(self, node: Any, line: int, what: str, units: tuple[str, ...] = UNITS) -> Window | None:
        """A window its section's schema has checked: what remains are its unit and references."""
        if not isinstance(node, dict):
            return None
        up_to = node.get("up_to", False)
        value, value_max = node.get("value"), node.get("value_max")
        if any(v is not None and (not isinstance(v, int | float) or isinstance(v, bool) or v < 0)
               for v in (value, value_max)):
            return None
        if value is not None and node.get("unit") not in units:
            problem = f"unknown unit {node['unit']!r}" if "unit" in node else "missing unit"
            self.r.error(line_of(node, "unit"), f"{what}: {problem} (allowed: {', '.join(units)})")
        source = self.ref(node.get("source"), self.sources_by_id, line_of(node, "source"), "source")
        return Window(
            value=value, value_max=value_max, unit=node.get("unit"),
            from_event=self.ref(node.get("from"), self.glossary.events, line_of(node, "from"), "event"),
            when=self.ref(node.get("when"), self.glossary.conditions, line_of(node, "when"), "condition"),
            source=source or "",
            up_to=up_to if isinstance(up_to, bool) else False,
        )

    def dispute_rules(self) -> list[DisputeRule]:
        node = self.section("dispute_rules")
        rules: list[DisputeRule] = []
        if not isinstance(node, yamlsrc.Sequence):
            return rules
        seen: set[tuple[str, str]] = set()
        for i, spec in enumerate(node):
            what = f"dispute rule {spec.get('case')}/{spec.get('market')}" if isinstance(spec, dict) else "dispute rule"
            self.check(schema.DisputeRuleSpec, spec, what, line_of(node, i))
            if not isinstance(spec, yamlsrc.Mapping):
                continue
            case = self.ref(spec.get("case"), self.glossary.cases, line_of(spec, "case"), "case") or ""
            market = self.ref(spec.get("market"), self.glossary.markets, line_of(spec, "market"),
                              "market") or ""
            if (case, market) in seen:
                self.r.error(spec.line, f"{what} is defined twice")
            seen.add((case, market))
            # evidence: what a source lists, with that source; evidence_advice: general advice.
            evidence: dict[str, tuple[str, ...]] = {lang: () for lang in LANGS}
            evidence_source = ""
            ev = spec.get("evidence")
            if isinstance(ev, dict):
                evidence = {lang: _texts(ev.get(lang)) for lang in LANGS}
                evidence_source = self.ref(ev.get("source"), self.sources_by_id, line_of(ev, "source"), "source") or ""
            advice: dict[str, tuple[str, ...]] = {lang: () for lang in LANGS}
            adv = spec.get("evidence_advice")
            if isinstance(adv, dict):
                advice = {lang: _texts(adv.get(lang)) for lang in LANGS}
            limits = {kind: self.windows(spec.get(kind), f"{what} {kind}") for kind in LIMIT_KINDS}
            for i, w in enumerate(limits["acceptance"]):
                if w.value is not None and w.from_event is None:  # the calculator counts from the event
                    self.r.error(line_of(spec.get("acceptance"), i), f"{what}: an acceptance window needs"
                                 " 'from' (the event it counts from) for the deadline calculator")
            variants = tuple(str(v) for v in (spec.get("variants") or []))
            for i, variant in enumerate(variants):
                if not any(w.when == variant for w in limits["acceptance"]):
                    self.r.error(line_of(spec["variants"], i), f"{what}: variant {variant!r} is the condition of"
                                 " no acceptance window")
            rules.append(DisputeRule(case, market, evidence, limits, evidence_source, advice,
                                     str(spec.get("basis", "dispute")), variants,
                                     spec.get("event_may_never_happen") is True))
        for case in self.glossary.cases:
            if not any(rule.case == case for rule in rules):
                self.r.error(node.line, f"case {case!r} has no dispute rule")
        return rules

    def windows(self, value: Any, what: str) -> tuple[Window, ...]:
        if not isinstance(value, list):
            return ()
        found = (self.window(item, line_of(value, i), what) for i, item in enumerate(value))
        return tuple(w for w in found if w is not None)

    def return_windows(self) -> list[ReturnWindow]:
        node = self.section("return_windows")
        result: list[ReturnWindow] = []
        if not isinstance(node, yamlsrc.Sequence):
            return result
        for i, spec in enumerate(node):
            self.check(schema.ReturnWindowSpec, spec, "return window", line_of(node, i))
            if not isinstance(spec, yamlsrc.Mapping):
                continue
            market = self.ref(spec.get("market"), self.glossary.markets, line_of(spec, "market"),
                              "market") or ""
            result.append(ReturnWindow(market, self.windows(spec.get("windows"), f"return window {market}")))
        return result

    def figures(self) -> dict[str, Figure]:
        node = self.section("figures")
        result: dict[str, Figure] = {}
        if not isinstance(node, yamlsrc.Mapping):
            return result
        for fid, spec in node.items():
            what = f"figure {fid}"
            self.check(schema.FigureSpec, spec, what, line_of(node, fid))
            if not isinstance(spec, yamlsrc.Mapping):
                continue
            if ("window" in spec) == ("count" in spec):
                self.r.error(spec.line, f"{what} needs exactly one of 'window' or 'count'")
            result[fid] = Figure(
                id=fid,
                market=self.ref(spec.get("market"), self.glossary.markets, line_of(spec, "market"),
                                "market") or "",
                label=_bilingual(spec.get("label")),
                window=self.window(spec["window"], line_of(spec, "window"), what)
                if "window" in spec else None,
                count=self.window(spec["count"], line_of(spec, "count"), what, units=COUNT_UNITS)
                if "count" in spec else None,
            )
        return result

    def lexicon(self) -> Lexicon:
        synonyms: dict[str, str] = {}
        node = self.section("synonyms")
        if isinstance(node, yamlsrc.Mapping):
            for canonical, variants in node.items():
                if not isinstance(variants, list) or not all(isinstance(v, str) for v in variants):
                    self.r.error(line_of(node, canonical), f"synonyms of {canonical!r} must be a list")
                    continue
                for i, variant in enumerate(variants):
                    key = variant.lower()
                    if key in synonyms:
                        self.r.error(line_of(variants, i), f"synonym {variant!r} is listed twice")
                    synonyms[key] = str(canonical).lower()
        stopwords: dict[str, tuple[str, ...]] = {lang: () for lang in LANGS}
        node = self.section("stopwords")
        if isinstance(node, yamlsrc.Mapping):
            self.check(schema.StopwordsSpec, node, "stopwords", node.line)
            stopwords.update({lang: _texts(node.get(lang)) for lang in LANGS if lang in node})
        patterns: list[tuple[str, str]] = []
        node = self.section("patterns")
        if isinstance(node, yamlsrc.Mapping):
            for pattern, replacement in node.items():
                try:
                    re.compile(str(pattern))
                except re.error as exc:
                    self.r.error(line_of(node, pattern), f"pattern {pattern!r} is not a regular expression: {exc}")
                    continue
                patterns.append((str(pattern), str(replacement)))
        out_of_scope: dict[str, dict[str, tuple[str, ...]]] = {}
        node = self.section("out_of_scope")
        if isinstance(node, yamlsrc.Mapping):
            self.check(schema.OutOfScopeSpec, node, "out_of_scope", node.line)
            for kind, texts in node.items():
                if kind in OUT_OF_SCOPE and isinstance(texts, dict):
                    out_of_scope[kind] = {lang: _texts(texts.get(lang)) for lang in LANGS if lang in texts}
        return Lexicon(synonyms, stopwords, tuple(patterns), out_of_scope, self.dates())

    def dates(self) -> DateWords:
        """Section dates: words for days, checked so the date step never meets a bad table."""
        node = self.section("dates")
        if not isinstance(node, yamlsrc.Mapping):
            if node is not None:
                self.r.error(node.line, "section 'dates' must be a mapping")
            return DateWords()
        self.r.check_keys(node, (*DATE_KEYS, *DATE_OPTIONAL), DATE_KEYS, "dates")
        seen: dict[str, str] = {}

        def word(value: Any, line: int, table: str) -> str | None:
            if not isinstance(value, str) or not value.strip():
                self.r.error(line, f"dates.{table}: {value!r} must be non-empty text")
                return None
            folded = " ".join(value.lower().split())
            if folded in seen:
                self.r.error(line, f"dates.{table}: {value!r} is already listed in dates.{seen[folded]}")
                return None
            seen[folded] = table
            return folded

        def numbers(table: str, lo: int, hi: int) -> dict[str, int]:
            spec = self.r.mapping(node.get(table), line_of(node, table), f"dates.{table}")
            result: dict[str, int] = {}
            for key, value in (spec or {}).items():
                line = line_of(spec, key)
                if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
                    self.r.error(line, f"dates.{table}: {key!r} must map to a whole number from {lo} to {hi}")
                    continue
                if (folded := word(key, line, table)) is not None:
                    result[folded] = value
            return result

        days_before = numbers("days_before", 0, 366)
        number_words = numbers("numbers", 0, 99)
        months = numbers("months", 1, 12)
        weekdays = numbers("weekdays", 0, 6) if "weekdays" in node else {}
        weeks_before = numbers("weeks_before", 0, 52) if "weeks_before" in node else {}
        for month in sorted(set(range(1, 13)) - set(months.values())):
            self.r.error(line_of(node, "months"), f"dates.months: no name for month {month}")
        ago_list = node.get("ago")
        ago = tuple(w for i, v in enumerate(ago_list if isinstance(ago_list, list) else [])
                    if (w := word(v, line_of(ago_list, i), "ago")) is not None)
        if not ago and "ago" in node:
            self.r.error(line_of(node, "ago"), "dates.ago must be a non-empty list of words")
        marks: dict[str, tuple[str, ...]] = {}
        spec = self.r.mapping(node.get("marks"), line_of(node, "marks"), "dates.marks")
        if spec is not None:
            self.r.check_keys(spec, DATE_MARKS, DATE_MARKS, "dates.marks")
            marks = {part: self.r.texts(spec, part, "dates.marks") for part in DATE_MARKS if part in spec}
        weeks_list = node.get("weeks_ago")
        weeks_ago = tuple(w for i, v in enumerate(weeks_list if isinstance(weeks_list, list) else [])
                          if (w := word(v, line_of(weeks_list, i), "weeks_ago")) is not None)
        if "weeks_ago" in node and not isinstance(weeks_list, list):
            self.r.error(line_of(node, "weeks_ago"), "dates.weeks_ago must be a list of words")
        before_list = node.get("before_today")
        before_today = tuple(w for i, v in enumerate(before_list if isinstance(before_list, list) else [])
                             if (w := word(v, line_of(before_list, i), "before_today")) is not None)
        if "before_today" in node and not isinstance(before_list, list):
            self.r.error(line_of(node, "before_today"), "dates.before_today must be a list of words")
        filler_list = node.get("filler")
        filler = tuple(" ".join(str(v).lower().split()) for v in (filler_list if isinstance(filler_list, list) else [])
                       if isinstance(v, str) and v.strip())
        if "filler" in node and (not isinstance(filler_list, list)
                                 or not all(isinstance(v, str) and v.strip() for v in filler_list)):
            self.r.error(line_of(node, "filler"), "dates.filler must be a list of words (quote yes/no/on/off)")
        return DateWords(days_before, ago, number_words, months, marks, weekdays, weeks_before, before_today, filler,
                         weeks_ago)

    # --- entries ----------------------------------------------------------------------------

    def entries(self, raw_entries: list[tuple[Path, Any]], topics: dict[str, Any],
                figures: dict[str, Figure]) -> list[Entry]:
        entries: list[Entry] = []
        seen_ids: dict[str, Entry] = {}
        for path, value in raw_entries:
            self.r.file = path
            if not isinstance(value, yamlsrc.Sequence):
                self.r.error(getattr(value, "line", 1), "'entries' must be a list")
                continue
            for i, spec in enumerate(value):
                entry = self.entry(spec, line_of(value, i), path, topics, figures)
                if entry is None:
                    continue
                if entry.id in seen_ids:
                    first = seen_ids[entry.id]
                    self.r.error(entry.line, f"duplicate entry id {entry.id!r}"
                                 f" (first at {display_path(first.file)}:{first.line})")
                    continue
                seen_ids[entry.id] = entry
                entries.append(entry)
        self.cross_check(entries, topics)
        return entries

    def entry(self, spec: Any, line: int, path: Path, topics: dict[str, Any],
              figures: dict[str, Figure]) -> Entry | None:
        eid = str(spec.get("id", "")) if isinstance(spec, dict) else ""
        what = f"entry {eid or '?'}"
        self.check(schema.EntrySpec, spec, what if isinstance(spec, dict) else "entry", line)
        if not isinstance(spec, yamlsrc.Mapping):
            return None
        topic = self.ref(spec.get("topic"), topics, line_of(spec, "topic"), "topic") or ""
        role = str(spec.get("role", ""))
        lists = {}
        for key, known, kind in (("sources", self.sources_by_id, "source"),
                                 ("figures", figures, "figure"), ("tables", TABLES, "table")):
            items = spec.get(key) or []
            items = items if isinstance(items, list) else []
            for i, item in enumerate(items):
                self.ref(item, known, line_of(items, i), kind)
            lists[key] = tuple(map(str, items))
        related = spec.get("related") or []
        related = related if isinstance(related, list) else []
        case = self.ref(spec.get("dispute_case"), self.glossary.cases, line_of(spec, "dispute_case"),
                        "case")
        step = spec.get("step")
        if step is not None and (not isinstance(step, int) or isinstance(step, bool) or step < 1):
            step = None
        texts = {}
        for lang in LANGS:
            node = spec.get(lang)
            if isinstance(node, dict):
                texts[lang] = Text(title=_text(node.get("title")), questions=_texts(node.get("questions")),
                                   keywords=_texts(node.get("keywords")), steps=_texts(node.get("steps")),
                                   notes=_texts(node.get("notes")), advice=_texts(node.get("advice")))
        seller = self.seller_side(spec, what, figures) if "seller" in spec else None
        if case and seller is None:
            self.r.error(spec.line, f"{what}: an entry with a dispute_case needs a 'seller' side")
        zh = texts.get("zh")
        tags = self.tags(spec.get("markets"), {"steps": len(zh.steps) if zh else 0,
                                               "notes": len(zh.notes) if zh else 0}, what)
        entry = Entry(id=eid, topic=topic, role=role, texts=texts, related=tuple(map(str, related)),
                      dispute_case=case, step=step, seller=seller, file=path, line=spec.line,
                      step_markets=tags["steps"], note_markets=tags["notes"], **lists)
        self._raw_specs[eid] = spec
        return entry

    def seller_side(self, spec: yamlsrc.Mapping, what: str, figures: dict[str, Figure]) -> SellerSide | None:
        """entry.seller: the case from the seller's side (what to submit, by when)."""
        node = spec.get("seller")
        if not isinstance(node, yamlsrc.Mapping):
            return None
        refs = {}
        for key, known, kind in (("sources", self.sources_by_id, "source"), ("figures", figures, "figure")):
            items = node.get(key) or []
            items = items if isinstance(items, list) else []
            for i, item in enumerate(items):
                self.ref(item, known, line_of(items, i), kind)
            refs[key] = tuple(map(str, items))
        texts = {lang: SideText(*(_texts(side.get(k)) for k in ("steps", "notes", "advice")))
                 for lang in LANGS if isinstance(side := node.get(lang), dict)}
        zh, en = texts.get("zh"), texts.get("en")
        if zh and en and any(len(getattr(zh, k)) != len(getattr(en, k)) for k in SIDE_KEYS):
            self.r.error(node.line, f"{what} seller: zh and en must have as many steps, notes and advice")
        tags = self.tags(node.get("markets"), {"steps": len(zh.steps) if zh else 0,
                                               "notes": len(zh.notes) if zh else 0}, f"{what} seller")
        return SellerSide(texts, step_markets=tags["steps"], note_markets=tags["notes"], **refs)

    def cross_check(self, entries: list[Entry], topics: dict[str, Any]) -> None:
        ids = {e.id for e in entries}
        covered = {e.topic for e in entries}
        phrasings: dict[str, tuple[Entry, int]] = {}
        for entry in entries:
            spec = self._raw_specs.get(entry.id)
            self.r.file = entry.file
            related = spec.get("related") if spec else None
            for i, rid in enumerate(entry.related):
                if rid not in ids:
                    self.r.error(line_of(related, i, entry.line),
                                 f"entry {entry.id}: related entry {rid!r} does not exist")
                elif rid == entry.id:
                    self.r.error(line_of(related, i, entry.line),
                                 f"entry {entry.id}: relates to itself")
            for lang in LANGS:
                node = spec.get(lang) if spec else None
                questions = node.get("questions") if isinstance(node, yamlsrc.Mapping) else None
                for i, question in enumerate(entry.texts.get(lang, Text("", ())).questions):
                    key = fold(question)
                    line = line_of(questions, i, entry.line)
                    if key in phrasings:
                        other, other_line = phrasings[key]
                        self.r.error(line, f"entry {entry.id}: question {question!r} duplicates"
                                     f" one in entry {other.id} ({display_path(other.file)}:{other_line})")
                    else:
                        phrasings[key] = (entry, line)
        for entry in entries:
            zh, en = entry.texts.get("zh"), entry.texts.get("en")
            if zh and en and ((len(zh.steps), len(zh.notes), len(zh.advice))
                              != (len(en.steps), len(en.notes), len(en.advice))):
                self.r.error(entry.line, f"entry {entry.id}: zh and en must have as many steps, notes"
                             f" and advice (zh {len(zh.steps)}/{len(zh.notes)}/{len(zh.advice)},"
                             f" en {len(en.steps)}/{len(en.notes)}/{len(en.advice)})",
                             file=entry.file)
        steps = sorted(e.step for e in entries if e.step)
        if steps and steps != list(range(1, len(steps) + 1)):
            first = next(e for e in entries if e.step)
            self.r.error(first.line, f"flow steps must be 1..n without gaps or repeats, got {steps}",
                         file=first.file)
        for topic in topics:
            if topic not in covered:
                self.r.error(self.topic_lines.get(topic, 1),
                             f"topic {topic!r} has no knowledge-base entry", file=self.topics_file)
