"""/faq browsing by role and theme (paginated), inline mode, and the feedback under answers."""

from __future__ import annotations

import logging
from uuid import uuid4

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Update,
)
from telegram.ext import ApplicationHandlerStop

from handlers.answers.replies import suggestion_rows
from handlers.base.callbacks import CallbackData, callback_data, callback_fields
from handlers.base.common import (
    Context,
    button,
    deep_link,
    edit_buttons,
    keyboard,
    lang_of,
    off_loop,
    renderer,
    services,
    show,
    t,
)
from helpcenter.answers.render import escape, to_plain
from helpcenter.core import guess_lang
from helpcenter.knowledge.model import Entry

log = logging.getLogger(__name__)
PAGE = 6  # questions per page
INLINE_RESULTS = 10
SEARCH_FLOOR = 0.3  # a candidate's fused score worth listing in a search (inline mode, /faq <words>)
SEARCH_LIMIT = 200  # characters of /faq <words> searched
THEMES = ("refund", "return", "dispute", "seller", "handoff")


def theme_of(entry: Entry) -> str:
    return entry.topic.split(".", 1)[0]


def _entries(context: Context, role: str, theme: str | None = None) -> list[Entry]:
    return [e for e in services(context).center.kb.entries
            if e.role in (role, "both") and (theme is None or theme_of(e) == theme)]


async def browse(update: Update, context: Context) -> None:
    """faq / faq:r:<role> → themes; faq:t:<role>:<theme>:<page> → questions of a theme."""
    lang = lang_of(update, context)
    parts = callback_data(update).parts
    role = parts[2] if len(parts) > 2 and parts[2] in ("buyer", "seller") else context.user_data.role or "buyer"
    if update.callback_query is None and context.args:  # /faq <words>: search the questions
        await _search(update, context, lang, " ".join(context.args)[:SEARCH_LIMIT])
        return
    if len(parts) >= 5 and parts[1] == "t" and parts[3] in THEMES:
        await _questions(update, context, lang, role, parts[3], int(parts[4]) if parts[4].isdigit() else 0)
        return
    themes = [th for th in THEMES if _entries(context, role, th)]
    rows = [[button(context, f"theme.{th}", lang, f"faq:t:{role}:{th}:0")] for th in themes]
    other = "seller" if role == "buyer" else "buyer"
    rows.append([InlineKeyboardButton(t(context, "btn.other_role", lang, role=t(context, f"role.{other}", lang)),
                                      callback_data=f"faq:r:{other}"), button(context, "btn.menu", lang, "menu")])
    await show(update, context, t(context, "faq.pick_theme", lang, role=t(context, f"role.{role}", lang)),
               keyboard(rows))


async def _found(update: Update, context: Context, words: str, limit: int) -> list[Entry]:
    """The entries worth listing for a search, best first (off the event loop, like any question)."""
    match = await off_loop(update, context, services(context).center.matcher.match, words)
    return [c.entry for c in match.candidates if c.score >= SEARCH_FLOOR][:limit]


async def _search(update: Update, context: Context, lang: str, words: str) -> None:
    """The entries that best match the words, as buttons (the inline mode's search, in the chat)."""
    entries = [e.id for e in await _found(update, context, words, PAGE)]
    rows = [*suggestion_rows(context, lang, entries),
            [button(context, "btn.faq", lang, "faq"), button(context, "btn.menu", lang, "menu")]]
    key = "faq.found" if entries else "faq.not_found"
    await show(update, context, t(context, key, lang, words=escape(words)), keyboard(rows), edit=False)


async def _questions(update: Update, context: Context, lang: str, role: str, theme: str, page: int) -> None:
    entries = _entries(context, role, theme)
    pages = max(1, -(-len(entries) // PAGE))
    page = min(max(page, 0), pages - 1)
    rows = [[InlineKeyboardButton(e.texts[lang].title, callback_data=f"ans:{e.id}:{role}:{theme}:{page}")]
            for e in entries[page * PAGE:(page + 1) * PAGE]]
    nav = []
    if page > 0:
        nav.append(button(context, "btn.prev_page", lang, f"faq:t:{role}:{theme}:{page - 1}"))
    if page < pages - 1:
        nav.append(button(context, "btn.next_page", lang, f"faq:t:{role}:{theme}:{page + 1}"))
    rows += [nav, [button(context, "btn.faq_themes", lang, f"faq:r:{role}")]]
    await show(update, context, t(context, "faq.pick_question", lang, theme=t(context, f"theme.{theme}", lang),
                                  page=page + 1, pages=pages), keyboard(rows))


async def feedback(update: Update, context: Context) -> None:
    """fb:<question-id>:<up|down>: one vote per user per answer, shown by a ✓ on the pressed
    button (pressing the other one changes the vote). 👎 offers the other candidates, then a human."""
    query = update.callback_query
    qid, value, _ = callback_fields(update, 3)
    lang = lang_of(update, context)
    svc = services(context)
    if not qid.isdigit() or value not in ("up", "down"):
        await query.answer()
        raise ApplicationHandlerStop
    vote = 1 if value == "up" else -1
    chat_id = update.effective_chat.id
    if await svc.store.feedback(int(qid), chat_id) == vote:
        await query.answer(t(context, "feedback.already", lang))
        await _mark_vote(update, context, lang, qid, value)  # a keyboard that missed the first ✓
        raise ApplicationHandlerStop
    await svc.store.set_feedback(int(qid), chat_id, vote)
    await query.answer(t(context, "feedback.thanks", lang))
    await _mark_vote(update, context, lang, qid, value)
    if value == "down":
        others = context.user_data.suggested
        rows = suggestion_rows(context, lang, [e for e in others if e in svc.center.kb.by_id])
        rows.append([button(context, "btn.human", lang, "human")])
        await show(update, context, t(context, "feedback.sorry", lang), keyboard(rows), edit=False)
    raise ApplicationHandlerStop


async def _mark_vote(update: Update, context: Context, lang: str, qid: str, value: str) -> None:
    """The answer's own keyboard again, with the chosen vote marked ✓ (its text is untouched)."""
    message = update.callback_query.message
    if message is None or message.reply_markup is None:
        return
    labels = {"up": ("btn.helpful", "btn.helpful_chosen"), "down": ("btn.unhelpful", "btn.unhelpful_chosen")}
    rows = []
    for row in message.reply_markup.inline_keyboard:
        new_row = []
        for b in row:
            data = b.callback_data or ""
            kind = CallbackData(data).parts[-1]
            if data.startswith(f"fb:{qid}:") and kind in labels:
                b = InlineKeyboardButton(t(context, labels[kind][kind == value], lang), callback_data=data)
            new_row.append(b)
        rows.append(new_row)
    await edit_buttons(update, InlineKeyboardMarkup(rows))


async def inline_query(update: Update, context: Context) -> None:
    """@bot <question> in any chat: matching answers to send there; empty: the most asked."""
    query = update.inline_query
    svc = services(context)
    kb = svc.center.kb
    text = query.query.strip()
    user_lang = "en" if (query.from_user.language_code or "").lower().startswith("en") else "zh"
    lang = guess_lang(text, user_lang) if text else user_lang
    if text:
        entries = await _found(update, context, text, INLINE_RESULTS)
    else:
        topics = await svc.store.top_topics(INLINE_RESULTS) or [e.topic for e in kb.entries[:INLINE_RESULTS]]
        entries = [e for topic in topics if (e := kb.entry_for_topic(topic)) is not None]
    results = []
    for entry in entries:
        message = renderer(context).answer(entry, lang, show_related=False)[0]
        first = entry.texts[lang].steps[0] if entry.texts[lang].steps else ""
        results.append(InlineQueryResultArticle(
            id=f"{entry.id}:{uuid4().hex[:8]}", title=entry.texts[lang].title,
            description=to_plain(first)[:100],
            input_message_content=InputTextMessageContent(message,
                                                          link_preview_options=None),
            reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton(t(context, "inline.more", lang),
                                                                     url=deep_link(context, entry.id))]])))
    await query.answer(results, cache_time=30, is_personal=False)
