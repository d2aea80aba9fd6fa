"""The baseline: a bare python-telegram-bot echo bot, run against the same emulator.

Text is echoed back with one button; a button press is answered and its message edited to the
button's data, so it handles the same mix of updates as the help-center bot.
"""

from __future__ import annotations

import os
import sys

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

MARKUP = InlineKeyboardMarkup([[InlineKeyboardButton("again", callback_data="again")]])


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text(update.effective_message.text, reply_markup=MARKUP)


async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.callback_query.answer()
    await update.callback_query.edit_message_text(update.callback_query.data, reply_markup=MARKUP)


def main() -> None:
    base = os.environ["TELEGRAM_API_BASE_URL"].rstrip("/")
    app = (Application.builder().token(os.environ["TELEGRAM_BOT_TOKEN"]).base_url(f"{base}/bot")
           .concurrent_updates(128).connection_pool_size(16).pool_timeout(30.0).build())
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.add_handler(CallbackQueryHandler(press))
    print("echo bot ready", flush=True, file=sys.stderr)
    app.run_polling(allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
