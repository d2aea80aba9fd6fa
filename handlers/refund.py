"""Refund request by after-sales case (seed 000): pick the case and market, give the day the
window counts from, and get the deadlines computed from content/rules.yaml, with a reminder."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta

from telegram import InlineKeyboardButton, Update
from telegram.constants import ParseMode
from telegram.error import Forbidden, TelegramError

from helpcenter.deadlines import DateError, assess, parse_day
from helpcenter.store import Reminder

from .common import (
    Context,
    Services,
    button,
    callback_fields,
    case_rows,
    edit_buttons,
    keyboard,
    lang_of,
    renderer,
    services,
    show,
    t,
)
from .flow import REF_CASE, REF_DATE, REF_MARKET, REF_RESULT, REF_VARIANT, current, goto, screen, stale_button, start

log = logging.getLogger(__name__)
PICKER_DAYS = 7  # recent days offered as buttons
REMIND_AT = time(10, 0)  # local time of day reminders are sent


def _form(context: Context) -> dict:
    return context.user_data.setdefault("ref", {})


def _rule(context: Context):  # noqa: ANN202 - DisputeRule | None
    form = _form(context)
    kb = services(context).center.kb
    return next((r for r in kb.rules_for(form.get("case", "")) if r.market == form.get("market")), None)


def _variants(context: Context, case: str) -> list[str]:
    rules = services(context).center.kb.rules_for(case)
    return list(dict.fromkeys(w.when for r in rules for w in r.limits["acceptance"] if w.when))


@screen(REF_CASE)
async def case_screen(update: Update, context: Context) -> None:
    lang = lang_of(update, context)
    rows = case_rows(context, lang, "ref")
    rows.append([button(context, "btn.human", lang, "human"), button(context, "btn.menu", lang, "menu")])
    await show(update, context, t(context, "ref.pick_case", lang), keyboard(rows))


@screen(REF_VARIANT)
async def variant_screen(update: Update, context: Context) -> None:
    lang = lang_of(update, context)
    conditions = services(context).center.kb.glossary.conditions
    rows = [[InlineKeyboardButton(conditions[v][lang], callback_data=f"ref:var:{v}")]
            for v in _variants(context, _form(context)["case"])]
    rows.append([button(context, "btn.back", lang, "go:ref_case")])
    await show(update, context, t(context, "ref.pick_variant", lang), keyboard(rows))


@screen(REF_MARKET)
async def market_screen(update: Update, context: Context) -> None:
    lang = lang_of(update, context)
    kb = services(context).center.kb
    rows = [[InlineKeyboardButton(kb.glossary.markets[m][lang], callback_data=f"ref:mkt:{m}")]
            for m in kb.markets_for(_form(context)["case"])]
    rows.append([button(context, "btn.other_market", lang, "ref:mkt:other")])
    rows.append([button(context, "btn.back", lang, "go:ref_case")])
    await show(update, context, t(context, "ref.pick_market", lang), keyboard(rows))


@screen(REF_DATE)
async def date_screen(update: Update, context: Context) -> None:
    lang = lang_of(update, context)
    rule = _rule(context)
    event = next((w.from_event for w in rule.limits["acceptance"] if w.from_event), None) if rule else None
    kb = services(context).center.kb
    today = services(context).now().date()
    days = [InlineKeyboardButton(t(context, "btn.today", lang), callback_data=f"ref:day:{today}"),
            InlineKeyboardButton(t(context, "btn.yesterday", lang),
                                 callback_data=f"ref:day:{today - timedelta(days=1)}")]
    days += [InlineKeyboardButton((today - timedelta(days=n)).strftime("%m-%d"),
                                  callback_data=f"ref:day:{today - timedelta(days=n)}")
             for n in range(2, PICKER_DAYS)]
    rows = [days[i:i + 4] for i in range(0, len(days), 4)]
    rows.append([button(context, "btn.back", lang, "go:ref_market"), button(context, "btn.cancel", lang, "cancel")])
    event_name = kb.glossary.events[event][lang] if event else ""
    await show(update, context, t(context, "ref.ask_date", lang, event=event_name), keyboard(rows))


@screen(REF_RESULT)
async def result_screen(update: Update, context: Context) -> None:
    lang = lang_of(update, context)
    form = _form(context)
    rule = _rule(context)
    svc = services(context)
    text, limits = renderer(context).refund_result(rule, form.get("variant"), date.fromisoformat(form["day"]),
                                                   svc.now(), lang)
    acceptance = next((lim.deadline for lim in limits if lim.kind == "acceptance" and lim.deadline), None)
    remindable = acceptance is not None and acceptance.days_left >= 1
    reminder = await svc.store.pending_reminder(update.effective_chat.id, _request(context)) if remindable else None
    await show(update, context, text, keyboard(_result_rows(context, lang, remindable, reminder)), keep=True)


def _request(context: Context) -> str:
    """What a reminder is for: the case, market, variant and day of this result."""
    form = _form(context)
    return ":".join(str(form.get(k) or "-") for k in ("case", "market", "variant", "day"))


def _result_rows(context: Context, lang: str, remindable: bool,
                 reminder: Reminder | None) -> list[list[InlineKeyboardButton]]:
    """The result's buttons; once a reminder is set, its row confirms it and offers to cancel."""
    rows = []
    if reminder is not None:
        when = reminder.due_at.astimezone(services(context).tz).strftime("%m-%d %H:%M")
        rows.append([InlineKeyboardButton(t(context, "btn.reminded", lang, when=when),
                                          callback_data=f"ref:reminded:{reminder.id}"),
                     button(context, "btn.unremind", lang, f"ref:unremind:{reminder.id}")])
    elif remindable:
        rows.append([button(context, "btn.remind", lang, "ref:remind")])
    rows += [[button(context, "btn.other_case", lang, "go:ref_case"), button(context, "btn.human", lang, "human")],
             [button(context, "btn.menu", lang, "menu")]]
    return rows


@start(REF_CASE)
async def begin(update: Update, context: Context) -> str:
    context.user_data["ref"] = {}
    return await goto(update, context, REF_CASE)


async def start_with(update: Update, context: Context, case: str, market: str = "") -> str | None:
    """/refund with the case (and market) already chosen: the next question is the one left."""
    kb = services(context).center.kb
    if case not in kb.glossary.cases:
        await stale_button(update, context)
        return None
    context.user_data["ref"] = {"case": case, **({"market": market} if market in kb.markets_for(case) else {})}
    form = _form(context)
    return await goto(update, context, REF_VARIANT if _variants(context, case) else
                      REF_DATE if form.get("market") else REF_MARKET)


async def on_button(update: Update, context: Context) -> str | None:
    action, value = callback_fields(update, 2)
    form = _form(context)
    kb = services(context).center.kb
    state = current(context)
    if action == "case" and value in kb.glossary.cases and state in (REF_CASE, REF_RESULT):
        context.user_data["ref"] = {"case": value}
        return await goto(update, context, REF_VARIANT if _variants(context, value) else REF_MARKET)
    if action == "start":  # from an answer: ref:start:<case>[:<market>], in any state
        return await start_with(update, context, *value.split(":", 1))
    if action == "var" and state == REF_VARIANT and value in _variants(context, form.get("case", "")):
        form["variant"] = value
        return await goto(update, context, REF_DATE if form.get("market") else REF_MARKET)
    if action == "mkt" and state == REF_MARKET:
        if value in kb.markets_for(form.get("case", "")):
            form["market"] = value
            return await goto(update, context, REF_DATE)
        lang = lang_of(update, context)
        await show(update, context, t(context, "ref.unknown_market", lang),
                   keyboard([[button(context, "btn.human", lang, "human"),
                              button(context, "btn.other_case", lang, "go:ref_case")],
                             [button(context, "btn.menu", lang, "menu")]]), keep=True)
        return None
    if action == "day" and state == REF_DATE:
        return await _set_day(update, context, value)
    if action == "remind" and state == REF_RESULT:
        await _remind(update, context)
        return None
    if action in ("reminded", "unremind") and value.isdigit():
        await _reminder_button(update, context, action, int(value))
        return None
    await stale_button(update, context)
    return None


async def on_text(update: Update, context: Context) -> str | None:
    return await _set_day(update, context, update.effective_message.text or "")


async def _set_day(update: Update, context: Context, text: str) -> str | None:
    lang = lang_of(update, context)
    try:
        day = parse_day(text, services(context).now().date(), services(context).center.kb.lexicon.dates)
    except DateError:
        await show(update, context, t(context, "ref.bad_date", lang),
                   keyboard([[button(context, "btn.back", lang, "go:ref_market"),
                              button(context, "btn.cancel", lang, "cancel")]]), edit=False)
        return None
    _form(context)["day"] = day.isoformat()
    return await goto(update, context, REF_RESULT)


async def add_reminder(context: Context, chat_id: int, user_id: int, lang: str) -> tuple[Reminder | None, bool]:
    """A reminder for the day before the acceptance window of the current request closes, stored
    and scheduled once: (the reminder, whether it existed already), or (None, False) when there is
    no day left to remind of. The ⏰ button and the Mini App's reminder (handlers/webapp.py) use it."""
    svc = services(context)
    form = _form(context)
    rule = _rule(context)
    limits = assess(rule.limits, form.get("variant"), date.fromisoformat(form["day"]), svc.now())
    last_day = next((lim.deadline.last_day for lim in limits if lim.kind == "acceptance" and lim.deadline), None)
    now = svc.now()
    due = datetime.combine(last_day - timedelta(days=1), REMIND_AT, svc.tz) if last_day else None
    if due is None or due <= now:
        return None, False
    case_name = svc.center.kb.glossary.cases[rule.case][lang]
    payload = {"lang": lang, "case": case_name, "deadline": last_day.isoformat()}
    request = _request(context)
    existing = await svc.store.pending_reminder(user_id, request)
    if existing is not None:
        return existing, True
    reminder_id = await svc.store.add_reminder(chat_id, user_id, due, payload, now, request=request)
    reminder = Reminder(reminder_id, chat_id, user_id, due, payload)
    if not context.job_queue or not context.job_queue.get_jobs_by_name(f"reminder-{reminder_id}"):
        schedule(context.application, reminder)
    return reminder, False


def reminder_when(context: Context, reminder: Reminder) -> str:
    return reminder.due_at.astimezone(services(context).tz).strftime("%Y-%m-%d %H:%M")


async def _remind(update: Update, context: Context) -> None:
    """Store a reminder for the day before the acceptance window closes, and schedule it."""
    lang = lang_of(update, context)
    reminder, existing = await add_reminder(context, update.effective_chat.id, update.effective_user.id, lang)
    if reminder is None:
        await update.callback_query.answer(t(context, "ref.reminder_none", lang), show_alert=True)
        return
    when = reminder_when(context, reminder)
    if existing:  # a second tap: say so, change nothing
        await update.callback_query.answer(t(context, "ref.reminder_already", lang, when=when))
        await edit_buttons(update, keyboard(_result_rows(context, lang, True, reminder)))
        return
    await update.callback_query.answer()
    await edit_buttons(update, keyboard(_result_rows(context, lang, True, reminder)))
    await context.bot.send_message(update.effective_chat.id, t(context, "ref.reminder_set", lang, when=when,
                                                               deadline=reminder.payload["deadline"]))


async def _reminder_button(update: Update, context: Context, action: str, reminder_id: int) -> None:
    """The confirmation (tells when) and the cancel button of a set reminder; on any result
    message, in any state: the reminder is the user's, found by its id and their user id."""
    lang = lang_of(update, context)
    svc = services(context)
    query = update.callback_query
    user_id = update.effective_user.id
    reminder = await svc.store.pending_reminder(user_id, reminder_id=reminder_id)
    if reminder is None:
        await query.answer(t(context, "ref.reminder_gone", lang))
        await edit_buttons(update, keyboard(_result_rows(context, lang, False, None)))
        return
    if action == "reminded":
        when = reminder.due_at.astimezone(svc.tz).strftime("%Y-%m-%d %H:%M")
        await query.answer(t(context, "ref.reminder_already", lang, when=when))
        return
    await svc.store.cancel_reminder(reminder_id, user_id)
    for job in context.job_queue.get_jobs_by_name(f"reminder-{reminder_id}") if context.job_queue else ():
        job.schedule_removal()
    await query.answer(t(context, "ref.reminder_cancelled", lang))
    await edit_buttons(update, keyboard(_result_rows(context, lang, True, None)))


def schedule(application: object, reminder: Reminder) -> None:
    """Put a stored reminder on the JobQueue; at start-up every pending one is scheduled again.
    One that fell due while the bot was down is sent at once."""
    svc: Services = application.services  # type: ignore[attr-defined]
    delay = max(0.0, (reminder.due_at - svc.now()).total_seconds())
    application.job_queue.run_once(send_reminder, when=delay, data=reminder,  # type: ignore[attr-defined]
                                   name=f"reminder-{reminder.id}", chat_id=reminder.chat_id)


async def send_reminder(context: Context) -> None:
    reminder: Reminder = context.job.data
    svc: Services = context.application.services  # type: ignore[attr-defined]
    if await svc.store.reminder_status(reminder.id) != "pending":  # cancelled (or forgotten) meanwhile
        return
    p = reminder.payload
    text = svc.center.renderer.t("ref.reminder_text", p["lang"], case=p["case"], deadline=p["deadline"])
    try:
        await context.bot.send_message(reminder.chat_id, text, parse_mode=ParseMode.HTML)
    except Forbidden:
        log.warning("reminder %s: user blocked the bot; dropping it", reminder.id)
        await svc.store.set_reminder_status(reminder.id, "failed")
        return
    except TelegramError:
        log.exception("reminder %s failed; retrying in 5 minutes", reminder.id)
        context.job_queue.run_once(send_reminder, when=300, data=reminder, name=f"reminder-{reminder.id}",
                                   chat_id=reminder.chat_id)
        return
    await svc.store.set_reminder_status(reminder.id, "sent")


async def restore_reminders(application: object) -> int:
    """Schedule again every reminder still pending (a past one is sent at once)."""
    svc: Services = application.services  # type: ignore[attr-defined]
    pending = await svc.store.pending_reminders()
    for reminder in pending:
        schedule(application, reminder)
    return len(pending)
