"""Hand-off to human customer service in an agents' group.

Every relay goes through the outbox table first and is marked sent only once Telegram accepted
it, so a network error, a 429 or a restart delays a message but never loses it. Replies route
by the bot's own table of message links, never by forward_from.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
import weakref
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, ReplyParameters, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application, ApplicationHandlerStop

from handlers.base.common import (
    Context,
    Services,
    keyboard,
    lang_of,
    renderer,
    retry_seconds,
    services,
    show,
    t,
)
from handlers.base.flow import (
    HUMAN,
    MENU,
    SEL,
    SEL_CASE,
    SEL_HANDLE,
    SEL_WH,
    action,
    current,
    way_back,
    way_back_of,
)
from helpcenter.answers.deadlines import Deadline, assess
from helpcenter.desk.hours import WorkingHours
from helpcenter.storage.store import OutboxItem, Ticket

log = logging.getLogger(__name__)

HANDOFF_ENTRY = "handoff-human"
RATINGS = ("1", "2", "3", "4", "5")
REOPEN_MINUTES = 30  # how long after an agent's /close the closed message's "Reopen" button works
HOLD = "handoff_hold"  # user_data: the open ticket whose relay a bot command or button put on hold
NOT_A_BOT_ACTION = re.compile(r"^(tk:|fb:|human$)")  # buttons that keep the conversation with the agent
MAX_BACKOFF = 300.0
CARD_MARK = re.compile(r"🎫 #(\d{1,12}) ")  # the first line of handoff_card.html.j2, as plain text
FLUSH_WAIT = 1.0  # seconds a handler waits for its relays to go out before it returns
AGENT_CACHE_SECONDS = 300.0  # how long a getChatMember answer (admin or not) is trusted
TICKETS_PER_PAGE = 25  # /tickets lines per message (Telegram's 4096 characters)
# The seller flow's screens, named for the agents' card by the label of the button that opens them.
SELLER_SCREENS = {SEL: "cmd.seller", SEL_WH: "btn.wh", SEL_HANDLE: "btn.handle", SEL_CASE: "btn.disputes"}


def _svc(app: Application) -> Services:
    return app.services  # type: ignore[attr-defined]


# --- opening a ticket -------------------------------------------------------------------------

@action(HUMAN)
async def request_human(update: Update, context: Context) -> None:
    """/human, the "talk to a human" button, or a question asking for a person."""
    svc = services(context)
    lang = lang_of(update, context)
    user = update.effective_user
    support = svc.settings.support_chat_id
    if support is None or user is None or await svc.store.is_banned(user.id):
        entry = svc.center.kb.by_id[HANDOFF_ENTRY]
        # Without agents only TikTok Shop's own customer service (the entry's last step) applies.
        await show(update, context, renderer(context).answer(entry, lang, show_related=False,
                                                             steps=(len(entry.texts[lang].steps),)),
                   keyboard([[way_back(context, lang)]]), edit=False)
        return
    if update.callback_query:
        await update.callback_query.answer()
    ticket = await svc.store.latest_ticket(user.id)
    end = [[InlineKeyboardButton(t(context, "btn.end_ticket", lang), callback_data="tk:end")]]
    context.user_data.pop(HOLD, None)  # /human (or its button): what they send goes to the agent
    if ticket is not None and ticket.open:
        if ticket.card_msg is None:  # a crash between opening and queueing the card: queue it now
            await _queue_card(context, ticket, ticket.thread_id)
        await context.bot.send_message(user.id, t(context, "handoff.already", lang, id=ticket.id),
                                       reply_markup=InlineKeyboardMarkup(end))
        return
    now = svc.now()
    name = " ".join(filter(None, [user.first_name, user.last_name])) or str(user.id)
    ticket = await svc.store.open_ticket(user.id, update.effective_chat.id, name, lang,
                                         context.user_data.get("role", "buyer"), now)
    thread_id = await _topic_for(context, ticket)
    if thread_id:
        await svc.store.update_ticket(ticket.id, now, thread_id=thread_id)
    await _queue_card(context, ticket, thread_id)
    text = t(context, "handoff.opened", lang, id=ticket.id)
    hours = WorkingHours.parse(svc.settings.support_hours, svc.settings.support_days)
    if hours is not None and not hours.is_open(now):
        text += "\n\n" + t(context, "handoff.offhours", lang, when=hours.next_open(now).strftime("%Y-%m-%d %H:%M"))
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
    try:
        async with _delivery(context.application).forum_lock:  # one getChat, not one per ticket
            if svc.support_is_forum is None:
                svc.support_is_forum = bool((await context.bot.get_chat(support)).is_forum)
        if svc.support_is_forum:
            topic = await context.bot.create_forum_topic(support, f"#{ticket.id} {ticket.user_name}"[:128])
            return topic.message_thread_id
    except TelegramError as exc:
        log.warning("forum topic for ticket %s failed, using replies instead: %s", ticket.id, exc)
    return None


def _context_card(context: Context, lang: str) -> dict[str, Any]:
    """Where the user was in a flow, what they answered (in the agents' language, with the
    deadline the user was shown), and what they last asked."""
    data = context.user_data
    r = renderer(context)
    kb = services(context).center.kb
    names = kb.glossary
    state = current(context)
    where = ""
    answers: list[tuple[str, str]] = []
    ret, ref = data.get("ret") or {}, data.get("ref") or {}
    if state.startswith("ret"):
        where = r.t("btn.return", lang) + " · " + r.t("step_of", lang, n=ret.get("step", 1),
                                                       total=len(kb.flow_steps()))
    elif state.startswith("ref"):
        where = r.t("btn.refund", lang)
    elif state in SELLER_SCREENS:
        where = r.t(SELLER_SCREENS[state], lang)
    elif state != MENU:
        where = state
    answers += [(r.t(f"field.{k}", lang), str(ret[k])) for k in ("order", "product", "reason", "contact",
                                                                   "carrier", "tracking") if ret.get(k)]
    for key, table in (("case", names.cases), ("variant", names.conditions), ("market", names.markets)):
        if ref.get(key):
            answers.append((r.t(f"card.{key}", lang), table.get(ref[key], {}).get(lang, str(ref[key]))))
    if ref.get("day"):
        answers.append((r.t("card.day", lang), str(ref["day"])))
        last = _acceptance_deadline(context, ref)
        if last is not None:
            key = "card.closed" if not last.open else "card.today" if last.days_left == 0 else "card.open"
            answers.append((r.t("card.deadline", lang), r.t(key, lang, date=last.last_day, n=last.days_left)))
    recent = [{"q": item["q"], "a": kb.by_id[item["a"]].texts[lang].title if item.get("a") in kb.by_id else None}
              for item in data.get("recent", [])]
    return {"where": where, "answers": answers, "recent": recent}


def _acceptance_deadline(context: Context, ref: dict) -> Deadline | None:
    """The last day to file that the refund result showed the user, computed the same way (days
    left are counted from now, when the agents read it)."""
    svc = services(context)
    rule = next((x for x in svc.center.kb.rules_for(ref.get("case", "")) if x.market == ref.get("market")), None)
    try:
        day = date.fromisoformat(str(ref["day"]))
    except ValueError:
        return None
    if rule is None:
        return None
    limits = assess(rule.limits, ref.get("variant"), day, svc.now())
    return next((lim.deadline for lim in limits if lim.kind == "acceptance" and lim.deadline), None)


# --- the user's side ----------------------------------------------------------------------------

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
    if context.user_data.get(HOLD) == ticket.id:
        reply = message.reply_to_message
        if reply is None or await svc.store.ticket_of_message(message.chat_id, reply.message_id) != ticket.id:
            return  # on hold: the bot answers it (the hold notice said so)
        context.user_data.pop(HOLD, None)  # a reply to the agent's message goes to the agent, and so on
        await context.bot.send_message(user.id, t(context, "handoff.resumed", ticket.lang, id=ticket.id),
                                       reply_markup=_end_markup(context, ticket.lang))
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
    if data is None or ticket is None or not ticket.open or data.get(HOLD) == ticket.id:
        return
    data[HOLD] = ticket.id
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


def _end_markup(context: Context, lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(t(context, "btn.end_ticket", lang), callback_data="tk:end")]])


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
    parts = query.data.split(":")
    user = update.effective_user
    lang = lang_of(update, context)
    await query.answer()
    if parts[1] in ("end", "resume"):
        ticket = await svc.store.latest_ticket(user.id)
        await query.edit_message_reply_markup(None)
        context.user_data.pop(HOLD, None)
        if ticket is None or not ticket.open:  # an old button: say where the user is, never nothing
            await _tell(context, user.id, t(context, "handoff.not_open", lang, id=ticket.id if ticket else "?"),
                        [[way_back(context, lang)]])
        elif parts[1] == "end":
            await _close(context, ticket, by_user=True, key=f"end:{update.update_id}")
            await _tell(context, user.id, t(context, "handoff.ended", lang, id=ticket.id), [[way_back(context, lang)]])
        else:
            await context.bot.send_message(user.id, t(context, "handoff.resumed", lang, id=ticket.id),
                                           reply_markup=_end_markup(context, lang))
        return
    ticket = None
    if len(parts) >= 3 and parts[2].isdigit() and len(parts[2]) <= 12:
        ticket = await svc.store.ticket(int(parts[2]))
    if ticket is None or ticket.user_id != user.id:
        log.info("ignored a ticket button that is not the user's: %r", query.data[:80])
        return
    if parts[1] == "reopen" and len(parts) == 3:
        await _reopen(update, context, ticket, lang)
    elif parts[1] == "rate" and len(parts) == 4 and parts[3] in RATINGS and ticket.rating is None:
        await svc.store.update_ticket(ticket.id, svc.now(), rating=int(parts[3]))
        reopen = await _can_reopen(context, ticket)
        await query.edit_message_reply_markup(_closed_markup(context, ticket, lang, stars=False, reopen=reopen,
                                                             data=context.user_data))
        await context.bot.send_message(user.id, t(context, "handoff.thanks", lang))
        await _to_agents(context, ticket, t(context, "agent.rated", svc.settings.support_lang,
                                            id=ticket.id, n=parts[3]), f"rated:{ticket.id}")
    else:
        log.info("ignored a malformed ticket button: %r", query.data[:80])


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
                                       reply_markup=_end_markup(context, lang))
        return
    if not await _can_reopen(context, ticket):
        await query.edit_message_reply_markup(_closed_markup(context, ticket, lang, stars=ticket.rating is None,
                                                             reopen=False, data=context.user_data))
        await _tell(context, ticket.chat_id, t(context, "handoff.reopen_expired", lang, id=ticket.id,
                                               minutes=REOPEN_MINUTES), [[way_back(context, lang)]])
        return
    await svc.store.update_ticket(ticket.id, svc.now(), status="open")
    context.user_data.pop(HOLD, None)
    await query.edit_message_reply_markup(None)
    await context.bot.send_message(ticket.chat_id, t(context, "handoff.reopened", lang, id=ticket.id),
                                   reply_markup=_end_markup(context, lang))
    await _to_agents(context, ticket, t(context, "agent.reopened", svc.settings.support_lang, id=ticket.id),
                     f"reopened:{update.update_id}")


def _closed_markup(context: Context, ticket: Ticket, lang: str, stars: bool, reopen: bool,
                   data: dict | None) -> InlineKeyboardMarkup:
    """The closed message's buttons: the rating, "Reopen" while it can, and the way back."""
    rows = _closed_rows(context, ticket, lang, stars, reopen, data)
    return InlineKeyboardMarkup([[InlineKeyboardButton(b["text"], callback_data=b["callback_data"]) for b in row]
                                 for row in rows])


def _closed_rows(context: Context, ticket: Ticket, lang: str, stars: bool, reopen: bool,
                 data: dict | None) -> list[list[dict[str, str]]]:
    rows = []
    if stars:
        rows.append([{"text": "⭐" * n, "callback_data": f"tk:rate:{ticket.id}:{n}"} for n in range(1, 6)])
    if reopen:
        rows.append([{"text": t(context, "btn.reopen", lang, id=ticket.id), "callback_data": f"tk:reopen:{ticket.id}"}])
    key, back = way_back_of(data)
    rows.append([{"text": t(context, key, lang), "callback_data": back}])
    return rows


# --- the agents' side ---------------------------------------------------------------------------

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


def agents_only(handler: Callable[[Update, Context], Awaitable[None]]) -> Callable[[Update, Context], Awaitable[None]]:
    """Agents' commands: anyone else in the group gets a clear refusal and nothing happens."""
    @functools.wraps(handler)
    async def guarded(update: Update, context: Context) -> None:
        if not await is_agent(context, update.effective_message):
            await _agent_notice(context, update.effective_message, "agent.not_agent")
            return
        await handler(update, context)
    return guarded

async def _ticket_for(context: Context, message: Message) -> Ticket | None:
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


def _answers_the_bot(context: Context, message: Message) -> bool:
    """A reply (to a message that may be the bot's) or a message inside a forum topic."""
    reply = message.reply_to_message
    if message.is_topic_message and message.message_thread_id:
        return True
    return reply is not None and (reply.from_user is None or reply.from_user.id == context.bot.id)


async def _agent_notice(context: Context, message: Message, key: str, **values: Any) -> None:
    lang = services(context).settings.support_lang
    await message.reply_text(t(context, key, lang, **values))


async def from_agent(update: Update, context: Context) -> None:
    """An agent's message in a ticket's topic, or a reply to a ticket's message: relay it."""
    svc = services(context)
    message = update.effective_message
    ticket = await _ticket_for(context, message)
    if ticket is None and _answers_the_bot(context, message):
        # The card (or a relay) it answers may still be on its way: Telegram has it, but our link
        # is stored only when the send returns. Wait for deliveries in flight, then look again.
        async with _in_flight(context.application, message.chat_id):
            pass
        ticket = await _ticket_for(context, message)
    if ticket is None:
        reply = message.reply_to_message
        if reply is not None and reply.from_user is not None and reply.from_user.id == context.bot.id:
            await _agent_notice(context, message, "agent.not_linked")  # e.g. the user ran /forget
            raise ApplicationHandlerStop
        return  # agents talking among themselves
    if not await is_agent(context, message):
        await _agent_notice(context, message, "agent.not_agent")
    elif await svc.store.is_banned(ticket.user_id):
        await _agent_notice(context, message, "agent.not_sent_banned")
    elif not ticket.open:
        await _agent_notice(context, message, "agent.not_sent_closed", id=ticket.id)
    else:
        payload = {"op": "copy", "from_chat": message.chat_id, "msg": message.message_id,
                   "to_chat": ticket.chat_id, "to_user": True}
        if (context.application.user_data.get(ticket.user_id) or {}).get(HOLD) == ticket.id:
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
    ticket = await _ticket_for(context, update.effective_message)
    if ticket is None or not ticket.open:
        await _agent_notice(context, update.effective_message, "agent.no_ticket")
        return
    await _close(context, ticket, by_user=False, key=f"close:{update.update_id}")
    await _agent_notice(context, update.effective_message, "agent.closed", id=ticket.id)


async def _close(context: Context, ticket: Ticket, by_user: bool, key: str) -> None:
    svc = services(context)
    await svc.store.update_ticket(ticket.id, svc.now(), status="closed")
    if by_user:
        await _to_agents(context, ticket, t(context, "agent.user_ended", svc.settings.support_lang, id=ticket.id),
                         key)
        return
    # The user's data is read, not changed, from the agent's update: only for the way back.
    rows = _closed_rows(context, ticket, ticket.lang, stars=True, reopen=True,
                        data=context.application.user_data.get(ticket.user_id))
    await svc.store.enqueue(ticket.id, {"op": "send", "to_chat": ticket.chat_id, "to_user": True,
                                        "text": t(context, "handoff.closed", ticket.lang, id=ticket.id,
                                                  minutes=REOPEN_MINUTES), "buttons": rows}, svc.now(),
                            dedup=key)
    await flush_outbox(context.application)


@agents_only
async def tickets_command(update: Update, context: Context) -> None:
    """Open tickets, TICKETS_PER_PAGE a message; /tickets 2 for the next page."""
    svc = services(context)
    lang = svc.settings.support_lang
    tickets = await svc.store.open_tickets()
    if not tickets:
        await update.effective_message.reply_text(t(context, "agent.no_tickets", lang))
        return
    pages = (len(tickets) + TICKETS_PER_PAGE - 1) // TICKETS_PER_PAGE
    arg = context.args[0] if context.args else "1"
    page = min(max(int(arg), 1), pages) if arg.isdigit() and len(arg) < 6 else 1
    lines = [t(context, "agent.tickets", lang)]
    lines += [f"#{tk.id} · {tk.user_name} · {tk.user_id} · {tk.lang} · {tk.created_at:%Y-%m-%d %H:%M}"
              for tk in tickets[(page - 1) * TICKETS_PER_PAGE:page * TICKETS_PER_PAGE]]
    if pages > 1:
        lines.append(t(context, "agent.tickets_more", lang, page=page, pages=pages, next=page % pages + 1))
    await update.effective_message.reply_text("\n".join(lines)[:4096])


@agents_only
async def ban_command(update: Update, context: Context) -> None:
    svc = services(context)
    ticket = await _ticket_for(context, update.effective_message)
    if ticket is None:
        await _agent_notice(context, update.effective_message, "agent.no_ticket")
        return
    await svc.store.ban(ticket.user_id, svc.now())
    if ticket.open:
        await svc.store.update_ticket(ticket.id, svc.now(), status="closed")
    await _agent_notice(context, update.effective_message, "agent.banned", user=ticket.user_id)


@agents_only
async def unban_command(update: Update, context: Context) -> None:
    svc = services(context)
    arg = context.args[0] if context.args else ""
    user_id = int(arg) if arg.isdigit() and len(arg) <= 15 else None
    if user_id is None:
        ticket = await _ticket_for(context, update.effective_message)
        user_id = ticket.user_id if ticket else None
    if user_id is None:
        await _agent_notice(context, update.effective_message, "agent.unban_usage")
        return
    await svc.store.unban(user_id)
    await _agent_notice(context, update.effective_message, "agent.unbanned", user=user_id)


async def _to_agents(context: Context, ticket: Ticket, text: str, key: str) -> None:
    """A notice for the agents, queued once per key (the update that caused it)."""
    svc = services(context)
    await svc.store.enqueue(ticket.id, {"op": "send", "to_chat": svc.settings.support_chat_id,
                                        "thread": ticket.thread_id, "text": text}, svc.now(), dedup=key)
    await flush_outbox(context.application)


# --- delivery -----------------------------------------------------------------------------------

class _Delivery:
    """One worker per destination chat: relays to one chat go in order, and a chat that must wait
    (the agents' group at its 20 a minute, a 429, an outage) holds up no other chat."""

    def __init__(self) -> None:
        self.workers: dict[int, asyncio.Task] = {}
        self.again: set[int] = set()  # destinations with work queued while their worker ran
        self.sending: dict[int, asyncio.Lock] = {}  # held while a relay to that chat is in flight
        self.forum_lock = asyncio.Lock()  # the agents' group is asked once whether it is a forum


_deliveries: weakref.WeakKeyDictionary[Application, _Delivery] = weakref.WeakKeyDictionary()


def _delivery(app: Application) -> _Delivery:
    if app not in _deliveries:
        _deliveries[app] = _Delivery()
    return _deliveries[app]


def _in_flight(app: Application, chat_id: int) -> asyncio.Lock:
    return _delivery(app).sending.setdefault(chat_id, asyncio.Lock())


def _destination(item: OutboxItem) -> int:
    return int(item.payload.get("to_chat") or item.payload.get("chat") or 0)


async def flush_outbox(app: Application, wait: float = FLUSH_WAIT) -> None:
    """Start (or nudge) a worker for every chat that has relays waiting, and give them up to
    `wait` seconds: usually the relay is out before the handler returns, but a chat that has to
    wait for its budget does not hold up the update (nor the sender's next one)."""
    delivery = _delivery(app)
    for chat_id in {_destination(i) for i in await _svc(app).store.pending_outbox()}:
        worker = delivery.workers.get(chat_id)
        if worker is None or worker.done():
            delivery.workers[chat_id] = asyncio.get_running_loop().create_task(
                _drain(app, chat_id), name=f"outbox:{chat_id}")
        else:
            delivery.again.add(chat_id)
    deadline = asyncio.get_running_loop().time() + wait
    while (left := deadline - asyncio.get_running_loop().time()) > 0:  # notices start new workers
        running = [w for w in delivery.workers.values() if w is not asyncio.current_task() and not w.done()]
        if not running:
            break
        await asyncio.wait(running, timeout=left)


async def _drain(app: Application, chat_id: int) -> None:
    """Deliver one chat's relays in order; wait and retry on a transient failure."""
    svc, delivery = _svc(app), _delivery(app)
    try:
        while True:
            delivery.again.discard(chat_id)
            items = [i for i in await svc.store.pending_outbox() if _destination(i) == chat_id]
            if not items:
                if chat_id in delivery.again:
                    continue
                return
            for item in items:
                async with _in_flight(app, chat_id):
                    delay = await _deliver(app, item)
                if delay is not None:
                    await asyncio.sleep(delay)
                    break
            notices = {_destination(i) for i in await svc.store.pending_outbox()} - {chat_id}
            if notices:  # failure notices queued for other chats
                await flush_outbox(app, wait=0)
    except asyncio.CancelledError:
        raise
    except Exception:  # the store went away (shut-down) or a bug: the next flush starts again
        log.exception("delivery to chat %s stopped", chat_id)
    finally:
        if delivery.workers.get(chat_id) is asyncio.current_task():
            del delivery.workers[chat_id]


async def stop_delivery(app: Application) -> None:
    """At shut-down: stop the workers; what they had not sent stays in the outbox."""
    workers = list(_delivery(app).workers.values())
    for worker in workers:
        worker.cancel()
    await asyncio.gather(*workers, return_exceptions=True)


async def flush_job(context: Context) -> None:
    await flush_outbox(context.application)


async def _deliver(app: Application, item: OutboxItem) -> float | None:
    """Send one relay; None when done (sent or failed for good), else seconds until a retry."""
    svc = _svc(app)
    p = item.payload
    bot = app.bot
    await svc.store.start_sending(item.id)  # a crash from here to "sent" may deliver it twice
    try:
        if p["op"] == "copy":
            reply_to = p.get("reply_to")
            if p.get("reply_card"):  # the card's id is known only once the card was sent
                ticket = await svc.store.ticket(item.ticket_id)
                reply_to = ticket.card_msg if ticket else None
            reply = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
            sent = await bot.copy_message(p["to_chat"], p["from_chat"], p["msg"], message_thread_id=p.get("thread"),
                                          reply_parameters=reply, reply_markup=_markup(p))
            await svc.store.link(item.ticket_id, p["from_chat"], p["msg"], p["to_chat"], sent.message_id)
        elif p["op"] == "send":
            markup = _markup(p)
            reply = (ReplyParameters(p["reply_to"], allow_sending_without_reply=True) if p.get("reply_to")
                     else None)
            sent = await bot.send_message(p["to_chat"], p["text"], parse_mode=ParseMode.HTML,
                                          message_thread_id=p.get("thread"), reply_markup=markup,
                                          reply_parameters=reply)
            if p.get("card"):
                await svc.store.link(item.ticket_id, p["from_chat"], 0, p["to_chat"], sent.message_id)
                await svc.store.update_ticket(item.ticket_id, svc.now(), card_msg=sent.message_id)
        elif p["op"] == "edit":
            if "text" in p:
                await bot.edit_message_text(p["text"], p["chat"], p["msg"], parse_mode=ParseMode.HTML)
            else:
                await bot.edit_message_caption(p["chat"], p["msg"], caption=p["caption"], parse_mode=ParseMode.HTML)
    except RetryAfter as exc:
        wait = retry_seconds(exc)
        await svc.store.mark_outbox(item.id, "pending", f"retry after {wait}s")
        return wait
    except Forbidden as exc:
        await _failed(app, item, str(exc))
        return None
    except BadRequest as exc:
        if "not modified" in str(exc).lower():
            await svc.store.mark_outbox(item.id, "sent")
            return None
        await _failed(app, item, str(exc))
        return None
    except NetworkError as exc:  # timeouts, 5xx, connection errors: try again later
        await svc.store.mark_outbox(item.id, "pending", str(exc))
        return min(MAX_BACKOFF, 2.0 ** (item.attempts + 1) / 4)
    await svc.store.mark_outbox(item.id, "sent")
    return None


def _markup(payload: dict) -> InlineKeyboardMarkup | None:
    rows = payload.get("buttons")
    return InlineKeyboardMarkup([[InlineKeyboardButton(b["text"], callback_data=b["callback_data"]) for b in row]
                                 for row in rows]) if rows else None


async def _failed(app: Application, item: OutboxItem, error: str) -> None:
    """A relay that cannot be delivered (e.g. the user blocked the bot): tell the agents."""
    svc = _svc(app)
    await svc.store.mark_outbox(item.id, "failed", error)
    log.warning("relay %s for ticket %s failed for good: %s", item.id, item.ticket_id, error)
    ticket = await svc.store.ticket(item.ticket_id)
    if item.payload.get("to_user") and svc.settings.support_chat_id is not None:
        text = svc.center.renderer.t("agent.failed", svc.settings.support_lang, id=item.ticket_id, error=error)
        await svc.store.enqueue(item.ticket_id, {"op": "send", "to_chat": svc.settings.support_chat_id,
                                                 "thread": ticket.thread_id if ticket else None,
                                                 "text": text}, svc.now(), dedup=f"failed:{item.id}")
    elif item.payload.get("op") == "copy" and ticket is not None:  # the user's message did not reach agents
        text = svc.center.renderer.t("handoff.not_delivered", ticket.lang)
        await svc.store.enqueue(item.ticket_id, {"op": "send", "to_chat": ticket.chat_id, "to_user": True,
                                                 "reply_to": item.payload["msg"], "text": text}, svc.now(),
                                dedup=f"failed:{item.id}")
