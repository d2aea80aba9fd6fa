"""A ticket's life-cycle that the customer's side, the ticket buttons, the agents' side and the
desk share: which ticket a group message belongs to, closing one, notices to the agents.
"""

from __future__ import annotations

import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message

from handlers.base.common import Context, services, t
from handlers.base.flow import way_back_of
from handlers.base.userdata import UserData
from handlers.support.outbox import flush_outbox
from helpcenter.storage.tickets import Ticket

REOPEN_MINUTES = 30  # how long after an agent's /close the closed message's "Reopen" button works
CARD_MARK = re.compile(r"🎫 #(\d{1,18}) ")  # the first line of handoff_card.html.j2, as plain text


async def ticket_for(context: Context, message: Message) -> Ticket | None:
    """The ticket a message in the agents' group belongs to: its forum topic, the ticket message it
    replies to, or, for a card whose link is not stored yet, the ticket its first line names.
    The one lookup both the relay and the desk use, so they never disagree."""
    svc = services(context)
    if message.is_topic_message and message.message_thread_id:
        ticket = await svc.store.ticket_by_thread(message.message_thread_id)
        if ticket is not None:
            return ticket
    reply = message.reply_to_message
    if reply is not None and not (reply.forum_topic_created):
        ticket_id = await svc.store.ticket_of_message(message.chat_id, reply.message_id)
        if ticket_id is not None:
            return await svc.store.ticket(ticket_id)
        # A card whose link is not stored (still in flight, or the bot died before storing it):
        # the card names its ticket on its first line.
        mark = CARD_MARK.match(reply.text or "")
        if mark and reply.from_user is not None and reply.from_user.id == context.bot.id:
            return await svc.store.ticket(int(mark.group(1)))
    return None


async def close_ticket(context: Context, ticket: Ticket, by_user: bool, key: str) -> None:
    svc = services(context)
    await svc.store.update_ticket(ticket.id, svc.now(), status="closed")
    if by_user:
        await to_agents(context, ticket, t(context, "agent.user_ended", svc.settings.support_lang, id=ticket.id),
                         key)
        return
    # The user's data is read, not changed, from the agent's update: only for the way back.
    rows = closed_rows(context, ticket, ticket.lang, stars=True, reopen=True,
                        data=context.application.user_data.get(ticket.user_id))
    await svc.store.enqueue(ticket.id, {"op": "send", "to_chat": ticket.chat_id, "to_user": True,
                                        "text": t(context, "handoff.closed", ticket.lang, id=ticket.id,
                                                  minutes=REOPEN_MINUTES), "buttons": rows}, svc.now(),
                            dedup=key)
    await flush_outbox(context.application)


async def to_agents(context: Context, ticket: Ticket, text: str, key: str) -> None:
    """A notice for the agents, queued once per key (the update that caused it)."""
    svc = services(context)
    await svc.store.enqueue(ticket.id, {"op": "send", "to_chat": svc.settings.support_chat_id,
                                        "thread": ticket.thread_id, "text": text}, svc.now(), dedup=key)
    await flush_outbox(context.application)


def end_markup(context: Context, lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(t(context, "btn.end_ticket", lang), callback_data="tk:end")]])


def closed_rows(context: Context, ticket: Ticket, lang: str, stars: bool, reopen: bool,
                data: UserData | None) -> list[list[dict[str, str]]]:
    rows = []
    if stars:
        rows.append([{"text": "⭐" * n, "callback_data": f"tk:rate:{ticket.id}:{n}"} for n in range(1, 6)])
    if reopen:
        rows.append([{"text": t(context, "btn.reopen", lang, id=ticket.id), "callback_data": f"tk:reopen:{ticket.id}"}])
    key, back = way_back_of(data)
    rows.append([{"text": t(context, key, lang), "callback_data": back}])
    return rows
