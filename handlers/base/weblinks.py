"""The chat's links into the web help center (web/): the menu's "📖" row, an answer's link to its
page, and the chat's menu button that opens it as a Telegram Mini App. Nothing shows without
WEB_URL. (The server itself and what the Mini App asks the chat: handlers/runtime/webapp.py.)"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from telegram import InlineKeyboardButton, MenuButtonWebApp, Update, WebAppInfo
from telegram.error import TelegramError

from handlers.base.common import Context, Settings, lang_of, services, t

log = logging.getLogger(__name__)


def enabled(settings: Settings) -> bool:
    return bool(settings.web_url)


def page_url(settings: Settings, lang: str, path: str = "", market: str | None = None, role: str | None = None) -> str:
    """WEB_URL/<lang>/<path>?m=&r=: the page in the chat's language, for the user's market and role."""
    query = urlencode({k: v for k, v in (("m", market), ("r", role)) if v})
    return f"{settings.web_url.rstrip('/')}/{lang}/{path}" + (f"?{query}" if query else "")


def _button(text: str, url: str) -> InlineKeyboardButton:
    """A Mini App button over HTTPS (Telegram's rule for Mini Apps), else a plain link."""
    if url.startswith("https://"):
        return InlineKeyboardButton(text, web_app=WebAppInfo(url))
    return InlineKeyboardButton(text, url=url)


def _where(context: Context) -> tuple[str | None, str | None]:
    data = context.user_data
    return data.market, data.role


def open_rows(context: Context, lang: str) -> list[list[InlineKeyboardButton]]:
    """The menu's "📖 open the help center" row; none without WEB_URL."""
    settings = services(context).settings
    if not enabled(settings):
        return []
    return [[_button(t(context, "web.btn.open", lang), page_url(settings, lang, "", *_where(context)))]]


def page_button(context: Context, lang: str, entry_id: str) -> list[InlineKeyboardButton]:
    """An answer's link to its page ("📖 view in the help center"); none without WEB_URL."""
    settings = services(context).settings
    if not enabled(settings):
        return []
    return [_button(t(context, "web.btn.page", lang), page_url(settings, lang, f"e/{entry_id}", *_where(context)))]


async def sync_menu_button(update: Update, context: Context) -> None:
    """Group 1, after every private update: the chat's menu button opens the help center in the user's
    language, market and role; set again only when one of them changed (one Bot API call)."""
    chat = update.effective_chat
    data = context.user_data
    if chat is None or chat.type != "private" or update.effective_user is None:
        return
    lang = lang_of(update, context)
    wanted = [lang, *_where(context)]
    if data.web_menu == wanted:
        return
    settings = services(context).settings
    url = page_url(settings, lang, "", *_where(context))
    if not url.startswith("https://"):
        return
    data.web_menu = wanted
    try:
        await context.bot.set_chat_menu_button(chat.id, MenuButtonWebApp(t(context, "web.menu_button", lang),
                                                                         WebAppInfo(url)))
    except TelegramError as exc:  # a nicety: the /menu button still works
        log.info("set_chat_menu_button(%s) failed: %s", chat.id, exc)
