"""The agents' desk in the agents' group: take a ticket (and the SLA nagging when nobody does),
internal notes, the transcript, answers from the knowledge base, teaching the bot a phrasing,
and the service figures.

It sits beside handoff.py rather than in it: it watches the same messages one handler group
earlier (-2) to keep each ticket's history, stops only `//` notes (so they are never relayed),
and keeps its own records in helpcenter/desk.py.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationHandlerStop

from helpcenter.core import guess_lang
from helpcenter.desk import Desk
from helpcenter.hours import WorkingHours
from helpcenter.render import escape
from helpcenter.service_stats import service_block, working_minutes
from helpcenter.store import Ticket
from helpcenter.taught import mask, without_placeholders

from .common import Context, Services, off_loop, services, t, with_retry

log = logging.getLogger(__name__)

SLA_CHECK_SECONDS = 30  # how often the SLA clock is read
STATS_DAYS = 7
PREVIEW = 60  # characters of an entry shown by /kb
KB_SHOWN = 3


def _svc(app: Application) -> Services:
    return app.services  # type: ignore[attr-defined]


def _desk(svc: Services) -> Desk:
    assert svc.desk is not None, "the desk opens with the store"
    return svc.desk


def _lang(svc: Services) -> str:
    return svc.settings.support_lang


def _name(user: Any) -> str:
    return " ".join(filter(None, [user.first_name, user.last_name])) or str(user.id)


def _number(text: str) -> int | None:
    """A ticket or row number from a button or an argument; None for anything SQLite cannot hold."""
    text = text.lstrip("#")
    return int(text) if text.isdigit() and len(text) <= 18 else None


async def _agent(context: Context, message: Message | None, user: Any = None) -> bool:
    """The agents-only rule for the person behind a message (or who pressed a button on it)."""
    check = services(context).is_agent
    if check is None or message is None:
        return check is None
    if user is not None:  # a button: the presser, not the bot that wrote the message
        message = Message(message.message_id, message.date, message.chat, from_user=user)
    return await check(context, message)


async def _refuse(update: Update, context: Context) -> bool:
    """True (and a refusal said) when someone who is not an agent tries an agents' command."""
    if await _agent(context, update.effective_message):
        return False
    await update.effective_message.reply_text(t(context, "desk.not_agent", _lang(services(context))))
    return True


async def _ticket_for(context: Context, message: Message) -> Ticket | None:
    """The ticket a group message belongs to: its forum topic, or the ticket message it replies to."""
    store = services(context).store
    if message.is_topic_message and message.message_thread_id:
        ticket = await store.ticket_by_thread(message.message_thread_id)
        if ticket is not None:
            return ticket
    reply = message.reply_to_message
    if reply is not None and not reply.forum_topic_created:
        ticket_id = await store.ticket_of_message(message.chat_id, reply.message_id)
        if ticket_id is not None:
            return await store.ticket(ticket_id)
    return None


async def _ensure(app: Application, ticket: Ticket) -> None:
    """First sighting of a ticket: keep the bot's answers that came before the hand-off."""
    svc = _svc(app)
    data = app.user_data.get(ticket.user_id) or {}
    before: list[tuple[str, str]] = []
    for item in data.get("recent", []):
        entry = svc.center.kb.by_id.get(item.get("a") or "")
        before += [("bot_q", str(item.get("q", ""))), ("bot_a", entry.texts[ticket.lang].title if entry else "—")]
    await _desk(svc).ensure(ticket.id, ticket.user_id, svc.now(), before)


def _source(message: Message) -> str:
    return f"{message.chat_id}:{message.message_id}"


def _content(context: Context, message: Message) -> str:
    """What the transcript shows of a message: its text, or its kind of attachment and caption."""
    if message.text is not None:
        return message.text
    attachment = message.effective_attachment
    kind = type(attachment[0] if isinstance(attachment, tuple) and attachment else attachment).__name__.lower()
    kind = {"photosize": "photo"}.get(kind, kind) if attachment else "message"
    label = t(context, "desk.media", _lang(services(context)), kind=kind)
    return f"{label} {message.caption}" if message.caption else label


async def _post(app: Application, ticket: Ticket, text: str,
                markup: InlineKeyboardMarkup | None = None) -> Message:
    """A desk notice where the ticket lives: its topic, or as a reply to its card."""
    svc = _svc(app)
    reply = (ReplyParameters(ticket.card_msg, allow_sending_without_reply=True)
             if ticket.card_msg and not ticket.thread_id else None)
    return await with_retry(lambda: app.bot.send_message(
        svc.settings.support_chat_id, text, parse_mode=ParseMode.HTML, message_thread_id=ticket.thread_id,
        reply_parameters=reply, reply_markup=markup))


def _take_row(svc: Services, ticket_id: int, holder: str | None) -> InlineKeyboardMarkup:
    r = svc.center.renderer
    label = (r.t("desk.btn.take_over", _lang(svc), name=holder) if holder else r.t("desk.btn.take", _lang(svc)))
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=f"dk:take:{ticket_id}")]])


# --- what customers and agents say: the history ----------------------------------------------

async def on_private_message(update: Update, context: Context, hold_key: str = "") -> None:
    """Group -3, before the relay: keep in its history what a customer sends to an open ticket,
    as handoff relays it (not while the relay is on hold, user_data[hold_key], unless it replies
    to one of the ticket's messages)."""
    svc = services(context)
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or not (message.text or message.caption or message.effective_attachment):
        return  # service messages are not relayed either
    ticket = await svc.store.latest_ticket(user.id)
    if ticket is None or not ticket.open:
        return
    if hold_key and (context.user_data or {}).get(hold_key) == ticket.id:
        reply = message.reply_to_message
        if reply is None or await svc.store.ticket_of_message(message.chat_id, reply.message_id) != ticket.id:
            return  # on hold: the bot answers it
    await _ensure(context.application, ticket)
    await _reopened(svc, ticket)
    await _desk(svc).record(ticket.id, ticket.user_id, "user", svc.now(), _content(context, message),
                            ticket.user_name, source=_source(message))


async def _reopened(svc: Services, ticket: Ticket) -> None:
    """An open ticket whose history ends closed was reopened (by the customer's button)."""
    if ticket.open and await _desk(svc).last_of(ticket.id, ("close", "reopen")) == "close":
        await _desk(svc).record(ticket.id, ticket.user_id, "reopen", svc.now())


async def on_group_message(update: Update, context: Context) -> None:
    """Group -3 in the agents' group: a `//` note is kept and stopped here (never relayed); an
    agent's answer in a ticket is recorded, and the first one takes an untaken ticket."""
    svc = services(context)
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or user.is_bot:
        return
    if not await _agent(context, message):
        return  # not an agent: handoff refuses them, the history does not keep it
    text = message.text or message.caption or ""
    ticket = await _ticket_for(context, message)
    desk, now = _desk(svc), svc.now()
    if text.startswith(svc.settings.note_prefix):
        if ticket is None:
            await message.reply_text(t(context, "desk.note_nowhere", _lang(svc)))
        else:
            await _ensure(context.application, ticket)
            note = text[len(svc.settings.note_prefix):].strip()
            await desk.record(ticket.id, ticket.user_id, "note", now, note, _name(user), user.id, _source(message))
            await message.reply_text(t(context, "desk.note_kept", _lang(svc), id=ticket.id))
        raise ApplicationHandlerStop
    if ticket is None or not ticket.open or await svc.store.is_banned(ticket.user_id):
        return
    await _ensure(context.application, ticket)
    await _reopened(svc, ticket)
    await desk.record(ticket.id, ticket.user_id, "agent", now, _content(context, message), _name(user), user.id,
                      _source(message))
    await desk.responded(ticket.id, now)
    holding = await desk.holding(ticket.id)
    if holding is not None and holding.holder_id is None:
        await _take(context.application, ticket, user.id, _name(user), None)


async def on_close(update: Update, context: Context) -> None:
    """Group -3, before handoff's /close: note who closed the ticket in its history."""
    svc = services(context)
    ticket = await _ticket_for(context, update.effective_message)
    user = update.effective_user
    if ticket is not None and ticket.open and user is not None and await _agent(context, update.effective_message):
        await _ensure(context.application, ticket)
        await _reopened(svc, ticket)
        await _desk(svc).record(ticket.id, ticket.user_id, "close", svc.now(), "", _name(user), user.id,
                                _source(update.effective_message))


# --- take it -------------------------------------------------------------------------------------

async def _take(app: Application, ticket: Ticket, agent_id: int, name: str, old: str | None) -> None:
    """Give the ticket to an agent: stored, said in the ticket, shown on the card and topic title."""
    svc = _svc(app)
    desk, lang, r = _desk(svc), _lang(svc), svc.center.renderer
    await desk.claim(ticket.id, agent_id, name, svc.now())
    await desk.record(ticket.id, ticket.user_id, "claim", svc.now(), old or "", name, agent_id)
    support = svc.settings.support_chat_id
    try:
        if ticket.card_msg:
            await app.bot.edit_message_reply_markup(support, ticket.card_msg,
                                                    reply_markup=_take_row(svc, ticket.id, name))
        if ticket.thread_id:
            await app.bot.edit_forum_topic(support, ticket.thread_id,
                                           name=r.t("desk.topic", lang, id=ticket.id, user=ticket.user_name,
                                                    name=name)[:128])
    except TelegramError as exc:  # the card or topic is gone: the notice below still says it
        log.info("ticket %s: holder not shown on card/topic: %s", ticket.id, exc)
    text = (r.t("desk.taken_over", lang, name=escape(name), old=escape(old), id=ticket.id) if old
            else r.t("desk.taken", lang, name=escape(name), id=ticket.id))
    await _post(app, ticket, text)


async def on_button(update: Update, context: Context) -> None:
    """dk:take:<ticket>, dk:kb:<ticket>:<entry>, dk:tc:<taught>:<entry> — agents' group only."""
    query = update.callback_query
    parts = (query.data or "").split(":")
    handler = {"take": _take_button, "kb": _kb_button, "tc": _teach_button}.get(parts[1] if len(parts) > 1 else "")
    if (query.message is None or query.message.chat.id != services(context).settings.support_chat_id
            or handler is None or len(parts) < 3 or _number(parts[2]) is None):
        await query.answer()
    elif not await _agent(context, query.message, update.effective_user):
        await query.answer(t(context, "desk.not_agent", _lang(services(context))), show_alert=True)
    else:
        await handler(update, context, _number(parts[2]), parts[3] if len(parts) > 3 else "")
    raise ApplicationHandlerStop  # an error above goes to the error handler instead


async def _take_button(update: Update, context: Context, ticket_id: int, _: str) -> None:
    svc = services(context)
    query, user, lang = update.callback_query, update.effective_user, _lang(svc)
    ticket = await svc.store.ticket(ticket_id)
    if ticket is None or not ticket.open:
        await query.answer(t(context, "desk.toast_closed", lang, id=ticket_id), show_alert=True)
        return
    await _ensure(context.application, ticket)
    holding = await _desk(svc).holding(ticket.id)
    if holding is not None and holding.holder_id == user.id:
        await query.answer(t(context, "desk.toast_yours", lang, id=ticket.id))
        return
    await query.answer(t(context, "desk.toast_taken", lang, id=ticket.id))
    await _take(context.application, ticket, user.id, _name(user), holding.holder_name if holding else None)
    if query.message.message_id != ticket.card_msg:  # the SLA notice's button: now a take-over too
        try:
            await query.edit_message_reply_markup(_take_row(svc, ticket.id, _name(user)))
        except TelegramError as exc:
            log.info("take button not updated: %s", exc)


async def mine_command(update: Update, context: Context) -> None:
    if await _refuse(update, context):
        return
    svc = services(context)
    lang, user = _lang(svc), update.effective_user
    held = set(await _desk(svc).held_by(user.id))
    mine = [tk for tk in await svc.store.open_tickets() if tk.id in held]
    if not mine:
        await update.effective_message.reply_text(t(context, "desk.mine_none", lang))
        return
    lines = [t(context, "desk.mine", lang)]
    lines += [f"#{tk.id} · {tk.user_name} · {tk.lang} · {tk.created_at.astimezone(svc.tz):%Y-%m-%d %H:%M}"
              for tk in mine]
    await update.effective_message.reply_text("\n".join(lines))


# --- the SLA clock ---------------------------------------------------------------------------------

async def sla_sweep(app: Application) -> int:
    """Announce again a ticket nobody took within SLA_MINUTES of support hours, then tell the
    admins at twice that. The level reached is stored, so a restart neither repeats nor forgets."""
    svc = _svc(app)
    if svc.desk is None or svc.settings.support_chat_id is None:
        return 0
    desk, lang, r = _desk(svc), _lang(svc), svc.center.renderer
    hours = WorkingHours.parse(svc.settings.support_hours, svc.settings.support_days)
    now, sla = svc.now(), svc.settings.sla_minutes
    told = 0
    for ticket in await svc.store.open_tickets():
        await _ensure(app, ticket)
        holding = await desk.holding(ticket.id)
        if holding is None or holding.holder_id is not None or holding.sla_level >= 2:
            continue
        waited = working_minutes(hours, ticket.created_at.astimezone(svc.tz), now)
        if holding.sla_level == 0 and waited >= sla:
            await _post(app, ticket, r.t("desk.sla_group", lang, id=ticket.id, user=escape(ticket.user_name),
                                         minutes=round(waited)), _take_row(svc, ticket.id, None))
            await desk.set_sla_level(ticket.id, 1)
            told += 1
        elif holding.sla_level == 1 and waited >= 2 * sla:
            for admin in sorted(svc.settings.admin_ids):
                try:
                    await app.bot.send_message(admin, r.t("desk.sla_admin", lang, id=ticket.id,
                                                          user=ticket.user_name, minutes=round(waited)))
                except TelegramError as exc:  # an admin who never started the bot
                    log.warning("SLA notice to admin %s failed: %s", admin, exc)
            await _post(app, ticket, r.t("desk.sla_escalated", lang, id=ticket.id))
            await desk.set_sla_level(ticket.id, 2)
            told += 1
    return told


async def sla_job(context: Context) -> None:
    await sla_sweep(context.application)


GROUP_COMMANDS = ("mine", "kb", "transcript", "teach", "stats", "tickets", "close", "ban", "unban")


async def set_group_commands(app: Application) -> None:
    """The agents' group's own command menu, in SUPPORT_LANG (a nicety: never fatal)."""
    svc = _svc(app)
    if svc.settings.support_chat_id is None:
        return
    commands = [BotCommand(c, svc.center.renderer.t(f"desk.cmd.{c}", _lang(svc))) for c in GROUP_COMMANDS]
    try:
        await app.bot.set_my_commands(commands, scope=BotCommandScopeChat(svc.settings.support_chat_id))
    except TelegramError as exc:
        log.warning("agents' group command menu not set: %s", exc)


def start_jobs(app: Application) -> None:
    """At start-up: the SLA clock reads the database, so tickets of the last run are watched too."""
    if app.job_queue is not None and _svc(app).settings.support_chat_id is not None:
        app.job_queue.run_repeating(sla_job, interval=SLA_CHECK_SECONDS, first=1, name="desk-sla")


# --- transcript ------------------------------------------------------------------------------------

async def _ticket_arg(update: Update, context: Context) -> Ticket | None:
    """The ticket of this topic or reply, else the number given after the command."""
    ticket = await _ticket_for(context, update.effective_message)
    number = _number(context.args[0]) if context.args else None
    if ticket is None and number is not None:
        ticket = await services(context).store.ticket(number)
    return ticket


def transcript_html(svc: Services, ticket: Ticket, events: list, holder: str | None) -> str:
    lang = _lang(svc)

    def when(moment: datetime) -> str:
        return moment.astimezone(svc.tz).strftime("%Y-%m-%d %H:%M")

    before = [e for e in events if e.kind in ("bot_q", "bot_a")]
    rest = [{"kind": e.kind, "author": e.author, "text": e.text, "when": when(e.at)}
            for e in events if e.kind not in ("bot_q", "bot_a")]
    return svc.center.renderer.render("transcript.html.j2", lang, ticket=ticket, before=before, events=rest,
                                      holder=holder, opened=when(ticket.created_at),
                                      closed=when(ticket.closed_at) if ticket.closed_at else None)


async def transcript_command(update: Update, context: Context) -> None:
    if await _refuse(update, context):
        return
    svc = services(context)
    message = update.effective_message
    ticket = await _ticket_arg(update, context)
    if ticket is None:
        await message.reply_text(t(context, "desk.transcript_usage", _lang(svc)))
        return
    await _ensure(context.application, ticket)
    desk = _desk(svc)
    holding = await desk.holding(ticket.id)
    page = transcript_html(svc, ticket, await desk.history(ticket.id), holding.holder_name if holding else None)
    document = InputFile(page.encode("utf-8"), filename=f"ticket-{ticket.id}.html")
    await with_retry(lambda: context.bot.send_document(
        svc.settings.support_chat_id, document, caption=t(context, "desk.transcript_caption", _lang(svc),
                                                           id=ticket.id),
        message_thread_id=message.message_thread_id if message.is_topic_message else None,
        reply_parameters=ReplyParameters(message.message_id, allow_sending_without_reply=True)))


# --- answers from the knowledge base ----------------------------------------------------------------

def _preview(svc: Services, entry: Any) -> str:
    text = entry.texts[_lang(svc)]
    first = (text.steps or text.notes or (text.title,))[0]
    return first if len(first) <= PREVIEW else first[:PREVIEW - 1] + "…"


async def kb_command(update: Update, context: Context) -> None:
    if await _refuse(update, context):
        return
    svc = services(context)
    message, lang = update.effective_message, _lang(svc)
    ticket = await _ticket_for(context, message)
    if ticket is None:
        await message.reply_text(t(context, "agent.no_ticket", lang))
        return
    words = " ".join(context.args or ()).strip()
    if not words:
        await message.reply_text(t(context, "desk.kb_usage", lang))
        return
    found = [c.entry for c in (await off_loop(update, context, svc.center.matcher.match, words)).candidates[:KB_SHOWN]]
    if not found:
        await message.reply_text(t(context, "desk.kb_none", lang, q=words))
        return
    lines = [t(context, "desk.kb_title", lang, q=escape(words))]
    lines += [f"{n}. <b>{escape(e.texts[lang].title)}</b>\n   {escape(_preview(svc, e))}"
              for n, e in enumerate(found, 1)]
    row = [InlineKeyboardButton(t(context, "desk.btn.kb_send", lang, n=n), callback_data=f"dk:kb:{ticket.id}:{e.id}")
           for n, e in enumerate(found, 1)]
    await message.reply_text("\n".join(lines), parse_mode=ParseMode.HTML, reply_markup=InlineKeyboardMarkup([row]))


async def _kb_button(update: Update, context: Context, ticket_id: int, entry_id: str) -> None:
    """Send an entry to the customer, in their language and for their market, and log it."""
    svc = services(context)
    query, user, lang = update.callback_query, update.effective_user, _lang(svc)
    ticket = await svc.store.ticket(ticket_id)
    entry = svc.center.kb.by_id.get(entry_id)
    if ticket is None or not ticket.open or entry is None:
        await query.answer(t(context, "desk.toast_closed", lang, id=ticket_id), show_alert=True)
        return
    if await svc.store.is_banned(ticket.user_id):
        await query.answer(t(context, "agent.not_sent_banned", lang), show_alert=True)
        return
    market = ((context.application.user_data.get(ticket.user_id) or {}).get("ref") or {}).get("market")
    parts = svc.center.renderer.answer(entry, ticket.lang, show_related=False,
                                       markets=(market,) if market else None)
    for part in parts:
        await with_retry(lambda part=part: context.bot.send_message(ticket.chat_id, part, parse_mode=ParseMode.HTML,
                                                                    disable_web_page_preview=True))
    await query.answer(t(context, "desk.toast_sent", lang))
    await _ensure(context.application, ticket)
    desk, now = _desk(svc), svc.now()
    await desk.record(ticket.id, ticket.user_id, "kb", now, entry.texts[ticket.lang].title, _name(user), user.id)
    await desk.responded(ticket.id, now)
    await _post(context.application, ticket, t(context, "desk.kb_sent", lang, agent=escape(_name(user)),
                                                title=escape(entry.texts[lang].title), id=ticket.id,
                                                language=t(context, f"lang.{ticket.lang}", lang)))
    holding = await desk.holding(ticket.id)
    if holding is not None and holding.holder_id is None:
        await _take(context.application, ticket, user.id, _name(user), None)


# --- teach the bot ---------------------------------------------------------------------------------

async def teach_command(update: Update, context: Context) -> None:
    """In reply to a customer's message: offer the best entries for it as its answer."""
    if await _refuse(update, context):
        return
    svc = services(context)
    message, user, lang = update.effective_message, update.effective_user, _lang(svc)
    reply = message.reply_to_message
    ticket = await _ticket_for(context, message)
    said = (reply.text or reply.caption or "") if reply is not None and not reply.forum_topic_created else ""
    if ticket is None or not said:
        await message.reply_text(t(context, "desk.teach_usage", lang))
        return
    history = await _desk(svc).history(ticket.id)
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
    offer = await _desk(svc).offer(ticket.id, question, guess_lang(question, ticket.lang), user.id, _name(user),
                                   svc.now())
    rows = [[InlineKeyboardButton(f"{n}. {e.texts[lang].title}"[:64], callback_data=f"dk:tc:{offer}:{e.id}")]
            for n, e in enumerate(found, 1)]
    await message.reply_text(t(context, "desk.teach_pick", lang, q=question), reply_markup=InlineKeyboardMarkup(rows))


async def _teach_button(update: Update, context: Context, offer: int, entry_id: str) -> None:
    svc = services(context)
    query, user, lang = update.callback_query, update.effective_user, _lang(svc)
    entry = svc.center.kb.by_id.get(entry_id)
    stored = await _desk(svc).teach(offer, entry_id, user.id, _name(user), svc.now()) if entry else None
    if stored is None or entry is None:
        await query.answer(t(context, "desk.toast_teach_old", lang))
        return
    await query.answer()
    await query.edit_message_text(t(context, "desk.teach_done", lang, q=escape(stored.text),
                                    title=escape(entry.texts[lang].title)), parse_mode=ParseMode.HTML)


# --- service figures -------------------------------------------------------------------------------

async def service_text(svc: Services, lang: str, days: int = STATS_DAYS) -> str:
    rows = await _desk(svc).service_rows(svc.now() - timedelta(days=days))
    return service_block(rows, lambda key, **v: svc.center.renderer.t(key, lang, **v), svc.tz, days)


async def stats_command(update: Update, context: Context) -> None:
    if await _refuse(update, context):
        return
    svc = services(context)
    await update.effective_message.reply_text(await service_text(svc, _lang(svc)), parse_mode=ParseMode.HTML)
