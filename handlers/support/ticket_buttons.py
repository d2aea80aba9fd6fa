"""The customer's ticket buttons: end the conversation, back to the agent after a hold, reopen a
ticket an agent closed (for REOPEN_MINUTES), and rate it 1-5."""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ApplicationHandlerStop

from handlers.base.callbacks import callback_data, record_id
from handlers.base.common import Context, lang_of, services, t
from handlers.base.flow import way_back
from handlers.base.userdata import UserData
from handlers.support.tickets import REOPEN_MINUTES, close_ticket, closed_rows, end_markup, to_agents
from helpcenter.storage.tickets import Ticket

log = logging.getLogger(__name__)

RATINGS = ("1", "2", "3", "4", "5")


async def on_ticket_button(update: Update, context: Context) -> None:
    """tk:end (the user ends it), tk:resume (back to the agent after a hold), tk:reopen:<ticket>
    (within REOPEN_MINUTES of an agent's /close) and tk:rate:<ticket>:<1-5>."""
    try:
        await _ticket_button(update, context)
    finally:
        raise ApplicationHandlerStop


async def _ticket_button(update: Update, context: Context) -> None:
    svc = services(context)
    query = update.callback_query
    parts = callback_data(update).parts
    user = update.effective_user
    lang = lang_of(update, context)
    await query.answer()
    if parts[1] in ("end", "resume"):
        ticket = await svc.store.latest_ticket(user.id)
        await query.edit_message_reply_markup(None)
        context.user_data.hold = None
        if ticket is None or not ticket.open:  # an old button: say where the user is, never nothing
            await _tell(context, user.id, t(context, "handoff.not_open", lang, id=ticket.id if ticket else "?"),
                        [[way_back(context, lang)]])
        elif parts[1] == "end":
            await close_ticket(context, ticket, by_user=True, key=f"end:{update.update_id}")
            await _tell(context, user.id, t(context, "handoff.ended", lang, id=ticket.id), [[way_back(context, lang)]])
        else:
            await context.bot.send_message(user.id, t(context, "handoff.resumed", lang, id=ticket.id),
                                           reply_markup=end_markup(context, lang))
        return
    number = record_id(parts[2]) if len(parts) >= 3 else None
    ticket = await svc.store.ticket(number) if number is not None else None
    if ticket is None or ticket.user_id != user.id:
        log.info("ignored a ticket button that is not the user's: %r", callback_data(update).raw[:80])
        return
    if parts[1] == "reopen" and len(parts) == 3:
        await _reopen(update, context, ticket, lang)
    elif parts[1] == "rate" and len(parts) == 4 and parts[3] in RATINGS and ticket.rating is None:
        await svc.store.update_ticket(ticket.id, svc.now(), rating=int(parts[3]))
        reopen = await _can_reopen(context, ticket)
        await query.edit_message_reply_markup(_closed_markup(context, ticket, lang, stars=False, reopen=reopen,
                                                             data=context.user_data))
        await context.bot.send_message(user.id, t(context, "handoff.thanks", lang))
        await to_agents(context, ticket, t(context, "agent.rated", svc.settings.support_lang,
                                            id=ticket.id, n=parts[3]), f"rated:{ticket.id}")
    else:
        log.info("ignored a malformed ticket button: %r", callback_data(update).raw[:80])


async def _tell(context: Context, chat_id: int, text: str, rows: list[list[InlineKeyboardButton]]) -> None:
    await context.bot.send_message(chat_id, text, reply_markup=InlineKeyboardMarkup(rows))


async def _can_reopen(context: Context, ticket: Ticket) -> bool:
    """Closed by an agent (only then is there a Reopen button), not long ago, and still the
    user's latest ticket."""
    svc = services(context)
    latest = await svc.store.latest_ticket(ticket.user_id)
    return (not ticket.open and ticket.closed_at is not None and latest is not None and latest.id == ticket.id
            and svc.now() - ticket.closed_at <= timedelta(minutes=REOPEN_MINUTES)
            and not await svc.store.is_banned(ticket.user_id))


async def _reopen(update: Update, context: Context, ticket: Ticket, lang: str) -> None:
    svc = services(context)
    query = update.callback_query
    if ticket.open:
        await query.edit_message_reply_markup(None)
        await context.bot.send_message(ticket.chat_id, t(context, "handoff.already", lang, id=ticket.id),
                                       reply_markup=end_markup(context, lang))
        return
    if not await _can_reopen(context, ticket):
        await query.edit_message_reply_markup(_closed_markup(context, ticket, lang, stars=ticket.rating is None,
                                                             reopen=False, data=context.user_data))
        await _tell(context, ticket.chat_id, t(context, "handoff.reopen_expired", lang, id=ticket.id,
                                               minutes=REOPEN_MINUTES), [[way_back(context, lang)]])
        return
    await svc.store.update_ticket(ticket.id, svc.now(), status="open")
    context.user_data.hold = None
    await query.edit_message_reply_markup(None)
    await context.bot.send_message(ticket.chat_id, t(context, "handoff.reopened", lang, id=ticket.id),
                                   reply_markup=end_markup(context, lang))
    await to_agents(context, ticket, t(context, "agent.reopened", svc.settings.support_lang, id=ticket.id),
                     f"reopened:{update.update_id}")


def _closed_markup(context: Context, ticket: Ticket, lang: str, stars: bool, reopen: bool,
                   data: UserData | None) -> InlineKeyboardMarkup:
    """The closed message's buttons: the rating, "Reopen" while it can, and the way back."""
    rows = closed_rows(context, ticket, lang, stars, reopen, data)
    return InlineKeyboardMarkup([[InlineKeyboardButton(b["text"], callback_data=b["callback_data"]) for b in row]
                                 for row in rows])
