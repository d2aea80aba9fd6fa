"""What the bot keeps about a user between updates (PTB's user_data), typed instead of string keys.

It is persisted as a plain dict with the keys it always had (to_dict), so rows written before it
existed load (from_dict ignores what it does not know and keeps defaults for what is missing),
and a row never depends on this module's path the way a pickled class would.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

RETURN_FIELDS = ("order", "product", "reason", "contact", "carrier", "tracking")
RECENT = 5  # questions remembered for a hand-off's context card
QUESTION_KEPT = 300  # characters of each


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass
class ReturnForm:
    """The self-ship return in progress (handlers/flows/returns.py)."""

    step: int = 1
    order: str = ""
    product: str = ""
    reason: str = ""
    contact: str = ""
    carrier: str = ""
    tracking: str = ""
    asking: bool = False  # "Ask a question" was pressed: the next text is a question, not a value

    def value(self, name: str) -> str:
        """One of RETURN_FIELDS by name ("" when not filled in)."""
        assert name in RETURN_FIELDS, name
        return str(getattr(self, name))

    def fill(self, name: str, value: str) -> None:
        assert name in RETURN_FIELDS, name
        setattr(self, name, value)

    def started(self) -> bool:
        return self.step > 1 or any(self.value(f) for f in RETURN_FIELDS)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"step": self.step, **{f: self.value(f) for f in RETURN_FIELDS if self.value(f)}}
        if self.asking:
            out["asking"] = True
        return out

    @classmethod
    def from_dict(cls, raw: object) -> ReturnForm:
        if not isinstance(raw, dict):
            return cls()
        step = raw.get("step", 1)
        return cls(step=step if isinstance(step, int) and step >= 1 else 1,
                   asking=bool(raw.get("asking")), **{f: _str(raw.get(f)) or "" for f in RETURN_FIELDS})


@dataclass
class RefundForm:
    """The refund request in progress (handlers/flows/refund.py): what was chosen so far."""

    case: str | None = None
    variant: str | None = None
    market: str | None = None
    day: str | None = None  # ISO date the window counts from

    def to_dict(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}

    @classmethod
    def from_dict(cls, raw: object) -> RefundForm:
        if not isinstance(raw, dict):
            return cls()
        return cls(**{f.name: _str(raw.get(f.name)) for f in fields(cls)})


@dataclass(frozen=True)
class Asked:
    """A question the user typed and the entry that answered it (None: none did), for the agents."""

    q: str
    a: str | None = None


@dataclass
class UserData:
    lang: str | None = None  # "zh" | "en": /lang, else guessed once from the Telegram client
    role: str | None = None  # "buyer" | "seller"
    market: str | None = None  # the market answers show first (/market)
    asked_market: bool = False  # the one-time market question was asked
    state: str | None = None  # the flow state (handlers/base/flow.py), also after a detour
    ret: ReturnForm = field(default_factory=ReturnForm)
    ref: RefundForm = field(default_factory=RefundForm)
    recent: list[Asked] = field(default_factory=list)  # the last questions, for a ticket's card
    slots: dict[str, Any] | None = None  # what the last question was about (a follow-up keeps it)
    suggested: list[str] = field(default_factory=list)  # other entries to offer after a 👎
    misses: int = 0  # questions in a row the bot could not answer
    hold: int | None = None  # the open ticket whose relay a bot command or button put on hold
    web_menu: list[str | None] | None = None  # (language, market, role) the chat's menu button was set for

    def remember(self, question: str, answer: str | None) -> None:
        """A question and the entry that answered it (None: none did), for the agents' card."""
        self.recent.append(Asked(question[:QUESTION_KEPT], answer))
        del self.recent[:-RECENT]

    def clear(self) -> None:
        """Forget everything (/forget): every field back to its default."""
        fresh = UserData()
        for f in fields(self):
            setattr(self, f.name, getattr(fresh, f.name))

    def to_dict(self) -> dict[str, Any]:
        """The persisted form: the keys user_data always had, only those with a value."""
        out: dict[str, Any] = {}
        for key, value in (("lang", self.lang), ("role", self.role), ("market", self.market),
                           ("state", str(self.state) if self.state else None), ("slots", self.slots),
                           ("handoff_hold", self.hold), ("web_menu", self.web_menu)):
            if value is not None:
                out[key] = value
        if self.asked_market:
            out["asked_market"] = True
        if self.ret != ReturnForm():
            out["ret"] = self.ret.to_dict()
        if self.ref != RefundForm():
            out["ref"] = self.ref.to_dict()
        if self.recent:
            out["recent"] = [{"q": item.q, "a": item.a} for item in self.recent]
        if self.suggested:
            out["last_match"] = {"others": list(self.suggested)}
        if self.misses:
            out["misses"] = self.misses
        return out

    @classmethod
    def from_dict(cls, raw: object) -> UserData:
        """Tolerant: a row from any earlier version loads; values of the wrong type are dropped."""
        if isinstance(raw, UserData):
            return replace(raw)
        if not isinstance(raw, dict):
            return cls()
        recent = [Asked(str(item.get("q", "")), _str(item.get("a")))
                  for item in raw.get("recent") or () if isinstance(item, dict)]
        last = raw.get("last_match")
        others = last.get("others") if isinstance(last, dict) else None
        hold, misses, slots, menu = raw.get("handoff_hold"), raw.get("misses"), raw.get("slots"), raw.get("web_menu")
        return cls(lang=_str(raw.get("lang")), role=_str(raw.get("role")), market=_str(raw.get("market")),
                   asked_market=bool(raw.get("asked_market")), state=_str(raw.get("state")),
                   ret=ReturnForm.from_dict(raw.get("ret")), ref=RefundForm.from_dict(raw.get("ref")),
                   recent=recent, slots=slots if isinstance(slots, dict) else None,
                   suggested=[x for x in others or () if isinstance(x, str)],
                   misses=misses if isinstance(misses, int) else 0,
                   hold=hold if isinstance(hold, int) else None,
                   web_menu=list(menu) if isinstance(menu, list) else None)
