"""Hand-off to human customer service in an agents' group.

Every relay goes through the outbox table first and is marked sent only once Telegram accepted
it, so a network error, a 429 or a restart delays a message but never loses it. Replies route
by the bot's own table of message links, never by forward_from.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, ReplyParameters, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application, ApplicationHandlerStop

from helpcenter.deadlines import Deadline, assess
from helpcenter.hours import WorkingHours
from helpcenter.store import OutboxItem, Ticket

from .common import Context, Services, keyboard, lang_of, renderer, retry_seconds, services, show, t
from .flow import MENU, SEL, SEL_CASE, SEL_HANDLE, SEL_WH, current, way_back

log = logging.getLogger(__name__)

HANDOFF_ENTRY = "handoff-human"
REOPEN_MINUTES = 30  # a user message this soon after closing reopens the ticket
MAX_BACKOFF = 300.0
# The seller flow's screens, named for the agents' card by the label of the button that opens them.
SELLER_SCREENS = {SEL: "cmd.seller", SEL_WH: "btn.wh", SEL_HANDLE: "btn.handle", SEL_CASE: "btn.disputes"}


def _svc(app: Application) -> Services:
    return app.services  # type: ignore[attr-defined]


# --- opening a ticket -------------------------------------------------------------------------

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
    if ticket is not None and ticket.open:
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
    card = renderer(context).render("handoff_card.html.j2", svc.settings.support_lang, ticket=ticket,
                                    **_context_card(context, svc.settings.support_lang))
    take = [[{"text": t(context, "desk.btn.take", svc.settings.support_lang),  # agents' desk: claim button
              "callback_data": f"dk:take:{ticket.id}"}]]
    await svc.store.enqueue(ticket.id, {"op": "send", "to_chat": support, "thread": thread_id, "text": card,
                                        "card": True, "from_chat": user.id, "buttons": take}, now)
    text = t(context, "handoff.opened", lang, id=ticket.id)
    hours = WorkingHours.parse(svc.settings.support_hours, svc.settings.support_days)
    if hours is not None and not hours.is_open(now):
        text += "\n\n" + t(context, "handoff.offhours", lang, when=hours.next_open(now).strftime("%Y-%m-%d %H:%M"))
    await context.bot.send_message(user.id, text, reply_markup=InlineKeyboardMarkup(end))
    await flush_outbox(context.application)


async def _topic_for(context: Context, ticket: Ticket) -> int | None:
    """A forum topic of its own when the agents' group is a forum; None otherwise."""
    svc = services(context)
    support = svc.settings.support_chat_id
    try:
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
    if ticket is None or await svc.store.is_banned(user.id):
        return
    now = svc.now()
    if not ticket.open:
        if ticket.closed_at is None or now - ticket.closed_at > timedelta(minutes=REOPEN_MINUTES):
            return
        await svc.store.update_ticket(ticket.id, now, status="open")
        await context.bot.send_message(user.id, t(context, "handoff.reopened", ticket.lang, id=ticket.id))
        await _to_agents(context, ticket, t(context, "agent.reopened", svc.settings.support_lang, id=ticket.id))
    if not svc.limiter.allow(user.id):
        if not context.user_data.get("slowed"):
            context.user_data["slowed"] = True
            await context.bot.send_message(user.id, t(context, "handoff.slow", ticket.lang))
        raise ApplicationHandlerStop
    context.user_data["slowed"] = False
    await svc.store.enqueue(ticket.id, {"op": "copy", "from_chat": message.chat_id, "msg": message.message_id,
                                        "to_chat": svc.settings.support_chat_id, "thread": ticket.thread_id,
                                        "reply_to": None if ticket.thread_id else ticket.card_msg}, now)
    await flush_outbox(context.application)
    raise ApplicationHandlerStop


async def on_ticket_button(update: Update, context: Context) -> None:
    """tk:end (the user ends it) and tk:rate:<ticket>:<1-5>."""
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
    if parts[1] == "end":
        ticket = await svc.store.latest_ticket(user.id)
        if ticket is not None and ticket.open:
            await _close(context, ticket, by_user=True)
            await query.edit_message_reply_markup(None)
            await context.bot.send_message(user.id, t(context, "handoff.ended", lang, id=ticket.id))
        return
    if parts[1] == "rate" and len(parts) == 4 and parts[2].isdigit() and parts[3] in "12345":
        ticket = await svc.store.ticket(int(parts[2]))
        if ticket is not None and ticket.user_id == user.id and ticket.rating is None:
            await svc.store.update_ticket(ticket.id, svc.now(), rating=int(parts[3]))
            await query.edit_message_reply_markup(None)
            await context.bot.send_message(user.id, t(context, "handoff.thanks", lang))
            await _to_agents(context, ticket, t(context, "agent.rated", svc.settings.support_lang,
                                                id=ticket.id, n=parts[3]))


# --- the agents' side ---------------------------------------------------------------------------

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
    return None


async def _agent_notice(context: Context, message: Message, key: str, **values: Any) -> None:
    lang = services(context).settings.support_lang
    await message.reply_text(t(context, key, lang, **values))


async def from_agent(update: Update, context: Context) -> None:
    """An agent's message in a ticket's topic, or a reply to a ticket's message: relay it."""
    svc = services(context)
    message = update.effective_message
    ticket = await _ticket_for(context, message)
    if ticket is None:
        return  # agents talking among themselves
    if await svc.store.is_banned(ticket.user_id):
        await _agent_notice(context, message, "agent.not_sent_banned")
    elif not ticket.open:
        await _agent_notice(context, message, "agent.not_sent_closed", id=ticket.id)
    else:
        await svc.store.enqueue(ticket.id, {"op": "copy", "from_chat": message.chat_id, "msg": message.message_id,
                                            "to_chat": ticket.chat_id, "to_user": True}, svc.now())
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
    for to_chat, to_msg in await svc.store.copies_of(message.chat_id, message.message_id):
        payload = {"op": "edit", "chat": to_chat, "msg": to_msg,
                   "to_user": to_chat != svc.settings.support_chat_id}
        if message.text is not None:
            payload["text"] = message.text_html
        else:
            payload["caption"] = message.caption_html or ""
        await svc.store.enqueue(ticket_id, payload, svc.now())
    await flush_outbox(context.application)
    raise ApplicationHandlerStop


async def close_command(update: Update, context: Context) -> None:
    ticket = await _ticket_for(context, update.effective_message)
    if ticket is None or not ticket.open:
        await _agent_notice(context, update.effective_message, "agent.no_ticket")
        return
    await _close(context, ticket, by_user=False)
    await _agent_notice(context, update.effective_message, "agent.closed", id=ticket.id)


async def _close(context: Context, ticket: Ticket, by_user: bool) -> None:
    svc = services(context)
    await svc.store.update_ticket(ticket.id, svc.now(), status="closed")
    if by_user:
        await _to_agents(context, ticket, t(context, "agent.user_ended", svc.settings.support_lang, id=ticket.id))
        return
    stars = [[{"text": "⭐" * n, "callback_data": f"tk:rate:{ticket.id}:{n}"} for n in range(1, 6)]]
    await svc.store.enqueue(ticket.id, {"op": "send", "to_chat": ticket.chat_id, "to_user": True,
                                        "text": t(context, "handoff.closed", ticket.lang, id=ticket.id,
                                                  minutes=REOPEN_MINUTES), "buttons": stars}, svc.now())
    await flush_outbox(context.application)


async def tickets_command(update: Update, context: Context) -> None:
    svc = services(context)
    lang = svc.settings.support_lang
    tickets = await svc.store.open_tickets()
    if not tickets:
        await update.effective_message.reply_text(t(context, "agent.no_tickets", lang))
        return
    lines = [t(context, "agent.tickets", lang)]
    lines += [f"#{tk.id} · {tk.user_name} · {tk.user_id} · {tk.lang} · {tk.created_at:%Y-%m-%d %H:%M}"
              for tk in tickets]
    await update.effective_message.reply_text("\n".join(lines))


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


async def unban_command(update: Update, context: Context) -> None:
    svc = services(context)
    user_id = int(context.args[0]) if context.args and context.args[0].isdigit() else None
    if user_id is None:
        ticket = await _ticket_for(context, update.effective_message)
        user_id = ticket.user_id if ticket else None
    if user_id is None:
        await _agent_notice(context, update.effective_message, "agent.unban_usage")
        return
    await svc.store.unban(user_id)
    await _agent_notice(context, update.effective_message, "agent.unbanned", user=user_id)


async def _to_agents(context: Context, ticket: Ticket, text: str) -> None:
    svc = services(context)
    await svc.store.enqueue(ticket.id, {"op": "send", "to_chat": svc.settings.support_chat_id,
                                        "thread": ticket.thread_id, "text": text}, svc.now())
    await flush_outbox(context.application)


# --- delivery -----------------------------------------------------------------------------------

async def flush_outbox(app: Application) -> None:
    """Deliver pending relays in order. A transient failure stops that ticket's queue (so order
    holds) and schedules another flush; a permanent one is reported to the agents."""
    svc = _svc(app)
    async with svc.outbox_lock:
        blocked: set[int] = set()
        retry_in: float | None = None
        done: set[int] = set()
        while True:  # again, for what delivery itself queued (failure notices)
            items = [i for i in await svc.store.pending_outbox() if i.ticket_id not in blocked and i.id not in done]
            if not items:
                break
            for item in items:
                if item.ticket_id in blocked:
                    continue
                done.add(item.id)
                delay = await _deliver(app, item)
                if delay is not None:
                    blocked.add(item.ticket_id)
                    retry_in = delay if retry_in is None else min(retry_in, delay)
    if retry_in is not None and app.job_queue is not None:
        app.job_queue.run_once(flush_job, when=retry_in, name="outbox-retry")


async def flush_job(context: Context) -> None:
    await flush_outbox(context.application)


async def _deliver(app: Application, item: OutboxItem) -> float | None:
    """Send one relay; None when done (sent or failed for good), else seconds until a retry."""
    svc = _svc(app)
    p = item.payload
    bot = app.bot
    try:
        if p["op"] == "copy":
            reply = (ReplyParameters(p["reply_to"], allow_sending_without_reply=True) if p.get("reply_to")
                     else None)
            sent = await bot.copy_message(p["to_chat"], p["from_chat"], p["msg"], message_thread_id=p.get("thread"),
                                          reply_parameters=reply)
            await svc.store.link(item.ticket_id, p["from_chat"], p["msg"], p["to_chat"], sent.message_id)
        elif p["op"] == "send":
            markup = InlineKeyboardMarkup([[InlineKeyboardButton(b["text"], callback_data=b["callback_data"])
                                            for b in row] for row in p["buttons"]]) if p.get("buttons") else None
            sent = await bot.send_message(p["to_chat"], p["text"], parse_mode=ParseMode.HTML,
                                          message_thread_id=p.get("thread"), reply_markup=markup)
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


async def _failed(app: Application, item: OutboxItem, error: str) -> None:
    """A relay that cannot be delivered (e.g. the user blocked the bot): tell the agents."""
    svc = _svc(app)
    await svc.store.mark_outbox(item.id, "failed", error)
    log.warning("relay %s for ticket %s failed for good: %s", item.id, item.ticket_id, error)
    if item.payload.get("to_user") and svc.settings.support_chat_id is not None:
        ticket = await svc.store.ticket(item.ticket_id)
        text = svc.center.renderer.t("agent.failed", svc.settings.support_lang, id=item.ticket_id, error=error)
        await svc.store.enqueue(item.ticket_id, {"op": "send", "to_chat": svc.settings.support_chat_id,
                                                 "thread": ticket.thread_id if ticket else None,
                                                 "text": text}, svc.now())
