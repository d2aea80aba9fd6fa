"""Admin commands (/stats, /reload, also SIGHUP) and /forget for everyone."""

from __future__ import annotations

import asyncio
import html
import logging

from telegram import Update
from telegram.ext import Application, ConversationHandler

from handlers.base.common import Context, Services, button, keyboard, lang_of, renderer, services, services_of, show, t
from helpcenter.knowledge.loader import ContentError, InvalidContent
from helpcenter.reports.service_stats import period_start, service_block, zone_name

log = logging.getLogger(__name__)
STATS_DAYS = 7
SHOWN_ERRORS = 20


def _is_admin(update: Update, context: Context) -> bool:
    user = update.effective_user
    return user is not None and user.id in services(context).settings.admin_ids


async def _refuse(update: Update, context: Context) -> None:
    await update.effective_message.reply_text(t(context, "admin.only", lang_of(update, context)))


async def stats(update: Update, context: Context) -> None:
    if not _is_admin(update, context):
        await _refuse(update, context)
        return
    svc = services(context)
    lang = lang_of(update, context)
    since = period_start(svc.now(), svc.report_tz, STATS_DAYS)  # whole days in the operators' zone
    s = await svc.store.stats(since, tz=svc.report_tz)
    rate = f"{s['answered'] / s['total']:.0%}" if s["total"] else "—"
    rated = s["helpful"] + s["unhelpful"]
    ratio = f"{s['helpful'] / rated:.0%}" if rated else "—"
    topics = [(_topic_title(svc, topic, lang), n) for topic, n in s["topics"]]
    text = renderer(context).render("stats.html.j2", lang, s=s, days=STATS_DAYS, rate=rate, helpful_ratio=ratio,
                                    topics=topics, tz=zone_name(svc.report_tz))
    if svc.desk is not None:  # the agents' service figures (helpcenter/reports/service_stats.py)
        rows = await svc.desk.service_rows(since)
        text += "\n\n" + service_block(rows, lambda key, **v: t(context, key, lang, **v), svc.report_tz, STATS_DAYS)
    await update.effective_message.reply_text(text)


def _topic_title(svc: Services, topic: str, lang: str) -> str:
    """What admins read for a topic: its entry's title; an id content no longer has stays an id."""
    entry = svc.center.kb.entry_for_topic(topic)
    return entry.texts[lang].title if entry is not None else topic


async def reload_content(app: Application) -> list[ContentError]:
    """Load content/ and templates/ afresh; switch only if all of it is valid."""
    svc = services_of(app)
    try:
        center = await asyncio.to_thread(svc.center_factory)
    except InvalidContent as exc:
        log.error("reload refused, %d content error(s); old content keeps serving", len(exc.errors))
        return exc.errors
    svc.center = center
    log.info("content reloaded: %d entries", len(center.kb.entries))
    return []


async def reload_command(update: Update, context: Context) -> None:
    if not _is_admin(update, context):
        await _refuse(update, context)
        return
    lang = lang_of(update, context)
    errors = await reload_content(context.application)
    if errors:
        lines = [t(context, "admin.reload_failed", lang, n=len(errors))]
        lines += [html.escape(str(e)) for e in errors[:SHOWN_ERRORS]]
        await update.effective_message.reply_text("\n".join(lines))
        return
    await update.effective_message.reply_text(
        t(context, "admin.reloaded", lang, entries=len(services(context).center.kb.entries)))


async def forget(update: Update, context: Context) -> None:
    """/forget: ask first (a button), since deleting cannot be undone; the flow stays as it is."""
    lang = lang_of(update, context)
    await show(update, context, t(context, "forget.confirm", lang),
               keyboard([[button(context, "btn.forget_yes", lang, "forget:yes"),
                          button(context, "btn.forget_no", lang, "forget:no")]]), edit=False)


async def forget_button(update: Update, context: Context) -> int | None:
    """forget:yes deletes everything stored about the user (log, reminders, tickets,
    conversation and data) and says what went; forget:no deletes nothing."""
    query = update.callback_query
    lang = lang_of(update, context)
    if query.data != "forget:yes":
        await show(update, context, t(context, "forget.kept", lang))
        return None
    user = update.effective_user
    svc = services(context)
    counts = await svc.store.forget(user.id)
    if svc.desk is not None:  # the agents' desk keeps the ticket histories
        await svc.desk.forget(user.id)
    for job in context.job_queue.jobs() if context.job_queue else ():
        if job.chat_id == user.id:
            job.schedule_removal()
    context.user_data.clear()
    context.application.drop_user_data(user.id)
    context.application.drop_chat_data(update.effective_chat.id)
    await show(update, context, t(context, "forget.done", lang, **counts))
    return ConversationHandler.END
