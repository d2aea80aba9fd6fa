"""/start, /menu, /help, /lang, /cancel, role choice and deep links."""

from __future__ import annotations

from telegram import InlineKeyboardButton, Update
from telegram.ext import ConversationHandler

from handlers.answers.replies import market_label, send_entry
from handlers.base.callbacks import callback_fields
from handlers.base.common import LANGS, Context, button, keyboard, lang_of, renderer, services, show, t
from handlers.base.flow import SCREENS, State, current, goto, screen
from handlers.base.userdata import RefundForm, ReturnForm
from handlers.base.weblinks import open_rows


@screen(State.MENU)
async def menu_screen(update: Update, context: Context) -> None:
    lang = lang_of(update, context)
    role = context.user_data.role
    if role is None:
        name = update.effective_user.first_name if update.effective_user else ""
        await show(update, context, renderer(context).render("greeting.html.j2", lang, name=name),
                   keyboard([[button(context, "btn.buyer", lang, "role:buyer"),
                              button(context, "btn.seller", lang, "role:seller")],
                             [button(context, "btn.lang", lang, "lang:toggle")]]))
        return
    if role == "seller":
        rows = [[button(context, "btn.wh", lang, "go:sel_wh")],
                [button(context, "btn.handle", lang, "go:sel_handle")],
                [button(context, "btn.disputes", lang, "go:sel_case")],
                [button(context, "btn.prevent", lang, "sel:prevent")]]
        text = t(context, "menu_seller", lang)
    else:
        rows = [[button(context, "btn.return", lang, "go:ret")],
                [button(context, "btn.refund", lang, "go:ref_case")]]
        text = t(context, "menu_buyer", lang)
    market = context.user_data.market
    label = (t(context, "btn.market", lang, market=market_label(context, market, lang)) if market
             else t(context, "btn.market_none", lang))
    rows.append([InlineKeyboardButton(label, callback_data="prof:pick")])
    rows += open_rows(context, lang)  # 📖 the web help center, when WEB_URL is set
    rows += [[button(context, "btn.faq", lang, "faq"), button(context, "btn.human", lang, "human")],
             [button(context, "btn.switch_role", lang, "role:switch"),
              button(context, "btn.lang", lang, "lang:toggle")]]
    await show(update, context, text, keyboard(rows))


async def start(update: Update, context: Context) -> str:
    """/start, and /start <entry-id> deep links that open an answer directly."""
    payload = context.args[0] if context.args else ""
    entry = services(context).center.kb.by_id.get(payload)  # deep link: t.me/<bot>?start=<entry-id>
    if entry is not None:
        data = context.user_data
        data.role = data.role or ("seller" if entry.role == "seller" else "buyer")
        await send_entry(update, context, entry)
        context.user_data.state = State.MENU
        return State.MENU
    return await goto(update, context, State.MENU)


async def menu(update: Update, context: Context) -> str:
    return await goto(update, context, State.MENU)


async def pick_role(update: Update, context: Context) -> str:
    (choice,) = callback_fields(update, 1)
    if choice == "switch":
        context.user_data.role = None
    elif choice in ("buyer", "seller"):
        context.user_data.role = choice
    return await goto(update, context, State.MENU)


def help_text(context: Context, lang: str) -> str:
    """The command list; its /human line depends on whether this bot has live agents."""
    return t(context, "help", lang, human=t(context, "help.human", lang))


async def help_command(update: Update, context: Context) -> None:
    lang = lang_of(update, context)
    await show(update, context, help_text(context, lang),
               keyboard([[button(context, "btn.menu", lang, "menu")]]), edit=False)


async def lang_command(update: Update, context: Context) -> None:
    await show(update, context, t(context, "lang_pick", lang_of(update, context)),
               keyboard([[button(context, "btn.lang", "en", "lang:zh"), button(context, "btn.lang", "zh", "lang:en")]]),
               edit=False)


async def set_lang(update: Update, context: Context) -> None:
    """Switch language and show the current screen again in it (the state does not change)."""
    (choice,) = callback_fields(update, 1)
    if choice not in LANGS:
        choice = "en" if lang_of(update, context) == "zh" else "zh"
    context.user_data.lang = choice
    await update.callback_query.answer(t(context, "lang_set", choice))
    await SCREENS[current(context)](update, context)


async def cancel(update: Update, context: Context) -> int:
    lang = lang_of(update, context)
    data = context.user_data
    data.ret, data.ref, data.state = ReturnForm(), RefundForm(), None
    await show(update, context, t(context, "cancelled", lang),
               keyboard([[button(context, "btn.menu", lang, "menu")]]), edit=False)
    return ConversationHandler.END


async def unknown_command(update: Update, context: Context) -> None:
    lang = lang_of(update, context)
    await show(update, context, t(context, "unknown_command", lang) + "\n\n" + help_text(context, lang),
               keyboard([[button(context, "btn.menu", lang, "menu")]]), edit=False)
