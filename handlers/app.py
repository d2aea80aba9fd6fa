"""Builds the Application: one persistent ConversationHandler for every flow, plus the handlers
that work outside it. bot.py and the tests both build the bot here."""

from __future__ import annotations

import asyncio
import functools
import logging
import signal
import warnings
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from telegram import BotCommand, Update
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest
from telegram.warnings import PTBUserWarning

from helpcenter.core import HelpCenter
from helpcenter.db import database, is_postgres
from helpcenter.desk import Desk
from helpcenter.store import Store
from helpcenter.taught import DESK_FILE, apply_overlay, load_overlay, with_overlay

from . import admin, answers, faq, flow, handoff, menu, misc, refund, returns, seller, webapp
from . import agents as desk
from .common import Context, HelpApplication, Services, Settings
from .flow import REF_DATE, RET_CARRIER, RET_CONTACT, RET_ORDER, RET_PRODUCT, RET_REASON, RET_TRACKING, SCREENS
from .intake import DurableApplication, DurableQueue
from .persistence import SqlPersistence
from .processing import PerChatUpdateProcessor

log = logging.getLogger(__name__)

COMMANDS = ("start", "menu", "return", "refund", "seller", "faq", "human", "lang", "cancel", "help", "forget", "market")
CONCURRENT_UPDATES = 128  # different chats handled at once (one chat's updates stay in order)
CONNECTIONS = 16  # HTTP connections to the Bot API; httpcore's pool costs O(size) per request
PRIVATE = filters.ChatType.PRIVATE
TEXT = PRIVATE & filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND
WEB_DATA = filters.StatusUpdate.WEB_APP_DATA  # a request from the Mini App (handlers/webapp.py): never relayed


def _common_handlers() -> list:
    """Handlers that work in every state (and start the conversation when none is active)."""
    return [
        CommandHandler("start", menu.start, filters=PRIVATE),
        CommandHandler("menu", menu.menu, filters=PRIVATE),
        CommandHandler("return", returns.begin, filters=PRIVATE),
        CommandHandler("refund", refund.begin, filters=PRIVATE),
        CommandHandler("seller", seller.begin, filters=PRIVATE),
        CommandHandler("cancel", menu.cancel, filters=PRIVATE),
        CommandHandler("help", menu.help_command, filters=PRIVATE),
        CommandHandler("lang", menu.lang_command, filters=PRIVATE),
        CommandHandler("human", handoff.request_human, filters=PRIVATE),
        CommandHandler("faq", faq.browse, filters=PRIVATE),
        CommandHandler("forget", admin.forget, filters=PRIVATE),
        CommandHandler("market", answers.market_command, filters=PRIVATE),
        CommandHandler("stats", admin.stats, filters=PRIVATE),
        CommandHandler("reload", admin.reload_command, filters=PRIVATE),
        CallbackQueryHandler(menu.pick_role, pattern=r"^role:"),
        CallbackQueryHandler(menu.set_lang, pattern=r"^lang:"),
        CallbackQueryHandler(menu.menu, pattern=r"^menu$"),
        CallbackQueryHandler(menu.cancel, pattern=r"^cancel$"),
        CallbackQueryHandler(misc.go, pattern=r"^go:"),
        CallbackQueryHandler(flow.resume, pattern=r"^resume$"),
        CallbackQueryHandler(returns.on_button, pattern=r"^ret:"),
        CallbackQueryHandler(refund.on_button, pattern=r"^ref:"),
        CallbackQueryHandler(seller.on_button, pattern=r"^sel:"),
        CallbackQueryHandler(answers.answer_button, pattern=r"^ans:"),
        CallbackQueryHandler(answers.profile_button, pattern=r"^prof:"),
        CallbackQueryHandler(faq.browse, pattern=r"^faq"),
        CallbackQueryHandler(_human_button, pattern=r"^human$"),
        CallbackQueryHandler(admin.forget_button, pattern=r"^forget:"),
        MessageHandler(TEXT, answers.free_text),
        MessageHandler(PRIVATE & WEB_DATA, webapp.on_web_data),
        MessageHandler(PRIVATE & filters.UpdateType.MESSAGE & ~filters.TEXT, misc.non_text),
        MessageHandler(PRIVATE & filters.UpdateType.MESSAGE & filters.COMMAND, menu.unknown_command),
    ]


def _handoff_handlers(support_chat_id: int | None) -> list:
    """Group -1: relays while a ticket is open, and the agents' group. They stop the update
    (ApplicationHandlerStop) when they took it, so the bot does not answer it as well."""
    handlers: list = [
        MessageHandler(PRIVATE & filters.UpdateType.MESSAGE & ~filters.COMMAND & ~WEB_DATA, handoff.from_user),
        MessageHandler(filters.UpdateType.EDITED_MESSAGE, handoff.on_edit),
        CallbackQueryHandler(handoff.on_ticket_button, pattern=r"^tk:"),
        CallbackQueryHandler(faq.feedback, pattern=r"^fb:"),
    ]
    if support_chat_id is not None:
        agents = filters.Chat(support_chat_id)
        handlers += [
            CommandHandler("close", handoff.close_command, filters=agents),
            CommandHandler("tickets", handoff.tickets_command, filters=agents),
            CommandHandler("ban", handoff.ban_command, filters=agents),
            CommandHandler("unban", handoff.unban_command, filters=agents),
            # the agents' desk (handlers/agents.py)
            CommandHandler("mine", desk.mine_command, filters=agents),
            CommandHandler("kb", desk.kb_command, filters=agents),
            CommandHandler("transcript", desk.transcript_command, filters=agents),
            CommandHandler("teach", desk.teach_command, filters=agents),
            CommandHandler("stats", desk.stats_command, filters=agents),
            CallbackQueryHandler(desk.on_button, pattern=r"^dk:"),
            MessageHandler(agents & filters.UpdateType.MESSAGE & ~filters.COMMAND, handoff.from_agent),
        ]
    return handlers


def _desk_handlers(support_chat_id: int | None) -> list:
    """Group -3, before the relays: the agents' desk keeps each ticket's history and stops `//`
    notes so they are never relayed."""
    if support_chat_id is None:
        return []
    group = filters.Chat(support_chat_id)
    return [
        MessageHandler(PRIVATE & filters.UpdateType.MESSAGE & ~filters.COMMAND & ~WEB_DATA,
                       functools.partial(desk.on_private_message, hold_key=handoff.HOLD)),
        MessageHandler(group & filters.UpdateType.MESSAGE & ~filters.COMMAND, desk.on_group_message),
        CommandHandler("close", desk.on_close, filters=group),
    ]


async def _human_button(update: Update, context: Context) -> None:
    await update.callback_query.answer()
    await handoff.request_human(update, context)


def conversation(timeout: float) -> ConversationHandler:
    field_text = [MessageHandler(TEXT, returns.on_text)]
    with warnings.catch_warnings():
        # per_message=False is deliberate: one conversation per user, buttons checked by our own state.
        warnings.simplefilter("ignore", PTBUserWarning)
        return ConversationHandler(
            entry_points=_common_handlers(),
            states={
                **{state: [] for state in SCREENS},  # button-driven states: the common handlers serve
                **{state: field_text for state in (RET_ORDER, RET_PRODUCT, RET_REASON, RET_CONTACT, RET_CARRIER,
                                                   RET_TRACKING)},
                REF_DATE: [MessageHandler(TEXT, refund.on_text)],
                ConversationHandler.TIMEOUT: [TypeHandler(Update, misc.timed_out)],
            },
            fallbacks=_common_handlers(),
            name="main",
            persistent=True,
            conversation_timeout=timeout,
        )


async def _post_init(application: Application) -> None:
    svc: Services = application.services  # type: ignore[attr-defined]
    await svc.store.open()
    if svc.desk is not None:
        await svc.desk.open()
        desk.start_jobs(application)
    interrupted = await svc.store.interrupted_sends()
    if interrupted:
        log.warning("%d relay(s) were being sent when the last run died: sending again (may arrive twice)",
                    interrupted)
    replayed = await application.update_queue.replay(application)  # type: ignore[attr-defined]
    if replayed:
        log.info("replaying %d update(s) the last run received but did not finish", replayed)
    restored = await refund.restore_reminders(application)
    log.info("restored %d pending reminder(s)", restored)
    _reload_on_sighup(application)
    if application.job_queue is not None:  # relays left pending by the last run
        application.job_queue.run_once(handoff.flush_job, when=0, name="outbox-restore")
    wording = svc.center.renderer.for_agents(svc.settings.support_chat_id is not None)
    for lang in ("zh", "en"):
        commands = [BotCommand(c, wording.t(f"cmd.{c}", lang)) for c in COMMANDS]
        try:
            await application.bot.set_my_commands(commands, language_code=None if lang == "zh" else lang)
        except TelegramError as exc:  # a nicety: never fatal
            log.warning("set_my_commands(%s) failed: %s", lang, exc)
    await desk.set_group_commands(application)
    await webapp.start(application)  # the web help center, when WEB_URL or WEB_PORT is set


def _reload_on_sighup(application: Application) -> None:
    """kill -HUP <pid> reloads content/ and templates/ like /reload."""
    try:
        asyncio.get_running_loop().add_signal_handler(
            signal.SIGHUP, lambda: asyncio.ensure_future(admin.reload_content(application)))
    except (NotImplementedError, RuntimeError, AttributeError) as exc:  # not on this platform / thread
        log.info("no SIGHUP reload: %s", exc)


async def _post_shutdown(application: Application) -> None:
    await webapp.stop(application)
    await handoff.stop_delivery(application)  # unsent relays stay in the outbox for the next start
    await application.services.worker.close()  # type: ignore[attr-defined]
    await application.services.store.close()  # type: ignore[attr-defined]
    if application.services.desk is not None:  # type: ignore[attr-defined]
        await application.services.desk.close()  # type: ignore[attr-defined]


def build_application(settings: Settings, center: HelpCenter, request: BaseRequest | None = None,
                      clock: Callable[[], datetime] | None = None, rate_limit: bool = True) -> HelpApplication:
    queue = DurableQueue()
    # SQLite files under DATA_DIR, or one PostgreSQL database (DATABASE_URL) for both
    persistence = SqlPersistence(database(settings.database_url, settings.data_dir / "state.sqlite3",
                                          "helpcenter-state"))
    queue.persistence = persistence
    builder = (Application.builder().application_class(DurableApplication)
               .token(settings.token or "0:offline").update_queue(queue)
               .concurrent_updates(PerChatUpdateProcessor(CONCURRENT_UPDATES))
               .persistence(persistence)
               .post_init(_post_init).post_shutdown(_post_shutdown))
    if settings.api_base_url:
        base = settings.api_base_url.rstrip("/")
        builder = builder.base_url(f"{base}/bot").base_file_url(f"{base}/file/bot")
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    else:  # concurrent updates need concurrent Bot API calls (PTB's default pool holds one)
        builder = builder.connection_pool_size(CONNECTIONS).pool_timeout(30.0)
    if rate_limit:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=3))
    app: HelpApplication = builder.build()  # type: ignore[assignment]
    url = settings.database_url  # PostgreSQL for everything, or SQLite files under DATA_DIR
    store = Store(database(url, settings.data_dir / "helpcenter.sqlite3", "helpcenter-store"))
    taught = settings.data_dir / DESK_FILE  # phrasings agents taught (/teach) join the matcher
    agents_desk = (Desk(database(url, taught, "helpcenter-desk")) if is_postgres(url)
                   else Desk(taught, settings.data_dir / "helpcenter.sqlite3"))
    services = Services(apply_overlay(center, load_overlay(taught, url)), store, settings, desk=agents_desk)
    services.center_factory = lambda: with_overlay(functools.partial(HelpCenter, background=True),
                                                   settings.data_dir, url)
    services.is_agent = handoff.is_agent  # the agents-only check: the desk refuses others the same way
    if clock is not None:
        services.clock = clock
    app.services = services
    app.add_handlers(_desk_handlers(settings.support_chat_id), group=-3)  # the desk watches first, stops only notes
    app.add_handler(TypeHandler(Update, handoff.hold_on_bot_action), group=-2)  # before the relays
    app.add_handlers(_handoff_handlers(settings.support_chat_id), group=-1)
    app.add_handler(conversation(settings.conversation_timeout))
    app.add_handler(InlineQueryHandler(faq.inline_query))
    app.add_handler(CallbackQueryHandler(flow.stale_button))  # buttons nothing else claims
    if webapp.enabled(settings):  # after the update: the menu button opens the help center as the user is now
        app.add_handler(TypeHandler(Update, webapp.sync_menu_button), group=1)
    app.add_error_handler(misc.on_error)
    return app


@asynccontextmanager
async def serving(app: Application) -> AsyncIterator[Application]:
    """Run an Application without an updater (console, tests), with the same start-up and
    shut-down hooks run_polling would call."""
    async with app:
        if app.post_init:
            await app.post_init(app)
        await app.start()
        try:
            yield app
        finally:
            await app.stop()
            if app.post_shutdown:
                await app.post_shutdown(app)
