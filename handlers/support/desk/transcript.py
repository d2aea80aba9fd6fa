"""/transcript: the whole conversation of a ticket as an HTML file."""

from __future__ import annotations

from datetime import datetime

from telegram import InputFile, ReplyParameters, Update

from handlers.base.callbacks import record_id
from handlers.base.common import Context, Services, message_of, services, t, with_retry
from handlers.support.desk.shared import agents_lang, desk_of, ensure, refuse
from handlers.support.tickets import ticket_for
from helpcenter.storage.tickets import Ticket


async def _ticket_arg(update: Update, context: Context) -> Ticket | None:
    """The ticket of this topic or reply, else the number given after the command."""
    ticket = await ticket_for(context, message_of(update))
    number = record_id(context.args[0]) if context.args else None
    if ticket is None and number is not None:
        ticket = await services(context).store.ticket(number)
    return ticket


def transcript_html(svc: Services, ticket: Ticket, events: list, holder: str | None) -> str:
    lang = agents_lang(svc)

    def when(moment: datetime) -> str:
        return moment.astimezone(svc.tz).strftime("%Y-%m-%d %H:%M")

    before = [e for e in events if e.kind in ("bot_q", "bot_a")]
    rest = [{"kind": e.kind, "author": e.author, "text": e.text, "when": when(e.at)}
            for e in events if e.kind not in ("bot_q", "bot_a")]
    return svc.center.renderer.render("transcript.html.j2", lang, ticket=ticket, before=before, events=rest,
                                      holder=holder, opened=when(ticket.created_at),
                                      closed=when(ticket.closed_at) if ticket.closed_at else None)


async def transcript_command(update: Update, context: Context) -> None:
    if await refuse(update, context):
        return
    svc = services(context)
    message = message_of(update)
    ticket = await _ticket_arg(update, context)
    if ticket is None:
        await message.reply_text(t(context, "desk.transcript_usage", agents_lang(svc)))
        return
    await ensure(context.application, ticket)
    desk = desk_of(svc)
    holding = await desk.holding(ticket.id)
    page = transcript_html(svc, ticket, await desk.history(ticket.id), holding.holder_name if holding else None)
    document = InputFile(page.encode("utf-8"), filename=f"ticket-{ticket.id}.html")
    support = svc.settings.support_chat_id
    assert support is not None, "the desk runs only with an agents' group"
    await with_retry(lambda: context.bot.send_document(
        support, document, caption=t(context, "desk.transcript_caption", agents_lang(svc),
                                                           id=ticket.id),
        message_thread_id=message.message_thread_id if message.is_topic_message else None,
        reply_parameters=ReplyParameters(message.message_id, allow_sending_without_reply=True)))
