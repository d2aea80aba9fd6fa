"""The chat's side of the web help center (web/): the menu button and "📖" buttons that open it
as a Telegram Mini App, answers linking to their page, and what the Mini App asks the chat to do.

Nothing here shows without WEB_URL. The server (web/server.py) runs on the bot's own event loop;
once it has verified a Mini App's initData it puts the request on the update queue as a private
message from that user carrying web_app_data, as Telegram does for a Mini App's sendData. So the
request is stored in the inbox before the Mini App is told "done", replayed after a crash, handled
in order with the user's other updates, and the conversation moves on from where the Mini App
left off: the hand-off opens (handoff.request_human) with the entry the user was reading, or the
deadline result is shown with its reminder set (refund.add_reminder).
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from datetime import date
from urllib.parse import urlencode

from telegram import InlineKeyboardButton, MenuButtonWebApp, Update, WebAppInfo
from telegram.error import TelegramError

from web.initdata import WebAppUser
from web.server import listen
from web.site import Site

from . import handoff, refund
from .common import Context, HelpApplication, Services, lang_of, services, show, t
from .flow import REF_RESULT, goto

log = logging.getLogger(__name__)

MENU_SET = "web_menu"  # user_data: the (language, market, role) the chat's menu button was set for
WEB_DATA_MARK = "helpcenter-web"  # web_app_data.button_text of a request the web server queued
# Update ids of queued Mini App requests: negative (Telegram's are positive), decreasing, unique.
_ids = itertools.count(-time.time_ns() // 1000, -1)


def enabled(settings: object) -> bool:
    return bool(getattr(settings, "web_url", ""))


def page_url(settings: object, lang: str, path: str = "", market: str | None = None, role: str | None = None) -> str:
    """WEB_URL/<lang>/<path>?m=&r=: the page in the chat's language, for the user's market and role."""
    query = urlencode({k: v for k, v in (("m", market), ("r", role)) if v})
    return f"{getattr(settings, 'web_url', '').rstrip('/')}/{lang}/{path}" + (f"?{query}" if query else "")


def _button(context: Context, text: str, url: str) -> InlineKeyboardButton:
    """A Mini App button over HTTPS (Telegram's rule for Mini Apps), else a plain link."""
    if url.startswith("https://"):
        return InlineKeyboardButton(text, web_app=WebAppInfo(url))
    return InlineKeyboardButton(text, url=url)


def _where(context: Context) -> tuple[str | None, str | None]:
    data = context.user_data or {}
    return data.get("market"), data.get("role")


def open_rows(context: Context, lang: str) -> list[list[InlineKeyboardButton]]:
    """The menu's "📖 open the help center" row; none without WEB_URL."""
    settings = services(context).settings
    if not enabled(settings):
        return []
    return [[_button(context, t(context, "web.btn.open", lang), page_url(settings, lang, "", *_where(context)))]]


def page_button(context: Context, lang: str, entry_id: str) -> list[InlineKeyboardButton]:
    """An answer's link to its page ("📖 view in the help center"); none without WEB_URL."""
    settings = services(context).settings
    if not enabled(settings):
        return []
    return [_button(context, t(context, "web.btn.page", lang), page_url(settings, lang, f"e/{entry_id}",
                                                                         *_where(context)))]


# --- the menu button ------------------------------------------------------------------------------

async def sync_menu_button(update: Update, context: Context) -> None:
    """Group 1, after every private update: the chat's menu button opens the help center in the user's
    language, market and role; set again only when one of them changed (one Bot API call)."""
    chat = update.effective_chat
    data = context.user_data
    if chat is None or chat.type != "private" or data is None or update.effective_user is None:
        return
    lang = lang_of(update, context)
    wanted = [lang, *_where(context)]
    if data.get(MENU_SET) == wanted:
        return
    settings = services(context).settings
    url = page_url(settings, lang, "", *_where(context))
    if not url.startswith("https://"):
        return
    data[MENU_SET] = wanted
    try:
        await context.bot.set_chat_menu_button(chat.id, MenuButtonWebApp(t(context, "web.menu_button", lang),
                                                                         WebAppInfo(url)))
    except TelegramError as exc:  # a nicety: the /menu button still works
        log.info("set_chat_menu_button(%s) failed: %s", chat.id, exc)


# --- the server, on the bot's loop ----------------------------------------------------------------

async def start(application: HelpApplication) -> None:
    """post_init: serve the web help center (WEB_URL or WEB_PORT set) and make the help center the
    default menu button of every private chat."""
    svc: Services = application.services
    settings = svc.settings
    if not (settings.web_url or settings.web_port):
        return
    site = Site(lambda: svc.center, agents=settings.support_chat_id is not None,
                bot_username=(application.bot.username or "") if settings.token else "",  # the console's is not real
                default_timezone=settings.timezone,
                clock=svc.clock, can_post=True, worker=svc.worker)
    application.web_server = listen(site, 8080 if settings.web_port is None else settings.web_port, settings.web_host,  # type: ignore[attr-defined]
                                      token=settings.token, post=lambda user, action: queue(application, user, action))
    application.web_site = site  # type: ignore[attr-defined]
    url = page_url(settings, "zh")
    if url.startswith("https://"):
        try:
            await application.bot.set_chat_menu_button(
                menu_button=MenuButtonWebApp(svc.center.renderer.t("web.menu_button", "zh"), WebAppInfo(url)))
        except TelegramError as exc:
            log.warning("set_chat_menu_button failed: %s", exc)


async def stop(application: HelpApplication) -> None:
    server = getattr(application, "web_server", None)
    if server is not None:
        server.stop()
        await application.web_site.close()  # type: ignore[attr-defined]


async def queue(application: HelpApplication, user: WebAppUser, action: dict[str, str]) -> None:
    """A verified Mini App request, as an update from that user in their private chat with the bot."""
    sender = {"id": user.id, "is_bot": False, "first_name": user.first_name or str(user.id)}
    if user.language_code:
        sender["language_code"] = user.language_code
    raw = {"update_id": next(_ids), "message": {
        "message_id": 0, "date": int(time.time()), "chat": {"id": user.id, "type": "private",
                                                             "first_name": sender["first_name"]},
        "from": sender, "web_app_data": {"data": json.dumps(action), "button_text": WEB_DATA_MARK}}}
    await application.update_queue.put(Update.de_json(raw, application.bot))


# --- what the Mini App asked --------------------------------------------------------------------------

async def on_web_data(update: Update, context: Context) -> str | None:
    """A request from the Mini App (or any web_app_data): hand-off about an entry, or a reminder for
    a computed deadline. Anything else is ignored."""
    message = update.effective_message
    try:
        action = json.loads(message.web_app_data.data)
    except (AttributeError, ValueError):
        return None
    if not isinstance(action, dict):
        return None
    kb = services(context).center.kb
    lang = lang_of(update, context)
    if action.get("action") == "human":
        entry = kb.by_id.get(str(action.get("entry") or ""))
        if entry is not None:  # the agents' card lists it with the user's last questions
            recent = context.user_data.setdefault("recent", [])
            recent.append({"q": f"{t(context, 'web.card_read', lang)} {entry.texts[lang].title}", "a": entry.id})
            del recent[:-5]
        await handoff.request_human(update, context)
        return None
    if action.get("action") == "remind":
        case, market = str(action.get("case", "")), str(action.get("market", ""))
        try:
            day = date.fromisoformat(str(action.get("day", "")))
        except ValueError:
            return None
        if market not in kb.markets_for(case) or day > services(context).now().date():
            return None
        context.user_data["ref"] = {"case": case, "market": market, "day": day.isoformat(),
                                    **({"variant": action["variant"]} if action.get("variant") else {})}
        chat_id, user_id = update.effective_chat.id, update.effective_user.id
        reminder, existing = await refund.add_reminder(context, chat_id, user_id, lang)
        state = await goto(update, context, REF_RESULT)  # the result, with its reminder row
        if reminder is None:
            await show(update, context, t(context, "ref.reminder_none", lang), edit=False)
        else:
            key = "ref.reminder_already" if existing else "ref.reminder_set"
            await context.bot.send_message(chat_id, t(context, key, lang, when=refund.reminder_when(context, reminder),
                                                      deadline=reminder.payload["deadline"]))
        return state
    return None
