"""Free-text questions anywhere, and answers opened by id (related, suggestions, FAQ, links).

An answer never moves the user: inside a flow it ends with a button back to where they were.
Every answer is logged (normalised text, language, entry, score) and carries 👍/👎 buttons.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, Update

from helpcenter import core
from helpcenter.model import Entry
from helpcenter.understand import Slots

from .common import Context, button, deep_link, keyboard, lang_of, renderer, services, show, t
from .flow import MENU, SCREENS, current, way_back

HANDOFF_TOPIC = core.HANDOFF_TOPIC
MISSES_BEFORE_HUMAN = 2
RECENT = 5  # questions remembered for a hand-off's context card


def suggestion_rows(context: Context, lang: str, entry_ids: list[str]) -> list[list[InlineKeyboardButton]]:
    kb = services(context).center.kb
    return [[InlineKeyboardButton(f"{i}. " + kb.by_id[e].texts[lang].title, callback_data=f"ans:{e}")]
            for i, e in enumerate(entry_ids, 1)]


async def send_entry(update: Update, context: Context, entry: Entry, question_id: int | None = None,
                     back: str | None = None) -> None:
    """The answer, with related questions, 👍/👎, a share link, and the way back."""
    lang = lang_of(update, context)
    svc = services(context)
    if question_id is None:  # opened from a button or link: logged too, so feedback counts
        question_id = await svc.store.log_question(update.effective_chat.id, lang, "", entry.id, entry.topic,
                                                   1.0, svc.now(), source="button")
    messages = renderer(context).answer(entry, lang, show_related=False)
    rows = [[InlineKeyboardButton("➜ " + svc.center.kb.by_id[r].texts[lang].title, callback_data=f"ans:{r}")]
            for r in entry.related[:3]]
    rows.append([button(context, "btn.helpful", lang, f"fb:{question_id}:up"),
                 button(context, "btn.unhelpful", lang, f"fb:{question_id}:down")])
    rows.append([InlineKeyboardButton(t(context, "btn.share", lang), url=deep_link(context, entry.id))])
    back_button = button(context, "btn.faq_back", lang, back) if back else way_back(context, lang)
    rows.append([back_button, button(context, "btn.human", lang, "human")])
    await show(update, context, messages, keyboard(rows), edit=False, keep=True)


def remember(context: Context, question: str, answer: str | None) -> None:
    recent = context.user_data.setdefault("recent", [])
    recent.append({"q": question[:300], "a": answer})
    del recent[:-RECENT]


def profile(context: Context) -> dict[str, str]:
    """What the bot knows about the user beyond this question: role, and the last market named."""
    data = context.user_data
    return {k: data[k] for k in ("role", "market") if isinstance(data.get(k), str)}


async def free_text(update: Update, context: Context) -> None:
    """Answer a typed question from the knowledge base; the conversation state is unchanged."""
    from .handoff import request_human  # a question can be a request for a person

    question = update.effective_message.text or ""
    lang = lang_of(update, context)
    svc = services(context)
    data = context.user_data
    reply = svc.center.ask(question, lang, profile=profile(context), previous=Slots.from_dict(data.get("slots")))
    match = reply.match
    if reply.kind == core.SOCIAL:  # small talk: a friendly word and the menu, not a miss
        if current(context) == MENU:
            await show(update, context, reply.messages, edit=False, keep=True)
            await SCREENS[MENU](update, context)
        else:
            await show(update, context, reply.messages, keyboard([[way_back(context, lang)]]), edit=False, keep=True)
        return
    remember(context, question, reply.entry.id if reply.entry else None)
    if reply.reading is not None and reply.kind in (core.ANSWER, core.FIGURE, core.GUESS):
        data["slots"] = reply.slots.as_dict()  # a follow-up ("那假货呢?") keeps the other slots
        if reply.reading.stated.market:
            data["market"] = reply.reading.stated.market
    best = match.answer or (match.candidates[0] if match.candidates else None)
    question_id = await svc.store.log_question(
        update.effective_chat.id, lang, match.normalized, reply.entry.id if reply.entry else None,
        reply.entry.topic if reply.entry else None, round(best.score, 4) if best else 0.0, svc.now())
    shown = reply.answered.id if reply.answered else None
    data["last_match"] = {"others": [c.entry.id for c in match.suggestions if c.entry.id != shown]}
    if reply.kind == core.FIGURE and reply.entry is not None:
        data["misses"] = 0
        rows = [[button(context, "und.btn.more", lang, f"ans:{reply.entry.id}")],
                [button(context, "btn.helpful", lang, f"fb:{question_id}:up"),
                 button(context, "btn.unhelpful", lang, f"fb:{question_id}:down")],
                [InlineKeyboardButton(t(context, "btn.share", lang), url=deep_link(context, reply.entry.id))],
                [way_back(context, lang), button(context, "btn.human", lang, "human")]]
        await show(update, context, reply.messages, keyboard(rows), edit=False, keep=True)
        return
    if reply.entry is not None:
        data["misses"] = 0
        if reply.entry.topic == HANDOFF_TOPIC:
            await request_human(update, context)
            return
        await send_entry(update, context, reply.entry, question_id=question_id)
        return
    if reply.kind == core.GUESS and reply.answered is not None:
        rows = [[button(context, "und.btn.not_this", lang, f"fb:{question_id}:down")],
                [way_back(context, lang), button(context, "btn.human", lang, "human")]]
        await show(update, context, reply.messages, keyboard(rows), edit=False, keep=True)
        return
    if reply.kind == core.ADJACENT:  # a scoped reply, not a failure
        rows = [[way_back(context, lang), button(context, "btn.human", lang, "human")]]
        await show(update, context, reply.messages, keyboard(rows), edit=False, keep=True)
        return
    misses = data.get("misses", 0) + 1
    data["misses"] = misses
    rows = suggestion_rows(context, lang, [c.entry.id for c in match.suggestions])
    text = reply.messages[0]
    if misses >= MISSES_BEFORE_HUMAN:
        text += "\n\n" + t(context, "too_many_misses", lang)
    rows.append([*[way_back(context, lang)], button(context, "btn.human", lang, "human")])
    await show(update, context, text, keyboard(rows), edit=False, keep=True)


async def answer_button(update: Update, context: Context) -> None:
    """ans:<entry-id>[:<role>:<theme>:<page>] from related, suggestion and FAQ buttons."""
    parts = update.callback_query.data.split(":")
    entry = services(context).center.kb.by_id.get(parts[1] if len(parts) > 1 else "")
    await update.callback_query.answer()
    if entry is None:  # an entry that content no longer has
        from .misc import stale_button

        await stale_button(update, context)
        return
    context.user_data["misses"] = 0
    context.user_data["last_match"] = {"others": list(entry.related)}
    back = f"faq:t:{parts[2]}:{parts[3]}:{parts[4]}" if len(parts) == 5 else None
    await send_entry(update, context, entry, back=back)
