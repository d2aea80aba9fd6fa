"""What the desk's parts share: its records, its language, the agents-only check, a ticket's
first sighting, and posting where a ticket lives."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, ReplyParameters, Update, User
from telegram.ext import Application

from handlers.base.common import Context, Services, services, services_of, t, with_retry
from handlers.support.agents import is_agent
from helpcenter.storage.desk_records import Desk
from helpcenter.storage.tickets import Ticket


def desk_of(svc: Services) -> Desk:
    assert svc.desk is not None, "the desk opens with the store"
    return svc.desk


def agents_lang(svc: Services) -> str:
    return svc.settings.support_lang


async def agent(context: Context, message: Message | None, user: User | None = None) -> bool:
    """The agents-only rule (support/agents.py) for the person behind a message (or who pressed
    a button on it)."""
    if message is None:
        return False
    if user is not None:  # a button: the presser, not the bot that wrote the message
        message = Message(message.message_id, message.date, message.chat, from_user=user)
    return await is_agent(context, message)


async def refuse(update: Update, context: Context) -> bool:
    """True (and a refusal said) when someone who is not an agent tries an agents' command."""
    if await agent(context, update.effective_message):
        return False
    await update.effective_message.reply_text(t(context, "desk.not_agent", agents_lang(services(context))))
    return True


async def ensure(app: Application, ticket: Ticket) -> None:
    """First sighting of a ticket: keep the bot's answers that came before the hand-off."""
    svc = services_of(app)
    data = app.user_data.get(ticket.user_id)
    before: list[tuple[str, str]] = []
    for item in data.recent if data is not None else ():
        entry = svc.center.kb.by_id.get(item.a or "")
        before += [("bot_q", item.q), ("bot_a", entry.texts[ticket.lang].title if entry else "—")]
    await desk_of(svc).ensure(ticket.id, ticket.user_id, svc.now(), before)


def source_of(message: Message) -> str:
    return f"{message.chat_id}:{message.message_id}"


def content_of(context: Context, message: Message) -> str:
    """What the transcript shows of a message: its text, or its kind of attachment and caption."""
    if message.text is not None:
        return message.text
    attachment = message.effective_attachment
    kind = type(attachment[0] if isinstance(attachment, tuple) and attachment else attachment).__name__.lower()
    kind = {"photosize": "photo"}.get(kind, kind) if attachment else "message"
    label = t(context, "desk.media", agents_lang(services(context)), kind=kind)
    return f"{label} {message.caption}" if message.caption else label


async def post(app: Application, ticket: Ticket, text: str,
                markup: InlineKeyboardMarkup | None = None) -> Message:
    """A desk notice where the ticket lives: its topic, or as a reply to its card."""
    svc = services_of(app)
    reply = (ReplyParameters(ticket.card_msg, allow_sending_without_reply=True)
             if ticket.card_msg and not ticket.thread_id else None)
    return await with_retry(lambda: app.bot.send_message(
        svc.settings.support_chat_id, text, message_thread_id=ticket.thread_id,
        reply_parameters=reply, reply_markup=markup))


def take_row(svc: Services, ticket_id: int, holder: str | None) -> InlineKeyboardMarkup:
    r = svc.center.renderer
    lang = agents_lang(svc)
    label = r.t("desk.btn.take_over", lang, name=holder) if holder else r.t("desk.btn.take", lang)
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=f"dk:take:{ticket_id}")]])
