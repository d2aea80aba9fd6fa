"""A ticket's history, watched one handler group before the relays (-3): what the customer and the
agents say, internal `//` notes (kept and stopped here, never relayed), who closed it."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from handlers.base.common import Context, Services, display_name, message_of, services, t
from handlers.support.desk.shared import agent, agents_lang, content_of, desk_of, ensure, source_of
from handlers.support.desk.take import take
from handlers.support.tickets import ticket_for
from helpcenter.storage.tickets import Ticket


async def on_private_message(update: Update, context: Context) -> None:
    """Group -3, before the relay: keep in its history what a customer sends to an open ticket,
    as the customer's side relays it (not while the relay is on hold, unless it replies to one of
    the ticket's messages)."""
    svc = services(context)
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or not (message.text or message.caption or message.effective_attachment):
        return  # service messages are not relayed either
    ticket = await svc.store.latest_ticket(user.id)
    if ticket is None or not ticket.open:
        return
    if context.user_data.hold == ticket.id:
        reply = message.reply_to_message
        if reply is None or await svc.store.ticket_of_message(message.chat_id, reply.message_id) != ticket.id:
            return  # on hold: the bot answers it
    await ensure(context.application, ticket)
    await _reopened(svc, ticket)
    await desk_of(svc).record(ticket.id, ticket.user_id, "user", svc.now(), content_of(context, message),
                            ticket.user_name, source=source_of(message))


async def _reopened(svc: Services, ticket: Ticket) -> None:
    """An open ticket whose history ends closed was reopened (by the customer's button)."""
    if ticket.open and await desk_of(svc).last_of(ticket.id, ("close", "reopen")) == "close":
        await desk_of(svc).record(ticket.id, ticket.user_id, "reopen", svc.now())


async def on_group_message(update: Update, context: Context) -> None:
    """Group -3 in the agents' group: a `//` note is kept and stopped here (never relayed); an
    agent's answer in a ticket is recorded, and the first one takes an untaken ticket."""
    svc = services(context)
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or user.is_bot:
        return
    if not await agent(context, message):
        return  # not an agent: the agents' side refuses them, the history does not keep it
    text = message.text or message.caption or ""
    ticket = await ticket_for(context, message)
    desk, now = desk_of(svc), svc.now()
    if text.startswith(svc.settings.note_prefix):
        if ticket is None:
            await message.reply_text(t(context, "desk.note_nowhere", agents_lang(svc)))
        else:
            await ensure(context.application, ticket)
            note = text[len(svc.settings.note_prefix):].strip()
            await desk.record(ticket.id, ticket.user_id, "note", now, note, display_name(user), user.id,
                              source_of(message))
            await message.reply_text(t(context, "desk.note_kept", agents_lang(svc), id=ticket.id))
        raise ApplicationHandlerStop
    if ticket is None or not ticket.open or await svc.store.is_banned(ticket.user_id):
        return
    await ensure(context.application, ticket)
    await _reopened(svc, ticket)
    await desk.record(ticket.id, ticket.user_id, "agent", now, content_of(context, message), display_name(user),
                      user.id, source_of(message))
    await desk.responded(ticket.id, now)
    holding = await desk.holding(ticket.id)
    if holding is not None and holding.holder_id is None:
        await take(context.application, ticket, user.id, display_name(user), None)


async def on_close(update: Update, context: Context) -> None:
    """Group -3, before the agents' /close: note who closed the ticket in its history."""
    svc = services(context)
    ticket = await ticket_for(context, message_of(update))
    user = update.effective_user
    if ticket is not None and ticket.open and user is not None and await agent(context, message_of(update)):
        await ensure(context.application, ticket)
        await _reopened(svc, ticket)
        await desk_of(svc).record(ticket.id, ticket.user_id, "close", svc.now(), "", display_name(user), user.id,
                                source_of(message_of(update)))
