"""What every handler shares: services, the user's language, wording, keyboards, sending."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import warnings
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update, User
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot
from telegram.warnings import PTBDeprecationWarning

from handlers.base.userdata import UserData
from helpcenter.answers.render import Renderer
from helpcenter.core import HelpCenter
from helpcenter.storage.desk_records import Desk
from helpcenter.storage.store import Store
from helpcenter.understanding.worker import FairWorker

log = logging.getLogger(__name__)

LANGS = ("zh", "en")
T = TypeVar("T")


@dataclass(frozen=True)
class Settings:
    """The environment contract of design.md, read once."""

    token: str = ""
    api_base_url: str = ""
    support_chat_id: int | None = None
    admin_ids: frozenset[int] = frozenset()
    agent_ids: frozenset[int] = frozenset()  # who may act as an agent; empty = the agents' group's admins
    data_dir: Path = Path("data")
    database_url: str = ""  # postgresql://…: everything in PostgreSQL; empty: SQLite under data_dir
    timezone: str = "Asia/Shanghai"
    report_timezone: str = "UTC"  # the operators' days: /stats, bot.py report, its chart (named in each)
    webhook_url: str = ""
    webhook_secret: str = ""
    conversation_timeout: float = 30 * 60  # seconds of silence before a flow pauses
    support_hours: str = ""  # "09:00-18:00"; empty = agents always there
    support_days: str = "1-5"  # ISO weekdays of support_hours
    support_lang: str = "zh"  # language of the agents' group
    rate_limit: bool = True  # PTB's AIORateLimiter (Telegram's ~30 msg/s); off only against an emulator
    sla_minutes: float = 10.0  # agents' desk: a ticket nobody took this long (support hours) is announced
    note_prefix: str = "//"  # agents' desk: a message starting with this is an internal note
    web_url: str = ""  # public address of the web help center / Mini App (https://…); empty: no web in the chat
    web_port: int | None = None  # where the bot process serves it (default 8080 when WEB_URL is set)
    web_host: str = "0.0.0.0"  # noqa: S104 - the address it listens on (a reverse proxy in front)
    startup_timeout: float = 60.0  # seconds to keep trying to reach Telegram (getMe) at start-up, then exit 1

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        support = env.get("SUPPORT_CHAT_ID", "").strip()
        admins = {int(x) for x in env.get("ADMIN_IDS", "").replace(" ", "").split(",") if x.lstrip("-").isdigit()}
        return cls(
            token=env.get("TELEGRAM_BOT_TOKEN", "").strip(),
            api_base_url=env.get("TELEGRAM_API_BASE_URL", "").strip(),
            support_chat_id=int(support) if support.lstrip("-").isdigit() else None,
            admin_ids=frozenset(admins),
            agent_ids=frozenset(int(x) for x in env.get("AGENT_IDS", "").replace(" ", "").split(",")
                                if x.lstrip("-").isdigit()),
            data_dir=Path(env.get("DATA_DIR", "data")),
            database_url=env.get("DATABASE_URL", "").strip(),
            timezone=env.get("BOT_TIMEZONE", "Asia/Shanghai"),
            report_timezone=env.get("REPORT_TIMEZONE", "").strip() or "UTC",
            webhook_url=env.get("WEBHOOK_URL", "").strip(),
            webhook_secret=env.get("WEBHOOK_SECRET", "").strip(),
            support_hours=env.get("SUPPORT_HOURS", "").strip(),
            support_days=env.get("SUPPORT_DAYS", "1-5").strip(),
            support_lang="en" if env.get("SUPPORT_LANG", "zh").strip().lower().startswith("en") else "zh",
            rate_limit=env.get("RATE_LIMIT", "on").strip().lower() not in ("off", "0", "false", "no"),
            sla_minutes=_positive(env.get("SLA_MINUTES", ""), 10.0),
            note_prefix=env.get("NOTE_PREFIX", "").strip() or "//",
            web_url=env.get("WEB_URL", "").strip().rstrip("/"),
            web_port=int(port) if (port := env.get("WEB_PORT", "").strip()).isdigit() else None,
            web_host=env.get("WEB_HOST", "").strip() or "0.0.0.0",  # noqa: S104 - see the field
            startup_timeout=_positive(env.get("STARTUP_TIMEOUT", ""), 60.0),
        )


def _positive(value: str, default: float) -> float:
    try:
        number = float(value)
    except ValueError:
        return default
    return number if number > 0 else default


@dataclass
class Services:
    center: HelpCenter
    store: Store
    settings: Settings
    clock: Callable[[], datetime] = field(default=lambda: datetime.now().astimezone())
    support_is_forum: bool | None = None  # learnt from getChat on the first hand-off
    center_factory: Callable[[], HelpCenter] = HelpCenter  # how /reload and SIGHUP load content
    desk: Desk | None = None  # the agents' desk (handlers/support/desk/), opened with the store
    worker: FairWorker = field(default_factory=FairWorker)  # questions are matched here, off the event loop

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.settings.timezone)

    @property
    def report_tz(self) -> ZoneInfo:
        """The zone operators' figures count days in (REPORT_TIMEZONE, default UTC)."""
        return ZoneInfo(self.settings.report_timezone)

    def now(self) -> datetime:
        return self.clock().astimezone(self.tz)


class HelpApplication(Application):
    """PTB's Application with our services attached (Application itself has __slots__)."""

    services: Services
    web_server: Any = None  # the web help center's HTTP server (handlers/runtime/webapp.py), when it runs
    web_site: Any = None  # its pages (web.site.Site)


class Context(CallbackContext[ExtBot, UserData, dict, dict]):
    """The handlers' context (PTB's examples/contexttypesbot.py): the user's data typed, and two
    flags that live for one update."""

    def __init__(self, application: Application, chat_id: int | None = None, user_id: int | None = None) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        self.answered = False  # the button was answered (a second answer is an error at Telegram)
        self.send_below = False  # show() sends screens as new messages for the rest of this update

    @property
    def user_data(self) -> UserData:
        """The user's data; an update without a user gets a blank one that is not kept."""
        data = super().user_data
        return data if data is not None else UserData()

    @user_data.setter
    def user_data(self, _: object) -> None:
        raise AttributeError("user_data is the user's own object: change its fields instead")


CONTEXT_TYPES = ContextTypes(context=Context, user_data=UserData)




def services_of(app: Application) -> Services:
    """The services of an Application built by handlers/app.py (jobs and workers have no update)."""
    assert isinstance(app, HelpApplication), "built by handlers/app.py"
    return app.services


def services(context: Context) -> Services:
    return services_of(context.application)


def message_of(update: Update) -> Message:
    """The message of an update a handler was registered for (PTB types it optional)."""
    message = update.effective_message
    assert message is not None, "a handler for messages got an update without one"
    return message


def user_of(update: Update) -> User:
    """The user behind an update a handler was registered for (PTB types it optional)."""
    user = update.effective_user
    assert user is not None, "a handler for users got an update without one"
    return user


def display_name(user: User) -> str:
    """How a user is named to agents and in tickets: Telegram's full name, else the id."""
    return user.full_name or str(user.id)


async def off_loop(update: Update, context: Context, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """fn(*args, **kwargs) in the answer worker, in turn with the other chats (matching a
    question is CPU work: on the event loop it would hold up every other chat)."""
    chat, user = update.effective_chat, update.effective_user
    key = ("chat", chat.id) if chat is not None else ("user", user.id if user is not None else 0)
    return await services(context).worker.run(key, fn, *args, **kwargs)


def renderer(context: Context) -> Renderer:
    """The renderer, told whether this bot has live agents (answers about a person depend on it)."""
    svc = services(context)
    return svc.center.renderer.for_agents(svc.settings.support_chat_id is not None)


def lang_of(update: Update | None, context: Context) -> str:
    """The user's choice (/lang), else English for English Telegram clients, else Chinese.
    The first guess is remembered, so later screens agree even on updates without a user."""
    data = context.user_data
    if data.lang in LANGS:
        return data.lang
    user = update.effective_user if update else None
    guess = "en" if user and not user.is_bot and (user.language_code or "").lower().startswith("en") else "zh"
    if user is not None and not user.is_bot:
        data.lang = guess
    return guess


def t(context: Context, key: str, lang: str, **values: object) -> str:
    return renderer(context).t(key, lang, **values)


def button(context: Context, key: str, lang: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(t(context, key, lang), callback_data=data)


def case_rows(context: Context, lang: str, prefix: str) -> list[list[InlineKeyboardButton]]:
    """The six after-sales cases of seed 000 as buttons, two a row (callback prefix:case)."""
    cases = services(context).center.kb.glossary.cases
    names = [InlineKeyboardButton(n[lang], callback_data=f"{prefix}:case:{c}") for c, n in cases.items()]
    return [names[i:i + 2] for i in range(0, len(names), 2)]


def deep_link(context: Context, entry_id: str) -> str:
    """The shareable link that opens an answer directly (/start <entry-id>)."""
    return f"https://t.me/{context.bot.username}?start={entry_id}"


def keyboard(rows: Sequence[Sequence[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([list(row) for row in rows if row])


SHOWN = "shown"  # chat_data key: message id -> kept? for the screens show() put in the chat
SHOWN_MAX = 60  # the most recent ones are enough: older messages are far up the chat


def _remember(context: Context, message: object, kept: bool) -> None:
    data = context.chat_data
    message_id = getattr(message, "message_id", None)
    if data is None or message_id is None:
        return
    shown = data.setdefault(SHOWN, {})
    shown.pop(message_id, None)
    shown[message_id] = kept
    for old in list(shown)[:-SHOWN_MAX]:
        del shown[old]


def may_edit(context: Context, message: object) -> bool:
    """Only a screen show() put in the chat as replaceable (a menu, a picker, a question) is
    edited. A kept one is not, nor one it does not know (sent before /forget, or by other
    code): when in doubt, do not overwrite."""
    data = context.chat_data
    if data is None:
        return True
    return data.get(SHOWN, {}).get(getattr(message, "message_id", None)) is False


def send_below(context: Context) -> None:
    """For the rest of this update, show() sends screens as new messages (a stale button: the
    current screen belongs at the bottom of the chat, not in an old message)."""
    context.send_below = True


async def answer_query(update: Update, context: Context, text: str | None = None, alert: bool = False) -> None:
    """Answer the button once per update (a second answer is an error at Telegram); a query too
    old to answer is not worth failing for."""
    query = update.callback_query
    if query is None or context.answered:
        return
    context.answered = True
    try:
        await query.answer(text, show_alert=alert)
    except TelegramError as exc:
        log.info("callback answer failed: %s", exc)


async def show(update: Update, context: Context, text: str | list[str],
               markup: InlineKeyboardMarkup | None = None, edit: bool = True,
               keep: bool = False) -> Message | None:
    """Answer a button by editing its message (one message becomes the next screen); otherwise,
    or if the edit is impossible, send. A multi-part text is sent part by part, buttons last.

    Never overwrite a message the user still needs: a screen shown with keep=True (a result, an
    answer, instructions) is remembered as kept, and a button pressed on it brings the next
    screen as a new message (see may_edit). Kept messages keep their buttons (a reminder's
    cancel, 👍/👎): they still work. edit=False sends even when the pressed message could be
    edited (an answer or a notice beside a flow step or a list that stays usable)."""
    parts = [text] if isinstance(text, str) else list(text)
    query = update.callback_query
    if query is not None:
        await answer_query(update, context)
        target = query.message
        if (edit and len(parts) == 1 and target is not None and may_edit(context, target)
                and not context.send_below):
            try:
                edited = await with_retry(lambda: query.edit_message_text(
                    parts[0], reply_markup=markup, disable_web_page_preview=True))
            except BadRequest as exc:
                if "not modified" in str(exc).lower():
                    _remember(context, target, keep)
                    return None
                log.info("edit failed (%s); sending instead", exc)
            except NetworkError as exc:
                log.warning("edit failed (%s); sending instead", exc)
            else:
                _remember(context, target, keep)
                return edited if isinstance(edited, Message) else None
    chat = update.effective_chat
    if chat is None:
        return None
    message = None
    for i, part in enumerate(parts):
        buttons = markup if i == len(parts) - 1 else None
        message = await with_retry(functools.partial(
            context.bot.send_message, chat.id, part, disable_web_page_preview=True,
            reply_markup=buttons))
    _remember(context, message, keep)
    return message


async def edit_buttons(update: Update, markup: InlineKeyboardMarkup) -> None:
    """Change only the buttons of the pressed message: its text is what the user keeps. Pressing
    twice leaves them as they are ("not modified" is no error)."""
    try:
        await with_retry(lambda: update.callback_query.edit_message_reply_markup(markup))
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            log.info("could not update the buttons: %s", exc)


SEND_TRIES = 3


async def with_retry(call: Callable[[], Awaitable[T]], tries: int = SEND_TRIES) -> T:
    """A Bot API call, tried again on timeouts, 5xx and 429; the last error is raised (and then
    reported by the error handler), never swallowed."""
    for attempt in range(1, tries + 1):
        try:
            return await call()
        except RetryAfter as exc:
            if attempt == tries:
                raise
            await asyncio.sleep(min(retry_seconds(exc), 30))
        except (TimedOut, NetworkError) as exc:
            if attempt == tries or isinstance(exc, BadRequest):
                raise
            log.info("Bot API call failed (%s), try %d of %d", exc, attempt, tries)
            await asyncio.sleep(0.2 * 2 ** attempt)
    raise AssertionError("unreachable")


def retry_seconds(exc: RetryAfter) -> float:
    """retry_after as seconds, whether PTB gives an int or (from its next major) a timedelta."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        wait = exc.retry_after
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
