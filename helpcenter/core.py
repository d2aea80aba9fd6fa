"""The help center as one object: load and validate once, then answer questions."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from pathlib import Path

import jinja2

from helpcenter.answers.render import TEMPLATES_DIR, Renderer, escape, split_message
from helpcenter.knowledge.loader import CONTENT_DIR, ContentError, InvalidContent, load_content
from helpcenter.knowledge.model import Entry, KnowledgeBase
from helpcenter.understanding import embedding
from helpcenter.understanding.classifier import MODEL_FILE, UNSTATED, Model
from helpcenter.understanding.matcher import Candidate, Match, Matcher
from helpcenter.understanding.slots import FigureAnswer, Reading, Slots, Understander

# The weight of an entry written for the other side (buyer vs seller) when the saved profile says
# who asks (cross-checked: no labelled question loses its right answer to it).
ROLE_PRIOR_OTHER = 0.3
QUOTE_LIMIT = 200  # how much of an unanswered question is echoed back
NO_ASPECT = 0.9  # the aspect reader's "no aspect stated" vetoes the answered entry's aspect this sure
NOTE_QUOTE = 60  # how much of the part of a long message that was answered is quoted
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")


def guess_lang(text: str, default: str = "zh") -> str:
    """English only when the text has Latin letters and no Chinese."""
    if _HAN.search(text):
        return "zh"
    return "en" if _LATIN.search(text) else default


# What kind of reply ask() gives; the handlers pick buttons by it.
ANSWER = "answer"  # an entry, answered
FIGURE = "figure"  # a case's time limit first; the entry on demand
GUESS = "guess"  # "I think you mean": an entry, with a way to say it is not
SUGGEST = "suggest"  # "did you mean" suggestions
OFF_TOPIC = "off_topic"
ADJACENT = "adjacent"  # TikTok, but outside returns/refunds
SOCIAL = "social"  # greetings and thanks
HANDOFF_TOPIC = "handoff.human"


@dataclass(frozen=True, slots=True)
class Reply:
    match: Match
    messages: list[str]
    kind: str = ANSWER
    answered: Entry | None = None  # the entry answered or guessed (may differ from the matcher's)
    reading: Reading | None = None
    figure: FigureAnswer | None = None
    note: str = ""  # said before the answer (HTML): which part of a long message was read

    @property
    def entry(self) -> Entry | None:
        """The entry the user was answered with (not a guess)."""
        if self.kind in (ANSWER, FIGURE):
            return self.answered or (self.match.answer.entry if self.match.answer else None)
        return None

    @property
    def slots(self) -> Slots:
        return self.reading.slots if self.reading else Slots()


class HelpCenter:
    """Content, matcher and renderer, built together so they can never disagree."""

    def __init__(self, content_dir: Path = CONTENT_DIR, templates_dir: Path = TEMPLATES_DIR, *,
                 background: bool = False, full_check: bool = False) -> None:
        """full_check: render every entry even when these very bytes were rendered before
        (`bot.py check`). background: the bot's way. The model loads, and any phrasing vectors content/vectors.npz
        lacks are computed, in a thread; meanwhile questions are matched on the lexical signals."""
        kb, errors = load_content(content_dir)
        cache = embedding.default_cache_dir()
        renderer = Renderer(kb, templates_dir, cache) if kb is not None and not errors else None
        stamp = cache / f"rendered-{render_key(content_dir, templates_dir)}"
        if renderer is not None and (full_check or not stamp.exists()):
            errors.extend(renderer.check_all())
            if not errors:
                _touch(stamp)
        if errors or kb is None or renderer is None:
            raise InvalidContent(errors)
        self.kb: KnowledgeBase = kb
        self.renderer = renderer
        model = Model.load()
        if model is None:
            raise InvalidContent([ContentError(MODEL_FILE, 1, "the trained classifiers are missing or unreadable;"
                                               " run `make model`")])
        self.understander = Understander(kb)
        self.matcher = Matcher(kb, semantic=embedding.load(background), background=background, model=model,
                               understander=self.understander)

    def ask(self, question: str, lang: str, profile: dict[str, str] | None = None,
            previous: Slots | None = None) -> Reply:
        """The reply to question. profile (role, market) and previous (the last question's slots)
        fill in what a follow-up such as "那假货呢?" leaves out. Of a long message only its most
        telling part is read (Matcher.focus), and the reply says so."""
        focused = self.matcher.focus(question)
        reply = self._ask(focused, lang, profile, previous)
        if focused == question or reply.kind in (SUGGEST, OFF_TOPIC):  # those quote the part they read
            return reply
        shown = focused if len(focused) <= NOTE_QUOTE else focused[:NOTE_QUOTE] + "…"
        note = f"<i>{escape(self.renderer.t('long_message', lang, part=shown))}</i>\n\n"
        return replace(reply, messages=[note + reply.messages[0], *reply.messages[1:]], note=note)

    def read(self, question: str, profile: dict[str, str] | None = None, previous: Slots | None = None) -> Reading:
        """What the question is about (the slots as ask() reads them), without an answer."""
        return self.understander.read(question, profile, previous, self.matcher.match(question).prediction)

    def _ask(self, question: str, lang: str, profile: dict[str, str] | None, previous: Slots | None) -> Reply:
        match = self.matcher.match(question)
        reading = self.understander.read(question, profile, previous, match.prediction)
        match = self.role_prior(match, reading.said_role, (profile or {}).get("role"))
        r = self.renderer
        answer = match.answer.entry if match.answer else None
        if reading.social:
            return Reply(match, [r.t(f"und.social.{reading.social}", lang)], SOCIAL, reading=reading)
        if answer is not None and answer.topic == HANDOFF_TOPIC:
            return Reply(match, r.answer(answer, lang), ANSWER, answer, reading)
        # Not ours: say what is covered, naming the subject when a word names it (a bare "in
        # Singapore?" right after a question is a follow-up of that question, not a new one).
        if match.out_of_scope and not reading.followup:
            if reading.adjacent:
                return Reply(match, [r.adjacent(reading.adjacent, lang)], ADJACENT, reading=reading)
            return self._no_answer(match, question, lang, reading, suggest=False)
        if reading.slots.case is None and answer is not None and (case := self._case_of(answer)):
            # No case read, but the matcher's confident entry is one case's: its figures are the
            # ones that entry would show anyway, so lead with the one asked about.
            reading = replace(reading, slots=replace(reading.slots, case=case))
        if reading.slots.aspect is None and answer is not None and not self._no_time_asked(match) and (
                aspect := self.understander.aspect_of(answer, reading.slots.case, reading.slots.role)):
            # Likewise the aspect, when the confident entry is the one holding that aspect's figures
            # and the reader is not all but sure that no time limit is asked about.
            reading = replace(reading, slots=replace(reading.slots, aspect=aspect))
        figure = self.understander.figures(reading.slots)
        if figure is not None:
            entry = self.kb.by_id[figure.entry]
            if answer is not None and self._fits(answer, figure.case):
                entry = answer  # the matcher's entry is about this case: it is the full answer
            return Reply(match, [r.figure_first(figure, lang, entry.texts[lang].title)], FIGURE, entry, reading, figure)
        case_entry = self._case_entry(reading.slots.case)
        if answer is not None:
            if case_entry is not None and answer.dispute_case not in (None, case_entry.dispute_case):
                answer = case_entry  # the case read beats an entry about another case
            return Reply(match, r.answer(answer, lang), ANSWER, answer, reading)
        guess = match.guess.entry if match.guess else case_entry
        if guess is not None and case_entry is not None and guess.dispute_case not in (None, case_entry.dispute_case):
            guess = case_entry  # a guess about another case is no better than an answer about one
        if guess is not None:
            return Reply(match, self._guessed(guess, lang), GUESS, guess, reading)
        return self._no_answer(match, question, lang, reading, suggest=True)

    def role_prior(self, match: Match, said: str | None, saved: str | None = None) -> Match:
        """The matcher's candidates re-weighed by who is asking, then decided again by the
        matcher's calibrated rule: an entry written for the other side is out when the question
        says who asks ("as a seller …": a seller never gets a buyer-only entry, nor the reverse),
        and counts ROLE_PRIOR_OTHER of its score when the saved profile says it. (The role the
        classifier reads in the wording is already in the ranking: it is not counted twice.)"""
        role = said or saved
        if role not in ("buyer", "seller") or not match.candidates or match.out_of_scope:
            return match  # not ours to answer stays so, whoever asks
        other = "seller" if role == "buyer" else "buyer"
        weight = 0.0 if said == role else ROLE_PRIOR_OTHER
        weighed = sorted((Candidate(c.entry, c.score * (weight if c.entry.role == other else 1.0))
                          for c in match.candidates), key=lambda c: c.score, reverse=True)
        if not any(c.entry.role == other for c in match.candidates):
            return match  # nothing re-weighed: the matcher's decision stands
        return self.matcher.judge(replace(match, candidates=tuple(weighed)))

    @staticmethod
    def _no_time_asked(match: Match) -> bool:
        """The aspect reader is all but sure the question states no aspect ("what do I do after
        sending it back"), so the answered entry's figures do not lead."""
        value, p = match.prediction.slots.get("aspect", ("", 0.0)) if match.prediction else ("", 0.0)
        return value == UNSTATED and p >= NO_ASPECT

    def _case_of(self, entry: Entry) -> str | None:
        """The case an entry stands for: its dispute case, or the case whose full answer it is."""
        if entry.dispute_case:
            return entry.dispute_case
        return next((c.id for c in self.kb.vocabulary.cases.values()
                     if c.entry == entry.id and c.id not in self.kb.glossary.cases), None)

    def _fits(self, entry: Entry, case: str) -> bool:
        """An entry that may stand for case: the case's own for a dispute case, else none of them."""
        if case in self.kb.glossary.cases:
            return entry.dispute_case == case
        return entry.dispute_case is None

    def _case_entry(self, case: str | None) -> Entry | None:
        """The entry of a dispute case (not of the general return/refund cases)."""
        if case is None or case not in self.kb.glossary.cases:
            return None
        words = self.kb.vocabulary.cases.get(case)
        return self.kb.by_id.get(words.entry) if words else None

    def _guessed(self, entry: Entry, lang: str) -> list[str]:
        head = self.renderer.t("und.guess", lang, title=entry.texts[lang].title)
        return split_message(f"<i>{escape(head)}</i>\n\n" + "\n\n".join(self.renderer.answer(entry, lang)))

    def _no_answer(self, match: Match, question: str, lang: str, reading: Reading, suggest: bool) -> Reply:
        suggestions = [c.entry for c in match.suggestions] if suggest else []
        shown = question if len(question) <= QUOTE_LIMIT else question[:QUOTE_LIMIT] + "…"
        text = self.renderer.render("no_answer.html.j2", lang, suggestions=suggestions, question=shown)
        return Reply(match, [text], SUGGEST if suggestions else OFF_TOPIC, reading=reading)


def render_key(content_dir: Path, templates_dir: Path) -> str:
    """What rendering every entry depends on: content, templates and this package's code. A start
    on exactly these bytes after one that rendered them all skips rendering them again (half a
    second of every start); any change renders them all before the bot answers."""
    digest = hashlib.sha256()
    code = Path(__file__).resolve().parent
    files = [*sorted(content_dir.glob("*.yaml")), *sorted(p for p in templates_dir.rglob("*") if p.is_file()),
             *sorted(code.rglob("*.py"))]
    digest.update(f"jinja2 {jinja2.__version__}\0".encode())
    for path in files:
        data = path.read_bytes()
        digest.update(f"{path.name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()[:24]


def _touch(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    except OSError:
        pass  # a read-only disk: every start renders everything, as it would without the cache


def check(content_dir: Path = CONTENT_DIR, templates_dir: Path = TEMPLATES_DIR) -> list[ContentError]:
    """All content and template errors; empty when the bot may start."""
    try:
        HelpCenter(content_dir, templates_dir, full_check=True)
    except InvalidContent as exc:
        return exc.errors
    return []
