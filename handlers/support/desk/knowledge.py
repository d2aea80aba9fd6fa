"""/kb (answers from the knowledge base sent to the customer) and /teach (a customer's phrasing
stored as a new phrasing of an entry)."""

from __future__ import annotations

import functools
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from handlers.base.common import Context, Services, display_name, message_of, off_loop, services, t, user_of, with_retry
from handlers.support.desk.shared import agents_lang, desk_of, ensure, post, refuse
from handlers.support.desk.take import take
from handlers.support.tickets import ticket_for
from helpcenter.answers.privacy import without_placeholders
from helpcenter.answers.render import escape
from helpcenter.core import guess_lang
from helpcenter.desk.taught import mask

KB_SHOWN = 3
PREVIEW = 60  # characters of an entry shown by /kb

def _preview(svc: Services, entry: Any) -> str:
    text = entry.texts[agents_lang(svc)]
    first = (text.steps or text.notes or (text.title,))[0]
    return first if len(first) <= PREVIEW else first[:PREVIEW - 1] + "…"


async def kb_command(update: Update, context: Context) -> None:
    if await refuse(update, context):
        return
    svc = services(context)
    message, lang = message_of(update), agents_lang(svc)
    ticket = await ticket_for(context, message)
    if ticket is None:
        await message.reply_text(t(context, "agent.no_ticket", lang))
        return
    words = " ".join(context.args or ()).strip()
    if not words:
        await message.reply_text(t(context, "desk.kb_usage", lang))
        return
    found = [c.entry for c in (await off_loop(update, context, svc.center.matcher.match, words)).candidates[:KB_SHOWN]]
    if not found:
        await message.reply_text(t(context, "desk.kb_none", lang, q=escape(words)))
        return
    lines = [t(context, "desk.kb_title", lang, q=escape(words))]
    lines += [f"{n}. <b>{escape(e.texts[lang].title)}</b>\n   {escape(_preview(svc, e))}"
              for n, e in enumerate(found, 1)]
    row = [InlineKeyboardButton(t(context, "desk.btn.kb_send", lang, n=n), callback_data=f"dk:kb:{ticket.id}:{e.id}")
           for n, e in enumerate(found, 1)]
    await message.reply_text("\n".join(lines), reply_markup=InlineKeyboardMarkup([row]))


async def kb_button(update: Update, context: Context, ticket_id: int, entry_id: str) -> None:
    """Send an entry to the customer, in their language and for their market, and log it."""
    svc = services(context)
    query, user, lang = update.callback_query, user_of(update), agents_lang(svc)
    ticket = await svc.store.ticket(ticket_id)
    entry = svc.center.kb.by_id.get(entry_id)
    if ticket is None or not ticket.open or entry is None:
        await query.answer(t(context, "desk.toast_closed", lang, id=ticket_id), show_alert=True)
        return
    if await svc.store.is_banned(ticket.user_id):
        await query.answer(t(context, "agent.not_sent_banned", lang), show_alert=True)
        return
    customer = context.application.user_data.get(ticket.user_id)
    market = (customer.ref.market or customer.market) if customer is not None else None
    parts = svc.center.renderer.answer(entry, ticket.lang, show_related=False, market=market,
                                       role=customer.role if customer is not None else None)
    for part in parts:
        await with_retry(functools.partial(context.bot.send_message, ticket.chat_id, part,
                                           disable_web_page_preview=True))
    await query.answer(t(context, "desk.toast_sent", lang))
    await ensure(context.application, ticket)
    desk, now = desk_of(svc), svc.now()
    await desk.record(ticket.id, ticket.user_id, "kb", now, entry.texts[ticket.lang].title, display_name(user), user.id)
    await desk.responded(ticket.id, now)
    await post(context.application, ticket, t(context, "desk.kb_sent", lang, agent=escape(display_name(user)),
                                                title=escape(entry.texts[lang].title), id=ticket.id,
                                                language=t(context, f"lang.{ticket.lang}", lang)))
    holding = await desk.holding(ticket.id)
    if holding is not None and holding.holder_id is None:
        await take(context.application, ticket, user.id, display_name(user), None)


async def teach_command(update: Update, context: Context) -> None:
    """In reply to a customer's message: offer the best entries for it as its answer."""
    if await refuse(update, context):
        return
    svc = services(context)
    message, user, lang = message_of(update), user_of(update), agents_lang(svc)
    reply = message.reply_to_message
    ticket = await ticket_for(context, message)
    said = (reply.text or reply.caption or "") if reply is not None and not reply.forum_topic_created else ""
    if ticket is None or not said:
        await message.reply_text(t(context, "desk.teach_usage", lang))
        return
    history = await desk_of(svc).history(ticket.id)
    if not any(e.kind == "user" and (e.text == said or e.text.endswith(" " + said)) for e in history):
        # only what the customer wrote (a caption is kept after its attachment's label)
        await message.reply_text(t(context, "desk.teach_usage", lang))
        return
    question = mask(said)
    match = await off_loop(update, context, svc.center.matcher.match, without_placeholders(question))
    found = [c.entry for c in match.candidates[:KB_SHOWN]]
    if not found:
        await message.reply_text(t(context, "desk.teach_none", lang))
        return
    offer = await desk_of(svc).offer(ticket.id, question, guess_lang(question, ticket.lang), user.id,
                                     display_name(user), svc.now())
    rows = [[InlineKeyboardButton(f"{n}. {e.texts[lang].title}"[:64], callback_data=f"dk:tc:{offer}:{e.id}")]
            for n, e in enumerate(found, 1)]
    await message.reply_text(t(context, "desk.teach_pick", lang, q=escape(question)),
                             reply_markup=InlineKeyboardMarkup(rows))


async def teach_button(update: Update, context: Context, offer: int, entry_id: str) -> None:
    svc = services(context)
    query, user, lang = update.callback_query, user_of(update), agents_lang(svc)
    entry = svc.center.kb.by_id.get(entry_id)
    stored = await desk_of(svc).teach(offer, entry_id, user.id, display_name(user), svc.now()) if entry else None
    if stored is None or entry is None:
        await query.answer(t(context, "desk.toast_teach_old", lang))
        return
    await query.answer()
    await query.edit_message_text(t(context, "desk.teach_done", lang, q=escape(stored.text),
                                    title=escape(entry.texts[lang].title)))
