"""Take it: the card's take button, /mine, and the SLA clock that announces a ticket nobody took."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application

from handlers.base.common import Context, display_name, message_of, services, services_of, t, user_of
from handlers.support.desk.shared import agents_lang, desk_of, ensure, post, refuse, take_row
from helpcenter.answers.render import escape
from helpcenter.desk.hours import WorkingHours
from helpcenter.reports.service_stats import working_minutes
from helpcenter.storage.tickets import Ticket

log = logging.getLogger(__name__)


async def take(app: Application, ticket: Ticket, agent_id: int, name: str, old: str | None) -> None:
    """Give the ticket to an agent: stored, said in the ticket, shown on the card and topic title."""
    svc = services_of(app)
    desk, lang, r = desk_of(svc), agents_lang(svc), svc.center.renderer
    await desk.claim(ticket.id, agent_id, name, svc.now())
    await desk.record(ticket.id, ticket.user_id, "claim", svc.now(), old or "", name, agent_id)
    support = svc.settings.support_chat_id
    try:
        if ticket.card_msg:
            await app.bot.edit_message_reply_markup(support, ticket.card_msg,
                                                    reply_markup=take_row(svc, ticket.id, name))
        if ticket.thread_id:
            await app.bot.edit_forum_topic(support, ticket.thread_id,
                                           name=r.t("desk.topic", lang, id=ticket.id, user=ticket.user_name,
                                                    name=name)[:128])
    except TelegramError as exc:  # the card or topic is gone: the notice below still says it
        log.info("ticket %s: holder not shown on card/topic: %s", ticket.id, exc)
    text = (r.t("desk.taken_over", lang, name=escape(name), old=escape(old), id=ticket.id) if old
            else r.t("desk.taken", lang, name=escape(name), id=ticket.id))
    await post(app, ticket, text)


async def take_button(update: Update, context: Context, ticket_id: int, _: str) -> None:
    svc = services(context)
    query, user, lang = update.callback_query, user_of(update), agents_lang(svc)
    ticket = await svc.store.ticket(ticket_id)
    if ticket is None or not ticket.open:
        await query.answer(t(context, "desk.toast_closed", lang, id=ticket_id), show_alert=True)
        return
    await ensure(context.application, ticket)
    holding = await desk_of(svc).holding(ticket.id)
    if holding is not None and holding.holder_id == user.id:
        await query.answer(t(context, "desk.toast_yours", lang, id=ticket.id))
        return
    await query.answer(t(context, "desk.toast_taken", lang, id=ticket.id))
    await take(context.application, ticket, user.id, display_name(user), holding.holder_name if holding else None)
    if query.message.message_id != ticket.card_msg:  # the SLA notice's button: now a take-over too
        try:
            await query.edit_message_reply_markup(take_row(svc, ticket.id, display_name(user)))
        except TelegramError as exc:
            log.info("take button not updated: %s", exc)


async def mine_command(update: Update, context: Context) -> None:
    if await refuse(update, context):
        return
    svc = services(context)
    lang, user = agents_lang(svc), user_of(update)
    held = set(await desk_of(svc).held_by(user.id))
    mine = [tk for tk in await svc.store.open_tickets() if tk.id in held]
    if not mine:
        await message_of(update).reply_text(t(context, "desk.mine_none", lang))
        return
    lines = [t(context, "desk.mine", lang)]
    lines += [f"#{tk.id} · {escape(tk.user_name)} · {tk.lang} · {tk.created_at.astimezone(svc.tz):%Y-%m-%d %H:%M}"
              for tk in mine]
    await message_of(update).reply_text("\n".join(lines))


async def sla_sweep(app: Application) -> int:
    """Announce again a ticket nobody took within SLA_MINUTES of support hours, then tell the
    admins at twice that. The level reached is stored, so a restart neither repeats nor forgets."""
    svc = services_of(app)
    if svc.desk is None or svc.settings.support_chat_id is None:
        return 0
    desk, lang, r = desk_of(svc), agents_lang(svc), svc.center.renderer
    hours = WorkingHours.parse(svc.settings.support_hours, svc.settings.support_days)
    now, sla = svc.now(), svc.settings.sla_minutes
    told = 0
    for ticket in await svc.store.open_tickets():
        await ensure(app, ticket)
        holding = await desk.holding(ticket.id)
        if holding is None or holding.holder_id is not None or holding.sla_level >= 2:
            continue
        waited = working_minutes(hours, ticket.created_at.astimezone(svc.tz), now)
        if holding.sla_level == 0 and waited >= sla:
            await post(app, ticket, r.t("desk.sla_group", lang, id=ticket.id, user=escape(ticket.user_name),
                                         minutes=round(waited)), take_row(svc, ticket.id, None))
            await desk.set_sla_level(ticket.id, 1)
            told += 1
        elif holding.sla_level == 1 and waited >= 2 * sla:
            for admin in sorted(svc.settings.admin_ids):
                try:
                    await app.bot.send_message(admin, r.t("desk.sla_admin", lang, id=ticket.id,
                                                          user=escape(ticket.user_name), minutes=round(waited)))
                except TelegramError as exc:  # an admin who never started the bot
                    log.warning("SLA notice to admin %s failed: %s", admin, exc)
            await post(app, ticket, r.t("desk.sla_escalated", lang, id=ticket.id))
            await desk.set_sla_level(ticket.id, 2)
            told += 1
    return told


async def sla_job(context: Context) -> None:
    await sla_sweep(context.application)
