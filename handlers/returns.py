"""The buyer's self-ship return, seed 001's six steps, collecting what the request needs."""

from __future__ import annotations

from telegram import InlineKeyboardButton, Update

from helpcenter import forms

from .answers import free_text
from .common import Context, button, keyboard, lang_of, renderer, services, show, t
from .flow import (
    RET,
    RET_CARRIER,
    RET_CONTACT,
    RET_ORDER,
    RET_PRODUCT,
    RET_REASON,
    RET_TRACKING,
    current,
    goto,
    screen,
)

REQUEST_FIELDS = ("order", "product", "reason", "contact")  # step 4, from seed 001
SHIPPING_FIELDS = ("carrier", "tracking")  # step 5
FIELD_STATE = {"order": RET_ORDER, "product": RET_PRODUCT, "reason": RET_REASON, "contact": RET_CONTACT,
               "carrier": RET_CARRIER, "tracking": RET_TRACKING}
PROMPTS = {RET_ORDER: "ret.ask_order", RET_PRODUCT: "ret.ask_product", RET_REASON: "ret.ask_reason",
           RET_CONTACT: "ret.ask_contact", RET_CARRIER: "ret.ask_carrier", RET_TRACKING: "ret.ask_tracking"}
STEP_OF_FIELD = {**dict.fromkeys(REQUEST_FIELDS, 4), **dict.fromkeys(SHIPPING_FIELDS, 5)}
CHECKLIST_STEP = 3
KEPT = 20  # message ids remembered as "the user still needs this" (summaries)


def _form(context: Context) -> dict:
    return context.user_data.setdefault("ret", {"step": 1})


def _steps(context: Context) -> tuple:
    return services(context).center.kb.flow_steps()


def _may_edit(update: Update, context: Context) -> bool:
    """A button on a summary message leads to a new message: the summary stays to be copied."""
    query = update.callback_query
    message = query.message if query is not None else None
    return message is None or message.message_id not in context.user_data.get("ret_keep", [])


def _keep(context: Context, message: object) -> None:
    if message is not None:
        kept = context.user_data.setdefault("ret_keep", [])
        kept.append(message.message_id)  # type: ignore[attr-defined]
        del kept[:-KEPT]


def _missing(form: dict, fields: tuple[str, ...]) -> str | None:
    return next((f for f in fields if not form.get(f)), None)


def _summary(context: Context, lang: str, intro: str = "", keep: bool = False) -> str:
    form = _form(context)
    fields = [(f, form[f]) for f in (*REQUEST_FIELDS, *SHIPPING_FIELDS) if form.get(f)]
    flows = services(context).center.kb.flows
    return renderer(context).render("return_summary.html.j2", lang, intro=intro, fields=fields,
                                    keep=flows.return_keep[lang] if keep else [])


@screen(RET)
async def step_screen(update: Update, context: Context) -> None:
    lang = lang_of(update, context)
    form = _form(context)
    steps = _steps(context)
    n = form["step"]
    progress = t(context, "step_of", lang, n=n, total=len(steps))
    messages = renderer(context).answer(steps[n - 1], lang, progress=progress, show_related=False,
                                        checklist=n == CHECKLIST_STEP)
    step_parts = len(messages)
    if n == 4 and not _missing(form, REQUEST_FIELDS):
        messages.append(_summary(context, lang, t(context, "ret.request_ready", lang)))
    if n == 5 and not _missing(form, SHIPPING_FIELDS):
        messages.append(_summary(context, lang))
    if n == len(steps):
        messages.append(_summary(context, lang, t(context, "ret.done", lang), keep=True))
        rows = [[button(context, "btn.back", lang, f"ret:back:{n}"),
                 button(context, "btn.restart", lang, "ret:restart")],
                [button(context, "btn.human", lang, "human"), button(context, "btn.menu", lang, "menu")]]
    else:
        nav = [button(context, "btn.next", lang, f"ret:next:{n}")]
        if n > 1:
            nav.insert(0, button(context, "btn.back", lang, f"ret:back:{n}"))
        rows = [nav, [button(context, "btn.ask", lang, f"ret:ask:{n}"), button(context, "btn.human", lang, "human")],
                [button(context, "btn.cancel", lang, "cancel")]]
    message = await show(update, context, messages, keyboard(rows), edit=_may_edit(update, context))
    if len(messages) > step_parts:  # a summary (with this screen's buttons) was the last message sent
        _keep(context, message)


def _field_nav(context: Context, lang: str) -> list[InlineKeyboardButton]:
    return [button(context, "btn.back", lang, "ret:fback"), button(context, "btn.human", lang, "human"),
            button(context, "btn.cancel", lang, "cancel")]


async def _prompt(update: Update, context: Context, key: str, extra: list[list[InlineKeyboardButton]] | None = None,
                  prefix: str = "") -> None:
    lang = lang_of(update, context)
    rows = [*(extra or []), _field_nav(context, lang)]
    await show(update, context, prefix + t(context, key, lang, **RULES), keyboard(rows),
               edit=_may_edit(update, context))


def _field_screen(state: str) -> None:
    async def show_prompt(update: Update, context: Context) -> None:
        extra = None
        if state == RET_REASON:
            lang = lang_of(update, context)
            reasons = services(context).center.kb.flows.return_reasons[lang]
            extra = [[InlineKeyboardButton(r, callback_data=f"ret:reason:{i}")] for i, r in enumerate(reasons)]
        await _prompt(update, context, PROMPTS[state], extra)

    screen(state)(show_prompt)


for _state in PROMPTS:
    _field_screen(_state)


async def begin(update: Update, context: Context) -> str:
    """/return or the menu button: resume a return in progress, or start at step 1."""
    form = context.user_data.get("ret")
    if form and (form.get("step", 1) > 1 or any(form.get(f) for f in FIELD_STATE)):
        lang = lang_of(update, context)
        where = t(context, "step_of", lang, n=form.get("step", 1), total=len(_steps(context)))
        await show(update, context, t(context, "ret.resume_or_restart", lang, step=where),
                   keyboard([[button(context, "btn.continue", lang, "ret:continue"),
                              button(context, "btn.restart", lang, "ret:restart")]]))
        context.user_data["state"] = RET
        return RET
    context.user_data["ret"] = {"step": 1}
    return await goto(update, context, RET)


async def on_button(update: Update, context: Context) -> str | None:
    """ret:<action>[:<step>]; a step number that is not the current step means a stale button."""
    from .misc import stale_button

    parts = update.callback_query.data.split(":")
    action = parts[1]
    form = _form(context)
    if action == "restart":
        context.user_data["ret"] = {"step": 1}
        return await goto(update, context, RET)
    if action == "continue":
        return await goto(update, context, _resume_state(form))
    if action == "fback":
        return await _field_back(update, context)
    if action == "reason" and current(context) == RET_REASON:
        reasons = services(context).center.kb.flows.return_reasons[lang_of(update, context)]
        index = int(parts[2]) if parts[2].isdigit() else -1
        if 0 <= index < len(reasons):
            return await _store(update, context, "reason", reasons[index])
    step = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else None
    if current(context) != RET or step != form["step"]:
        await stale_button(update, context)
        return None
    if action == "ask":
        lang = lang_of(update, context)
        await show(update, context, t(context, "ask_prompt", lang),
                   keyboard([[button(context, "btn.resume", lang, "resume")]]), edit=False)
        return None
    if action == "back" and step > 1:
        form["step"] = step - 1
        return await goto(update, context, RET)
    if action == "next" and step < len(_steps(context)):
        needed = {4: REQUEST_FIELDS, 5: SHIPPING_FIELDS}.get(step, ())
        missing = _missing(form, needed)
        if missing:
            return await goto(update, context, FIELD_STATE[missing])
        form["step"] = step + 1
        return await goto(update, context, RET)
    await stale_button(update, context)
    return None


def _resume_state(form: dict) -> str:
    """Where a paused return continues: the step screen, or the field it was waiting for."""
    step = form.get("step", 1)
    needed = {4: REQUEST_FIELDS, 5: SHIPPING_FIELDS}.get(step, ())
    started = any(form.get(f) for f in needed)
    missing = _missing(form, needed)
    return FIELD_STATE[missing] if started and missing else RET


async def _field_back(update: Update, context: Context) -> str:
    state = current(context)
    fields = [f for f, s in FIELD_STATE.items() if s == state]
    if not fields:
        return await goto(update, context, RET)
    field = fields[0]
    group = REQUEST_FIELDS if field in REQUEST_FIELDS else SHIPPING_FIELDS
    index = group.index(field)
    if index == 0:
        return await goto(update, context, RET)
    return await goto(update, context, FIELD_STATE[group[index - 1]])


async def _store(update: Update, context: Context, field: str, value: str) -> str:
    form = _form(context)
    form[field] = value
    group = REQUEST_FIELDS if field in REQUEST_FIELDS else SHIPPING_FIELDS
    form["step"] = STEP_OF_FIELD[field]
    missing = _missing(form, group[group.index(field) + 1:])
    return await goto(update, context, FIELD_STATE[missing] if missing else RET)


VALIDATORS = {
    RET_ORDER: ("order", forms.order_number, "ret.bad_order"),
    RET_PRODUCT: ("product", forms.free_text, "ret.bad_text"),
    RET_REASON: ("reason", forms.free_text, "ret.bad_text"),
    RET_CONTACT: ("contact", forms.contact, "ret.bad_contact"),
    RET_CARRIER: ("carrier", forms.free_text, "ret.bad_text"),
    RET_TRACKING: ("tracking", forms.tracking_number, "ret.bad_tracking"),
}
RULES = {"lo": forms.ORDER_DIGITS[0], "hi": forms.ORDER_DIGITS[1],
         "min": forms.TRACKING_LEN[0], "max": forms.TRACKING_LEN[1]}  # the limits prompts state


async def on_text(update: Update, context: Context) -> str | None:
    """Text while a field is asked for: store it if valid (the value alone or found in a
    sentence); if not, and it is clearly a question, answer the question and ask again; otherwise
    explain the format with an example."""
    state = current(context)
    field, validate, error_key = VALIDATORS[state]
    text = update.effective_message.text or ""
    value = validate(text)
    if value is not None:
        return await _store(update, context, field, value)
    lang = lang_of(update, context)
    if services(context).center.matcher.match(text).answer is not None:
        await free_text(update, context)
        await _prompt(update, context, PROMPTS[state], prefix=t(context, "ret.still_waiting", lang) + "\n")
        return None
    await show(update, context, t(context, error_key, lang, **RULES), keyboard([_field_nav(context, lang)]))
    return None
