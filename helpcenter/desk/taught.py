"""Phrasings agents taught the bot (/teach): personal data masked before storing, read back as an
overlay the matcher indexes on start-up and /reload, listed for editors to move into content/,
and validated by `bot.py check`."""

from __future__ import annotations

import copy
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from helpcenter.answers.privacy import mask_personal, without_placeholders
from helpcenter.core import HelpCenter
from helpcenter.knowledge.model import LANGS, KnowledgeBase
from helpcenter.storage.db import is_postgres, safe_url
from helpcenter.understanding.matcher import Matcher

DESK_FILE = "desk.sqlite3"
MAX_LENGTH = 200

_LEFT = re.compile(r"\d{6,}|[\w.+-]+@[\w-]+\.\w+")  # what must never survive masking


def mask(text: str) -> str:
    """The question with links, e-mails, handles, phone, order and tracking numbers replaced by
    placeholders (privacy.mask_personal, as the question log does), on one line."""
    return " ".join(mask_personal(text).split())[:MAX_LENGTH]


@dataclass(frozen=True, slots=True)
class Phrasing:
    entry_id: str
    lang: str
    text: str
    row: int  # the taught table's id, for error messages


OVERLAY_SQL = "SELECT id, entry_id, lang, text FROM taught WHERE entry_id IS NOT NULL ORDER BY id"


def _pg_rows(url: str, sql: str) -> list[tuple]:
    """A read on PostgreSQL (DATABASE_URL), synchronously like the SQLite one; [] if the desk's
    tables are not there yet."""
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=5) as db:
            return [tuple(r) for r in db.execute(sql).fetchall()]
    except psycopg.errors.UndefinedTable:
        return []


def load_overlay(path: Path, url: str = "") -> list[Phrasing]:
    """Stored phrasings, read synchronously (start-up, /reload, check): from PostgreSQL when url
    is one, else from the file (none without it)."""
    if is_postgres(url):
        rows = _pg_rows(url, OVERLAY_SQL)
        return [Phrasing(r[1], r[2], r[3], r[0]) for r in rows]
    if not path.exists():
        return []
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            rows = db.execute(OVERLAY_SQL).fetchall()
    except sqlite3.DatabaseError:
        return []
    return [Phrasing(r[1], r[2], r[3], r[0]) for r in rows]


def check_overlay(path: Path, kb: KnowledgeBase, url: str = "") -> list[str]:
    """Errors in the overlay as `file:row N: message` (unknown entry, language, empty, unmasked)."""
    errors = []
    if is_postgres(url):
        path = Path(f"{safe_url(url)} taught")  # what the messages name
    elif path.exists():
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
                db.execute("SELECT id, entry_id, lang, text FROM taught LIMIT 1").fetchall()
        except sqlite3.DatabaseError as exc:
            return [f"{path}: not a usable overlay: {exc}"]
    for p in load_overlay(path, url):
        where = f"{path}:row {p.row}"
        if p.entry_id not in kb.by_id:
            errors.append(f"{where}: unknown entry {p.entry_id!r}")
        if p.lang not in LANGS:
            errors.append(f"{where}: unknown language {p.lang!r}")
        if not p.text.strip():
            errors.append(f"{where}: empty phrasing")
        elif _LEFT.search(p.text):
            errors.append(f"{where}: phrasing still holds personal data: {p.text!r}")
    return errors


def apply_overlay(center: HelpCenter, phrasings: list[Phrasing]) -> HelpCenter:
    """A help center whose matcher also knows the taught phrasings (the content itself and the
    given center are left alone); invalid rows are skipped, `bot.py check` reports them."""
    extra: dict[str, dict[str, list[str]]] = {}
    said: dict[str, str] = {}  # phrasing → entry: asked again in these words, answered with that entry
    for p in phrasings:
        text = without_placeholders(p.text)
        if p.entry_id in center.kb.by_id and p.lang in LANGS and text:
            extra.setdefault(p.entry_id, {}).setdefault(p.lang, []).append(text)
            said[text] = p.entry_id
    if not extra:
        return center
    entries = []
    for entry in center.kb.entries:
        more = extra.get(entry.id)
        if more:
            texts = {lang: replace(text, questions=text.questions + tuple(more.get(lang, ())))
                     for lang, text in entry.texts.items()}
            entry = replace(entry, texts=texts)
        entries.append(entry)
    taught = copy.copy(center)
    base = center.matcher  # the same model and calibration as the content's own matcher
    taught.matcher = Matcher(replace(center.kb, entries=tuple(entries), by_id={}), semantic=base.semantic,
                             background=base.background, calibration=base.calibration, model=base.model,
                             understander=center.understander, taught=said)
    return taught


def with_overlay(factory: Callable[[], HelpCenter], data_dir: Path, url: str = "") -> HelpCenter:
    """factory() (content/) plus the taught phrasings (DATA_DIR's, or DATABASE_URL's): what /reload loads."""
    center = factory()
    return apply_overlay(center, load_overlay(data_dir / DESK_FILE, url))


def to_markdown(phrasings: list[tuple[str, str, str, str, str]]) -> str:
    """(entry id, title, lang, text, agent) rows for editors: move them into content/ YAML."""
    lines = ["# Phrasings taught by agents", "",
             "Questions agents matched to an entry with /teach (personal data masked). Add them to the"
             " entry's `questions:` in content/, then they can be deleted from the overlay.", "",
             "| entry | title | lang | phrasing | taught by |", "|---|---|---|---|---|"]
    for row in phrasings:
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
    return "\n".join(lines) + "\n"
