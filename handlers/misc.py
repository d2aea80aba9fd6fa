"""Everything that is not a flow step: going back to a state, stale buttons, input we cannot
read, timeouts and errors. Each gets a helpful reply, never silence or a crash."""

from __future__ import annotations

import html
import logging
import traceback

from telegram import Update
from telegram.error import Forbidden, TelegramError

from .common import Context, answer_query, button, keyboard, lang_of, send_below, services, show, t, with_retry
from .flow import SCREENS, current, goto, way_back

log = logging.getLogger(__name__)
PLAIN_TARGETS = {"sel_wh", "sel_handle", "sel_case", "menu"}  # screens that need no data to show


async def resume(update: Update, context: Context) -> str:
    """Show the screen of the state the user is in (after a detour, a stale button, a timeout).
    The message with the button is usually an answer or a notice: kept messages (common.show)
    stay, and the step comes as a new message."""
    return await goto(update, context, current(context))


async def go(update: Update, context: Context) -> str | None:
    """go:<state> buttons: menus and "back" links to a state whose screen needs no new data."""
    from . import refund, returns, seller

    starts = {"ret": returns.begin, "ref_case": refund.begin, "sel": seller.begin}
    target = update.callback_query.data.split(":", 1)[1]
    if target in starts:
        return await starts[target](update, context)
    if target in PLAIN_TARGETS or (target == "ref_market" and context.user_data.get("ref", {}).get("case")):
        return await goto(update, context, target)
    await stale_button(update, context)
    return None


async def stale_button(update: Update, context: Context) -> None:
    """A button from an old message, or one that no longer fits: say so and show where they are,
    as a new message at the bottom of the chat; the old message stays as it was."""
    lang = lang_of(update, context)
    await answer_query(update, context, t(context, "stale", lang))
    send_below(context)
    await SCREENS[current(context)](update, context)


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
            await context.bot.send_message(admin, f"<pre>{html.escape(trace)}</pre>", parse_mode="HTML")
        except TelegramError as exc:
            log.warning("could not report to admin %s: %s", admin, exc)
