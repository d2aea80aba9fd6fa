"""Hand-off to human customer service, the customer's side: opening a ticket (the context card and
forum topic for the agents), relaying what the customer sends while it is open, and putting the
relay on hold when the customer goes back to the bot. Relays go through the outbox (outbox.py).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ForumTopicLimit
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop

from handlers.base.common import Context, display_name, keyboard, lang_of, renderer, services, show, t
from handlers.base.flow import HUMAN, action, card_facts, way_back, web_action
from handlers.support.outbox import flush_outbox, forum_lock
from handlers.support.tickets import end_markup
from helpcenter.desk.hours import WorkingHours
from helpcenter.storage.tickets import Ticket

log = logging.getLogger(__name__)

NOT_A_BOT_ACTION = re.compile(r"^(tk:|fb:|human$)")  # buttons that keep the conversation with the agent


@action(HUMAN)
async def request_human(update: Update, context: Context) -> None:
    """/human, the "talk to a human" button, or a question asking for a person."""
    svc = services(context)
    lang = lang_of(update, context)
    user = update.effective_user
    support = svc.settings.support_chat_id
    if support is None or user is None or await svc.store.is_banned(user.id):
        entry = svc.center.kb.by_id[svc.center.kb.flows.handoff_entry]
        # Without agents only TikTok Shop's own customer service applies: the entry's paths into the
        # app, the user's market's first (the US app's path is the US's).
        await show(update, context, renderer(context).answer(entry, lang, show_related=False,
                                                             market=context.user_data.market),
                   keyboard([[way_back(context, lang)]]), edit=False)
        return
    if update.callback_query:
        await update.callback_query.answer()
    ticket = await svc.store.latest_ticket(user.id)
    end = [[InlineKeyboardButton(t(context, "btn.end_ticket", lang), callback_data="tk:end")]]
    context.user_data.hold = None  # /human (or its button): what they send goes to the agent
    if ticket is not None and ticket.open and ticket.opened_by != update.update_id:
        if ticket.card_msg is None:  # a crash between opening and queueing the card: queue it now
            await _queue_card(context, ticket, ticket.thread_id)
        await context.bot.send_message(user.id, t(context, "handoff.already", lang, id=ticket.id),
                                       reply_markup=InlineKeyboardMarkup(end))
        return
    if ticket is None or not ticket.open:
        ticket = await svc.store.open_ticket(user.id, update.effective_chat.id, display_name(user), lang,
                                             context.user_data.role or "buyer", svc.now(), opened_by=update.update_id)
    # else this very update opened it and the process died before it was done: it goes on from
    # where it stopped and answers as the first run would have (the replay after a SIGKILL).
    thread_id = ticket.thread_id
    if thread_id is None and not await svc.store.queued(f"card:{ticket.id}"):
        thread_id = await _topic_for(context, ticket)
        if thread_id:
            await svc.store.update_ticket(ticket.id, svc.now(), thread_id=thread_id)
    await _queue_card(context, ticket, thread_id)
    text = t(context, "handoff.opened", lang, id=ticket.id)
    opened = ticket.created_at.astimezone(svc.tz)
    hours = WorkingHours.parse(svc.settings.support_hours, svc.settings.support_days)
    if hours is not None and not hours.is_open(opened):
        text += "\n\n" + t(context, "handoff.offhours", lang,
                            when=hours.next_open(opened).strftime("%Y-%m-%d %H:%M"))
    await context.bot.send_message(user.id, text, reply_markup=InlineKeyboardMarkup(end))
    await flush_outbox(context.application)


async def _queue_card(context: Context, ticket: Ticket, thread_id: int | None) -> None:
    """The context card for the agents, queued once per ticket."""
    svc = services(context)
    card = renderer(context).render("handoff_card.html.j2", svc.settings.support_lang, ticket=ticket,
                                    **_context_card(context, svc.settings.support_lang))
    await svc.store.enqueue(ticket.id, {"op": "send", "to_chat": svc.settings.support_chat_id, "thread": thread_id,
                                        "text": card, "card": True, "from_chat": ticket.chat_id,
                                        "buttons": [[{"text": t(context, "desk.btn.take", svc.settings.support_lang),
                                                      "callback_data": f"dk:take:{ticket.id}"}]]},  # agents' desk
                            svc.now(), dedup=f"card:{ticket.id}")


async def _topic_for(context: Context, ticket: Ticket) -> int | None:
    """A forum topic of its own when the agents' group is a forum; None otherwise."""
    svc = services(context)
    support = svc.settings.support_chat_id
    assert support is not None, "tickets are opened only with an agents' group"
    try:
        async with forum_lock(context.application):  # one getChat, not one per ticket
            if svc.support_is_forum is None:
                svc.support_is_forum = bool((await context.bot.get_chat(support)).is_forum)
        if svc.support_is_forum:
            name = f"#{ticket.id} {ticket.user_name}"[:ForumTopicLimit.MAX_NAME_LENGTH]
            topic = await context.bot.create_forum_topic(support, name)
            return topic.message_thread_id
    except TelegramError as exc:
        log.warning("forum topic for ticket %s failed, using replies instead: %s", ticket.id, exc)
    return None


def _context_card(context: Context, lang: str) -> dict[str, Any]:
    """Where the user was in a flow and what they answered (each flow says it: base.flow's
    @ticket_card), and what they last asked, in the agents' language."""
    kb = services(context).center.kb
    where, answers = card_facts(context, lang)
    recent = [{"q": item.q, "a": kb.by_id[item.a].texts[lang].title if item.a in kb.by_id else None}
              for item in context.user_data.recent]
    return {"where": where, "answers": answers, "recent": recent}


@web_action("human")
async def human_from_web(update: Update, context: Context, action: dict[str, Any]) -> str | None:
    """The web page's "talk to a person" (runtime/webapp.py): the hand-off opens, and the agents'
    card lists the entry the user was reading with their last questions."""
    lang = lang_of(update, context)
    entry = services(context).center.kb.by_id.get(str(action.get("entry") or ""))
    if entry is not None:
        context.user_data.remember(f"{t(context, 'web.card_read', lang)} {entry.texts[lang].title}", entry.id)
    await request_human(update, context)
    return None


# --- while a ticket is open ----------------------------------------------------------------------

async def from_user(update: Update, context: Context) -> None:
    """A private message while a ticket is open (or just closed): relay it to the agents."""
    svc = services(context)
    message, user = update.effective_message, update.effective_user
    if svc.settings.support_chat_id is None or message is None or user is None:
        return
    ticket = await svc.store.latest_ticket(user.id)
    if ticket is None or not ticket.open or await svc.store.is_banned(user.id):
        return  # the bot answers it: a closed ticket reopens only by its button (on_ticket_button)
    now = svc.now()
    if context.user_data.hold == ticket.id:
        reply = message.reply_to_message
        if reply is None or await svc.store.ticket_of_message(message.chat_id, reply.message_id) != ticket.id:
            return  # on hold: the bot answers it (the hold notice said so)
        context.user_data.hold = None  # a reply to the agent's message goes to the agent, and so on
        await context.bot.send_message(user.id, t(context, "handoff.resumed", ticket.lang, id=ticket.id),
                                       reply_markup=end_markup(context, ticket.lang))
    if _service_message(message):
        raise ApplicationHandlerStop  # nothing an agent could read
    # No flood limit that drops: every message is queued and delivered at the pace the agents'
    # group allows (AIORateLimiter, 429 retry_after); the user hears only of what failed for good.
    await svc.store.enqueue(ticket.id, {"op": "copy", "from_chat": message.chat_id, "msg": message.message_id,
                                        "to_chat": svc.settings.support_chat_id, "thread": ticket.thread_id,
                                        "reply_card": not ticket.thread_id}, now,
                            dedup=f"copy:{message.chat_id}:{message.message_id}")
    await flush_outbox(context.application)
    raise ApplicationHandlerStop


async def hold_on_bot_action(update: Update, context: Context) -> None:
    """Group -2: a bot command or a bot button while a ticket is open means the user is back with
    the bot. The relay is put on hold (the ticket stays open, the agents' replies still arrive),
    and the user is told so once, with a button back to the agent: never a silent relay."""
    svc = services(context)
    chat, user, query, message = update.effective_chat, update.effective_user, update.callback_query, update.message
    if svc.settings.support_chat_id is None or chat is None or chat.type != "private" or user is None:
        return
    if query is not None:
        if NOT_A_BOT_ACTION.match(query.data or ""):
            return
    elif message is None or not _command(message) or _command(message) == "human":
        return
    data = context.user_data
    ticket = await svc.store.latest_ticket(user.id)
    if ticket is None or not ticket.open or data.hold == ticket.id:
        return
    data.hold = ticket.id
    lang = lang_of(update, context)
    rows = [[InlineKeyboardButton(t(context, "btn.back_to_agent", lang), callback_data="tk:resume")],
            [InlineKeyboardButton(t(context, "btn.end_ticket", lang), callback_data="tk:end")]]
    await context.bot.send_message(chat.id, t(context, "handoff.hold", lang, id=ticket.id),
                                   reply_markup=InlineKeyboardMarkup(rows))


def _command(message: Message) -> str:
    """The bot command a message starts with ("" for none), without /, @bot or arguments."""
    text = message.text or ""
    if not text.startswith("/") or not message.entities or message.entities[0].type != "bot_command":
        return ""
    return text[1:message.entities[0].length].split("@", 1)[0].lower()


SERVICE_FIELDS = ("message_auto_delete_timer_changed", "users_shared", "chat_shared", "write_access_allowed",
                  "pinned_message", "new_chat_members", "left_chat_member", "new_chat_title", "new_chat_photo",
                  "delete_chat_photo", "forum_topic_created", "forum_topic_edited", "forum_topic_closed",
                  "forum_topic_reopened", "general_forum_topic_hidden", "general_forum_topic_unhidden",
                  "video_chat_scheduled", "video_chat_started", "video_chat_ended",
                  "video_chat_participants_invited", "boost_added", "chat_background_set",
                  "proximity_alert_triggered", "connected_website", "giveaway_created", "successful_payment",
                  "refunded_payment")


def _service_message(message: Message) -> bool:
    """Service messages (timers, shared users, write access, …) cannot be copied: not relayed."""
    return any(getattr(message, name, None) for name in SERVICE_FIELDS)
