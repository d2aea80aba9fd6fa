"""The buyer's self-ship return, seed 001's six steps, collecting what the request needs."""

from __future__ import annotations

import html
from collections.abc import Callable

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from handlers.answers.replies import free_text, should_ask_market
from handlers.base.callbacks import callback_fields
from handlers.base.common import Context, button, keyboard, lang_of, off_loop, renderer, services, show, t
from handlers.base.flow import CardFacts, State, current, goto, screen, stale_button, start, ticket_card
from handlers.base.userdata import ReturnForm
from helpcenter.answers import forms

REQUEST_FIELDS = ("order", "product", "reason", "contact")  # step 4, from seed 001
SHIPPING_FIELDS = ("carrier", "tracking")  # step 5
FORM_STEPS = {4: REQUEST_FIELDS, 5: SHIPPING_FIELDS}
FIELD_STATE: dict[str, str] = {
    "order": State.RET_ORDER, "product": State.RET_PRODUCT, "reason": State.RET_REASON, "contact": State.RET_CONTACT,
    "carrier": State.RET_CARRIER, "tracking": State.RET_TRACKING}
STATE_FIELD: dict[str, str] = {state: field for field, state in FIELD_STATE.items()}
PROMPTS: dict[str, str] = {
    State.RET_ORDER: "ret.ask_order", State.RET_PRODUCT: "ret.ask_product", State.RET_REASON: "ret.ask_reason",
    State.RET_CONTACT: "ret.ask_contact", State.RET_CARRIER: "ret.ask_carrier", State.RET_TRACKING: "ret.ask_tracking"}
STEP_OF_FIELD = {**dict.fromkeys(REQUEST_FIELDS, 4), **dict.fromkeys(SHIPPING_FIELDS, 5)}
CHECKLIST_STEP = 3


def _form(context: Context) -> ReturnForm:
    return context.user_data.ret


def _steps(context: Context) -> tuple:
    return services(context).center.kb.flow_steps()


def _missing(form: ReturnForm, fields: tuple[str, ...]) -> str | None:
    return next((f for f in fields if not form.value(f)), None)


def _group(field: str) -> tuple[str, ...]:
    return REQUEST_FIELDS if field in REQUEST_FIELDS else SHIPPING_FIELDS


def _summary(context: Context, lang: str, intro: str = "", keep: bool = False) -> str:
    form = _form(context)
    fields = [(f, form.value(f)) for f in (*REQUEST_FIELDS, *SHIPPING_FIELDS) if form.value(f)]
    flows = services(context).center.kb.flows
    return renderer(context).render("return_summary.html.j2", lang, intro=intro, fields=fields,
                                    keep=flows.return_keep[lang] if keep else [])


@ticket_card((State.RET, *PROMPTS), order=1)
def return_card(context: Context, lang: str, here: bool) -> CardFacts:
    """For the agents: the step the user is on, and what they filled in."""
    r = renderer(context)
    form = context.user_data.ret
    where = r.t("btn.return", lang) + " · " + r.t("step_of", lang, n=form.step,
                                                   total=len(_steps(context))) if here else ""
    return CardFacts(where, tuple((r.t(f"field.{k}", lang), form.value(k))
                                  for k in (*REQUEST_FIELDS, *SHIPPING_FIELDS) if form.value(k)))


@screen(State.RET)
async def step_screen(update: Update, context: Context) -> None:
    """A step of seed 001. The steps with a form (4, 5) and the last one are kept: their
    instructions and summaries stay in the chat while the user answers below them."""
    lang = lang_of(update, context)
    form = _form(context)
    form.asking = False
    steps = _steps(context)
    n = form.step
    progress = t(context, "step_of", lang, n=n, total=len(steps))
    market = context.user_data.market  # its figures, steps and sources first; the others folded (issue 22)
    messages = renderer(context).answer(steps[n - 1], lang, progress=progress, show_related=False,
                                        checklist=n == CHECKLIST_STEP, market=market, role="buyer")
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
    if should_ask_market(context, steps[n - 1]):
        rows.insert(1, [button(context, "btn.choose_market", lang, "prof:pick")])
    await show(update, context, messages, keyboard(rows), keep=n in FORM_STEPS or n == len(steps))


def _field_screen(context: Context, lang: str, state: str, body: str) -> tuple[str, InlineKeyboardMarkup]:
    """A form question: the step and the question's place in it, what is asked (body), the value
    it has now if any (with a button to keep it), and the buttons every step has."""
    form = _form(context)
    field = STATE_FIELD[state]
    group = _group(field)
    step = STEP_OF_FIELD[field]
    head = t(context, "ret.field_head", lang, step=t(context, "step_of", lang, n=step, total=len(_steps(context))),
             n=group.index(field) + 1, total=len(group))
    lines = [f"<i>{head}</i>", body]
    rows: list[list[InlineKeyboardButton]] = []
    if state == State.RET_REASON:
        reasons = services(context).center.kb.flows.return_reasons[lang]
        rows += [[InlineKeyboardButton(r, callback_data=f"ret:reason:{i}")] for i, r in enumerate(reasons)]
    if form.value(field):
        lines.append(t(context, "ret.current", lang, value=html.escape(form.value(field))))
        rows.append([button(context, "btn.keep_value", lang, f"ret:keep:{field}")])
    rows += [[button(context, "btn.back", lang, "ret:fback"), button(context, "btn.ask", lang, f"ret:ask:{step}")],
             [button(context, "btn.human", lang, "human"), button(context, "btn.cancel", lang, "cancel")]]
    return "\n".join(lines), keyboard(rows)


def _prompt_text(context: Context, lang: str, state: str) -> str:
    return t(context, PROMPTS[state], lang, **RULES)


def _register_field_screen(state: str) -> None:
    async def show_prompt(update: Update, context: Context) -> None:
        lang = lang_of(update, context)
        _form(context).asking = False  # back at the question: text is an answer again
        text, markup = _field_screen(context, lang, state, _prompt_text(context, lang, state))
        await show(update, context, text, markup)

    screen(state)(show_prompt)


for _state in PROMPTS:
    _register_field_screen(_state)


@start(State.RET)
async def begin(update: Update, context: Context) -> str:
    """/return or the menu button: resume a return in progress, or start at step 1."""
    form = context.user_data.ret
    if form.started():
        lang = lang_of(update, context)
        where = t(context, "step_of", lang, n=form.step, total=len(_steps(context)))
        await show(update, context, t(context, "ret.resume_or_restart", lang, step=where),
                   keyboard([[button(context, "btn.continue", lang, "ret:continue"),
                              button(context, "btn.restart", lang, "ret:restart")]]))
        context.user_data.state = State.RET
        return str(State.RET)
    context.user_data.ret = ReturnForm()
    return await goto(update, context, State.RET)


async def on_button(update: Update, context: Context) -> str | None:
    """ret:<action>[:<step>]; a step number that is not the current step means a stale button."""
    action, arg, _ = callback_fields(update, 3)
    form = _form(context)
    if action == "restart":
        context.user_data.ret = ReturnForm()
        return await goto(update, context, State.RET)
    if action == "continue":
        return await goto(update, context, _resume_state(form))
    if action == "fback":
        return await _field_back(update, context)
    if action == "keep" and STATE_FIELD.get(current(context)) == arg and form.value(arg):
        return await _store(update, context, arg, form.value(arg))
    if action == "ask" and current(context) in STATE_FIELD and arg == str(form.step):
        form.asking = True  # the next text is a question, not this field's value
        lang = lang_of(update, context)
        await show(update, context, t(context, "ask_prompt", lang),
                   keyboard([[button(context, "btn.resume", lang, "resume")]]), edit=False)
        return None
    if action == "reason" and current(context) == State.RET_REASON:
        reasons = services(context).center.kb.flows.return_reasons[lang_of(update, context)]
        index = int(arg) if arg.isdigit() else -1
        if 0 <= index < len(reasons):
            return await _store(update, context, "reason", reasons[index])
    step = int(arg) if arg.isdigit() else None
    if current(context) != State.RET or step != form.step:
        await stale_button(update, context)
        return None
    if action == "ask":
        lang = lang_of(update, context)
        await show(update, context, t(context, "ask_prompt", lang),
                   keyboard([[button(context, "btn.resume", lang, "resume")]]), edit=False)
        return None
    if action == "back" and step > 1:
        form.step = step - 1
        return await goto(update, context, State.RET)
    if action == "next" and step < len(_steps(context)):
        missing = _missing(form, FORM_STEPS.get(step, ()))
        if missing:
            return await goto(update, context, FIELD_STATE[missing])
        form.step = step + 1
        return await goto(update, context, State.RET)
    await stale_button(update, context)
    return None


def _resume_state(form: ReturnForm) -> str:
    """Where a paused return continues: the step screen, or the field it was waiting for."""
    step = form.step
    needed = FORM_STEPS.get(step, ())
    started = any(form.value(f) for f in needed)
    missing = _missing(form, needed)
    return FIELD_STATE[missing] if started and missing else State.RET


async def _field_back(update: Update, context: Context) -> str:
    field = STATE_FIELD.get(current(context))
    if field is None:
        return await goto(update, context, State.RET)
    group = _group(field)
    index = group.index(field)
    if index == 0:
        return await goto(update, context, State.RET)
    return await goto(update, context, FIELD_STATE[group[index - 1]])


async def _store(update: Update, context: Context, field: str, value: str) -> str:
    """Store a field and ask the next one of its step, in order: one that already has a value
    (the user went back to change an earlier one) shows that value with a button to keep it, so
    no question is skipped unseen. After the last one, the step with its summary."""
    form = _form(context)
    form.fill(field, value)
    group = _group(field)
    form.step = STEP_OF_FIELD[field]
    later = group[group.index(field) + 1:]
    return await goto(update, context, FIELD_STATE[later[0]] if later else State.RET)


VALIDATORS: dict[str, tuple[str, Callable[[str], str | None], str]] = {
    State.RET_ORDER: ("order", forms.order_number, "ret.bad_order"),
    State.RET_PRODUCT: ("product", forms.product, "ret.bad_product"),
    State.RET_REASON: ("reason", forms.reason, "ret.bad_reason"),
    State.RET_CONTACT: ("contact", forms.contact, "ret.bad_contact"),
    State.RET_CARRIER: ("carrier", forms.carrier, "ret.bad_carrier"),
    State.RET_TRACKING: ("tracking", forms.tracking_number, "ret.bad_tracking"),
}
FREE_TEXT = {State.RET_PRODUCT, State.RET_REASON, State.RET_CARRIER}  # any words can fill them: a "?" marks a question
RULES = {"lo": forms.ORDER_DIGITS[0], "hi": forms.ORDER_DIGITS[1],
         "min": forms.TRACKING_LEN[0], "max": forms.TRACKING_LEN[1],
         "letters": forms.MIN_LETTERS}  # the limits prompts and error messages state


async def on_text(update: Update, context: Context) -> str | None:
    """Text while a field is asked for. After "Ask a question": the question is answered (a
    valid order number, contact or tracking number is still taken as the answer). Else a
    valid value is stored (alone or found in a sentence), unless a free-text field got a
    question with a question mark that the knowledge base answers. Text that fails the check
    gets the field's message with an example; only a question (a question mark or a question
    word of content/flows.yaml) that the knowledge base answers is answered instead, and the
    field asked again."""
    state = current(context)
    form = _form(context)
    field, validate, error_key = VALIDATORS[state]
    text = update.effective_message.text or ""
    lang = lang_of(update, context)
    value = validate(text)
    asking, form.asking = form.asking, False
    if asking and (state in FREE_TEXT or value is None or forms.question_mark(text)):
        await free_text(update, context)  # one question; its answer leads back to this field
        return None
    question = forms.looks_like_question(text, services(context).center.kb.flows.question_words)
    match = await off_loop(update, context, services(context).center.matcher.match, text) if question else None
    answered = match is not None and match.answer is not None
    if value is not None and not (answered and state in FREE_TEXT and forms.question_mark(text)):
        return await _store(update, context, field, value)
    if answered:
        await free_text(update, context)
        body = t(context, "ret.still_waiting", lang) + "\n" + _prompt_text(context, lang, state)
        message, markup = _field_screen(context, lang, state, body)
        await show(update, context, message, markup, edit=False)
        return None
    message, markup = _field_screen(context, lang, state, t(context, error_key, lang, **RULES))
    await show(update, context, message, markup, edit=False)
    return None
