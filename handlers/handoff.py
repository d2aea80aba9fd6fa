"""Hand-off to human customer service."""

from __future__ import annotations

from telegram import Update

from .common import Context, button, keyboard, lang_of, renderer, services, show

HANDOFF_ENTRY = "handoff-human"


async def request_human(update: Update, context: Context) -> None:
    """/human, the "talk to a human" button, or a question asking for a person."""
    lang = lang_of(update, context)
    entry = services(context).center.kb.by_id[HANDOFF_ENTRY]
    from .flow import MENU, current

    back = (button(context, "btn.resume", lang, "resume") if current(context) != MENU
            else button(context, "btn.menu", lang, "menu"))
    # Without an agents' group only TikTok Shop's own customer service (the entry's last step) applies.
    steps = None if services(context).settings.support_chat_id else (len(entry.texts[lang].steps),)
    await show(update, context, renderer(context).answer(entry, lang, show_related=False, steps=steps),
               keyboard([[back]]), edit=False)
