"""The conversation's states, and how each state's screen is shown again.

One ConversationHandler runs every flow, so a user is only ever in one place; that place is
also kept in user_data, so a detour (a free-text question, a stale button, a timeout) can lead
straight back to it. What every flow shares sits here too (resume, stale_button, and the
registries: @screen and @start behind go:<state>, @ticket_card for what a flow shows on an agents'
ticket card, @on_market for how a flow follows a market saved with /market, actions such as "human"
and the Mini App's web actions), so rooms never import one another to reach each other.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from telegram import InlineKeyboardButton, Update

from handlers.base.common import Context, answer_query, button, lang_of, send_below, t
from handlers.base.userdata import UserData


class State(StrEnum):
    """The conversation's states. The values are what is persisted (conversation rows and
    user_data's "state"): never change one, only add."""

    MENU = "menu"
    RET = "ret"  # a step of the self-ship return
    RET_ORDER, RET_PRODUCT, RET_REASON, RET_CONTACT = "ret_order", "ret_product", "ret_reason", "ret_contact"
    RET_CARRIER, RET_TRACKING = "ret_carrier", "ret_tracking"
    REF_CASE, REF_VARIANT, REF_MARKET, REF_DATE, REF_RESULT = (
        "ref_case", "ref_variant", "ref_market", "ref_date", "ref_result")
    SEL, SEL_WH, SEL_HANDLE, SEL_CASE = "sel", "sel_wh", "sel_handle", "sel_case"


Screen = Callable[[Update, Context], Coroutine[Any, Any, None]]
SCREENS: dict[str, Screen] = {}
Start = Callable[[Update, Context], Coroutine[Any, Any, str]]
STARTS: dict[str, Start] = {}  # go:<state> targets that begin a flow (its data is reset or resumed)
Step = Callable[[Update, Context], Coroutine[Any, Any, str | None]]
MARKET_STEPS: dict[str, Step] = {}  # states whose flow keeps a market of its own (@on_market)
Action = Callable[[Update, Context], Coroutine[Any, Any, None]]
ACTIONS: dict[str, Action] = {}  # what a handler may ask another room to do, without importing it
HUMAN = "human"  # hand the user to a person (handlers/support/customer.py registers it)
WebAction = Callable[[Update, Context, dict[str, Any]], Coroutine[Any, Any, str | None]]
WEB_ACTIONS: dict[str, WebAction] = {}  # what the web help center's Mini App may ask (runtime/webapp.py)


def screen(state: str) -> Callable[[Screen], Screen]:
    """Register the function that shows a state's message and buttons."""

    def register(fn: Screen) -> Screen:
        SCREENS[state] = fn
        return fn

    return register


def start(state: str) -> Callable[[Start], Start]:
    """Register the function that begins a flow when a go:<state> button is pressed."""

    def register(fn: Start) -> Start:
        STARTS[state] = fn
        return fn

    return register


def on_market(states: Iterable[str]) -> Callable[[Step], Step]:
    """Register how a flow that keeps its own copy of the market (the refund form) carries on when
    the user saves another one with /market while in one of states; it returns the next state."""

    def register(fn: Step) -> Step:
        MARKET_STEPS.update(dict.fromkeys(states, fn))
        return fn

    return register


@dataclass(frozen=True)
class CardFacts:
    """What a flow puts on the agents' ticket card, in the agents' language: where the user is
    in it (asked only of the flow the user is in) and what they answered in it."""

    where: str = ""
    answers: tuple[tuple[str, str], ...] = ()


CardView = Callable[[Context, str, bool], CardFacts]  # (the customer's context, agents' language, here)


@dataclass(frozen=True)
class TicketCard:
    order: int  # the card lists flows' answers in this order
    states: frozenset[str]
    view: CardView


CARDS: list[TicketCard] = []


def ticket_card(states: Iterable[str], order: int) -> Callable[[CardView], CardView]:
    """Register what a flow shows on an agents' ticket card (beside @screen): support asks every
    flow through this, instead of reading the flows' data itself."""

    def register(fn: CardView) -> CardView:
        CARDS.append(TicketCard(order, frozenset(states), fn))
        return fn

    return register


def card_facts(context: Context, lang: str) -> tuple[str, list[tuple[str, str]]]:
    """Where the user is (the flow's own words, else the state's name; nothing on the menu) and
    what they answered in every flow, for the ticket card."""
    state = current(context)
    where, answers = "", list[tuple[str, str]]()
    for card in sorted(CARDS, key=lambda c: c.order):
        facts = card.view(context, lang, state in card.states)
        where = where or facts.where
        answers += facts.answers
    if not where and state != State.MENU:
        where = state
    return where, answers


def action(name: str) -> Callable[[Action], Action]:
    """Register the function another room calls by name (a question asking for a person runs
    support's hand-off, though answers never import support)."""

    def register(fn: Action) -> Action:
        ACTIONS[name] = fn
        return fn

    return register


def web_action(name: str) -> Callable[[WebAction], WebAction]:
    """Register how the chat carries out a Mini App request {"action": name, …}; it returns the
    conversation's next state (or None) like any handler."""

    def register(fn: WebAction) -> WebAction:
        WEB_ACTIONS[name] = fn
        return fn

    return register


async def goto(update: Update, context: Context, state: str) -> str:
    """Move to state: remember it, show its screen, and hand it to the ConversationHandler (as a
    plain string: what PTB persists must not depend on this module's classes)."""
    context.user_data.state = str(state)
    await SCREENS[state](update, context)
    return str(state)


def current(context: Context) -> str:
    return state_of(context.user_data)


def state_of(data: UserData | None) -> str:
    """The flow state kept in a user's data (State.MENU when none)."""
    state = data.state if data is not None and data.state else State.MENU
    return state if state in SCREENS else State.MENU


def way_back_of(data: UserData | None) -> tuple[str, str]:
    """(label key, callback data) of the way back for a user's data; also for a message sent
    on another update's behalf (an agent closing a ticket)."""
    return ("btn.resume", "resume") if state_of(data) != State.MENU else ("btn.menu", "menu")


def way_back(context: Context, lang: str) -> InlineKeyboardButton:
    """Back to the step the user was on, or to the menu when they were in none."""
    key, data = way_back_of(context.user_data)
    return button(context, key, lang, data)


async def resume(update: Update, context: Context) -> str:
    """Show the screen of the state the user is in (after a detour, a stale button, a timeout).
    The message with the button is usually an answer or a notice: kept messages (common.show)
    stay, and the step comes as a new message."""
    return await goto(update, context, current(context))


async def market_saved(update: Update, context: Context) -> str | None:
    """The step the user is on, again, for the market they just saved: never the last market's
    screen. A flow with a market of its own moves it (@on_market); the others read the saved one."""
    state = current(context)
    if state in MARKET_STEPS:
        return await MARKET_STEPS[state](update, context)
    await SCREENS[state](update, context)
    return None


async def stale_button(update: Update, context: Context) -> None:
    """A button from an old message, or one that no longer fits: say so and show where they are,
    as a new message at the bottom of the chat; the old message stays as it was."""
    lang = lang_of(update, context)
    await answer_query(update, context, t(context, "stale", lang))
    send_below(context)
    await SCREENS[current(context)](update, context)
