"""Free-text questions anywhere, answers by id (related / "did you mean" buttons).

An answer never moves the user: inside a flow it ends with a button back to where they were.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, Update

from helpcenter.model import Entry

from .common import Context, button, keyboard, lang_of, renderer, services, show, t
from .flow import MENU, current

HANDOFF_TOPIC = "handoff.human"
MISSES_BEFORE_HUMAN = 2
RECENT = 5  # questions remembered for a hand-off's context card


def _way_back(context: Context, lang: str) -> list[InlineKeyboardButton]:
    if current(context) != MENU:
        return [button(context, "btn.resume", lang, "resume")]
    return [button(context, "btn.menu", lang, "menu")]


async def send_entry(update: Update, context: Context, entry: Entry) -> None:
    lang = lang_of(update, context)
    kb = services(context).center.kb
    messages = renderer(context).answer(entry, lang, show_related=False)
    rows = [[InlineKeyboardButton("➜ " + kb.by_id[r].texts[lang].title, callback_data=f"ans:{r}")]
            for r in entry.related[:3]]
    rows.append([*_way_back(context, lang), button(context, "btn.human", lang, "human")])
    await show(update, context, messages, keyboard(rows), edit=False)


def remember(context: Context, question: str, answer: str | None) -> None:
    recent = context.user_data.setdefault("recent", [])
    recent.append({"q": question[:300], "a": answer})
    del recent[:-RECENT]


async def free_text(update: Update, context: Context) -> None:
    """Answer a typed question from the knowledge base; the conversation state is unchanged."""
    from .handoff import request_human  # a question can be a request for a person

    question = update.effective_message.text or ""
    lang = lang_of(update, context)
    reply = services(context).center.ask(question, lang)
    remember(context, question, reply.entry.id if reply.entry else None)
    if reply.entry is not None:
        context.user_data["misses"] = 0
        if reply.entry.topic == HANDOFF_TOPIC:
            await request_human(update, context)
            return
        await send_entry(update, context, reply.entry)
        return
    misses = context.user_data.get("misses", 0) + 1
    context.user_data["misses"] = misses
    rows = [[InlineKeyboardButton(f"{i}. " + c.entry.texts[lang].title, callback_data=f"ans:{c.entry.id}")]
            for i, c in enumerate(reply.match.suggestions, 1)]
    text = reply.messages[0]
    if misses >= MISSES_BEFORE_HUMAN:
        text += "\n\n" + t(context, "too_many_misses", lang)
    rows.append([*_way_back(context, lang), button(context, "btn.human", lang, "human")])
    await show(update, context, text, keyboard(rows), edit=False)


async def answer_button(update: Update, context: Context) -> None:
    """ans:<entry-id> from a related or suggestion button."""
    entry_id = update.callback_query.data.split(":", 1)[1]
    entry = services(context).center.kb.by_id.get(entry_id)
    await update.callback_query.answer()
    if entry is None:  # an entry that content no longer has
        from .misc import stale_button

        await stale_button(update, context)
        return
    context.user_data["misses"] = 0
    await send_entry(update, context, entry)


async def faq(update: Update, context: Context) -> None:
    """/faq: every question for the user's role, as buttons."""
    lang = lang_of(update, context)
    role = context.user_data.get("role", "buyer")
    entries = [e for e in services(context).center.kb.entries if e.role in (role, "both")]
    rows = [[InlineKeyboardButton(e.texts[lang].title, callback_data=f"ans:{e.id}")] for e in entries]
    rows.append(_way_back(context, lang))
    await show(update, context, t(context, "faq.title", lang), keyboard(rows), edit=False)
