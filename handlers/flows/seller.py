"""Seller flows of seed 000: return warehouse by kind of seller, handling a request by market,
each dispute case from the seller's side, and the prevention checklist."""

from __future__ import annotations

from telegram import InlineKeyboardButton, Update

from handlers.answers.replies import market_rows, send_entry
from handlers.base.callbacks import callback_fields
from handlers.base.common import Context, button, case_rows, keyboard, lang_of, renderer, services, show, t
from handlers.base.flow import SCREENS, CardFacts, State, current, goto, screen, stale_button, start, ticket_card
from helpcenter.knowledge.model import ViewOption

OTHER_MARKET = "other"  # content/understanding.yaml's market for everywhere else

# The seller flow's screens, named for the agents' card by the label of the button that opens them.
CARD_NAMES: dict[str, str] = {State.SEL: "cmd.seller", State.SEL_WH: "btn.wh", State.SEL_HANDLE: "btn.handle",
                              State.SEL_CASE: "btn.disputes"}


def _back(context: Context, lang: str, to: str) -> list[InlineKeyboardButton]:
    return [button(context, "btn.back", lang, f"go:{to}"), button(context, "btn.human", lang, "human"),
            button(context, "btn.menu", lang, "menu")]


@ticket_card(CARD_NAMES, order=3)
def seller_card(context: Context, lang: str, here: bool) -> CardFacts:
    """For the agents: which seller screen the user is on (the seller views ask nothing)."""
    return CardFacts(renderer(context).t(CARD_NAMES[current(context)], lang) if here else "")


@screen(State.SEL)
async def seller_menu(update: Update, context: Context) -> None:
    context.user_data.role = "seller"
    await SCREENS[State.MENU](update, context)


@screen(State.SEL_WH)
async def warehouse_screen(update: Update, context: Context) -> None:
    """The kinds of seller content describes (the saved market's first), and "other markets"."""
    lang = lang_of(update, context)
    kb = services(context).center.kb
    market = context.user_data.market
    options = sorted(kb.flows.warehouse_options,
                     key=lambda o: not (market and o.market and market in kb.markets.expand(o.market)))
    rows = [[InlineKeyboardButton(o.label[lang], callback_data=f"sel:wh:{o.id}")] for o in options]
    rows.append([InlineKeyboardButton(renderer(context).market_label(OTHER_MARKET, lang),
                                      callback_data=f"sel:wh:{OTHER_MARKET}")])
    rows.append(_back(context, lang, State.SEL))
    await show(update, context, t(context, "sel.pick_type", lang), keyboard(rows))


@screen(State.SEL_HANDLE)
async def handle_screen(update: Update, context: Context) -> None:
    """Which market the seller sells in: with one saved, straight to its view."""
    lang = lang_of(update, context)
    market = context.user_data.market
    if market in services(context).center.kb.vocabulary.markets:
        await _handle_view(update, context, lang, market)
        return
    await _market_picker(update, context, lang)


async def _market_picker(update: Update, context: Context, lang: str) -> None:
    rows = market_rows(context, lang, "sel:mkt:{}")
    rows.append(_back(context, lang, State.SEL))
    await show(update, context, t(context, "sel.pick_market", lang), keyboard(rows))


@screen(State.SEL_CASE)
async def case_screen(update: Update, context: Context) -> None:
    lang = lang_of(update, context)
    rows = case_rows(context, lang, "sel")
    rows.append(_back(context, lang, State.SEL))
    await show(update, context, t(context, "sel.pick_case", lang), keyboard(rows))


@start(State.SEL)
async def begin(update: Update, context: Context) -> str:
    context.user_data.role = "seller"
    return await goto(update, context, State.SEL)


async def on_button(update: Update, context: Context) -> str | None:
    """sel:<action>[:<value>]; each result keeps the user in the seller menu's sub-state."""
    action, value = callback_fields(update, 2)
    lang = lang_of(update, context)
    kb = services(context).center.kb
    state = current(context)
    r = renderer(context)
    if action == "prevent":
        context.user_data.state = State.SEL
        await update.callback_query.answer()
        await send_entry(update, context, kb.by_id[kb.flows.prevent_entry])
        return State.SEL
    if action == "wh" and state == State.SEL_WH:
        if value == OTHER_MARKET:  # no public source for a seller elsewhere: say so, and where to look
            entry = kb.by_id[kb.flows.warehouse_entry]
            text = r.answer(entry, lang, show_related=False, steps=(), notes=(), figures=(), market=OTHER_MARKET,
                            role="seller", sources=())
            await show(update, context, text, keyboard([_back(context, lang, State.SEL_WH)]), keep=True)
            return None
        if await _show_option(update, context, lang, kb.flows.warehouse_options, value, kb.flows.warehouse_entry,
                              State.SEL_WH):
            return None
    if action == "pick" and state == State.SEL_HANDLE:
        await _market_picker(update, context, lang)
        return None
    if action == "mkt" and state == State.SEL_HANDLE and value in kb.vocabulary.markets:
        if context.user_data.market is None:  # said once, kept (/market changes it)
            context.user_data.market = value
        await _handle_view(update, context, lang, value)
        return None
    if action == "case" and state == State.SEL_CASE and value in kb.glossary.cases:
        # the seller's side of the case: what to submit and by when, for the seller's market first
        entry = next(e for e in kb.entries if e.dispute_case == value and e.seller is not None)
        text = r.seller_case(entry, lang, market=context.user_data.market)
        await show(update, context, text, keyboard([_back(context, lang, State.SEL_CASE)]), keep=True)
        return None
    await stale_button(update, context)
    return None


async def _handle_view(update: Update, context: Context, lang: str, market: str) -> None:
    """Handling a buyer's request in one market: its response time first (or that it has none,
    and where to look in Seller Center), the steps, the other markets' times folded."""
    kb = services(context).center.kb
    entry = kb.by_id[kb.flows.seller_entry]
    text = renderer(context).answer(entry, lang, show_related=False, market=market, role="seller", lead=True)
    rows = [[button(context, "btn.change_market", lang, "sel:pick")], _back(context, lang, State.SEL)]
    await show(update, context, text, keyboard(rows), keep=True)


async def _show_option(update: Update, context: Context, lang: str, options: tuple[ViewOption, ...], value: str,
                       entry_id: str, back: str, lead: bool = False) -> bool:
    """One option of a seller screen (a warehouse type, a market): the steps, notes, figures and
    sources of entry_id that apply to it, kept, with the way back. lead: the figures are the
    answer (a market's response time), so they come first. False when value is no option."""
    option = next((o for o in options if o.id == value), None)
    if option is None:
        return False
    entry = services(context).center.kb.by_id[entry_id]
    text = renderer(context).answer(entry, lang, show_related=False, steps=option.steps, notes=option.notes,
                                    figures=option.figures, sources=option.sources, lead=lead,
                                    market=option.market, role="seller")
    await show(update, context, text, keyboard([_back(context, lang, back)]), keep=True)
    return True
