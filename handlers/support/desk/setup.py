"""The desk at start-up: the agents' group's command menu and the SLA job; the dk: buttons."""

from __future__ import annotations

import logging

from telegram import BotCommand, BotCommandScopeChat, Message, Update
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationHandlerStop

from handlers.base.callbacks import callback_data, record_id
from handlers.base.common import Context, services, services_of, t
from handlers.support.desk.knowledge import kb_button, teach_button
from handlers.support.desk.shared import agent, agents_lang
from handlers.support.desk.take import sla_job, take_button

log = logging.getLogger(__name__)

SLA_CHECK_SECONDS = 30  # how often the SLA clock is read

GROUP_COMMANDS = ("mine", "kb", "transcript", "teach", "stats", "tickets", "close", "ban", "unban")


async def set_group_commands(app: Application) -> None:
    """The agents' group's own command menu, in SUPPORT_LANG (a nicety: never fatal)."""
    svc = services_of(app)
    if svc.settings.support_chat_id is None:
        return
    commands = [BotCommand(c, svc.center.renderer.t(f"desk.cmd.{c}", agents_lang(svc))) for c in GROUP_COMMANDS]
    try:
        await app.bot.set_my_commands(commands, scope=BotCommandScopeChat(svc.settings.support_chat_id))
    except TelegramError as exc:
        log.warning("agents' group command menu not set: %s", exc)


def start_jobs(app: Application) -> None:
    """At start-up: the SLA clock reads the database, so tickets of the last run are watched too."""
    if app.job_queue is not None and services_of(app).settings.support_chat_id is not None:
        app.job_queue.run_repeating(sla_job, interval=SLA_CHECK_SECONDS, first=1, name="desk-sla")


async def on_button(update: Update, context: Context) -> None:
    """dk:take:<ticket>, dk:kb:<ticket>:<entry>, dk:tc:<taught>:<entry> — agents' group only."""
    query = update.callback_query
    parts = callback_data(update).parts
    handler = {"take": take_button, "kb": kb_button, "tc": teach_button}.get(parts[1] if len(parts) > 1 else "")
    number = record_id(parts[2]) if len(parts) >= 3 else None
    message = query.message if isinstance(query.message, Message) else None
    if (message is None or message.chat.id != services(context).settings.support_chat_id
            or handler is None or number is None):
        await query.answer()
    elif not await agent(context, message, update.effective_user):
        await query.answer(t(context, "desk.not_agent", agents_lang(services(context))), show_alert=True)
    else:
        await handler(update, context, number, parts[3] if len(parts) > 3 else "")
    raise ApplicationHandlerStop  # an error above goes to the error handler instead
