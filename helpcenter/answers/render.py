"""Render every message from templates/ as Telegram HTML, and split long ones.

One Jinja2 environment with StrictUndefined (a missing value is an error, not a blank) and HTML
autoescape (user text can never become markup).
"""

from __future__ import annotations

import copy
import html
import re
import unicodedata
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from helpcenter.answers.deadlines import CLOSED_SOURCES, Limit, assess
from helpcenter.knowledge import yamlsrc
from helpcenter.knowledge.loader import PROJECT_DIR, ContentError
from helpcenter.knowledge.model import LANGS, LIMIT_KINDS, OTHER, OWN, DisputeRule, Entry, KnowledgeBase, Tags, Window

TEMPLATES_DIR = PROJECT_DIR / "templates"
TELEGRAM_LIMIT = 4096
LEAD_MAX = 3  # a market's figures lead an answer when there are at most this many (else: the fold)
FIRST_SCREEN_MEDIAN = 6  # lines: the median answer's first screen fits a phone without scrolling
PHONE_COLUMNS = 40  # a narrow phone's line, in columns (a Chinese character is two)
NO_AGENTS = ".no_agents"  # i18n key suffix: the wording of a bot without live agents


class Renderer:
    """Knows the knowledge base and the wording; turns both into message texts.

    agents: whether this bot has live agents (SUPPORT_CHAT_ID), so that what an answer promises
    about reaching a person is true in either configuration; see for_agents(). None (this base
    renderer, e.g. for HelpCenter.ask) means not known: wording true either way.
    """

    def __init__(self, kb: KnowledgeBase, templates_dir: Path = TEMPLATES_DIR, cache_dir: Path | None = None) -> None:
        """cache_dir: where compiled templates are kept between starts (Jinja's bytecode cache,
        keyed by each template's source), a fifth of a second of every start otherwise."""
        self.kb = kb
        self.templates_dir = templates_dir
        self.agents: bool | None = None
        self._variants: dict[bool | None, Renderer] = {None: self}
        self.strings: dict[str, dict[str, str]] = yamlsrc.load(templates_dir / "i18n.yaml")
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(templates_dir),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            auto_reload=False,  # no stat() per message; /reload builds a new Renderer
            bytecode_cache=_bytecode_cache(cache_dir),
        )
        # No global t: each render passes its renderer's own (render(); the web's pages), so the
        # with/without-agents wording can never come from the wrong variant.
        self.env.globals.update(amount=self.amount, glossary=kb.glossary, sources=kb.sources)
        self.env.globals["limit_list"] = self.limit_list

    def for_agents(self, agents: bool) -> Renderer:
        """The same renderer for a bot with (or without) live agents; cached, shares everything
        else, so one HelpCenter can serve bots configured either way."""
        if agents not in self._variants:
            variant = copy.copy(self)
            variant.agents = agents
            self._variants[agents] = variant
        return self._variants[agents]

    def t(self, key: str, lang: str, **values: Any) -> str:
        """One string of templates/i18n.yaml in lang; 'a|b' picks the plural for n. Without live
        agents `<key>.no_agents` replaces key where it exists: no offer of a hand-off it cannot give.
        A value that is already HTML (Markup: a macro's output in a template) makes the result
        HTML too, the string escaped around it, so the template does not escape it a second time
        ("Buyer&amp;#39;s")."""
        if self.agents is False and key + NO_AGENTS in self.strings:
            key += NO_AGENTS
        text = self.strings[key][lang]
        if "|" in text:
            one, many = text.split("|", 1)
            text = one if values.get("n") == 1 else many
        values = {k: _number(v) for k, v in values.items()}
        if any(isinstance(v, Markup) for v in values.values()):
            return Markup.escape(text).format(**values)
        return text.format(**values)

    def amount(self, window: Window, lang: str) -> str:
        unit = f"unit.{window.unit}"
        if window.value_max is not None:
            n = self.t("range", lang, lo=window.value, hi=window.value_max)
            return self.t(unit, lang, n=n)
        return self.t(unit, lang, n=window.value)

    def render(self, template: str, lang: str, **context: Any) -> str:
        # t is this variant's: a screen for a bot without agents never offers a hand-off it cannot give
        text = self.env.get_template(template).render(lang=lang, t=self.t, **context)
        return tidy_fold(_BLANK_RUNS.sub("\n\n", text).strip())

    def answer(self, entry: Entry, lang: str, progress: str = "", show_related: bool = True,
               checklist: bool = False, steps: tuple[int, ...] | None = None,
               notes: tuple[int, ...] | None = None, figures: tuple[str, ...] | None = None,
               market: str | None = None, role: str | None = None,
               sources: tuple[str, ...] | None = None, lead: bool | None = None) -> list[str]:
        """An entry as one or more messages, each within Telegram's limit.

        market: the user's market. Its figures (or one line saying it has none, and where to look
        in the app) come first and its steps and sources are the answer's own; other markets'
        figures, steps and sources are folded under "other markets". None: every market alike.
        steps/notes pick 1-based items (a flow shows only what applies); figures overrides the
        entry's figures; sources replaces the entry's own sources (a filtered view cites only what
        it shows); lead: the figures are the direct answer and come first (by default: when
        shown for one market, and they are few). role: whose way into the app a missing figure
        points to (default: the entry's side, else a buyer's).
        """
        context = self.answer_context(entry, lang, progress, steps, notes, figures, market, sources, lead, role)
        return split_message(self.render("answer.html.j2", lang, agents=self.agents, show_related=show_related,
                                         checklist=checklist, **context))

    def answer_context(self, entry: Entry, lang: str, progress: str = "", steps: tuple[int, ...] | None = None,
                       notes: tuple[int, ...] | None = None, figures: tuple[str, ...] | None = None,
                       market: str | None = None, sources: tuple[str, ...] | None = None,
                       lead: bool | None = None, role: str | None = None) -> dict[str, Any]:
        """What an entry shows (for answer(), and the web page of the entry): its steps, notes,
        rules, return windows and figures, the market's own first and the others apart, and the
        numbered sources of each part."""
        kb = self.kb
        rules = (kb.rules_for(entry.dispute_case) if entry.dispute_case else
                 kb.dispute_rules if "dispute_rules" in entry.tables else ())
        windows = kb.return_windows if "return_windows" in entry.tables else ()
        shown = [kb.figures[f] for f in (entry.figures if figures is None else figures)]
        text = entry.texts[lang]
        title = text.title
        if progress and entry.step:
            title = self._step_title(title, entry.step, lang)
        picked_steps = [(s, entry.step_markets[i - 1] if i <= len(entry.step_markets) else None)
                        for i, s in enumerate(text.steps, 1) if steps is None or i in steps]
        picked_notes = [(n, entry.note_markets[i - 1] if i <= len(entry.note_markets) else None)
                        for i, n in enumerate(text.notes, 1) if notes is None or i in notes]
        split = self.split(market, rules, windows, shown, picked_steps, picked_notes,
                           entry.sources if sources is None else sources)
        own_lead = self._lead_items(split["rules"], split["windows"], split["figures"]) if market else []
        if lead is None:
            lead = market is not None and 0 < len(own_lead) <= LEAD_MAX
        elif lead:
            own_lead = own_lead or [("figure", f) for f in split["figures"]]
        lead = bool(lead and own_lead)
        dependent = bool(self.entry_markets(entry)) or (bool(picked_steps) and all(t for _, t in picked_steps))
        has_own = bool(split["rules"] or split["windows"] or split["figures"])
        missing = None
        # Steps or notes written for this very market: it is not a market nobody describes.
        described = market is not None and any(
            tags and "ALL" not in tags and self.kb.markets.place(tags, market) == OWN
            for _, tags in (*picked_steps, *picked_notes))
        limits = bool(rules or windows) or any(f.window is not None for f in shown)
        if market is not None and dependent and not has_own and (limits or not described):
            # "no public figure" where time limits are the answer (and, when the market's own
            # text follows, that it does); else "no public source says how"
            missing = self.missing(market, lang, role or (entry.role if entry.role != "both" else "buyer"),
                                   figures=limits, described=described)
        refs, own_refs, other_refs = self._refs(split, missing)
        # Led by its acceptance windows, a rule keeps its other limits and evidence in the fold.
        folded = [r for r in split["rules"] if not lead or any(r.limits.get(k) for k in LIMIT_KINDS[1:])
                  or r.evidence.get(lang) or r.advice.get(lang)]
        return dict(
            entry=entry, title=title, progress=progress,
            steps=split["steps"], notes=split["notes"], advice=text.advice if steps is None else (),
            rules=folded, return_windows=split["windows"], figures=split["figures"],
            lead=lead, lead_items=own_lead if lead else [], led=bool(lead),
            basis=[r for r in split["rules"] if r.basis != "dispute"] if market else [],
            market_name=self.market_name(market, lang) if market else "",
            market=market, missing=missing, other=split["other"],
            refs=refs, own_refs=own_refs, other_refs=other_refs,
            related=[kb.by_id[r] for r in entry.related],
        )

    def split(self, market: str | None, rules: Any, windows: Any, figures: Any,
              steps: list[tuple[str, Tags]], notes: list[tuple[str, Tags]],
              sources: tuple[str, ...]) -> dict[str, Any]:
        """One market's view of an entry's parts: its own (and those for every market), and the
        other markets' (shown apart, under "other markets"); None: everything is the answer's own."""
        facts = self.kb.markets

        def mine(code: str) -> bool:
            return facts.covers(code, market)

        other: dict[str, Any] = {
            "rules": [r for r in rules if not mine(r.market)],
            "windows": [w for w in windows if not mine(w.market)],
            "figures": [f for f in figures if not mine(f.market)],
            "texts": [t for t, tags in (*steps, *notes) if facts.place(tags, market) == OTHER],
        }
        own_sources = [s for s in sources if self.kb.source_place(s, market) == OWN]
        other_sources = [s for s in sources if self.kb.source_place(s, market) != OWN]
        if not any(other.values()):
            other, other_sources = {}, []
        return {
            "rules": [r for r in rules if mine(r.market)],
            "windows": [w for w in windows if mine(w.market)],
            "figures": [f for f in figures if mine(f.market)],
            "steps": [t for t, tags in steps if facts.place(tags, market) == OWN],
            "notes": [t for t, tags in notes if facts.place(tags, market) == OWN],
            "sources": own_sources, "other_sources": other_sources, "other": other,
        }

    @staticmethod
    def _lead_items(rules: Any, windows: Any, figures: Any) -> list[tuple[Any, ...]]:
        """The market's figures that answer first: its acceptance windows, return windows, figures."""
        items: list[tuple[Any, ...]] = [("rule", r, w) for r in rules for w in r.limits.get("acceptance", ())]
        items += [("window", rw.market, w) for rw in windows for w in rw.windows]
        items += [("figure", f) for f in figures]
        return items

    def _refs(self, split: dict[str, Any], missing: dict[str, Any] | None
              ) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
        """The footnote numbers: the market's own sources first (the way into the app, the entry's,
        its figures'), then the other markets' ones that the own part does not cite already."""
        look = [missing["source"]] if missing and missing.get("source") else []
        own = self.footnote_numbers((*look, *split["sources"]), split["rules"], split["windows"], split["figures"])
        other = split["other"]
        rest = self.footnote_numbers((), other.get("rules", ()), other.get("windows", ()), other.get("figures", ()))
        rest = {**rest, **dict.fromkeys(split["other_sources"], 0)} if other else {}  # figures first: read first
        other_refs = {sid: len(own) + n for n, sid in enumerate((s for s in rest if s not in own), start=1)}
        return {**own, **other_refs}, own, other_refs

    def missing(self, market: str, lang: str, role: str, figures: bool = True,
                described: bool = False) -> dict[str, Any]:
        """The line for a market without a public figure (or, figures False, without a public
        description), and where a buyer or seller looks in the app instead. described: what the
        sources do say about the market follows, and the line says so."""
        look = self.kb.markets.where(market, role)
        name = self.market_label(market, lang)
        key = ("mkt.none_described" if described else "mkt.none") if figures else "mkt.none_text"
        return {"line": self.t(key, lang, market=name, name=self.market_name(market, lang)),
                "look": self.t("mkt.look", lang, path=look.texts[lang]) if look else "",
                "source": look.source if look else None}

    def limit_list(self, kinds: list[str], lang: str) -> str:
        """Limit kinds named in a sentence: "Buyer's evidence deadline, decision time"."""
        names = [self.kb.glossary.limits[k][lang] for k in kinds]
        if lang == "en":
            names = names[:1] + [n[:1].lower() + n[1:] for n in names[1:]]
        return self.t("und.list_sep", lang).join(names)

    def market_label(self, market: str, lang: str) -> str:
        """A market as a line or a button starts with it: the glossary's name, else the
        vocabulary's, capitalised ("The Philippines" is not needed: the glossary says Philippines)."""
        name = self.kb.glossary.markets.get(market, {}).get(lang) or self.market_name(market, lang)
        return name[:1].upper() + name[1:]

    def zone(self, market: str | None, default: str) -> tuple[str, bool]:
        """The time zone a market's dates are counted in, and whether it is assumed (a market
        spanning several zones; a market content gives none: the bot's own zone, default)."""
        facts = self.kb.markets
        if market in facts.zones:
            return facts.zones[market], market in facts.assumed
        return default, False

    def zone_note(self, market: str | None, zone: str, assumed: bool, today: date, lang: str) -> str:
        """"Dates are counted in … time, where today is …", saying when the zone is assumed."""
        key = ("tz.assumed" if assumed else "tz.market") if market in self.kb.markets.zones else "tz.bot"
        return self.t(key, lang, zone=zone, today=today.isoformat(),
                      market=self.market_name(market, lang) if market else "")

    def refund_result(self, rule: DisputeRule | None, variant: str | None, event_day: date | None, now: datetime,
                      lang: str, market: str | None = None, zone: tuple[str, bool] | None = None,
                      case: str | None = None) -> tuple[str, list[Limit]]:
        """A case's deadlines in one market from the day its window counts from, judged at now
        (the chat's refund result and the web's deadline calculator): the text, and the limits
        (the acceptance one decides whether a reminder makes sense). Past the window: only the
        window, and what the user can still do. No rule (the market has no public figure for the
        case): that, where to look in the app, and the offer of a person. event_day None: the
        event the window counts from has not happened yet (not marked Delivered), or never will (a
        rule with event_may_never_happen: the source does not say how its window applies then).
        variant None on a rule with variants: the buyer is not sure which applies; each is shown."""
        market = rule.market if rule is not None else market
        case = rule.case if rule is not None else case
        zone_name, assumed = zone or (str(now.tzinfo), False)
        zone_line = self.zone_note(market, zone_name, assumed, now.date(), lang)
        unsure = rule is not None and bool(rule.variants) and variant is None
        entry = self.kb.by_id[self.kb.flows.refund_entry]  # its steps say how to file
        how = self.split(market, (), (), (), [(s, entry.step_markets[i] if i < len(entry.step_markets) else None)
                                              for i, s in enumerate(entry.texts[lang].steps)], [], entry.sources)
        if rule is None or event_day is None:
            # no figure there, or not started yet: either way, where to look in the app meanwhile
            missing = self.missing(market or "other", lang, "buyer")
            pending = None
            if rule is not None:
                pending = [w for w in rule.limits.get("acceptance", ())
                           if variant is None or w.when in (None, variant)]
            refs = self.footnote_numbers((*(w.source for w in pending or ()),
                                          *([missing["source"]] if missing["source"] else ())))
            text = self.render("refund_none.html.j2", lang, case=case, market=market, refs=refs, missing=missing,
                               pending=pending, rule=rule, zone_line=zone_line, unsure=unsure,
                               market_label=self.market_label(market or "other", lang))
            return text, []
        limits = assess(rule.limits, variant, event_day, now)
        windows = [lim for lim in limits if lim.kind == "acceptance"]
        closed = bool(windows) and all(lim.deadline is not None and not lim.deadline.open for lim in windows)
        absent = [k for k in ("evidence_buyer", "decision") if not rule.limits.get(k)]
        if closed:  # nothing to file any more: only the window, and what the user can do instead
            limits = windows
            # "no ruling past the window" is the dispute guidelines' rule: said where a rule is theirs
            after = CLOSED_SOURCES if rule.basis == "dispute" else CLOSED_SOURCES[1:]
            refs = self.footnote_numbers((*(lim.window.source for lim in limits), *after))
        else:
            refs = self.footnote_numbers(tuple(how["sources"]), [rule])
        text = self.render("refund_result.html.j2", lang, case=rule.case, market=rule.market, event_day=event_day,
                           limits=limits, rule=rule, how_to=how["steps"], refs=refs, closed=closed,
                           closed_sources=CLOSED_SOURCES, zone_line=zone_line,
                           market_label=self.market_label(rule.market, lang),
                           market_name=self.market_name(rule.market, lang),
                           absent=[] if closed else absent, unsure=unsure,
                           hours=any(lim.deadline and lim.deadline.exact_time for lim in limits))
        return text, limits

    def entry_markets(self, entry: Entry) -> tuple[str, ...]:
        """The markets whose figures an entry shows, in order: more than one, and the answer
        depends on where the user is (the bot asks once, then shows that market first)."""
        kb = self.kb
        rules = (kb.rules_for(entry.dispute_case) if entry.dispute_case else
                 kb.dispute_rules if "dispute_rules" in entry.tables else ())
        found = [r.market for r in rules]
        found += [w.market for w in kb.return_windows] if "return_windows" in entry.tables else []
        found += [kb.figures[f].market for f in entry.figures]
        return tuple(dict.fromkeys(found))

    def market_name(self, market: str, lang: str) -> str:
        """A market as users say it: understanding.yaml's name, else the glossary's."""
        words = self.kb.vocabulary.markets.get(market)
        if words is not None:
            return words.name[lang]
        return self.kb.glossary.markets.get(market, {}).get(lang, market)

    def case_name(self, case: str, lang: str) -> str:
        names = self.kb.glossary.cases.get(case)
        return names[lang] if names else self.t(f"und.case.{case}", lang)

    def figure_first(self, answer: Any, lang: str, title: str = "", role: str | None = None) -> str:
        """A FigureAnswer (helpcenter.understand): that case's figure for the user's market first,
        with its sources; or one line that the market has none, and where to look in the app; the
        other markets' figures folded under "other markets", with theirs."""
        kb = self.kb
        missing = None
        if answer.market is not None and not answer.lines:
            seller = answer.seller or (role or answer.role) == "seller"
            missing = self.missing(answer.market, lang, "seller" if seller else "buyer")
        look = [missing["source"]] if missing and missing["source"] else []
        own = {sid: n for n, sid in enumerate(dict.fromkeys((*look, *answer.sources)), start=1)}
        rest = dict.fromkeys(line.window.source for line in answer.others)
        other_refs = {sid: len(own) + n for n, sid in enumerate((s for s in rest if s not in own), start=1)}
        refs = {**own, **other_refs}
        title = title or kb.by_id[answer.entry].texts[lang].title
        aspect_key = f"und.aspect.{answer.aspect}"
        heading = (self.t(aspect_key + ".seller", lang) if answer.seller and aspect_key + ".seller" in self.strings
                   else f"{self.case_name(answer.case, lang)} · {self.t(aspect_key, lang)}")

        def line_label(line: Any) -> str:
            label = line.label[lang] if line.label else ""
            if line.kind == "acceptance" and line.basis == "return_window":
                label = kb.glossary.limits["return_request"][lang]
            name = self.market_label(line.market, lang)
            return f"{name} · {label}" if label else name

        return self.render("figure_first.html.j2", lang, answer=answer, refs=refs, own_refs=own, other_refs=other_refs,
                           title=title, heading=heading, missing=missing, line_label=line_label,
                           anywhere=bool(answer.known))

    def adjacent(self, topic: str, lang: str) -> str:
        go = self.kb.vocabulary.adjacent[topic].go
        return self.render("adjacent.html.j2", lang, topic=topic, go=go)

    def check_vocabulary(self) -> list[ContentError]:
        """Every aspect, case and adjacent topic the vocabulary can name has its wording."""
        v = self.kb.vocabulary
        keys = [f"und.aspect.{a.id}" for a in v.aspects.values() if a.figure]
        keys += [f"und.case.{c}" for c in v.cases if c not in self.kb.glossary.cases]
        keys += [k for a in v.adjacent.values() for k in (f"und.topic.{a.id}", f"und.go.{a.go}")]
        keys += [f"und.social.{k}" for k in v.social]
        where = self.templates_dir / "i18n.yaml"
        errors = [ContentError(where, 1, f"missing string {k!r} (content/understanding.yaml uses it)")
                  for k in keys if not all(lang in self.strings.get(k, {}) for lang in LANGS)]
        if errors:
            return errors
        from helpcenter.understanding.slots import Slots, Understander  # the figure screen, for every case and aspect

        reader = Understander(self.kb)
        for case in v.cases:
            for aspect in v.aspects:
                for market in (None, "other"):
                    answer = reader.figures(Slots(case=case, aspect=aspect, market=market))
                    for lang in LANGS if answer is not None else ():
                        try:
                            self.figure_first(answer, lang)
                        except Exception as exc:  # noqa: BLE001 - any template failure is reported
                            errors.append(ContentError(where.parent / "figure_first.html.j2", 1,
                                                       f"{case} × {aspect} ({lang}) fails to render: {exc}"))
        return errors
    def _step_title(self, title: str, step: int, lang: str) -> str:
        """In a flow the progress mark ("Step 1/6") says which step this is, so the title's own
        "Step 1: " goes: one step mark per line, not two."""
        prefix = self.t("step_prefix", lang, n=step)
        if not title.startswith(prefix):
            return title
        rest = title[len(prefix):].lstrip()
        return rest[:1].upper() + rest[1:]

    def seller_case(self, entry: Entry, lang: str, market: str | None = None) -> list[str]:
        """A dispute case from the seller's side: the seller's deadline and the decision time for
        the seller's market first (or that it has no public figure, and where to look in Seller
        Center), what to submit (sourced evidence apart from general advice), the steps, and the
        other markets' limits under "other markets". market None: every market alike."""
        kb, side = self.kb, entry.seller
        if side is None or entry.dispute_case is None:
            raise ValueError(f"entry {entry.id} has no seller side")
        text = side.texts[lang]
        steps = [(s, side.step_markets[i] if i < len(side.step_markets) else None) for i, s in enumerate(text.steps)]
        notes = [(n, side.note_markets[i] if i < len(side.note_markets) else None) for i, n in enumerate(text.notes)]
        split = self.split(market, kb.rules_for(entry.dispute_case), (), [kb.figures[f] for f in side.figures],
                           steps, notes, side.sources)
        kinds = ("evidence_seller", "decision", "acceptance")
        mine = split["rules"]
        missing = None
        absent: list[str] = []
        if market is not None:
            if not mine:
                missing = self.missing(market, lang, "seller")
            else:
                absent = [k for k in ("evidence_seller", "decision") if not any(r.limits.get(k) for r in mine)]
                if absent:
                    missing = self.missing(market, lang, "seller")
        refs, own_refs, other_refs = self._refs(split, missing)
        rendered = self.render("seller_case.html.j2", lang, case=entry.dispute_case, rules=mine, kinds=kinds,
                               steps=split["steps"], notes=split["notes"], advice=text.advice,
                               figures=split["figures"], refs=refs, own_refs=own_refs, other_refs=other_refs,
                               other=split["other"], missing=missing, absent=absent, market=market,
                               market_name=self.market_name(market, lang) if market else "")
        return split_message(rendered)

    @staticmethod
    def footnote_numbers(sources: tuple[str, ...], rules: Any = (), windows: Any = (),
                         figures: Any = ()) -> dict[str, int]:
        """Number every cited source once, in order of first use: [1], [2], ..."""
        cited = [*sources]
        cited += [w.source for rule in rules for ws in rule.limits.values() for w in ws]
        cited += [rule.evidence_source for rule in rules if rule.evidence_source]
        cited += [w.source for rw in windows for w in rw.windows]
        cited += [(f.window or f.count).source for f in figures if f.window or f.count]
        return {sid: n for n, sid in enumerate(dict.fromkeys(cited), start=1)}

    def first_screens(self, columns: int | None = None) -> list[tuple[str, str, int]]:
        """(entry id, language, lines of its first screen) for every entry × language, as the
        bot sends it (related questions are buttons): what `bot.py check` reports and the tests
        hold to FIRST_SCREEN_MEDIAN. columns: count wrapped lines at that width."""
        return [(e.id, lang, first_screen_lines(self.answer(e, lang, show_related=False)[0], columns))
                for e in self.kb.entries for lang in LANGS]

    def check_all(self) -> list[ContentError]:
        """Render every entry in every language; a failure is a content error at the entry."""
        errors = []
        for entry in self.kb.entries:
            for lang, agents in ((lang, agents) for lang in LANGS for agents in (False, True)):
                try:
                    self.for_agents(agents).answer(entry, lang)
                    if entry.seller is not None:
                        self.for_agents(agents).seller_case(entry, lang)
                except Exception as exc:  # noqa: BLE001 - any template failure is reported
                    errors.append(ContentError(entry.file, entry.line,
                                               f"entry {entry.id} ({lang}) fails to render: {exc}"))
        return errors + self.check_vocabulary()


def _bytecode_cache(cache_dir: Path | None) -> jinja2.BytecodeCache | None:
    if cache_dir is None:
        return None
    try:
        (cache_dir / "templates").mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # a read-only disk: templates are compiled at each start, as without a cache
    return jinja2.FileSystemBytecodeCache(str(cache_dir / "templates"))


def _number(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def escape(text: str) -> Markup:
    """User text made safe for Telegram HTML."""
    return Markup.escape(text)


_TAG = re.compile(r"<[^>]*>")
_BLANK_RUNS = re.compile(r"\n\s*\n\s*\n+")
FOLD_OPEN, FOLD_CLOSE = "<blockquote expandable>", "</blockquote>"
_FOLD = re.compile(r"<blockquote expandable>\n?(.*?)\n?</blockquote>", re.S)
FOLD_PREVIEW = 3  # lines a collapsed expandable quote still shows in Telegram's apps
FOLD_MARK = "┆ "  # how the console shows a folded line


def tidy_fold(text: str) -> str:
    """The folded part without blank lines (it is read on demand, densely); none if empty."""
    def tidy(m: re.Match[str]) -> str:
        body = "\n".join(line for line in m.group(1).split("\n") if line.strip())
        return f"{FOLD_OPEN}{body}{FOLD_CLOSE}" if body else ""
    return _BLANK_RUNS.sub("\n\n", _FOLD.sub(tidy, text)).strip()


def first_screen_lines(text: str, columns: int | None = None) -> int:
    """Lines a phone shows before the user expands anything: the text outside folds, and the
    first lines of each collapsed quote. Blank lines are spacing, not lines. With columns, a
    line wraps at that width (a Chinese character is two columns), as on a narrow screen."""
    count = 0
    for i, piece in enumerate(re.split(r"<blockquote expandable>|</blockquote>", text)):
        lines = [html.unescape(ln) for ln in _TAG.sub("", piece).split("\n") if ln.strip()]
        n = sum(-(-_columns(ln) // columns) for ln in lines) if columns else len(lines)
        count += min(FOLD_PREVIEW, n) if i % 2 else n
    return count


def _columns(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)


def to_plain(text: str) -> str:
    """Telegram HTML as terminal text: links keep their address, tags go, entities decode; a
    folded (expandable) quote shows each of its lines after a ┆ mark."""
    text = _FOLD.sub(lambda m: "\n".join(FOLD_MARK + line for line in m.group(1).split("\n")), text)
    text = re.sub(r'<a href="([^"]*)">(.*?)</a>', r"\2 <\1>", text)
    text = _TAG.sub(lambda m: m.group(0) if m.group(0).startswith("<http") else "", text)
    return html.unescape(text)


def _units(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def split_message(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Split at paragraph, then line boundaries so every part fits and no tag is cut; a fold
    cut in two is closed at the end of one part and opened again in the next."""
    if _units(text) <= limit:
        return [text]
    return _reopen_folds(_split(text, limit - len(FOLD_OPEN) - len(FOLD_CLOSE)))


def _reopen_folds(parts: list[str]) -> list[str]:
    out, inside = [], False
    for part in parts:
        if inside:
            part = FOLD_OPEN + part
        inside = part.rfind(FOLD_OPEN) > part.rfind(FOLD_CLOSE)
        out.append(part + FOLD_CLOSE if inside else part)
    return out


def _split(text: str, limit: int) -> list[str]:
    parts: list[str] = []
    current = ""
    for block in _pieces(text, limit):
        sep = "\n\n" if current else ""
        if _units(current + sep + block) <= limit:
            current += sep + block
        else:
            if current:
                parts.append(current)
            current = block
    if current:
        parts.append(current)
    return parts


def _pieces(text: str, limit: int) -> list[str]:
    out: list[str] = []
    for para in text.split("\n\n"):
        if _units(para) <= limit:
            out.append(para)
            continue
        line_buf = ""
        for line in para.split("\n"):
            for chunk in _hard_split(line, limit):
                if line_buf and _units(line_buf + "\n" + chunk) > limit:
                    out.append(line_buf)
                    line_buf = chunk
                else:
                    line_buf = f"{line_buf}\n{chunk}" if line_buf else chunk
        if line_buf:
            out.append(line_buf)
    return out


def _hard_split(line: str, limit: int) -> list[str]:
    """A single over-long line: cut outside tags and entities (tags never span our cuts)."""
    chunks = []
    while _units(line) > limit:
        cut = limit // 2  # UTF-16 safe lower bound for any character mix
        cut = max(cut, 1)
        while cut < len(line) and _units(line[:cut + 1]) <= limit:
            cut += 1
        head = line[:cut]
        back = max(head.rfind("<"), head.rfind("&"))
        if back > 0 and ">" not in head[back:] and ";" not in head[back:]:
            cut = back
        chunks.append(line[:cut])
        line = line[cut:]
    chunks.append(line)
    return chunks
