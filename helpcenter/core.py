"""The help center as one object: load and validate once, then answer questions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from . import embedding
from .content import CONTENT_DIR, ContentError, InvalidContent, load_content
from .matcher import Match, Matcher
from .model import Entry, KnowledgeBase
from .render import TEMPLATES_DIR, Renderer

QUOTE_LIMIT = 200  # how much of an unanswered question is echoed back
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")


def guess_lang(text: str, default: str = "zh") -> str:
    """English only when the text has Latin letters and no Chinese."""
    if _HAN.search(text):
        return "zh"
    return "en" if _LATIN.search(text) else default


@dataclass(frozen=True, slots=True)
class Reply:
    match: Match
    messages: list[str]

    @property
    def entry(self) -> Entry | None:
        return self.match.answer.entry if self.match.answer else None


class HelpCenter:
    """Content, matcher and renderer, built together so they can never disagree."""

    def __init__(self, content_dir: Path = CONTENT_DIR, templates_dir: Path = TEMPLATES_DIR) -> None:
        kb, errors = load_content(content_dir)
        renderer = Renderer(kb, templates_dir) if kb is not None and not errors else None
        if renderer is not None:
            errors.extend(renderer.check_all())
        if errors or kb is None or renderer is None:
            raise InvalidContent(errors)
        self.kb: KnowledgeBase = kb
        self.renderer = renderer
        self.matcher = Matcher(kb, embedder=embedding.load(), cache_dir=embedding.default_cache_dir())

    def ask(self, question: str, lang: str) -> Reply:
        match = self.matcher.match(question)
        if match.answer is not None:
            return Reply(match, self.renderer.answer(match.answer.entry, lang))
        suggestions = [c.entry for c in match.suggestions]
        shown = question if len(question) <= QUOTE_LIMIT else question[:QUOTE_LIMIT] + "…"
        return Reply(match, [self.renderer.render("no_answer.html.j2", lang, suggestions=suggestions,
                                                  question=shown)])


def check(content_dir: Path = CONTENT_DIR, templates_dir: Path = TEMPLATES_DIR) -> list[ContentError]:
    """All content and template errors; empty when the bot may start."""
    try:
        HelpCenter(content_dir, templates_dir)
    except InvalidContent as exc:
        return exc.errors
    return []
