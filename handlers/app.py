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
from typing import Any

from telegram import BotCommand, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest
from telegram.warnings import PTBUserWarning

from handlers.answers import faq
from handlers.answers import replies as answers
from handlers.base import flow, weblinks
from handlers.base.common import CONTEXT_TYPES, Context, HelpApplication, Services, Settings, services_of
from handlers.base.flow import SCREENS, State
from handlers.base.userdata import UserData
from handlers.flows import admin, menu, misc, refund, returns, seller
from handlers.runtime import webapp
from handlers.runtime.intake import DurableApplication, DurableQueue
from handlers.runtime.persistence import SqlPersistence
from handlers.runtime.processing import PerChatUpdateProcessor
from handlers.support import agents, customer, outbox, ticket_buttons
from handlers.support.desk import figures, history, knowledge, setup, take, transcript
from helpcenter.core import HelpCenter
from helpcenter.desk.taught import DESK_FILE, apply_overlay, load_overlay, with_overlay
from helpcenter.storage.db import database, is_postgres
from helpcenter.storage.desk_records import Desk
from helpcenter.storage.leader import HANDOVER_SECONDS
from helpcenter.storage.store import Store

log = logging.getLogger(__name__)

COMMANDS = ("start", "menu", "return", "refund", "seller", "faq", "human", "lang", "cancel", "help", "forget", "market")
CONCURRENT_UPDATES = 128  # different chats handled at once (one chat's updates stay in order)
CONNECTIONS = 16  # HTTP connections to the Bot API; httpcore's pool costs O(size) per request
PRIVATE = filters.ChatType.PRIVATE
TEXT = PRIVATE & filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND
WEB_DATA = filters.StatusUpdate.WEB_APP_DATA  # a request from the Mini App (runtime/webapp.py): never relayed


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
        CommandHandler("human", customer.request_human, filters=PRIVATE),
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
        MessageHandler(PRIVATE & filters.UpdateType.MESSAGE & ~filters.COMMAND & ~WEB_DATA, customer.from_user),
        MessageHandler(filters.UpdateType.EDITED_MESSAGE, agents.on_edit),
        CallbackQueryHandler(ticket_buttons.on_ticket_button, pattern=r"^tk:"),
        CallbackQueryHandler(faq.feedback, pattern=r"^fb:"),
    ]
    if support_chat_id is not None:
        group = filters.Chat(support_chat_id)
        handlers += [
            CommandHandler("close", agents.close_command, filters=group),
            CommandHandler("tickets", agents.tickets_command, filters=group),
            CommandHandler("ban", agents.ban_command, filters=group),
            CommandHandler("unban", agents.unban_command, filters=group),
            # the agents' desk (handlers/support/desk/)
            CommandHandler("mine", take.mine_command, filters=group),
            CommandHandler("kb", knowledge.kb_command, filters=group),
            CommandHandler("transcript", transcript.transcript_command, filters=group),
            CommandHandler("teach", knowledge.teach_command, filters=group),
            CommandHandler("stats", figures.stats_command, filters=group),
            CallbackQueryHandler(setup.on_button, pattern=r"^dk:"),
            MessageHandler(group & filters.UpdateType.MESSAGE & ~filters.COMMAND, agents.from_agent),
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
                       history.on_private_message),
        MessageHandler(group & filters.UpdateType.MESSAGE & ~filters.COMMAND, history.on_group_message),
        CommandHandler("close", history.on_close, filters=group),
    ]


async def _human_button(update: Update, context: Context) -> None:
    await update.callback_query.answer()
    await customer.request_human(update, context)


def conversation(timeout: float) -> ConversationHandler:
    field_text: list[BaseHandler[Update, Context, Any]] = [MessageHandler(TEXT, returns.on_text)]
    with warnings.catch_warnings():
        # per_message=False is deliberate: one conversation per user, buttons checked by our own state.
        warnings.simplefilter("ignore", PTBUserWarning)
        states: dict[object, list[BaseHandler[Update, Context, Any]]] = {
            **{state: [] for state in SCREENS},  # button-driven states: the common handlers serve
            **{state: field_text for state in (State.RET_ORDER, State.RET_PRODUCT, State.RET_REASON,
                                               State.RET_CONTACT, State.RET_CARRIER, State.RET_TRACKING)},
            State.REF_DATE: [MessageHandler(TEXT, refund.on_text)],
            ConversationHandler.TIMEOUT: [TypeHandler(Update, misc.timed_out)],
        }
        return ConversationHandler(
            entry_points=_common_handlers(),
            states=states,
            fallbacks=_common_handlers(),
            name="main",
            persistent=True,
            conversation_timeout=timeout,
        )


async def _post_init(application: Application) -> None:
    svc = services_of(application)
    await svc.store.open()
    if svc.desk is not None:
        await svc.desk.open()
        setup.start_jobs(application)
    # This process serves now: the next epoch fences the outbox (the one before can claim nothing
    # more). If that one lost its lock but still runs, it may be recording relays it was sending:
    # wait for it to go before sending again what it left "sending", or replaying the inbox.
    previous = await svc.store.take_over(svc.now())
    if previous is not None and not await svc.store.wait_until_gone(previous[0], HANDOVER_SECONDS):
        log.warning("the previous active process (%s on %s) is still connected after %.0f s; going on",
                    previous[0], previous[1], HANDOVER_SECONDS)
    interrupted = await svc.store.interrupted_sends()
    if interrupted:
        log.warning("%d relay(s) were being sent when the last run died: sending again (may arrive twice)",
                    interrupted)
    queue = application.update_queue
    assert isinstance(queue, DurableQueue) and isinstance(application, HelpApplication)
    replayed = await queue.replay(application)
    if replayed:
        log.info("replaying %d update(s) the last run received but did not finish", replayed)
    restored = await refund.restore_reminders(application)
    log.info("restored %d pending reminder(s)", restored)
    _reload_on_sighup(application)
    if application.job_queue is not None:  # relays left pending by the last run
        application.job_queue.run_once(outbox.flush_job, when=0, name="outbox-restore")
    wording = svc.center.renderer.for_agents(svc.settings.support_chat_id is not None)
    for lang in ("zh", "en"):
        commands = [BotCommand(c, wording.t(f"cmd.{c}", lang)) for c in COMMANDS]
        try:
            await application.bot.set_my_commands(commands, language_code=None if lang == "zh" else lang)
        except TelegramError as exc:  # a nicety: never fatal
            log.warning("set_my_commands(%s) failed: %s", lang, exc)
    await setup.set_group_commands(application)
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
    await outbox.stop_delivery(application)  # unsent relays stay in the outbox for the next start
    svc = services_of(application)
    await svc.worker.close()
    await svc.store.close()
    if svc.desk is not None:
        await svc.desk.close()


def build_application(settings: Settings, center: HelpCenter, request: BaseRequest | None = None,
                      clock: Callable[[], datetime] | None = None, rate_limit: bool = True) -> HelpApplication:
    queue = DurableQueue()
    # SQLite files under DATA_DIR, or one PostgreSQL database (DATABASE_URL) for both
    persistence = SqlPersistence(database(settings.database_url, settings.data_dir / "state.sqlite3",
                                          "helpcenter-state"), user_data=UserData.from_dict)
    queue.persistence = persistence
    builder: ApplicationBuilder = (Application.builder().application_class(DurableApplication)
               .token(settings.token or "0:offline").update_queue(queue).context_types(CONTEXT_TYPES)
               .defaults(Defaults(parse_mode=ParseMode.HTML))  # every message is Telegram HTML
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
    app = builder.build()
    assert isinstance(app, HelpApplication)
    url = settings.database_url  # PostgreSQL for everything, or SQLite files under DATA_DIR
    store = Store(database(url, settings.data_dir / "helpcenter.sqlite3", "helpcenter-store"))
    taught = settings.data_dir / DESK_FILE  # phrasings agents taught (/teach) join the matcher
    agents_desk = (Desk(database(url, taught, "helpcenter-desk")) if is_postgres(url)
                   else Desk(taught, settings.data_dir / "helpcenter.sqlite3"))
    services = Services(apply_overlay(center, load_overlay(taught, url)), store, settings, desk=agents_desk)
    services.center_factory = lambda: with_overlay(functools.partial(HelpCenter, background=True),
                                                   settings.data_dir, url)
    if clock is not None:
        services.clock = clock
    app.services = services
    app.add_handlers(_desk_handlers(settings.support_chat_id), group=-3)  # the desk watches first, stops only notes
    app.add_handler(TypeHandler(Update, customer.hold_on_bot_action), group=-2)  # before the relays
    app.add_handlers(_handoff_handlers(settings.support_chat_id), group=-1)
    app.add_handler(conversation(settings.conversation_timeout))
    app.add_handler(InlineQueryHandler(faq.inline_query))
    app.add_handler(CallbackQueryHandler(flow.stale_button))  # buttons nothing else claims
    if weblinks.enabled(settings):  # after the update: the menu button opens the help center as the user is now
        app.add_handler(TypeHandler(Update, weblinks.sync_menu_button), group=1)
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
