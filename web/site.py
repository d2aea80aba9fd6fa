"""The help center's web pages, from the chat's knowledge base, templates and matcher.

Pages are rendered from templates/web/*.j2 with the chat's renderer (its wording, macros and
market-aware selection of what an entry shows) and kept in memory per content load, language,
market and role: serving one is a dictionary look-up. Search asks the same HelpCenter.ask as the
chat, off the event loop in the chat's answer worker (helpcenter/worker.py; the web waits its turn
there as one more chat), with a small cache of recent questions.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from markupsafe import Markup

from helpcenter import core
from helpcenter.answers.deadlines import DateError, acceptance_deadline, parse_day
from helpcenter.answers.render import Renderer
from helpcenter.core import HelpCenter
from helpcenter.knowledge.model import LANGS, Entry
from helpcenter.understanding.normalize import clean
from helpcenter.understanding.worker import FairWorker

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
ROLES = ("buyer", "seller")
MAX_QUERY = 200  # characters of a search that are read (the chat echoes at most as many)
MIN_SUGGEST = 2  # characters before as-you-type suggestions start
SUGGESTIONS = 6
SEARCH_CACHE = 2048  # recent (question, language, role, market) → result
PAGE_CACHE = 4096  # rendered pages kept (25 entries × 2 languages × 10 markets × 3 roles fit)
WEB_QUEUE = ("web",)  # the web's place in the answer worker's round robin of chats


@dataclass(frozen=True, slots=True)
class Prefs:
    """What the visitor chose: page language, market (None: any) and role (None: not said)."""

    lang: str = "zh"
    market: str | None = None
    role: str | None = None

    def query(self, **extra: str) -> str:
        """The query string that keeps these choices on a link (pages are shared without cookies,
        e.g. inside Telegram's web client, where a third-party cookie is not kept)."""
        params = {k: v for k, v in (("m", self.market), ("r", self.role), *extra.items()) if v}
        return ("?" + urlencode(params)) if params else ""


@dataclass(frozen=True, slots=True)
class Found:
    """A search's outcome, as the chat would decide it: kind (core.ANSWER …), the entry answered or
    guessed, the chat's text for it where the web shows that text as it is, and the other entries."""

    kind: str
    entry: Entry | None
    card: str  # Telegram HTML (figure first, adjacent, small talk, off-topic) or ""
    others: tuple[Entry, ...]


class Site:
    """Every page of the web help center. center_of gives the current HelpCenter (it changes on
    /reload: the cache follows it)."""

    def __init__(self, center_of: Callable[[], HelpCenter], *, agents: bool = False, bot_username: str = "",
                 default_timezone: str = "Asia/Shanghai", clock: Callable[[], datetime] | None = None,
                 can_post: bool = False,
                 worker: FairWorker | None = None) -> None:
        self.center_of = center_of
        self.agents = agents  # whether the bot has live agents: the wording about a person depends on it
        self.bot_username = bot_username  # t.me links to the chat; "" when not known (no token)
        self.can_post = can_post  # a bot runs with this server: the Mini App's buttons can reach the chat
        self.default_timezone = default_timezone  # markets content/markets.yaml gives no zone
        self.clock = clock or (lambda: datetime.now().astimezone())
        self.static = {p.name: p.read_bytes() for p in STATIC_DIR.iterdir() if p.is_file()}
        self.version = hashlib.sha256(b"".join(self.static[k] for k in sorted(self.static))).hexdigest()[:10]
        self._pages: OrderedDict[tuple, bytes] = OrderedDict()
        self._found: OrderedDict[tuple, Found] = OrderedDict()
        self._center: HelpCenter | None = None
        self._own_worker = worker is None
        self.worker = worker or FairWorker()  # the bot's, shared with the chat; else one of its own

    async def close(self) -> None:
        if self._own_worker:
            await self.worker.close()

    # --- what every page needs ----------------------------------------------------------------

    @property
    def center(self) -> HelpCenter:
        center = self.center_of()
        if center is not self._center:  # new content (/reload): nothing rendered before applies
            self._center = center
            self._pages.clear()
            self._found.clear()
        return center

    @property
    def renderer(self) -> Renderer:
        return self.center.renderer.for_agents(self.agents)

    def prefs(self, lang: str, market: str | None, role: str | None) -> Prefs:
        """Prefs with anything unknown dropped."""
        known = self.center.kb.vocabulary.markets
        return Prefs(lang if lang in LANGS else "zh", market if market in known else None,
                     role if role in ROLES else None)

    def markets(self, lang: str) -> list[tuple[str, str]]:
        """The markets a visitor can pick: the chat's (content/understanding.yaml), by name."""
        return [(m, self.market_label(m, lang)) for m in self.center.kb.vocabulary.markets]

    def market_label(self, market: str, lang: str) -> str:
        return self.renderer.market_label(market, lang)

    def themes(self) -> list[str]:
        """Themes (the first part of a topic id) in the order content/ lists their entries."""
        return list(dict.fromkeys(e.topic.split(".", 1)[0] for e in self.center.kb.entries))

    def chat_link(self, entry_id: str = "") -> str:
        if not self.bot_username:
            return ""
        return f"https://t.me/{self.bot_username}" + (f"?start={entry_id}" if entry_id else "")

    def _cached(self, key: tuple, build: Callable[[], str]) -> bytes:
        self.center  # noqa: B018 - drops the cache when the content changed
        page = self._pages.get(key)
        if page is None:
            page = build().encode("utf-8")
            self._pages[key] = page
            if len(self._pages) > PAGE_CACHE:
                self._pages.popitem(last=False)
        return page

    def _render(self, template: str, prefs: Prefs, path: str, page_title: str, **context: Any) -> str:
        r = self.renderer
        lang = prefs.lang
        other = "en" if lang == "zh" else "zh"

        def href(target: str, **extra: str) -> str:
            return target + prefs.query(**extra)

        keep = context.pop("keep", {})
        context.setdefault("q", "")
        return r.env.get_template(template).render(
            lang=lang, other_lang=other, t=r.t, prefs=prefs, path=path, page_title=page_title, href=href,
            other_href=f"/{other}/{path}" + prefs.query(**keep), keep_fields=keep, agents=self.agents,
            markets=self.markets(lang), market_name=self.market_label(prefs.market, lang) if prefs.market else "",
            version=self.version, chat=self.chat_link(), can_post=self.can_post, **context)

    # --- pages ----------------------------------------------------------------------------------

    def home(self, prefs: Prefs) -> bytes:
        def build() -> str:
            kb, lang = self.center.kb, prefs.lang
            role = prefs.role or "buyer"
            other = "seller" if role == "buyer" else "buyer"
            themes = [(th, [e for e in kb.entries if e.topic.split(".", 1)[0] == th and e.role in (role, "both")])
                      for th in self.themes()]
            return self._render("web/home.html.j2", prefs, "", self.renderer.t("web.site", lang),
                                role=role, themes=[(th, es) for th, es in themes if es], other_role=other,
                                switch_href=f"/{lang}/" + Prefs(lang, prefs.market, other).query())
        return self._cached(("home", prefs), build)

    def entry(self, entry_id: str, prefs: Prefs) -> bytes | None:
        entry = self.center.kb.by_id.get(entry_id)
        if entry is None:
            return None

        def build() -> str:
            r, lang, market = self.renderer, prefs.lang, prefs.market
            # The chat's rule: the market's figures first (or that it has none, and where to look
            # in the app), the other markets' apart; no market chosen: every market alike.
            shown = r.answer_context(entry, lang, market=market, role=prefs.role)
            shown.pop("market_name")  # the page names the market its own way (web.your_market)
            # A dispute case from the seller's side, as the chat's seller flow shows it: first for sellers.
            seller = (Markup("\n\n".join(r.seller_case(entry, lang, market=market)))  # noqa: S704 - our HTML
                      if entry.seller else "")
            return self._render("web/entry.html.j2", prefs, f"e/{entry.id}", shown["title"], **shown,
                                seller_side=seller, seller_first=prefs.role == "seller",
                                theme=entry.topic.split(".", 1)[0],
                                chat_entry=self.chat_link(entry.id),
                                # the buyer's calculator: not offered to a seller
                                deadline_case=entry.dispute_case if entry.dispute_case in self.center.kb.glossary.cases
                                and prefs.role != "seller" else None)
        return self._cached(("entry", entry_id, prefs), build)

    def not_found(self, prefs: Prefs) -> bytes:
        return self._cached(("404", prefs), lambda: self._render(
            "web/not_found.html.j2", prefs, "", self.renderer.t("web.not_found", prefs.lang)))

    # --- search (the chat's matcher and decision) ---------------------------------------------------

    async def find(self, question: str, prefs: Prefs) -> Found:
        """What the chat would answer, off the event loop; recent questions from memory."""
        question = clean(question)[:MAX_QUERY]
        center = self.center
        key = (question, prefs.lang, prefs.role, prefs.market)
        found = self._found.get(key)
        if found is None:
            profile = {k: v for k, v in (("role", prefs.role), ("market", prefs.market)) if v}
            reply = await self.worker.run(WEB_QUEUE, center.ask, question, prefs.lang, profile=profile)
            found = self._found_from(reply)
            self._found[key] = found
            if len(self._found) > SEARCH_CACHE:
                self._found.popitem(last=False)
        else:
            self._found.move_to_end(key)
        return found

    @staticmethod
    def _found_from(reply: core.Reply) -> Found:
        entry = reply.answered if reply.kind in (core.ANSWER, core.FIGURE, core.GUESS) else None
        card = reply.messages[0] if reply.kind in (core.FIGURE, core.ADJACENT, core.SOCIAL) else ""
        if reply.kind == core.OFF_TOPIC and not reply.match.suggestions:
            card = reply.messages[0]
        pool = {c.entry.id: c.entry for c in (*reply.match.suggestions, *reply.match.candidates)}
        others = tuple(e for e in pool.values() if entry is None or e.id != entry.id)[:SUGGESTIONS - 1]
        if reply.kind in (core.SOCIAL, core.ADJACENT) or (reply.kind == core.OFF_TOPIC and card):
            others = ()  # not about returns: no "related" entries to offer
        return Found(reply.kind, entry, card, others)

    async def search(self, question: str, prefs: Prefs) -> bytes:
        question = clean(question)[:MAX_QUERY]
        lang = prefs.lang
        found = await self.find(question, prefs) if question else None
        summary = ""
        if found is not None and found.entry is not None and found.kind == core.ANSWER:
            text = found.entry.texts[lang]
            summary = (text.steps or text.notes or ("",))[0]
        title = self.renderer.t("web.search_title", lang)
        return self._cached(("search", question, prefs), lambda: self._render(
            "web/search.html.j2", prefs, "search", title, q=question, found=found, summary=summary,
            card=Markup(found.card) if found and found.card else "",  # noqa: S704 - our templates' HTML
            keep={"q": question} if question else {}))

    async def suggest(self, question: str, prefs: Prefs) -> dict[str, Any]:
        """As-you-type: the entry the chat would answer (or guess) first, then the others."""
        question = clean(question)[:MAX_QUERY]
        if len(question) < MIN_SUGGEST:
            return {"kind": "", "items": []}
        found = await self.find(question, prefs)
        items = [{"title": found.entry.texts[prefs.lang].title, "url": self.entry_url(found.entry.id, prefs),
                  "best": found.kind == core.ANSWER or found.kind == core.FIGURE}] if found.entry else []
        items += [{"title": e.texts[prefs.lang].title, "url": self.entry_url(e.id, prefs), "best": False}
                  for e in found.others]
        return {"kind": found.kind, "items": items[:SUGGESTIONS]}

    @staticmethod
    def entry_url(entry_id: str, prefs: Prefs) -> str:
        return f"/{prefs.lang}/e/{entry_id}" + prefs.query()

    # --- the deadline calculator ------------------------------------------------------------------

    def variants(self, case: str, market: str | None = None) -> list[str]:
        """The variants a buyer picks from for a case (in one market: that rule's only)."""
        return list(dict.fromkeys(v for r in self.center.kb.rules_for(case)
                                  if market is None or r.market == market for v in r.variants))

    def today(self, market: str | None) -> tuple[datetime, tuple[str, bool]]:
        """Now in the market's time zone (the calculator's "today"), and the zone (name, assumed?)."""
        zone = self.renderer.zone(market, self.default_timezone)
        return self.clock().astimezone(ZoneInfo(zone[0])), zone

    def deadline(self, prefs: Prefs, case: str = "", variant: str = "", market: str = "", day: str = "") -> bytes:
        """The form, and with case, market and day the deadlines, as the chat's refund result
        (kept for the day: the days left change at midnight in the market)."""
        today = self.today(market or prefs.market)[0].date()
        return self._cached(("deadline", prefs, case, variant, market, day[:40], today),
                            lambda: self._deadline(prefs, case, variant, market, day))

    def _deadline(self, prefs: Prefs, case: str, variant: str, market: str, day: str) -> str:
        kb, r, lang = self.center.kb, self.renderer, prefs.lang
        case = case if case in kb.glossary.cases else ""
        market = market or prefs.market or ""
        if market not in kb.vocabulary.markets:
            market = ""
        rule = kb.rule_for(case, market) if case and market else None
        variants = list(rule.variants) if rule else []
        variant = variant if variant in variants else ""
        now, zone = self.today(market or None)
        result, error, remind = "", "", None
        if case and market and rule is None:  # no public figure there: where to look, and a person
            result = Markup(r.refund_result(None, None, None, now, lang, market=market, zone=zone,  # noqa: S704
                                            case=case)[0])
        elif case and day and rule is not None:
            try:
                event_day = parse_day(day[:40], now.date(), kb.lexicon.dates)
            except DateError:
                error = r.t("web.bad_date", lang)
            else:
                # no variant where the rule has several: not sure which, so every window, labelled
                text, limits = r.refund_result(rule, variant or None, event_day, now, lang, zone=zone)
                result = Markup(text)  # noqa: S704 - rendered by our autoescaped templates
                acceptance = acceptance_deadline(limits)
                if acceptance is not None and acceptance.days_left >= 1:
                    remind = {"case": case, "market": market, "variant": variant, "day": event_day.isoformat()}
        keep = {k: v for k, v in (("case", case), ("variant", variant), ("market", market), ("day", day)) if v}
        return self._render(
            "web/deadline.html.j2", prefs, "deadline", r.t("web.deadline_title", lang), keep=keep,
            case=case, variant=variant, market=market, day=day[:40], result=result, error=error, remind=remind,
            zone_note=r.zone_note(market or None, zone[0], zone[1], now.date(), lang), today=now.date().isoformat(),
            case_variants={c: [(v, rule.market) for rule in kb.rules_for(c) for v in rule.variants]
                           for c in kb.glossary.cases},
        )

    # --- what the Mini App may ask the chat to do ---------------------------------------------------

    def check_action(self, action: dict[str, Any]) -> dict[str, str]:
        """A Mini App post, reduced to known values: {"action": "human", "entry": id} or {"action":
        "remind", case, market, variant, day}; ValueError for anything else."""
        kb = self.center.kb
        kind = action.get("action")
        if kind == "human":
            entry = str(action.get("entry") or "")
            if entry and entry not in kb.by_id:
                raise ValueError("unknown entry")
            return {"action": "human", "entry": entry}
        if kind == "remind":
            case, market = str(action.get("case", "")), str(action.get("market", ""))
            variant, day = str(action.get("variant") or ""), str(action.get("day", ""))
            if market not in kb.markets_for(case):
                raise ValueError("unknown case or market")
            variants = self.variants(case, market)
            if variant and variant not in variants:  # none: not sure which, every window (the result's)
                raise ValueError("unknown variant")
            try:
                when = date.fromisoformat(day)
            except ValueError:
                raise ValueError("bad day") from None
            now, _ = self.today(market)
            if when > now.date():
                raise ValueError("day in the future")
            return {"action": "remind", "case": case, "market": market, "variant": variant, "day": when.isoformat()}
        raise ValueError("unknown action")
