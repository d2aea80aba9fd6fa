"""The agents' side of a ticket, in the agents' group: who counts as an agent, their answers relayed
to the customer, edits mirrored, and /close, /tickets, /ban, /unban. Replies route by the bot's
own table of message links, never by forward_from.
"""

from __future__ import annotations

import functools
import logging
import time
import weakref
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Message, Update
from telegram.constants import MessageLimit
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationHandlerStop

from handlers.base.common import Context, message_of, services, t
from handlers.support.outbox import flush_outbox, in_flight
from handlers.support.tickets import close_ticket, ticket_for
from helpcenter.answers.render import escape

log = logging.getLogger(__name__)

AGENT_CACHE_SECONDS = 300.0  # how long a getChatMember answer (admin or not) is trusted
TICKETS_PER_PAGE = 25  # /tickets lines per message (Telegram's 4096 characters)


_agent_cache: weakref.WeakKeyDictionary[Application, dict[int, tuple[bool, float]]] = weakref.WeakKeyDictionary()


async def is_agent(context: Context, message: Message) -> bool:
    """AGENT_IDS when set; otherwise the agents' group's administrators (getChatMember, cached).
    An anonymous admin posts as the group itself."""
    svc = services(context)
    support = svc.settings.support_chat_id
    if message.sender_chat is not None:
        return message.sender_chat.id == support
    user = message.from_user
    if user is None or support is None:
        return False
    if svc.settings.agent_ids:
        return user.id in svc.settings.agent_ids
    cache = _agent_cache.setdefault(context.application, {})
    known = cache.get(user.id)
    if known is not None and known[1] > time.monotonic():
        return known[0]
    try:
        member = await context.bot.get_chat_member(support, user.id)
    except TelegramError as exc:
        log.warning("getChatMember(%s) failed, not treating them as an agent: %s", user.id, exc)
        return False
    verdict = member.status in ("administrator", "creator")
    cache[user.id] = (verdict, time.monotonic() + AGENT_CACHE_SECONDS)
    return verdict


Handler = Callable[[Update, Context], Coroutine[Any, Any, None]]


def agents_only(handler: Handler) -> Handler:
    """Agents' commands: anyone else in the group gets a clear refusal and nothing happens."""
    @functools.wraps(handler)
    async def guarded(update: Update, context: Context) -> None:
        if not await is_agent(context, message_of(update)):
            await agent_notice(context, message_of(update), "agent.not_agent")
            return
        await handler(update, context)
    return guarded

def _answers_the_bot(context: Context, message: Message) -> bool:
    """A reply (to a message that may be the bot's) or a message inside a forum topic."""
    reply = message.reply_to_message
    if message.is_topic_message and message.message_thread_id:
        return True
    return reply is not None and (reply.from_user is None or reply.from_user.id == context.bot.id)


async def agent_notice(context: Context, message: Message, key: str, **values: Any) -> None:
    lang = services(context).settings.support_lang
    await message.reply_text(t(context, key, lang, **values))


async def from_agent(update: Update, context: Context) -> None:
    """An agent's message in a ticket's topic, or a reply to a ticket's message: relay it."""
    svc = services(context)
    message = message_of(update)
    ticket = await ticket_for(context, message)
    if ticket is None and _answers_the_bot(context, message):
        # The card (or a relay) it answers may still be on its way: Telegram has it, but our link
        # is stored only when the send returns. Wait for deliveries in flight, then look again.
        async with in_flight(context.application, message.chat_id):
            pass
        ticket = await ticket_for(context, message)
    if ticket is None:
        reply = message.reply_to_message
        if reply is not None and reply.from_user is not None and reply.from_user.id == context.bot.id:
            await agent_notice(context, message, "agent.not_linked")  # e.g. the user ran /forget
            raise ApplicationHandlerStop
        return  # agents talking among themselves
    if not await is_agent(context, message):
        await agent_notice(context, message, "agent.not_agent")
    elif await svc.store.is_banned(ticket.user_id):
        await agent_notice(context, message, "agent.not_sent_banned")
    elif not ticket.open:
        await agent_notice(context, message, "agent.not_sent_closed", id=ticket.id)
    else:
        payload = {"op": "copy", "from_chat": message.chat_id, "msg": message.message_id,
                   "to_chat": ticket.chat_id, "to_user": True}
        customer = context.application.user_data.get(ticket.user_id)
        if customer is not None and customer.hold == ticket.id:
            # The user is using the bot: one tap (or a reply to this message) answers the agent.
            payload["buttons"] = [[{"text": t(context, "btn.back_to_agent", ticket.lang),
                                    "callback_data": "tk:resume"}]]
        await svc.store.enqueue(ticket.id, payload, svc.now(), dedup=f"copy:{message.chat_id}:{message.message_id}")
        await flush_outbox(context.application)
    raise ApplicationHandlerStop


async def on_edit(update: Update, context: Context) -> None:
    """Mirror the edit of a relayed text or caption to its copy."""
    svc = services(context)
    message = update.edited_message
    if message is None:
        return
    ticket_id = await svc.store.ticket_of_message(message.chat_id, message.message_id)
    if ticket_id is None:
        return
    if message.chat_id == svc.settings.support_chat_id and not await is_agent(context, message):
        raise ApplicationHandlerStop
    for to_chat, to_msg in await svc.store.copies_of(message.chat_id, message.message_id):
        payload = {"op": "edit", "chat": to_chat, "msg": to_msg,
                   "to_user": to_chat != svc.settings.support_chat_id}
        if message.text is not None:
            payload["text"] = message.text_html
        else:
            payload["caption"] = message.caption_html or ""
        await svc.store.enqueue(ticket_id, payload, svc.now(), dedup=f"edit:{update.update_id}:{to_chat}:{to_msg}")
    await flush_outbox(context.application)
    raise ApplicationHandlerStop


@agents_only
async def close_command(update: Update, context: Context) -> None:
    ticket = await ticket_for(context, message_of(update))
    if ticket is None or not ticket.open:
        await agent_notice(context, message_of(update), "agent.no_ticket")
        return
    await close_ticket(context, ticket, by_user=False, key=f"close:{update.update_id}")
    await agent_notice(context, message_of(update), "agent.closed", id=ticket.id)


@agents_only
async def tickets_command(update: Update, context: Context) -> None:
    """Open tickets, TICKETS_PER_PAGE a message; /tickets 2 for the next page."""
    svc = services(context)
    lang = svc.settings.support_lang
    tickets = await svc.store.open_tickets()
    if not tickets:
        await message_of(update).reply_text(t(context, "agent.no_tickets", lang))
        return
    pages = (len(tickets) + TICKETS_PER_PAGE - 1) // TICKETS_PER_PAGE
    arg = context.args[0] if context.args else "1"
    page = min(max(int(arg), 1), pages) if arg.isdigit() and len(arg) < 6 else 1
    lines = [t(context, "agent.tickets", lang)]
    lines += [f"#{tk.id} · {tk.user_name} · {tk.user_id} · {tk.lang} · {tk.created_at:%Y-%m-%d %H:%M}"
              for tk in tickets[(page - 1) * TICKETS_PER_PAGE:page * TICKETS_PER_PAGE]]
    if pages > 1:
        lines.append(t(context, "agent.tickets_more", lang, page=page, pages=pages, next=page % pages + 1))
    await message_of(update).reply_text(escape("\n".join(lines)[:MessageLimit.MAX_TEXT_LENGTH]))


@agents_only
async def ban_command(update: Update, context: Context) -> None:
    svc = services(context)
    ticket = await ticket_for(context, message_of(update))
    if ticket is None:
        await agent_notice(context, message_of(update), "agent.no_ticket")
        return
    await svc.store.ban(ticket.user_id, svc.now())
    if ticket.open:
        await svc.store.update_ticket(ticket.id, svc.now(), status="closed")
    await agent_notice(context, message_of(update), "agent.banned", user=ticket.user_id)


@agents_only
async def unban_command(update: Update, context: Context) -> None:
    svc = services(context)
    arg = context.args[0] if context.args else ""
    user_id = int(arg) if arg.isdigit() and len(arg) <= 15 else None
    if user_id is None:
        ticket = await ticket_for(context, message_of(update))
        user_id = ticket.user_id if ticket else None
    if user_id is None:
        await agent_notice(context, message_of(update), "agent.unban_usage")
        return
    await svc.store.unban(user_id)
    await agent_notice(context, message_of(update), "agent.unbanned", user=user_id)


