"""The knowledge base as plain, immutable objects, built once from content/."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

LANGS = ("zh", "en")
ROLES = ("buyer", "seller", "both")
UNITS = ("hour", "day", "calendar_day", "business_day", "working_day", "month")
COUNT_UNITS = ("request", "warehouse")  # what a count counts (rendered "2 次" / "3 个")
LIMIT_KINDS = ("acceptance", "evidence_buyer", "evidence_seller", "decision")


@dataclass(frozen=True, slots=True)
class Source:
    id: str
    title: dict[str, str]  # per language: one language per screen, footnotes included
    url: str | None
    date: str  # YYYY-MM-DD, YYYY-MM or "undated"
    markets: tuple[str, ...] = ()  # the markets it is about (a group stands for its markets); (): any


@dataclass(frozen=True, slots=True)
class Window:
    """A time limit; value None means no source states it."""

    value: float | None
    source: str
    unit: str | None = None
    value_max: float | None = None
    from_event: str | None = None
    when: str | None = None
    up_to: bool = False  # the source says "up to N": rendered "up to", never a flat N


@dataclass(frozen=True, slots=True)
class DisputeRule:
    """One case in one market. evidence is what a source lists (cited by evidence_source);
    advice is general advice no source states, shown apart and labelled as such."""

    case: str
    market: str
    evidence: dict[str, tuple[str, ...]]
    limits: dict[str, tuple[Window, ...]]
    evidence_source: str = ""
    advice: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # "dispute": the platform's dispute rule for this case; "return_window": the market's return
    # window for any item, which is the window a buyer has for this case there
    basis: str = "dispute"
    variants: tuple[str, ...] = ()  # conditions of which the buyer says one (the refund flow asks)
    # The case itself means the event the window counts from may never happen (a lost parcel is
    # never marked Delivered), and the source does not say how the window applies then
    event_may_never_happen: bool = False


@dataclass(frozen=True, slots=True)
class ReturnWindow:
    market: str
    windows: tuple[Window, ...]


@dataclass(frozen=True, slots=True)
class Figure:
    """A quoted number that is not a dispute window: a limit (window) or a count."""

    id: str
    market: str
    label: dict[str, str]
    window: Window | None = None
    count: Window | None = None


@dataclass(frozen=True, slots=True)
class Text:
    title: str
    questions: tuple[str, ...]
    keywords: tuple[str, ...] = ()
    steps: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    advice: tuple[str, ...] = ()  # general advice, no source: shown under its own label


Tags = tuple[str, ...] | None  # the markets a step or note is about (None: every market)


@dataclass(frozen=True, slots=True)
class SideText:
    steps: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    advice: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SellerSide:
    """A dispute case from the seller's side: what to submit and by when (its own sources)."""

    texts: dict[str, SideText]
    sources: tuple[str, ...] = ()
    figures: tuple[str, ...] = ()
    step_markets: tuple[Tags, ...] = ()  # per step (by position); shorter: the rest are for every market
    note_markets: tuple[Tags, ...] = ()


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    topic: str
    role: str
    texts: dict[str, Text]
    sources: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    figures: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()
    dispute_case: str | None = None
    step: int | None = None
    seller: SellerSide | None = None
    step_markets: tuple[Tags, ...] = ()  # per step (by position); shorter: the rest are for every market
    note_markets: tuple[Tags, ...] = ()
    file: Path = Path("?")
    line: int = 0


@dataclass(frozen=True, slots=True)
class Glossary:
    markets: dict[str, dict[str, str]]
    events: dict[str, dict[str, str]]
    conditions: dict[str, dict[str, str]]
    cases: dict[str, dict[str, str]]
    limits: dict[str, dict[str, str]]


@dataclass(frozen=True, slots=True)
class DateWords:
    """The words people type for a day (content/lexicon.yaml, section dates), folded to lower case."""

    days_before: dict[str, int] = field(default_factory=dict)  # 昨天 -> 1
    ago: tuple[str, ...] = ()  # what follows a number of days: 天前, days ago
    numbers: dict[str, int] = field(default_factory=dict)  # 两 -> 2, three -> 3
    months: dict[str, int] = field(default_factory=dict)  # nov -> 11
    marks: dict[str, tuple[str, ...]] = field(default_factory=dict)  # year/month/day -> 年/月/日 号
    weekdays: dict[str, int] = field(default_factory=dict)  # 周五 -> 4 (Monday is 0)
    weeks_before: dict[str, int] = field(default_factory=dict)  # 上 -> 1 (上周五: the week before)
    before_today: tuple[str, ...] = ()  # last (last Friday: the most recent one before today)
    filler: tuple[str, ...] = ()  # words around a date, dropped: delivered on, 签收于
    weeks_ago: tuple[str, ...] = ()  # what follows a number of weeks: 周前, weeks ago


@dataclass(frozen=True, slots=True)
class Lexicon:
    synonyms: dict[str, str]  # variant -> canonical
    stopwords: dict[str, tuple[str, ...]]
    patterns: tuple[tuple[str, str], ...] = ()  # (regular expression, replacement)
    # kind (social, adjacent, other) -> lang -> examples of questions the bot does not answer
    out_of_scope: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    dates: DateWords = field(default_factory=DateWords)


@dataclass(frozen=True, slots=True)
class ViewOption:
    """One kind of seller or one market, and which steps, notes, figures and sources of an
    entry apply to it (a filtered view cites only what it shows)."""

    id: str
    label: dict[str, str]
    steps: tuple[int, ...]
    notes: tuple[int, ...]
    figures: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    market: str | None = None


@dataclass(frozen=True, slots=True)
class Flows:
    return_reasons: dict[str, tuple[str, ...]]
    return_keep: dict[str, tuple[str, ...]]
    warehouse_entry: str
    warehouse_options: tuple[ViewOption, ...]
    seller_response: tuple[ViewOption, ...]  # by market; figures hold the response time
    seller_entry: str = ""
    question_words: dict[str, tuple[str, ...]] = field(default_factory=dict)  # lang -> words of a question
    # entries code opens by id (flows.entries): the hand-off page, the refund result's "how to
    # file", the seller's prevention checklist
    handoff_entry: str = "handoff-human"
    refund_entry: str = "refund-apply"
    prevent_entry: str = "seller-prevent-disputes"


# --- question understanding (content/understanding.yaml) --------------------------------------

Term = tuple[str, ...]  # all of these words, anywhere in the question


@dataclass(frozen=True, slots=True)
class CaseWords:
    """One case a question can be about: its words, the entry that answers it in full, and
    where its figures come from (dispute rules for the six dispute cases)."""

    id: str
    words: tuple[Term, ...]
    entry: str
    table: str | None = None  # "return_windows"; the six dispute cases use dispute_rules
    figures: dict[str, tuple[str, ...]] = field(default_factory=dict)  # aspect -> figure ids
    seller_figures: dict[str, tuple[str, ...]] = field(default_factory=dict)  # the same, for sellers


@dataclass(frozen=True, slots=True)
class AspectWords:
    id: str
    words: tuple[Term, ...]
    figure: bool = False  # a time limit: the answer leads with it
    limits: tuple[str, ...] = ()  # dispute-rule limit kinds that answer it


@dataclass(frozen=True, slots=True)
class MarketWords:
    id: str
    name: dict[str, str]
    words: tuple[Term, ...]
    cased: tuple[str, ...] = ()  # matched as written: "US" but not "us"


@dataclass(frozen=True, slots=True)
class AdjacentTopic:
    id: str
    go: str  # where to go instead: templates/i18n.yaml und.go.<go>
    words: tuple[Term, ...]


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Every word the question reader knows, in the order that decides ties."""

    self_identified: dict[str, tuple[Term, ...]] = field(default_factory=dict)  # "I'm a seller": read as said
    roles: dict[str, tuple[Term, ...]] = field(default_factory=dict)  # cues for the role classifier
    cases: dict[str, CaseWords] = field(default_factory=dict)
    aspects: dict[str, AspectWords] = field(default_factory=dict)
    markets: dict[str, MarketWords] = field(default_factory=dict)
    limit_roles: dict[str, str] = field(default_factory=dict)
    scope: tuple[Term, ...] = ()
    adjacent: dict[str, AdjacentTopic] = field(default_factory=dict)
    social: dict[str, tuple[Term, ...]] = field(default_factory=dict)
    filler: tuple[Term, ...] = ()
    chitchat: tuple[Term, ...] = ()
    home: tuple[Term, ...] = ()  # words naming TikTok itself
    followup: tuple[Term, ...] = ()


OVERVIEW = "overview"  # a step's tag: said only when no market is chosen ("other markets: no source")
OWN, OTHER, HIDDEN = "own", "other", "hidden"  # where an item goes in one market's view


@dataclass(frozen=True, slots=True)
class Look:
    """Where a buyer or seller looks in the app when no public figure is known (and its source)."""

    texts: dict[str, str]
    source: str | None = None


@dataclass(frozen=True, slots=True)
class MarketFacts:
    """content/markets.yaml: each market's time zone, the groups rules and sources name, and where
    to look in the app when a figure is not public."""

    zones: dict[str, str] = field(default_factory=dict)  # market -> IANA time zone
    assumed: frozenset[str] = frozenset()  # markets spanning several zones: their zone is assumed
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)  # SEA -> (ID, TH, ...)
    look: dict[str, dict[str, Look]] = field(default_factory=dict)  # market or "default" -> role -> Look

    def expand(self, code: str) -> tuple[str, ...]:
        """The markets a code in content stands for: itself, or a group's members as well."""
        return (code, *self.groups.get(code, ()))

    def place(self, tags: Tags, market: str | None) -> str:
        """Where an item tagged with markets goes in market's view: OWN (its own, or for every
        market), OTHER (another market's: under "other markets"), HIDDEN (only in the view of all
        markets). No market chosen: everything is OWN."""
        if market is None or not tags:
            return OWN
        if OVERVIEW in tags:
            return HIDDEN
        if "ALL" in tags or any(market in self.expand(t) for t in tags):
            return OWN
        return OTHER

    def covers(self, code: str, market: str | None) -> bool:
        """Whether a rule or figure of code (a market, a group, ALL) is market's own."""
        return self.place((code,), market) == OWN

    def where(self, market: str | None, role: str) -> Look | None:
        """Where to look in the app in market, for a buyer or a seller."""
        return (self.look.get(market or "", {}).get(role)
                or self.look.get("default", {}).get(role))


@dataclass(frozen=True, slots=True)
class KnowledgeBase:
    entries: tuple[Entry, ...]
    topics: dict[str, dict[str, str]]
    sources: dict[str, Source]
    glossary: Glossary
    dispute_rules: tuple[DisputeRule, ...]
    return_windows: tuple[ReturnWindow, ...]
    figures: dict[str, Figure]
    lexicon: Lexicon
    flows: Flows
    vocabulary: Vocabulary = field(default_factory=Vocabulary)  # content/understanding.yaml
    markets: MarketFacts = field(default_factory=MarketFacts)  # content/markets.yaml
    by_id: dict[str, Entry] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_id.update({entry.id: entry for entry in self.entries})

    def rules_for(self, case: str) -> tuple[DisputeRule, ...]:
        return tuple(rule for rule in self.dispute_rules if rule.case == case)

    def rule_for(self, case: str | None, market: str | None) -> DisputeRule | None:
        """The time limits of one case in one market (the refund result and the agents' card
        read the same rule); None when content has none."""
        return next((rule for rule in self.rules_for(case or "") if rule.market == market), None)

    def flow_steps(self) -> tuple[Entry, ...]:
        """The entries of the guided self-ship return, in step order."""
        return tuple(sorted((e for e in self.entries if e.step), key=lambda e: e.step or 0))

    def entry_for_topic(self, topic: str) -> Entry | None:
        return next((e for e in self.entries if e.topic == topic), None)

    def markets_for(self, case: str) -> tuple[str, ...]:
        """The markets whose public sources give this case's window (the calculator computes them)."""
        return tuple(rule.market for rule in self.rules_for(case))

    def source_place(self, source: str, market: str | None) -> str:
        """OWN or OTHER: whether a source is about market (or about any market)."""
        found = self.sources.get(source)
        return self.markets.place(found.markets if found else None, market)

