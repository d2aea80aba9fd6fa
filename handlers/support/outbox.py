"""The outbox workers: every relay goes through the outbox table first and is marked sent only
once Telegram accepted it, so a network error, a 429 or a restart delays a message but never
loses it. One worker per destination chat.
"""

from __future__ import annotations

import asyncio
import logging
import weakref

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter
from telegram.ext import Application

from handlers.base.common import Context, retry_seconds, services_of
from helpcenter.storage.tickets import OutboxItem

log = logging.getLogger(__name__)

MAX_BACKOFF = 300.0
FLUSH_WAIT = 1.0  # seconds a handler waits for its relays to go out before it returns


class _Delivery:
    """One worker per destination chat: relays to one chat go in order, and a chat that must wait
    (the agents' group at its 20 a minute, a 429, an outage) holds up no other chat."""

    def __init__(self) -> None:
        self.workers: dict[int, asyncio.Task] = {}
        self.again: set[int] = set()  # destinations with work queued while their worker ran
        self.sending: dict[int, asyncio.Lock] = {}  # held while a relay to that chat is in flight
        self.forum_lock = asyncio.Lock()  # the agents' group is asked once whether it is a forum
        self.busy = 0  # relays being sent right now (claimed, not yet recorded)
        self.fenced = False  # another process serves now (or is about to): claim nothing more
        self.loop: asyncio.AbstractEventLoop | None = None  # for fence_from_thread


class Fenced(Exception):
    """A relay could not be claimed: another process took over (a newer epoch)."""


_deliveries: weakref.WeakKeyDictionary[Application, _Delivery] = weakref.WeakKeyDictionary()


def _delivery(app: Application) -> _Delivery:
    if app not in _deliveries:
        _deliveries[app] = _Delivery()
    return _deliveries[app]


def in_flight(app: Application, chat_id: int) -> asyncio.Lock:
    """Held while a relay to chat_id is being sent (a reply may wait for the link it will store)."""
    return _delivery(app).sending.setdefault(chat_id, asyncio.Lock())


def forum_lock(app: Application) -> asyncio.Lock:
    """The agents' group is asked once whether it is a forum, not once per ticket."""
    return _delivery(app).forum_lock


def _destination(item: OutboxItem) -> int:
    return int(item.payload.get("to_chat") or item.payload.get("chat") or 0)


async def flush_outbox(app: Application, wait: float = FLUSH_WAIT) -> None:
    """Start (or nudge) a worker for every chat that has relays waiting, and give them up to
    `wait` seconds: usually the relay is out before the handler returns, but a chat that has to
    wait for its budget does not hold up the update (nor the sender's next one)."""
    delivery = _delivery(app)
    delivery.loop = asyncio.get_running_loop()
    if delivery.fenced:
        return
    for chat_id in {_destination(i) for i in await services_of(app).store.pending_outbox()}:
        worker = delivery.workers.get(chat_id)
        if worker is None or worker.done():
            delivery.workers[chat_id] = asyncio.get_running_loop().create_task(
                _drain(app, chat_id), name=f"outbox:{chat_id}")
        else:
            delivery.again.add(chat_id)
    deadline = asyncio.get_running_loop().time() + wait
    while (left := deadline - asyncio.get_running_loop().time()) > 0:  # notices start new workers
        running = [w for w in delivery.workers.values() if w is not asyncio.current_task() and not w.done()]
        if not running:
            break
        await asyncio.wait(running, timeout=left)


async def _drain(app: Application, chat_id: int) -> None:
    """Deliver one chat's relays in order; wait and retry on a transient failure."""
    svc, delivery = services_of(app), _delivery(app)
    try:
        while True:
            delivery.again.discard(chat_id)
            items = [i for i in await svc.store.pending_outbox() if _destination(i) == chat_id]
            if not items:
                if chat_id in delivery.again:
                    continue
                return
            for item in items:
                if delivery.fenced:
                    return
                async with in_flight(app, chat_id):
                    delivery.busy += 1
                    try:
                        delay = await _deliver(app, item)
                    finally:
                        delivery.busy -= 1
                if delay is not None:
                    await asyncio.sleep(delay)
                    break
            notices = {_destination(i) for i in await svc.store.pending_outbox()} - {chat_id}
            if notices:  # failure notices queued for other chats
                await flush_outbox(app, wait=0)
    except asyncio.CancelledError:
        raise
    except Fenced:
        if not delivery.fenced:
            log.warning("another process serves now: this one sends no more relays")
            delivery.fenced = True
    except Exception:  # the store went away (shut-down) or a bug: the next flush starts again
        log.exception("delivery to chat %s stopped", chat_id)
    finally:
        if delivery.workers.get(chat_id) is asyncio.current_task():
            del delivery.workers[chat_id]


async def stop_delivery(app: Application) -> None:
    """At shut-down: stop the workers; what they had not sent stays in the outbox."""
    workers = list(_delivery(app).workers.values())
    for worker in workers:
        worker.cancel()
    await asyncio.gather(*workers, return_exceptions=True)


async def flush_job(context: Context) -> None:
    await flush_outbox(context.application)


async def fence(app: Application, seconds: float) -> int:
    """This process lost the right to serve: claim no more relays, and give the ones being sent
    up to `seconds` to be recorded (the process taking over waits for them rather than sending
    them again). How many are still in flight."""
    delivery = _delivery(app)
    delivery.fenced = True
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while delivery.busy and loop.time() < deadline:
        await asyncio.sleep(0.02)
    return delivery.busy


def fence_from_thread(app: Application, seconds: float) -> int:
    """fence() from another thread (the leader lock's watcher); -1 when the event loop did not answer."""
    delivery = _delivery(app)
    loop = delivery.loop
    if loop is None or loop.is_closed():
        return 0  # nothing was ever sent from here
    try:
        return asyncio.run_coroutine_threadsafe(fence(app, seconds), loop).result(seconds + 1.0)
    except Exception:  # noqa: BLE001 - a stuck or closing loop: the caller exits anyway
        return -1


async def _deliver(app: Application, item: OutboxItem) -> float | None:
    """Send one relay; None when done (sent or failed for good), else seconds until a retry."""
    svc = services_of(app)
    p = item.payload
    bot = app.bot
    claim = await svc.store.start_sending(item.id)  # a crash from here to "sent" may deliver it twice
    if claim == "fenced":
        raise Fenced(item.id)
    if claim != "claimed":
        return None
    try:
        if p["op"] == "copy":
            reply_to = p.get("reply_to")
            if p.get("reply_card"):  # the card's id is known only once the card was sent
                ticket = await svc.store.ticket(item.ticket_id)
                reply_to = ticket.card_msg if ticket else None
            reply = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
            sent = await bot.copy_message(p["to_chat"], p["from_chat"], p["msg"], message_thread_id=p.get("thread"),
                                          reply_parameters=reply, reply_markup=_markup(p))
            await svc.store.link(item.ticket_id, p["from_chat"], p["msg"], p["to_chat"], sent.message_id)
        elif p["op"] == "send":
            markup = _markup(p)
            reply = (ReplyParameters(p["reply_to"], allow_sending_without_reply=True) if p.get("reply_to")
                     else None)
            sent = await bot.send_message(p["to_chat"], p["text"],
                                          message_thread_id=p.get("thread"), reply_markup=markup,
                                          reply_parameters=reply)
            if p.get("card"):
                await svc.store.link(item.ticket_id, p["from_chat"], 0, p["to_chat"], sent.message_id)
                await svc.store.update_ticket(item.ticket_id, svc.now(), card_msg=sent.message_id)
        elif p["op"] == "edit":
            if "text" in p:
                await bot.edit_message_text(p["text"], p["chat"], p["msg"])
            else:
                await bot.edit_message_caption(p["chat"], p["msg"], caption=p["caption"])
    except RetryAfter as exc:
        wait = retry_seconds(exc)
        await svc.store.mark_outbox(item.id, "pending", f"retry after {wait}s")
        return wait
    except Forbidden as exc:
        await _failed(app, item, str(exc))
        return None
    except BadRequest as exc:
        if "not modified" in str(exc).lower():
            await svc.store.mark_outbox(item.id, "sent")
            return None
        await _failed(app, item, str(exc))
        return None
    except NetworkError as exc:  # timeouts, 5xx, connection errors: try again later
        await svc.store.mark_outbox(item.id, "pending", str(exc))
        return min(MAX_BACKOFF, 2.0 ** (item.attempts + 1) / 4)
    await svc.store.mark_outbox(item.id, "sent")
    return None


def _markup(payload: dict) -> InlineKeyboardMarkup | None:
    rows = payload.get("buttons")
    return InlineKeyboardMarkup([[InlineKeyboardButton(b["text"], callback_data=b["callback_data"]) for b in row]
                                 for row in rows]) if rows else None


async def _failed(app: Application, item: OutboxItem, error: str) -> None:
    """A relay that cannot be delivered (e.g. the user blocked the bot): tell the agents."""
    svc = services_of(app)
    await svc.store.mark_outbox(item.id, "failed", error)
    log.warning("relay %s for ticket %s failed for good: %s", item.id, item.ticket_id, error)
    ticket = await svc.store.ticket(item.ticket_id)
    if item.payload.get("to_user") and svc.settings.support_chat_id is not None:
        text = svc.center.renderer.t("agent.failed", svc.settings.support_lang, id=item.ticket_id, error=error)
        await svc.store.enqueue(item.ticket_id, {"op": "send", "to_chat": svc.settings.support_chat_id,
                                                 "thread": ticket.thread_id if ticket else None,
                                                 "text": text}, svc.now(), dedup=f"failed:{item.id}")
    elif item.payload.get("op") == "copy" and ticket is not None:  # the user's message did not reach agents
        text = svc.center.renderer.t("handoff.not_delivered", ticket.lang)
        await svc.store.enqueue(item.ticket_id, {"op": "send", "to_chat": ticket.chat_id, "to_user": True,
                                                 "reply_to": item.payload["msg"], "text": text}, svc.now(),
                                dedup=f"failed:{item.id}")
