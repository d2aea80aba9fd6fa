"""Everything that is not a flow step: go: links, input we cannot read, timeouts and errors
(stale buttons and resume live in handlers/base/flow.py, which every handler may import). Each gets a helpful
reply, never silence or a crash."""

from __future__ import annotations

import html
import logging
import traceback

from telegram import Update
from telegram.error import Forbidden, TelegramError

from handlers.base.callbacks import callback_fields
from handlers.base.common import Context, button, keyboard, lang_of, services, show, t, with_retry
from handlers.base.flow import STARTS, State, goto, stale_button, way_back

log = logging.getLogger(__name__)
PLAIN_TARGETS = {State.SEL_WH, State.SEL_HANDLE, State.SEL_CASE, State.MENU}  # screens that need no data to show


async def go(update: Update, context: Context) -> str | None:
    """go:<state> buttons: menus and "back" links to a state whose screen needs no new data."""
    (target,) = callback_fields(update, 1)
    if target in STARTS:
        return await STARTS[target](update, context)
    if target in PLAIN_TARGETS or (target == State.REF_MARKET and context.user_data.ref.case):
        return await goto(update, context, target)
    await stale_button(update, context)
    return None


async def non_text(update: Update, context: Context) -> None:
    lang = lang_of(update, context)
    await show(update, context, t(context, "non_text", lang),
               keyboard([[way_back(context, lang), button(context, "btn.human", lang, "human")]]), edit=False)


async def timed_out(update: Update, context: Context) -> None:
    """ConversationHandler.TIMEOUT: the user's data stays; one tap continues."""
    lang = lang_of(update, context)
    chat = update.effective_chat
    if chat is None:
        return
    await context.bot.send_message(chat.id, t(context, "timeout", lang),
                                   reply_markup=keyboard([[button(context, "btn.continue", lang, "resume"),
                                                           button(context, "btn.menu", lang, "menu")]]))


async def on_error(update: object, context: Context) -> None:
    """Log every error, tell the user something went wrong, and report to admins."""
    error = context.error
    if isinstance(error, Forbidden):  # the user blocked the bot: nobody to tell
        log.info("user blocked the bot: %s", error)
        return
    log.error("update failed", exc_info=error)
    if isinstance(update, Update) and update.effective_chat and update.effective_chat.type == "private":
        chat_id, text = update.effective_chat.id, t(context, "error", lang_of(update, context))
        try:
            await with_retry(lambda: context.bot.send_message(chat_id, text))
        except TelegramError as exc:
            log.warning("could not tell the user about the error: %s", exc)
    if error is None:
        return
    trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))[-3000:]
    for admin in services(context).settings.admin_ids:
        try:
            await context.bot.send_message(admin, f"<pre>{html.escape(trace)}</pre>")
        except TelegramError as exc:
            log.warning("could not report to admin %s: %s", admin, exc)
