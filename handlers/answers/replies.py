"""Free-text questions anywhere, and answers opened by id (related, suggestions, FAQ, links).

An answer never moves the user: inside a flow it ends with a button back to where they were.
Every answer is logged (normalised text, language, entry, score) and carries 👍/👎 buttons.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from handlers.base.callbacks import callback_data
from handlers.base.common import Context, button, deep_link, keyboard, lang_of, off_loop, renderer, services, show, t
from handlers.base.flow import ACTIONS, HUMAN, SCREENS, State, current, market_saved, stale_button, way_back
from handlers.base.weblinks import page_button
from helpcenter import core
from helpcenter.knowledge.model import Entry
from helpcenter.understanding.slots import Slots

HANDOFF_TOPIC = core.HANDOFF_TOPIC
MISSES_BEFORE_HUMAN = 2


def suggestion_rows(context: Context, lang: str, entry_ids: list[str]) -> list[list[InlineKeyboardButton]]:
    kb = services(context).center.kb
    return [[InlineKeyboardButton(f"{i}. " + kb.by_id[e].texts[lang].title, callback_data=f"ans:{e}")]
            for i, e in enumerate(entry_ids, 1)]


def entry_view(context: Context, entry: Entry, lang: str, question_id: int | None, back: str | None = None,
               all_markets: bool = False, market: str | None = None,
               role: str | None = None) -> tuple[list[str], list[list[InlineKeyboardButton]]]:
    """An answer and its buttons. With a market (named in the question, else the saved one) that
    market's figures come first, or one line that it has none and where to look in the app; the
    other markets' figures, steps and sources are folded under "other markets", the same in every
    answer (Renderer.answer). A dispute case offers the buyer's deadline calculator, to anyone but
    a seller (role: the one the question says, else the saved one). question_id None: shown from a
    flow step, no question to rate. all_markets: every market alike (an old "other markets" button)."""
    svc, r = services(context), renderer(context)
    market = None if all_markets else market or context.user_data.market
    role = role or context.user_data.role
    messages = r.answer(entry, lang, show_related=False, market=market, role=role)
    rows = [[InlineKeyboardButton("➜ " + svc.center.kb.by_id[x].texts[lang].title, callback_data=f"ans:{x}")]
            for x in entry.related[:3]]
    if entry.dispute_case and role != "seller":
        rows.append([deadline_button(context, lang, entry.dispute_case, market)])
    if question_id is not None:
        rows.append([button(context, "btn.helpful", lang, f"fb:{question_id}:up"),
                     button(context, "btn.unhelpful", lang, f"fb:{question_id}:down")])
    rows.append([InlineKeyboardButton(t(context, "btn.share", lang), url=deep_link(context, entry.id)),
                 *page_button(context, lang, entry.id)])
    back_button = button(context, "btn.faq_back", lang, back) if back else way_back(context, lang)
    # Without agents, "human" opens this very page (TikTok Shop's own customer service): not offered on it.
    same_page = entry.topic == HANDOFF_TOPIC and not renderer(context).agents
    rows.append([back_button] + ([] if same_page else [button(context, "btn.human", lang, "human")]))
    return messages, rows


def _qid(question_id: int | None) -> str:
    return "-" if question_id is None else str(question_id)


def deadline_button(context: Context, lang: str, case: str, market: str | None = None) -> InlineKeyboardButton:
    """⏰ opens /refund with the case and the user's market (named in the question, else saved)
    chosen: a market without a public figure gets the way into the app and a person, not a picker.
    /refund is the buyer's filing: callers offer it to anyone but a seller."""
    market = market or context.user_data.market
    known = market in services(context).center.kb.vocabulary.markets
    return button(context, "btn.calc_deadline", lang, f"ref:start:{case}" + (f":{market}" if known else ""))


async def send_entry(update: Update, context: Context, entry: Entry, question_id: int | None = None,
                     back: str | None = None, market: str | None = None, note: str = "",
                     role: str | None = None) -> None:
    """The answer, with related questions, 👍/👎, a share link, and the way back; the first
    answer whose figures depend on the market asks for it (and the role, if unknown), once.
    note (HTML) goes before it: which part of a long message was read."""
    lang = lang_of(update, context)
    svc = services(context)
    if question_id is None:  # opened from a button or link: logged too, so feedback counts
        question_id = await svc.store.log_question(update.effective_chat.id, lang, "", entry.id, entry.topic,
                                                   1.0, svc.now(), source="button")
    messages, rows = entry_view(context, entry, lang, question_id, back, market=market, role=role)
    if note:
        messages = [note + messages[0], *messages[1:]]
    await show(update, context, messages, keyboard(rows), edit=False, keep=True)
    await ask_profile(update, context, entry, question_id)


async def ask_profile(update: Update, context: Context, entry: Entry, question_id: int | None) -> None:
    """Once, when an answer (or a flow step) first depends on the market and none is saved:
    which market (and, if unknown, buyer or seller). The answer above stays; the choice shows
    it for that market (a flow step: the step again)."""
    if not should_ask_market(context, entry):
        return
    await show(update, context, *profile_prompt(context, lang_of(update, context), entry.id, question_id), edit=False)


def should_ask_market(context: Context, entry: Entry) -> bool:
    """True once: the first time an entry whose figures differ by market meets a user with no
    saved market (the caller then asks: a prompt under an answer, a button on a flow step)."""
    data = context.user_data
    if data.market or data.asked_market or len(renderer(context).entry_markets(entry)) < 2:
        return False
    data.asked_market = True
    return True


def profile_prompt(context: Context, lang: str, entry_id: str,
                   question_id: int | None) -> tuple[str, InlineKeyboardMarkup]:
    text = t(context, "prof.ask_market", lang)
    qid = _qid(question_id)
    rows = market_rows(context, lang, f"prof:mkt:{{}}:{entry_id}:{qid}")
    if context.user_data.role not in ("buyer", "seller"):
        text += "\n" + t(context, "prof.ask_role", lang)
        rows.append([button(context, "btn.buyer", lang, f"prof:role:buyer:{entry_id}:{qid}"),
                     button(context, "btn.seller", lang, f"prof:role:seller:{entry_id}:{qid}")])
    return text, keyboard(rows)


def market_rows(context: Context, lang: str, data: str) -> list[list[InlineKeyboardButton]]:
    """The markets users can name (content/understanding.yaml), three a row; data has {} for the code."""
    names = [InlineKeyboardButton(market_label(context, m, lang), callback_data=data.format(m))
             for m in services(context).center.kb.vocabulary.markets]
    return [names[i:i + 3] for i in range(0, len(names), 3)]


def market_label(context: Context, market: str, lang: str) -> str:
    """A market as a button says it: the glossary's name, else the vocabulary's, capitalised."""
    return renderer(context).market_label(market, lang)


async def market_command(update: Update, context: Context) -> None:
    """/market and the menu's market button: pick (or clear) the market answers show first; the
    one saved now is said, so the user knows whether to change it."""
    lang = lang_of(update, context)
    rows = market_rows(context, lang, "prof:set:{}")
    rows.append([button(context, "btn.any_market", lang, "prof:set:-"), button(context, "btn.menu", lang, "menu")])
    text = t(context, "prof.pick_market", lang)
    saved = context.user_data.market
    if saved:
        text += "\n" + t(context, "prof.current_market", lang, market=market_label(context, saved, lang))
    await show(update, context, text, keyboard(rows), edit=update.callback_query is not None)


async def profile_button(update: Update, context: Context) -> str | None:
    """prof:set:<market|->  (/market), prof:mkt|role:<value>:<entry>:<question> (the one-time
    question under an answer), prof:all:<entry>:<question> (the other markets of an answer).
    Returns the conversation's next state when a flow moves on for the market just saved."""
    parts = callback_data(update).parts
    action, value = [*parts, "", ""][1:3]
    svc = services(context)
    lang = lang_of(update, context)
    data = context.user_data
    known = svc.center.kb.vocabulary.markets
    tail = parts[2:] if action == "all" else parts[3:]  # [<entry>, <question id>]
    entry = svc.center.kb.by_id.get(tail[0]) if len(tail) == 2 and (tail[1].isdigit() or tail[1] == "-") else None
    qid = int(tail[1]) if entry is not None and tail[1].isdigit() else None
    query = update.callback_query
    if action == "pick":
        await market_command(update, context)
        return None
    if action == "set" and (value in known or value == "-"):
        if value == "-":
            data.market = None
            note = t(context, "prof.market_cleared", lang)
        else:
            data.market = value
            note = t(context, "prof.market_set", lang, market=renderer(context).market_name(value, lang))
        await query.answer(note)
        if current(context) != State.MENU:  # picked from a flow step: that step again, for this market
            return await market_saved(update, context)
        await show(update, context, note, keyboard([[way_back(context, lang)]]))
        return None
    if entry is None:
        await stale_button(update, context)
        return None
    if action == "all":
        messages, rows = entry_view(context, entry, lang, qid, all_markets=True)
        await show(update, context, messages, keyboard(rows), edit=False, keep=True)  # the answer above stays
        return None
    if action == "role" and value in ("buyer", "seller"):
        data.role = value
        await query.answer(t(context, "prof.role_set", lang, role=t(context, f"prof.role.{value}", lang)))
        await show(update, context, *profile_prompt(context, lang, entry.id, qid))
        return None
    if action == "mkt" and value in known:
        data.market = value
        await query.answer(t(context, "prof.market_set", lang, market=renderer(context).market_name(value, lang)))
        messages, rows = entry_view(context, entry, lang, qid)
        await show(update, context, messages, keyboard(rows), keep=True)  # the question becomes the answer
        return None
    await stale_button(update, context)
    return None


def remember(context: Context, question: str, answer: str | None) -> None:
    context.user_data.remember(question, answer)


def profile(context: Context) -> dict[str, str]:
    """What the bot knows about the user beyond this question: role, and the last market named."""
    data = context.user_data
    return {k: v for k, v in (("role", data.role), ("market", data.market)) if isinstance(v, str)}


async def free_text(update: Update, context: Context) -> None:
    """Answer a typed question from the knowledge base; the conversation state is unchanged."""

    question = update.effective_message.text or ""
    lang = lang_of(update, context)
    svc = services(context)
    data = context.user_data
    reply = await off_loop(update, context, svc.center.ask, question, lang, profile=profile(context),
                           previous=Slots.from_dict(data.slots))
    match = reply.match
    if reply.kind == core.SOCIAL:  # small talk: a friendly word and the menu, not a miss
        if current(context) == State.MENU:
            await show(update, context, reply.messages, edit=False, keep=True)
            await SCREENS[State.MENU](update, context)
        else:
            await show(update, context, reply.messages, keyboard([[way_back(context, lang)]]), edit=False, keep=True)
        return
    remember(context, question, reply.entry.id if reply.entry else None)
    if reply.reading is not None and reply.kind in (core.ANSWER, core.FIGURE, core.GUESS):
        data.slots = reply.slots.as_dict()  # a follow-up ("那假货呢?") keeps the other slots
    best = match.answer or (match.candidates[0] if match.candidates else None)
    question_id = await svc.store.log_question(
        update.effective_chat.id, lang, match.normalized, reply.entry.id if reply.entry else None,
        reply.entry.topic if reply.entry else None, round(best.score, 4) if best else 0.0, svc.now())
    shown = reply.answered.id if reply.answered else None
    data.suggested = [c.entry.id for c in match.suggestions if c.entry.id != shown]
    shows = REPLIES.get(reply.kind)  # each kind of reply has its own screen; anything else is a miss
    if shows is None or not await shows(update, context, reply, question_id):
        await _missed(update, context, reply)


async def _figure(update: Update, context: Context, reply: core.Reply, question_id: int) -> bool:
    """The case's time limit first, the entry a tap away (and the deadline calculator)."""
    if reply.entry is None:
        return False
    lang, svc = lang_of(update, context), services(context)
    context.user_data.misses = 0
    said = reply.reading.said_role if reply.reading is not None else None
    # the full answer is read as the same asker ("I'm a seller" holds for it too)
    more = [button(context, "und.btn.more", lang, f"ans:{reply.entry.id}" + (f":{said}" if said else ""))]
    # a seller (who says so, or is known as one; or is shown the seller's figures) is not walked
    # through the buyer's filing
    seller = (said or context.user_data.role) == "seller" or (reply.figure is not None and reply.figure.seller)
    if reply.figure is not None and reply.figure.case in svc.center.kb.glossary.cases and not seller:
        more.append(deadline_button(context, lang, reply.figure.case, reply.figure.market))
    rows = [more,
            [button(context, "btn.helpful", lang, f"fb:{question_id}:up"),
             button(context, "btn.unhelpful", lang, f"fb:{question_id}:down")],
            [InlineKeyboardButton(t(context, "btn.share", lang), url=deep_link(context, reply.entry.id)),
             *page_button(context, lang, reply.entry.id)],
            [way_back(context, lang), button(context, "btn.human", lang, "human")]]
    await show(update, context, reply.messages, keyboard(rows), edit=False, keep=True)
    if reply.figure is not None and not reply.figure.market:
        await ask_profile(update, context, reply.entry, question_id)
    return True


async def _answer(update: Update, context: Context, reply: core.Reply, question_id: int) -> bool:
    """The entry, or the hand-off when the question asks for a person."""
    if reply.entry is None:
        return False
    context.user_data.misses = 0
    if reply.entry.topic == HANDOFF_TOPIC:
        await ACTIONS[HUMAN](update, context)  # a question can be a request for a person
        return True
    stated = reply.reading.slots.market if reply.reading is not None else None
    said = reply.reading.said_role if reply.reading is not None else None
    await send_entry(update, context, reply.entry, question_id=question_id, market=stated, note=reply.note,
                     role=said)
    return True


async def _guess(update: Update, context: Context, reply: core.Reply, question_id: int) -> bool:
    """"I think you mean": the entry, with a way to say it is not."""
    if reply.answered is None:
        return False
    lang = lang_of(update, context)
    rows = [[button(context, "und.btn.not_this", lang, f"fb:{question_id}:down")],
            [way_back(context, lang), button(context, "btn.human", lang, "human")]]
    await show(update, context, reply.messages, keyboard(rows), edit=False, keep=True)
    return True


async def _adjacent(update: Update, context: Context, reply: core.Reply, question_id: int) -> bool:
    """TikTok, but outside returns and refunds: a scoped reply, not a failure."""
    lang = lang_of(update, context)
    rows = [[way_back(context, lang), button(context, "btn.human", lang, "human")]]
    await show(update, context, reply.messages, keyboard(rows), edit=False, keep=True)
    return True


REPLIES: dict[str, Callable[[Update, Context, core.Reply, int], Awaitable[bool]]] = {
    core.FIGURE: _figure, core.ANSWER: _answer, core.GUESS: _guess, core.ADJACENT: _adjacent}


async def _missed(update: Update, context: Context, reply: core.Reply) -> None:
    """No answer: "did you mean" suggestions, and after MISSES_BEFORE_HUMAN misses a person."""
    lang, data = lang_of(update, context), context.user_data
    misses = data.misses + 1
    data.misses = misses
    rows = suggestion_rows(context, lang, [c.entry.id for c in reply.match.suggestions])
    text = reply.messages[0]
    if misses >= MISSES_BEFORE_HUMAN:
        text += "\n\n" + t(context, "too_many_misses", lang)
    else:  # who the person is depends on whether this bot has agents (rephrase.human.no_agents)
        text += "\n" + t(context, "rephrase.human", lang)
    rows.append([*[way_back(context, lang)], button(context, "btn.human", lang, "human")])
    await show(update, context, text, keyboard(rows), edit=False, keep=True)


async def answer_button(update: Update, context: Context) -> None:
    """ans:<entry-id>[:<role>:<theme>:<page>] from related, suggestion and FAQ buttons;
    ans:<entry-id>:<role> from a figure answer whose question said who asks."""
    parts = callback_data(update).parts
    entry = services(context).center.kb.by_id.get(parts[1] if len(parts) > 1 else "")
    await update.callback_query.answer()
    if entry is None:  # an entry that content no longer has
        await stale_button(update, context)
        return
    context.user_data.misses = 0
    context.user_data.suggested = list(entry.related)
    back = f"faq:t:{parts[2]}:{parts[3]}:{parts[4]}" if len(parts) == 5 else None
    said = parts[2] if len(parts) == 3 and parts[2] in ("buyer", "seller") else None
    await send_entry(update, context, entry, back=back, role=said)
