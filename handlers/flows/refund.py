"""Refund request by after-sales case (seed 000): pick the case and market, give the day the
window counts from, and get the deadlines computed from content/rules.yaml, with a reminder."""

from __future__ import annotations

import html
import logging
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from telegram import InlineKeyboardButton, Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import Application

from handlers.answers.replies import free_text, market_rows
from handlers.base.callbacks import callback_fields
from handlers.base.common import (
    Context,
    button,
    case_rows,
    edit_buttons,
    keyboard,
    lang_of,
    off_loop,
    renderer,
    services,
    services_of,
    show,
    t,
)
from handlers.base.flow import (
    SCREENS,
    CardFacts,
    State,
    current,
    goto,
    on_market,
    screen,
    stale_button,
    start,
    ticket_card,
    web_action,
)
from handlers.base.userdata import RefundForm
from helpcenter.answers import forms
from helpcenter.answers.deadlines import DateError, Deadline, acceptance_deadline, assess, parse_day
from helpcenter.knowledge.model import DisputeRule
from helpcenter.storage.reminders import Reminder

log = logging.getLogger(__name__)
PICKER_DAYS = 7  # recent days offered as buttons
REMIND_AT = time(10, 0)  # local time of day reminders are sent


PENDING = "pending"  # RefundForm.day when the event the window counts from has not happened yet
NOT_YET_EVENTS = ("delivered", "received")  # events a buyer can still be waiting for
UNSURE = "unsure"  # RefundForm.variant when the buyer does not know which variant applies: all are shown


def _form(context: Context) -> RefundForm:
    return context.user_data.ref


def _variant(form: RefundForm) -> str | None:
    """The variant the deadlines are counted for: None when there is none, or the buyer is not
    sure which applies (every window of the rule is then shown, each labelled)."""
    return None if form.variant == UNSURE else form.variant


def _rule(context: Context) -> DisputeRule | None:
    form = _form(context)
    return services(context).center.kb.rule_for(form.case, form.market)


def market_now(context: Context, market: str | None) -> tuple[datetime, tuple[str, bool]]:
    """Now in the market's time zone (content/markets.yaml; else BOT_TIMEZONE), and the zone
    (name, assumed?): "today" and every deadline of the calculator are counted there."""
    svc = services(context)
    zone = svc.center.renderer.zone(market, svc.settings.timezone)
    return svc.clock().astimezone(ZoneInfo(zone[0])), zone


def _event(rule: DisputeRule | None) -> str | None:
    """The event the rule's window counts from (loader: every acceptance window has one)."""
    return next((w.from_event for w in rule.limits["acceptance"] if w.from_event), None) if rule else None


def _day(form: RefundForm) -> date | None:
    try:
        return date.fromisoformat(str(form.day))
    except ValueError:
        return None


@ticket_card((State.REF_CASE, State.REF_VARIANT, State.REF_MARKET, State.REF_DATE, State.REF_RESULT), order=2)
def refund_card(context: Context, lang: str, here: bool) -> CardFacts:
    """For the agents: the case, variant, market and day the user chose, and the last day to file
    that the result showed them."""
    r = renderer(context)
    names = services(context).center.kb.glossary
    ref = context.user_data.ref
    answers = []
    for key, value, table in (("case", ref.case, names.cases), ("variant", ref.variant, names.conditions)):
        if value:
            shown = r.t("btn.variant_unsure", lang) if value == UNSURE else table.get(value, {}).get(lang, value)
            answers.append((r.t(f"card.{key}", lang), shown))
    if ref.market:
        answers.append((r.t("card.market", lang), r.market_label(ref.market, lang)))
    if ref.day and _day(ref):
        answers.append((r.t("card.day", lang), ref.day))
        last = _acceptance_deadline(context, ref)
        if last is not None:
            key = "card.closed" if not last.open else "card.today" if last.days_left == 0 else "card.open"
            answers.append((r.t("card.deadline", lang), r.t(key, lang, date=last.last_day, n=last.days_left)))
    return CardFacts(r.t("btn.refund", lang) if here else "", tuple(answers))


def _acceptance_deadline(context: Context, ref: RefundForm) -> Deadline | None:
    """The last day to file that the refund result showed the user, computed the same way (days
    left are counted from now, when the agents read it, in the market's time zone)."""
    rule = services(context).center.kb.rule_for(ref.case, ref.market)
    day = _day(ref)
    if rule is None or day is None:
        return None
    return acceptance_deadline(assess(rule.limits, _variant(ref), day, market_now(context, ref.market)[0]))


@screen(State.REF_CASE)
async def case_screen(update: Update, context: Context) -> None:
    lang = lang_of(update, context)
    rows = case_rows(context, lang, "ref")
    text = t(context, "ref.pick_case", lang)
    if context.user_data.role == "seller":  # the buyer's filing window: a seller's side is elsewhere
        text = t(context, "ref.seller_note", lang) + "\n\n" + text
        rows.append([button(context, "btn.disputes", lang, "go:sel_case")])
    rows.append([button(context, "btn.human", lang, "human"), button(context, "btn.menu", lang, "menu")])
    await show(update, context, text, keyboard(rows))


@screen(State.REF_VARIANT)
async def variant_screen(update: Update, context: Context) -> None:
    lang = lang_of(update, context)
    conditions = services(context).center.kb.glossary.conditions
    rule = _rule(context)
    rows = [[InlineKeyboardButton(conditions[v][lang], callback_data=f"ref:var:{v}")]
            for v in (rule.variants if rule else ())]
    rows.append([button(context, "btn.variant_unsure", lang, f"ref:var:{UNSURE}")])  # every window, labelled
    rows.append([button(context, "btn.back", lang, "go:ref_case"), button(context, "btn.change_market", lang,
                                                                          "go:ref_market")])
    await show(update, context, t(context, "ref.pick_variant", lang), keyboard(rows))


@screen(State.REF_MARKET)
async def market_screen(update: Update, context: Context) -> None:
    """Every market users can name (the same picker as /market): one without a public figure for
    the case leads to where to look in the app and a person, never to a dead end."""
    lang = lang_of(update, context)
    rows = market_rows(context, lang, "ref:mkt:{}")
    rows.append([button(context, "btn.back", lang, "go:ref_case"), button(context, "btn.cancel", lang, "cancel")])
    await show(update, context, t(context, "ref.pick_market", lang), keyboard(rows))


@screen(State.REF_DATE)
async def date_screen(update: Update, context: Context) -> None:
    """The day the window counts from: recent days of the market's calendar as buttons (its time
    zone said), or typed; "not yet" when the event (delivery) has not happened."""
    lang = lang_of(update, context)
    form = _form(context)
    rule = _rule(context)
    event = _event(rule)
    r = renderer(context)
    now, (zone, assumed) = market_now(context, form.market)
    today = now.date()
    days = [InlineKeyboardButton(t(context, "btn.today", lang), callback_data=f"ref:day:{today}"),
            InlineKeyboardButton(t(context, "btn.yesterday", lang),
                                 callback_data=f"ref:day:{today - timedelta(days=1)}")]
    days += [InlineKeyboardButton((today - timedelta(days=n)).strftime("%m-%d"),
                                  callback_data=f"ref:day:{today - timedelta(days=n)}")
             for n in range(2, PICKER_DAYS)]
    rows = [days[i:i + 4] for i in range(0, len(days), 4)]
    if event in NOT_YET_EVENTS:  # a lost parcel may never be delivered: not "yet"
        label = "btn.never_delivered" if rule is not None and rule.event_may_never_happen else "btn.not_yet"
        rows.append([button(context, label, lang, f"ref:day:{PENDING}")])
    rows.append([button(context, "btn.back", lang, "go:ref_case"),
                 button(context, "btn.change_market", lang, "go:ref_market"),
                 button(context, "btn.cancel", lang, "cancel")])
    event_name = services(context).center.kb.glossary.events[event][lang] if event else ""
    note = html.escape(r.zone_note(form.market, zone, assumed, today, lang))
    text = f"{t(context, 'ref.ask_date', lang, event=event_name)}\n<i>{note}</i>"
    await show(update, context, text, keyboard(rows))


@screen(State.REF_RESULT)
async def result_screen(update: Update, context: Context) -> None:
    """The deadlines; or, for a market without a public figure for the case, where to look in the
    app and a person; or, before the event, that the window has not started (or, where the case
    means the event may never happen, that the source does not say how the window applies then)."""
    lang = lang_of(update, context)
    form = _form(context)
    rule = _rule(context)
    svc = services(context)
    now, zone = market_now(context, form.market)
    text, limits = renderer(context).refund_result(rule, _variant(form), _day(form), now, lang, market=form.market,
                                                   zone=zone, case=form.case)
    acceptance = acceptance_deadline(limits)
    remindable = acceptance is not None and acceptance.days_left >= 1
    reminder = await svc.store.pending_reminder(update.effective_chat.id, _request(context)) if remindable else None
    await show(update, context, text, keyboard(_result_rows(context, lang, remindable, reminder)), keep=True)


def _request(context: Context) -> str:
    """What a reminder is for: the case, market, variant and day of this result."""
    form = _form(context)
    return ":".join(str(v or "-") for v in (form.case, form.market, _variant(form), form.day))


def _result_rows(context: Context, lang: str, remindable: bool,
                 reminder: Reminder | None) -> list[list[InlineKeyboardButton]]:
    """The result's buttons; once a reminder is set, its row confirms it and offers to cancel."""
    rows = []
    if reminder is not None:
        rows.append([InlineKeyboardButton(t(context, "btn.reminded", lang,
                                            when=reminder_when(context, reminder, "%m-%d %H:%M", zone=False)),
                                          callback_data=f"ref:reminded:{reminder.id}"),
                     button(context, "btn.unremind", lang, f"ref:unremind:{reminder.id}")])
    elif remindable:
        rows.append([button(context, "btn.remind", lang, "ref:remind")])
    rows += [[button(context, "btn.other_case", lang, "go:ref_case"), button(context, "btn.human", lang, "human")],
             [button(context, "btn.change_market", lang, "go:ref_market"), button(context, "btn.menu", lang, "menu")]]
    return rows


@start(State.REF_CASE)
async def begin(update: Update, context: Context) -> str:
    context.user_data.ref = RefundForm()
    return await goto(update, context, State.REF_CASE)


async def start_with(update: Update, context: Context, case: str, market: str = "") -> str | None:
    """/refund with the case (and market) already chosen: the next question is the one left."""
    kb = services(context).center.kb
    if case not in kb.glossary.cases:
        await stale_button(update, context)
        return None
    context.user_data.ref = RefundForm(case=case, market=market if market in kb.vocabulary.markets else None)
    return await _next(update, context)


async def _next(update: Update, context: Context) -> str:
    """The next question the form still needs: the market (the saved one is taken), which
    variant applies (only a rule with variants asks), the day; else the result."""
    form = _form(context)
    kb = services(context).center.kb
    saved = context.user_data.market
    if form.market is None and saved in kb.vocabulary.markets:
        form.market = saved
    if form.market is None:
        return await goto(update, context, State.REF_MARKET)
    rule = _rule(context)
    if rule is None:  # no public figure for this case there: where to look, and a person
        return await goto(update, context, State.REF_RESULT)
    if rule.variants and form.variant not in (*rule.variants, UNSURE):
        return await goto(update, context, State.REF_VARIANT)
    if not rule.variants:
        form.variant = None
    return await goto(update, context, State.REF_DATE)


async def _with_market(update: Update, context: Context, market: str | None) -> str:
    """The same case for another market: its variant and day were that market's, so they are asked
    again (no market: the market is asked)."""
    form = _form(context)
    if form.case is None:
        return await goto(update, context, State.REF_CASE)
    form.market, form.variant, form.day = market, None, None
    return await _next(update, context)


@on_market((State.REF_VARIANT, State.REF_MARKET, State.REF_DATE, State.REF_RESULT))
async def follow_saved_market(update: Update, context: Context) -> str:
    """A market saved with /market mid-request: the request goes on for it, never showing the
    last market's screen again (a result shown before stays above, kept)."""
    return await _with_market(update, context, context.user_data.market)


async def on_button(update: Update, context: Context) -> str | None:
    action, value = callback_fields(update, 2)
    form = _form(context)
    kb = services(context).center.kb
    state = current(context)
    if action == "case" and value in kb.glossary.cases and state in (State.REF_CASE, State.REF_RESULT):
        context.user_data.ref = RefundForm(case=value, market=form.market)
        return await _next(update, context)
    if action == "start":  # from an answer: ref:start:<case>[:<market>], in any state
        return await start_with(update, context, *value.split(":", 1))
    rule = _rule(context)
    if action == "var" and state == State.REF_VARIANT and rule is not None and value in (*rule.variants, UNSURE):
        form.variant = value
        return await goto(update, context, State.REF_DATE)
    if action == "mkt" and state == State.REF_MARKET and value in kb.vocabulary.markets:
        context.user_data.market = value  # saved, as the picker promises (ref.pick_market)
        return await _with_market(update, context, value)
    if action == "day" and state == State.REF_DATE:
        if value == PENDING and _event(rule) in NOT_YET_EVENTS:
            form.day = PENDING
            return await goto(update, context, State.REF_RESULT)
        return await _set_day(update, context, value)
    if action == "remind" and state == State.REF_RESULT:
        await _remind(update, context)
        return None
    if action in ("reminded", "unremind") and value.isdigit():
        await _reminder_button(update, context, action, int(value))
        return None
    await stale_button(update, context)
    return None


async def on_text(update: Update, context: Context) -> str | None:
    """A day typed at the date question; a question typed there is answered (the date question
    follows again), anything else gets the forms it understands."""
    text = update.effective_message.text or ""
    lang = lang_of(update, context)
    svc = services(context)
    try:
        day = parse_day(text, market_now(context, _form(context).market)[0].date(), svc.center.kb.lexicon.dates)
    except DateError:
        # Not a day: a question (a question word or mark, or text the knowledge base answers with
        # confidence) is answered, and the day is asked again below the answer.
        question = forms.looks_like_question(text, svc.center.kb.flows.question_words)
        if question or (await off_loop(update, context, svc.center.matcher.match, text)).answer is not None:
            await free_text(update, context)
            await SCREENS[State.REF_DATE](update, context)
            return None
        await show(update, context, t(context, "ref.bad_date", lang), edit=False, keep=True)
        await SCREENS[State.REF_DATE](update, context)  # the day's buttons again, below
        return None
    return await _record_day(update, context, day)


async def _set_day(update: Update, context: Context, value: str) -> str | None:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        await stale_button(update, context)
        return None
    if day > market_now(context, _form(context).market)[0].date():  # a button from before midnight there
        await stale_button(update, context)
        return None
    return await _record_day(update, context, day)


async def _record_day(update: Update, context: Context, day: date) -> str | None:
    _form(context).day = day.isoformat()
    return await goto(update, context, State.REF_RESULT)


async def add_reminder(context: Context, chat_id: int, user_id: int, lang: str) -> tuple[Reminder | None, bool]:
    """A reminder for the day before the acceptance window of the current request closes, stored
    and scheduled once: (the reminder, whether it existed already), or (None, False) when there is
    no day left to remind of. The ⏰ button and the Mini App's reminder (remind_from_web) use it."""
    svc = services(context)
    form = _form(context)
    rule = _rule(context)
    day = _day(form)
    if rule is None or day is None:
        return None, False
    now, (zone, _) = market_now(context, form.market)
    limits = assess(rule.limits, _variant(form), day, now)
    last = acceptance_deadline(limits)
    last_day = last.last_day if last else None
    due = datetime.combine(last_day - timedelta(days=1), REMIND_AT, now.tzinfo) if last_day else None
    if due is None or due <= now:
        return None, False
    case_name = svc.center.kb.glossary.cases[rule.case][lang]
    payload = {"lang": lang, "case": case_name, "deadline": last_day.isoformat(), "zone": zone}
    request = _request(context)
    existing = await svc.store.pending_reminder(user_id, request)
    if existing is not None:
        return existing, True
    reminder_id = await svc.store.add_reminder(chat_id, user_id, due, payload, now, request=request)
    reminder = Reminder(reminder_id, chat_id, user_id, due, payload)
    if not context.job_queue or not context.job_queue.get_jobs_by_name(f"reminder-{reminder_id}"):
        schedule(context.application, reminder)
    return reminder, False


@web_action("remind")
async def remind_from_web(update: Update, context: Context, action: dict[str, Any]) -> str | None:
    """The web deadline calculator's "remind me" (runtime/webapp.py): the result in the chat, its
    reminder set (or said to be set already, or impossible)."""
    kb = services(context).center.kb
    lang = lang_of(update, context)
    case, market = str(action.get("case", "")), str(action.get("market", ""))
    try:
        day = date.fromisoformat(str(action.get("day", "")))
    except ValueError:
        return None
    if market not in kb.markets_for(case) or day > market_now(context, market)[0].date():
        return None
    context.user_data.ref = RefundForm(case=case, market=market, day=day.isoformat(),
                                       variant=str(action["variant"]) if action.get("variant") else None)
    chat_id, user_id = update.effective_chat.id, update.effective_user.id
    reminder, existing = await add_reminder(context, chat_id, user_id, lang)
    state = await goto(update, context, State.REF_RESULT)  # the result, with its reminder row
    if reminder is None:
        await show(update, context, t(context, "ref.reminder_none", lang), edit=False)
    else:
        key = "ref.reminder_already" if existing else "ref.reminder_set"
        await context.bot.send_message(chat_id, t(context, key, lang, when=reminder_when(context, reminder),
                                                  deadline=reminder.payload["deadline"]))
    return state


def reminder_when(context: Context, reminder: Reminder, fmt: str = "%Y-%m-%d %H:%M", zone: bool = True) -> str:
    """When a reminder goes off, in the time zone its deadline was counted in (named, unless on a
    button: the result above it names the zone)."""
    name = str(reminder.payload.get("zone") or services(context).settings.timezone)
    try:
        tz: tzinfo = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        tz, name = services(context).tz, services(context).settings.timezone
    when = reminder.due_at.astimezone(tz).strftime(fmt)
    return f"{when} ({name})" if zone else when


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
        await query.answer(t(context, "ref.reminder_already", lang, when=reminder_when(context, reminder)))
        return
    await svc.store.cancel_reminder(reminder_id, user_id)
    for job in context.job_queue.get_jobs_by_name(f"reminder-{reminder_id}") if context.job_queue else ():
        job.schedule_removal()
    await query.answer(t(context, "ref.reminder_cancelled", lang))
    await edit_buttons(update, keyboard(_result_rows(context, lang, True, None)))


def schedule(application: Application, reminder: Reminder, delay: float | None = None) -> None:
    """Put a stored reminder on the JobQueue (in delay seconds, else when due); at start-up every
    pending one is scheduled again. One that fell due while the bot was down is sent at once."""
    svc = services_of(application)
    if delay is None:
        delay = max(0.0, (reminder.due_at - svc.now()).total_seconds())
    assert application.job_queue is not None, "the job-queue extra is installed"
    application.job_queue.run_once(send_reminder, when=delay, data=reminder,
                                   name=f"reminder-{reminder.id}", chat_id=reminder.chat_id)


async def send_reminder(context: Context) -> None:
    reminder = context.job.data
    assert isinstance(reminder, Reminder)
    svc = services(context)
    if await svc.store.reminder_status(reminder.id) != "pending":  # cancelled (or forgotten) meanwhile
        return
    p = reminder.payload
    text = svc.center.renderer.t("ref.reminder_text", p["lang"], case=p["case"], deadline=p["deadline"])
    try:
        await context.bot.send_message(reminder.chat_id, text)
    except Forbidden:
        log.warning("reminder %s: user blocked the bot; dropping it", reminder.id)
        await svc.store.set_reminder_status(reminder.id, "failed")
        return
    except TelegramError:
        log.exception("reminder %s failed; retrying in 5 minutes", reminder.id)
        schedule(context.application, reminder, delay=300)
        return
    await svc.store.set_reminder_status(reminder.id, "sent")


async def restore_reminders(application: Application) -> int:
    """Schedule again every reminder still pending (a past one is sent at once)."""
    svc = services_of(application)
    pending = await svc.store.pending_reminders()
    for reminder in pending:
        schedule(application, reminder)
    return len(pending)
