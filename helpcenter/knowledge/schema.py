"""The shape of content/, declared: one pydantic model per kind of item (extra keys forbidden),
and the translation of pydantic's errors into the loader's `file:line: message` errors.

What a schema cannot say stays code in loader.py: references between files (an unknown source,
event, topic or entry), duplicates, coverage (every topic answered, every case ruled), units that
depend on the value, regular expressions, and the date words.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, StringConstraints, ValidationError

from helpcenter.knowledge import yamlsrc
from helpcenter.knowledge.model import LANGS, LIMIT_KINDS, ROLES
from helpcenter.knowledge.yamlsrc import line_of

ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}$")  # also a valid /start deep-link payload
DATE_RE = re.compile(r"^(undated|\d{4}-\d{2}(-\d{2})?)$")

Report = Callable[[int, str], None]  # (line, message): the loader's error collector


def _number(value: Any) -> Any:
    if value is not None and (not isinstance(value, int | float) or isinstance(value, bool) or value < 0):
        raise ValueError("not a number")
    return value


def _whole_from_1(value: Any) -> Any:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise ValueError("not a whole number from 1")
    return value


def _entry_id(value: Any) -> Any:
    if value is not None and str(value) and not ID_RE.match(str(value)):
        raise ValueError("not an id")
    return value


def _role(value: Any) -> Any:
    if value is not None and str(value) and str(value) not in ROLES:
        raise ValueError("not a role")
    return value


def _https_or_null(value: Any) -> Any:
    if value is not None and not (isinstance(value, str) and value.startswith("https://")):
        raise ValueError("not https")
    return value


def _date(value: Any) -> Any:
    if not DATE_RE.match(str(value)):
        raise ValueError("not a date")
    return value


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Texts = list[Text]
Number = Annotated[Any, PlainValidator(_number)]


class Spec(BaseModel):
    """A mapping in content/; the caller names it in errors. NESTED names a nested mapping
    (default: the parent's name and the key; "" keeps the parent's name; "=name" is a name of its
    own; a callable gets the raw mapping and the parent's name). MESSAGES words a bad value per
    key (per pydantic error type when a dict; "*" for any other)."""

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)
    NESTED: ClassVar[dict[str, str | Callable[[Any, str], str]]] = {}
    MESSAGES: ClassVar[dict[str, str | dict[str, str]]] = {}


TEXT = "{what}: {key!r} must be non-empty text"
TEXTS = "{what}: {key!r} must be a list of non-empty texts"


class Bilingual(Spec):
    zh: Text
    en: Text
    MESSAGES = {"zh": TEXT, "en": TEXT}


class BilingualTexts(Spec):
    zh: Texts
    en: Texts
    MESSAGES = {"zh": TEXTS, "en": TEXTS}


class OptionalBilingualTexts(Spec):
    zh: Texts = []
    en: Texts = []
    MESSAGES = {"zh": TEXTS, "en": TEXTS}


class TopicSpec(Spec):
    role: Any
    zh: Any
    en: Any
    source: Any = None


class SourceSpec(Spec):
    title: Bilingual
    url: Annotated[Any, PlainValidator(_https_or_null)]
    date: Annotated[Any, PlainValidator(_date)]
    markets: list[Any] | None = None
    MESSAGES = {"url": "{what}: url must be https://… or null",
                "date": "{what}: date must be YYYY-MM-DD, YYYY-MM or 'undated'",
                "title": {"model_type": "{what}: title needs both languages ({{zh: ..., en: ...}})"}}


class WindowSpec(Spec):
    value: Number
    value_max: Number = None
    unit: Any = None
    from_: Any = Field(None, alias="from")
    when: Any = None
    source: Any
    up_to: bool = False
    MESSAGES = {"value": "{what}: value must be a number or null",
                "value_max": "{what}: value_max must be a number or null",
                "up_to": "{what}: up_to must be true or false"}


WINDOWS = "{what} must be a non-empty list of windows"
Windows = Annotated[list[WindowSpec], Field(min_length=1)]


class EvidenceSpec(Spec):
    zh: Texts
    en: Texts
    source: Any
    MESSAGES = {"zh": TEXTS, "en": TEXTS}


class DisputeRuleSpec(Spec):
    case: Any
    market: Any
    evidence: EvidenceSpec | None = None
    evidence_advice: BilingualTexts | None = None
    basis: Literal["dispute", "return_window"] = "dispute"
    variants: list[Any] | None = None
    event_may_never_happen: bool = False
    acceptance: Windows
    evidence_buyer: Windows | None = None  # left out: no public figure in that market
    evidence_seller: Windows | None = None
    decision: Windows | None = None
    MESSAGES = {**{kind: {"*": WINDOWS, "nested": ""} for kind in LIMIT_KINDS},
                "basis": "{what}: basis must be dispute or return_window",
                "variants": "{what}: 'variants' must be a list",
                "event_may_never_happen": "{what}: event_may_never_happen must be true or false"}


class ReturnWindowSpec(Spec):
    market: Any
    windows: Windows
    NESTED = {"windows": lambda raw, what: f"return window {raw.get('market')}"}
    MESSAGES = {"windows": {"*": WINDOWS}}


class FigureSpec(Spec):
    market: Any
    label: Bilingual
    window: WindowSpec | None = None
    count: WindowSpec | None = None
    NESTED = {"window": "", "count": ""}


class TextSpec(Spec):
    title: Text
    questions: Annotated[Texts, Field(min_length=1)]
    keywords: Texts = []
    steps: Texts
    notes: Texts = []
    advice: Texts = []
    MESSAGES = {"title": TEXT, "questions": {"too_short": "{what}: needs at least one question", "*": TEXTS},
                **{key: TEXTS for key in ("keywords", "steps", "notes", "advice")}}


class SideSpec(Spec):
    steps: Texts
    notes: Texts = []
    advice: Texts = []
    MESSAGES = {key: TEXTS for key in ("steps", "notes", "advice")}


class MarketTagsSpec(Spec):
    """Which markets a step or note is about, by its number (1-based): a market, a group, a list
    of them, or "overview" (said only when no market is chosen)."""

    steps: dict[int, Any] = {}
    notes: dict[int, Any] = {}
    MESSAGES = {"steps": "{what}: steps must map step numbers to markets",
                "notes": "{what}: notes must map note numbers to markets"}


class SellerSpec(Spec):
    sources: list[Any]
    figures: list[Any] = []
    markets: MarketTagsSpec | None = None
    zh: SideSpec
    en: SideSpec


LIST = "{what}: {key!r} must be a list"


class EntrySpec(Spec):
    id: Annotated[Any, PlainValidator(_entry_id)]
    topic: Any
    role: Annotated[Any, PlainValidator(_role)]
    sources: list[Any] | None = None
    related: list[Any] | None = None
    figures: list[Any] | None = None
    tables: list[Any] | None = None
    dispute_case: Any = None
    step: Annotated[Any, PlainValidator(_whole_from_1)] = None
    seller: SellerSpec | None = None
    markets: MarketTagsSpec | None = None
    zh: TextSpec
    en: TextSpec
    MESSAGES = {"id": "{what}: id must be lower-case letters, digits, '-' or '_' (at most 48)",
                "role": f"{{what}}: role must be one of {', '.join(ROLES)}",
                "step": "{what}: step must be a whole number from 1",
                **{key: LIST for key in ("sources", "related", "figures", "tables")}}


class OptionSpec(Spec):
    id: Any
    label: Bilingual | None = None
    steps: list[Any]
    notes: list[Any] = []
    figures: list[Any] = []
    sources: list[Any]
    market: Any = None
    NESTED = {"label": lambda raw, what: f"{what} label"}


class ViewSpec(Spec):
    entry: Any
    options: list[Any]  # each option is checked on its own (OptionSpec), named by its id


class FlowEntriesSpec(Spec):
    handoff: Any
    refund: Any
    seller_prevent: Any


class FlowsSpec(Spec):
    return_reasons: BilingualTexts
    return_keep: BilingualTexts
    question_words: BilingualTexts | None = None
    seller_warehouse: ViewSpec
    seller_response: ViewSpec
    entries: FlowEntriesSpec
    NESTED = {key: f"=flows.{key}" for key in (
        "return_reasons", "return_keep", "question_words", "seller_warehouse", "seller_response", "entries")}


class ZoneSpec(Spec):
    zone: Text
    assumed: bool = False
    MESSAGES = {"zone": TEXT, "assumed": "{what}: assumed must be true or false"}


class LookSpec(Spec):
    zh: Text
    en: Text
    source: Any = None
    MESSAGES = {"zh": TEXT, "en": TEXT}


class MarketFactsSpec(Spec):
    zones: dict[str, ZoneSpec]
    groups: dict[str, list[Any]] = {}
    look: dict[str, dict[str, LookSpec]]
    NESTED = {"zones": "=market_facts.zones", "look": "=market_facts.look"}


class StopwordsSpec(Spec):
    zh: Texts = []
    en: Texts = []
    MESSAGES = {"zh": TEXTS, "en": TEXTS}


class OutOfScopeSpec(Spec):
    social: OptionalBilingualTexts | None = None
    adjacent: OptionalBilingualTexts | None = None
    other: OptionalBilingualTexts | None = None
    platforms: OptionalBilingualTexts | None = None


# --- errors ---------------------------------------------------------------------------------------

def check(spec: type[Spec], node: Any, what: str, line: int, report: Report) -> bool:
    """Validate node against spec, reporting each problem as the loader always did; True if valid."""
    if not isinstance(node, dict):
        report(line, f"{what} must be a mapping")
        return False
    try:
        spec.model_validate(node)
    except ValidationError as exc:
        seen: set[tuple[int, str]] = set()
        for error in exc.errors():
            found = _message(spec, node, what, error)
            if found is not None and found not in seen:
                seen.add(found)
                report(*found)
        return False
    return True


def _field_spec(spec: type[Spec], key: str) -> type[Spec] | None:
    """The Spec a field holds (itself, or as list items, or optional)."""
    field = next((f for name, f in spec.model_fields.items() if key in (name, f.alias)), None)
    if field is None:
        return None
    todo: list[Any] = [field.annotation]
    while todo:
        kind = todo.pop()
        if isinstance(kind, type) and issubclass(kind, Spec):
            return kind
        todo += [a for a in getattr(kind, "__args__", ()) if a is not type(None)]
        todo += [a for a in getattr(kind, "__metadata__", ()) if isinstance(a, type)]
        if hasattr(kind, "__origin__"):
            todo.append(kind.__origin__)
    return None


def _nested(spec: type[Spec], key: str, raw: Any, what: str) -> str:
    rule = spec.NESTED.get(key, key)
    if callable(rule):
        return rule(raw, what)
    if rule.startswith("="):  # a name of its own, not the parent's
        return rule[1:]
    return f"{what} {rule}" if rule else what


def _message(spec: type[Spec], node: Any, what: str, error: Any) -> tuple[int, str] | None:
    loc = list(error["loc"])
    kind = error["type"]
    # Walk to the mapping that holds the failing key; list indexes keep the list's name.
    while len(loc) > 1:
        key = loc[0]
        inner = _field_spec(spec, str(key))
        value = node.get(key) if isinstance(node, dict) else None
        if inner is None or not isinstance(value, dict | list):
            break
        loc.pop(0)
        if isinstance(value, list):
            if not loc or not isinstance(loc[0], int) or loc[0] >= len(value):
                break
            index = loc.pop(0)
            if not loc:  # the item itself is not a mapping
                return line_of(value, index), f"{_nested(spec, str(key), node, what)} must be a mapping"
            what, node, spec = _nested(spec, str(key), node, what), value[index], inner
        else:
            what, node, spec = _nested(spec, str(key), node, what), value, inner
    key = str(loc[0]) if loc else ""
    if kind == "extra_forbidden":
        allowed = sorted(f.alias or name for name, f in spec.model_fields.items())
        return line_of(node, key), f"unknown key {key!r} in {what} (allowed: {', '.join(allowed)})"
    if kind == "missing":
        return getattr(node, "line", 1), f"{what} is missing {key!r}"
    words = spec.MESSAGES.get(key)
    if isinstance(words, dict):
        words = words.get(kind, words.get("*"))
    if words is None and kind in ("model_type", "dict_type") and _field_spec(spec, key) is not None:
        return line_of(node, key), f"{_nested(spec, key, node, what)} must be a mapping"
    if words is None:
        words = "{what}: {key!r} is not valid ({msg})"
    return line_of(node, key), words.format(what=what, key=key, msg=error["msg"])


def plain_mapping(node: Any) -> bool:
    return isinstance(node, yamlsrc.Mapping)


__all__ = ["LANGS", "check"]
