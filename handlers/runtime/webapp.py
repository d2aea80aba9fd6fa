"""The web help center (web/) on the bot's event loop, and what its Mini App asks the chat to do.

Nothing here runs without WEB_URL or WEB_PORT. Once the server has verified a Mini App's initData
it puts the request on the update queue as a private message from that user carrying
web_app_data, as Telegram does for a Mini App's sendData. So the request is stored in the inbox
before the Mini App is told "done", replayed after a crash, handled in order with the user's
other updates, and the conversation moves on from where the Mini App left off: each request is
handled by the room that registered it in base.flow's WEB_ACTIONS (the hand-off with the entry the
user was reading: support/customer.py; the deadline result with its reminder: flows/refund.py).
"""

from __future__ import annotations

import itertools
import json
import logging
import time

from telegram import MenuButtonWebApp, Update, WebAppInfo
from telegram.error import TelegramError
from telegram.ext import Application

from handlers.base.common import Context, HelpApplication, services_of
from handlers.base.flow import WEB_ACTIONS
from handlers.base.weblinks import page_url
from web.initdata import WebAppUser
from web.server import listen
from web.site import Site

log = logging.getLogger(__name__)

WEB_DATA_MARK = "helpcenter-web"  # web_app_data.button_text of a request the web server queued
DEFAULT_PORT = 8080
# Update ids of queued Mini App requests: negative (Telegram's are positive), decreasing, unique.
_ids = itertools.count(-time.time_ns() // 1000, -1)


async def start(application: Application) -> None:
    """post_init: serve the web help center (WEB_URL or WEB_PORT set) and make the help center the
    default menu button of every private chat."""
    svc = services_of(application)
    settings = svc.settings
    if not (settings.web_url or settings.web_port):
        return
    assert isinstance(application, HelpApplication)
    site = Site(lambda: svc.center, agents=settings.support_chat_id is not None,
                bot_username=(application.bot.username or "") if settings.token else "",  # the console's is not real
                default_timezone=settings.timezone,
                clock=svc.clock, can_post=True, worker=svc.worker)
    application.web_server = listen(site, DEFAULT_PORT if settings.web_port is None else settings.web_port,
                                    settings.web_host, token=settings.token,
                                    post=lambda user, action: queue(application, user, action))
    application.web_site = site
    url = page_url(settings, "zh")
    if url.startswith("https://"):
        try:
            await application.bot.set_chat_menu_button(
                menu_button=MenuButtonWebApp(svc.center.renderer.t("web.menu_button", "zh"), WebAppInfo(url)))
        except TelegramError as exc:
            log.warning("set_chat_menu_button failed: %s", exc)


async def stop(application: Application) -> None:
    if not isinstance(application, HelpApplication):
        return
    if application.web_server is not None:
        application.web_server.stop()
    if application.web_site is not None:
        await application.web_site.close()


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


async def on_web_data(update: Update, context: Context) -> str | None:
    """A request from the Mini App (or any web_app_data): the room that registered its action
    handles it (WEB_ACTIONS); anything else is ignored."""
    message = update.effective_message
    try:
        action = json.loads(message.web_app_data.data)
    except (AttributeError, ValueError):
        return None
    if not isinstance(action, dict):
        return None
    handler = WEB_ACTIONS.get(str(action.get("action")))
    return await handler(update, context, action) if handler is not None else None
