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

from helpcenter.knowledge import yamlsrc
from helpcenter.knowledge.model import (
    COUNT_UNITS,
    LANGS,
    LIMIT_KINDS,
    ROLES,
    UNITS,
    DateWords,
    DisputeRule,
    Entry,
    Figure,
    Flows,
    Glossary,
    KnowledgeBase,
    Lexicon,
    ReturnWindow,
    SellerSide,
    SideText,
    Source,
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
)
OUT_OF_SCOPE = ("social", "adjacent", "other", "platforms")  # questions the bot does not answer; other shops
ENTRY_KEYS = {"id", "topic", "role", "sources", "related", "figures", "tables", "dispute_case",
              "step", "seller", *LANGS}
TEXT_KEYS = {"title", "questions", "keywords", "steps", "notes", "advice"}
SIDE_KEYS = {"steps", "notes", "advice"}
WINDOW_KEYS = {"value", "value_max", "unit", "from", "when", "source", "up_to"}
OPTION_KEYS = {"id", "label", "steps", "notes", "figures", "sources", "market"}
TABLES = ("dispute_rules", "return_windows")
ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}$")  # also a valid /start deep-link payload
DATE_KEYS = ("days_before", "ago", "numbers", "months", "marks")
DATE_OPTIONAL = ("weekdays", "weeks_before", "before_today")
DATE_MARKS = ("year", "month", "day")
DATE_RE = re.compile(r"^(undated|\d{4}-\d{2}(-\d{2})?)$")


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


class _Builder:
    def __init__(self, reader: _Reader, raw: dict[str, tuple[Path, Any, int]]) -> None:
        self.r = reader
        self.raw = raw
        self._raw_specs: dict[str, yamlsrc.Mapping] = {}

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
                             flows=flows, vocabulary=vocabulary)

    def flows(self, entries: dict[str, Entry], figures: dict[str, Figure]) -> Flows:
        empty = Flows({}, {}, "", (), ())
        node = self.section("flows")
        if not isinstance(node, yamlsrc.Mapping):
            return empty
        keys = {"return_reasons", "return_keep", "seller_warehouse", "seller_response", "entries"}
        self.r.check_keys(node, {*keys, "question_words"}, keys, "flows")
        ids: dict[str, str] = {}
        spec = self.r.mapping(node.get("entries"), line_of(node, "entries"), "flows.entries")
        if spec is not None:
            self.r.check_keys(spec, FLOW_ENTRIES, FLOW_ENTRIES, "flows.entries")
            for key, name in FLOW_ENTRIES.items():
                found = self.ref(spec.get(key), entries, line_of(spec, key), "entry")
                if found is not None and found in entries:
                    ids[name] = found
        lists = {}
        for key in ("return_reasons", "return_keep", "question_words"):
            if key == "question_words" and key not in node:
                continue
            spec = self.r.mapping(node.get(key), line_of(node, key), f"flows.{key}")
            if spec is not None:
                self.r.check_keys(spec, LANGS, LANGS, f"flows.{key}")
                lists[key] = {lang: self.r.texts(spec, lang, f"flows.{key}") for lang in LANGS}
        wh_entry, wh_options = self.view_options(node, "seller_warehouse", entries, figures)
        sr_entry, sr_options = self.view_options(node, "seller_response", entries, figures)
        return Flows(lists.get("return_reasons", {}), lists.get("return_keep", {}), wh_entry,
                     wh_options, sr_options, sr_entry, lists.get("question_words", {}), **ids)

    def view_options(self, node: yamlsrc.Mapping, key: str, entries: dict[str, Entry],
                     figures: dict[str, Figure]) -> tuple[str, tuple[ViewOption, ...]]:
        """flows.<key>: an entry and the filtered views of it a flow offers, each citing
        only its own sources (figures add theirs)."""
        what_all = f"flows.{key}"
        spec_all = self.r.mapping(node.get(key), line_of(node, key), what_all)
        if spec_all is None:
            return "", ()
        self.r.check_keys(spec_all, {"entry", "options"}, {"entry", "options"}, what_all)
        entry_id = self.ref(spec_all.get("entry"), entries, line_of(spec_all, "entry"), "entry") or ""
        entry = entries.get(entry_id)
        options: list[ViewOption] = []
        raw = spec_all.get("options") or []
        for i, spec in enumerate(raw):
            spec = self.r.mapping(spec, line_of(raw, i), f"{what_all} option")
            if spec is None:
                continue
            what = f"{what_all} option {spec.get('id')}"
            self.r.check_keys(spec, OPTION_KEYS, {"id", "steps", "sources"}, what)
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
                label = self.r.bilingual(spec.get("label"), line_of(spec, "label"), f"{what} label")
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
            spec = self.r.mapping(spec, line_of(node, topic), f"topic {topic}")
            if spec is None:
                continue
            self.r.check_keys(spec, {"role", "zh", "en", "source"}, {"role", "zh", "en"},
                              f"topic {topic}")
            result[topic] = {k: str(v) for k, v in spec.items()}
        return result

    def sources(self) -> dict[str, Source]:
        node = self.section("sources")
        result: dict[str, Source] = {}
        if not isinstance(node, yamlsrc.Mapping):
            return result
        for sid, spec in node.items():
            spec = self.r.mapping(spec, line_of(node, sid), f"source {sid}")
            if spec is None:
                continue
            self.r.check_keys(spec, {"title", "url", "date"}, {"title", "url", "date"},
                              f"source {sid}")
            url, date = spec.get("url"), str(spec.get("date", ""))
            if url is not None and not (isinstance(url, str) and url.startswith("https://")):
                self.r.error(line_of(spec, "url"), f"source {sid}: url must be https://… or null")
                url = None
            if not DATE_RE.match(date):
                self.r.error(line_of(spec, "date"),
                             f"source {sid}: date must be YYYY-MM-DD, YYYY-MM or 'undated'")
            if isinstance(spec.get("title"), str):  # one language per screen, footnotes included
                self.r.error(line_of(spec, "title"), f"source {sid}: title needs both languages"
                             " ({zh: ..., en: ...})")
                title = {lang: str(spec["title"]) for lang in LANGS}
            else:
                title = self.r.bilingual(spec.get("title"), line_of(spec, "title"), f"source {sid} title")
            result[sid] = Source(sid, title, url, date)
        return result

    def names(self, name: str) -> dict[str, dict[str, str]]:
        node = self.section(name)
        if not isinstance(node, yamlsrc.Mapping):
            return {}
        return {key: self.r.bilingual(value, line_of(node, key), f"{name}.{key}")
                for key, value in node.items()}

    def ref(self, value: Any, known: dict[str, Any] | Iterable[str], line: int, what: str) -> str | None:
        if value is None:
            return None
        if str(value) not in known:
            self.r.error(line, f"unknown {what} {value!r}")
        return str(value)

    def window(self, node: Any, line: int, what: str, units: tuple[str, ...] = UNITS) -> Window | None:
        node = self.r.mapping(node, line, what)
        if node is None:
            return None
        self.r.check_keys(node, WINDOW_KEYS, {"value", "source"}, what)
        up_to = node.get("up_to", False)
        if not isinstance(up_to, bool):
            self.r.error(line_of(node, "up_to"), f"{what}: up_to must be true or false")
            up_to = False
        value, value_max = node.get("value"), node.get("value_max")
        for key, v in (("value", value), ("value_max", value_max)):
            if v is not None and (not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0):
                self.r.error(line_of(node, key), f"{what}: {key} must be a number or null")
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
            up_to=up_to,
        )

    def dispute_rules(self) -> list[DisputeRule]:
        node = self.section("dispute_rules")
        rules: list[DisputeRule] = []
        if not isinstance(node, yamlsrc.Sequence):
            return rules
        seen: set[tuple[str, str]] = set()
        for i, spec in enumerate(node):
            spec = self.r.mapping(spec, line_of(node, i), "dispute rule")
            if spec is None:
                continue
            what = f"dispute rule {spec.get('case')}/{spec.get('market')}"
            self.r.check_keys(spec, {"case", "market", "evidence", "evidence_advice", *LIMIT_KINDS},
                              {"case", "market", *LIMIT_KINDS}, what)
            case = self.ref(spec.get("case"), self.glossary.cases, line_of(spec, "case"), "case") or ""
            market = self.ref(spec.get("market"), self.glossary.markets, line_of(spec, "market"),
                              "market") or ""
            if (case, market) in seen:
                self.r.error(spec.line, f"{what} is defined twice")
            seen.add((case, market))
            # evidence: what a source lists, with that source; evidence_advice: general advice.
            evidence: dict[str, tuple[str, ...]] = {lang: () for lang in LANGS}
            evidence_source = ""
            if "evidence" in spec:
                ev = self.r.mapping(spec.get("evidence"), line_of(spec, "evidence"), f"{what} evidence")
                if ev is not None:
                    self.r.check_keys(ev, {*LANGS, "source"}, {*LANGS, "source"}, f"{what} evidence")
                    evidence = {lang: self.r.texts(ev, lang, f"{what} evidence") for lang in LANGS}
                    evidence_source = self.ref(ev.get("source"), self.sources_by_id,
                                               line_of(ev, "source"), "source") or ""
            advice: dict[str, tuple[str, ...]] = {lang: () for lang in LANGS}
            if "evidence_advice" in spec:
                adv = self.r.mapping(spec.get("evidence_advice"), line_of(spec, "evidence_advice"),
                                     f"{what} evidence_advice")
                if adv is not None:
                    self.r.check_keys(adv, LANGS, LANGS, f"{what} evidence_advice")
                    advice = {lang: self.r.texts(adv, lang, f"{what} evidence_advice") for lang in LANGS}
            limits = {kind: self.windows(spec.get(kind), line_of(spec, kind), f"{what} {kind}")
                      for kind in LIMIT_KINDS}
            rules.append(DisputeRule(case, market, evidence, limits, evidence_source, advice))
        for case in self.glossary.cases:
            if not any(rule.case == case for rule in rules):
                self.r.error(node.line, f"case {case!r} has no dispute rule")
        return rules

    def windows(self, value: Any, line: int, what: str) -> tuple[Window, ...]:
        if not isinstance(value, list) or not value:
            self.r.error(line, f"{what} must be a non-empty list of windows")
            return ()
        found = (self.window(item, line_of(value, i), what) for i, item in enumerate(value))
        return tuple(w for w in found if w is not None)

    def return_windows(self) -> list[ReturnWindow]:
        node = self.section("return_windows")
        result: list[ReturnWindow] = []
        if not isinstance(node, yamlsrc.Sequence):
            return result
        for i, spec in enumerate(node):
            spec = self.r.mapping(spec, line_of(node, i), "return window")
            if spec is None:
                continue
            self.r.check_keys(spec, {"market", "windows"}, {"market", "windows"}, "return window")
            market = self.ref(spec.get("market"), self.glossary.markets, line_of(spec, "market"),
                              "market") or ""
            result.append(ReturnWindow(market, self.windows(spec.get("windows"),
                                                            line_of(spec, "windows"),
                                                            f"return window {market}")))
        return result

    def figures(self) -> dict[str, Figure]:
        node = self.section("figures")
        result: dict[str, Figure] = {}
        if not isinstance(node, yamlsrc.Mapping):
            return result
        for fid, spec in node.items():
            what = f"figure {fid}"
            spec = self.r.mapping(spec, line_of(node, fid), what)
            if spec is None:
                continue
            self.r.check_keys(spec, {"market", "label", "window", "count"}, {"market", "label"}, what)
            if ("window" in spec) == ("count" in spec):
                self.r.error(spec.line, f"{what} needs exactly one of 'window' or 'count'")
            result[fid] = Figure(
                id=fid,
                market=self.ref(spec.get("market"), self.glossary.markets, line_of(spec, "market"),
                                "market") or "",
                label=self.r.bilingual(spec.get("label"), line_of(spec, "label"), f"{what} label"),
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
            self.r.check_keys(node, LANGS, (), "stopwords")
            stopwords.update({lang: self.r.texts(node, lang, "stopwords") for lang in LANGS
                              if lang in node})
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
            self.r.check_keys(node, OUT_OF_SCOPE, (), "out_of_scope")
            for kind, texts in node.items():
                texts = self.r.mapping(texts, line_of(node, kind), f"out_of_scope {kind}")
                if texts is not None and kind in OUT_OF_SCOPE:
                    self.r.check_keys(texts, LANGS, (), f"out_of_scope {kind}")
                    out_of_scope[kind] = {lang: self.r.texts(texts, lang, f"out_of_scope {kind}")
                                          for lang in LANGS if lang in texts}
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
        before_list = node.get("before_today")
        before_today = tuple(w for i, v in enumerate(before_list if isinstance(before_list, list) else [])
                             if (w := word(v, line_of(before_list, i), "before_today")) is not None)
        if "before_today" in node and not isinstance(before_list, list):
            self.r.error(line_of(node, "before_today"), "dates.before_today must be a list of words")
        return DateWords(days_before, ago, number_words, months, marks, weekdays, weeks_before, before_today)

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
        spec = self.r.mapping(spec, line, "entry")
        if spec is None:
            return None
        eid = str(spec.get("id", ""))
        what = f"entry {eid or '?'}"
        self.r.check_keys(spec, ENTRY_KEYS, {"id", "topic", "role", *LANGS}, what)
        if eid and not ID_RE.match(eid):
            self.r.error(line_of(spec, "id"), f"{what}: id must be lower-case letters, digits,"
                         " '-' or '_' (at most 48)")
        topic = self.ref(spec.get("topic"), topics, line_of(spec, "topic"), "topic") or ""
        role = str(spec.get("role", ""))
        if role and role not in ROLES:
            self.r.error(line_of(spec, "role"), f"{what}: role must be one of {', '.join(ROLES)}")
        lists = {}
        for key, known, kind in (("sources", self.sources_by_id, "source"),
                                 ("figures", figures, "figure"), ("tables", TABLES, "table")):
            items = spec.get(key) or []
            if not isinstance(items, list):
                self.r.error(line_of(spec, key), f"{what}: {key!r} must be a list")
                items = []
            for i, item in enumerate(items):
                self.ref(item, known, line_of(items, i), kind)
            lists[key] = tuple(map(str, items))
        related = spec.get("related") or []
        if not isinstance(related, list):
            self.r.error(line_of(spec, "related"), f"{what}: 'related' must be a list")
            related = []
        case = self.ref(spec.get("dispute_case"), self.glossary.cases, line_of(spec, "dispute_case"),
                        "case")
        step = spec.get("step")
        if step is not None and (not isinstance(step, int) or isinstance(step, bool) or step < 1):
            self.r.error(line_of(spec, "step"), f"{what}: step must be a whole number from 1")
            step = None
        texts = {}
        for lang in LANGS:
            if lang not in spec:
                continue
            node = self.r.mapping(spec[lang], line_of(spec, lang), f"{what} {lang}")
            if node is None:
                continue
            where = f"{what} {lang}"
            self.r.check_keys(node, TEXT_KEYS, {"title", "questions", "steps"}, where)
            texts[lang] = Text(
                title=self.r.text(node, "title", where),
                questions=self.r.texts(node, "questions", where),
                keywords=self.r.texts(node, "keywords", where),
                steps=self.r.texts(node, "steps", where),
                notes=self.r.texts(node, "notes", where),
                advice=self.r.texts(node, "advice", where),
            )
            if "questions" in node and not texts[lang].questions:
                self.r.error(line_of(node, "questions"), f"{where}: needs at least one question")
        seller = self.seller_side(spec, what, figures) if "seller" in spec else None
        if case and seller is None:
            self.r.error(spec.line, f"{what}: an entry with a dispute_case needs a 'seller' side")
        entry = Entry(id=eid, topic=topic, role=role, texts=texts, related=tuple(map(str, related)),
                      dispute_case=case, step=step, seller=seller, file=path, line=spec.line, **lists)
        self._raw_specs[eid] = spec
        return entry

    def seller_side(self, spec: yamlsrc.Mapping, what: str, figures: dict[str, Figure]) -> SellerSide | None:
        """entry.seller: the case from the seller's side (what to submit, by when)."""
        where = f"{what} seller"
        node = self.r.mapping(spec.get("seller"), line_of(spec, "seller"), where)
        if node is None:
            return None
        self.r.check_keys(node, {"sources", "figures", *LANGS}, {"sources", *LANGS}, where)
        refs = {}
        for key, known, kind in (("sources", self.sources_by_id, "source"), ("figures", figures, "figure")):
            items = node.get(key) or []
            for i, item in enumerate(items):
                self.ref(item, known, line_of(items, i), kind)
            refs[key] = tuple(map(str, items))
        texts = {}
        for lang in LANGS:
            side = self.r.mapping(node.get(lang), line_of(node, lang), f"{where} {lang}")
            if side is None:
                continue
            self.r.check_keys(side, SIDE_KEYS, {"steps"}, f"{where} {lang}")
            texts[lang] = SideText(*(self.r.texts(side, k, f"{where} {lang}") for k in ("steps", "notes", "advice")))
        zh, en = texts.get("zh"), texts.get("en")
        if zh and en and any(len(getattr(zh, k)) != len(getattr(en, k)) for k in SIDE_KEYS):
            self.r.error(node.line, f"{where}: zh and en must have as many steps, notes and advice")
        return SellerSide(texts, **refs)

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
