"""The bot in a terminal: the real Application and handlers on the offline Bot API, with inline
buttons shown as numbers the user types. Anyone can try the flows with no Telegram account.

The terminal shows what the user's Telegram chat would show, and nothing else: messages sent to
the agents' group (SUPPORT_CHAT_ID) stay out of it. A terminal cannot change what it printed, so
an edited message is printed again under an "(edited)" mark; link buttons are printed as link
lines (they open a page, there is nothing to press), button toasts as a short "»" line.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from dataclasses import dataclass
from typing import Any, TextIO

from telegram import Update

from handlers.app import build_application, serving
from handlers.base.callbacks import CallbackData
from handlers.base.common import Settings
from handlers.base.flow import State
from handlers.offline.botapi import EDITS, SENDS, Call, OfflineBotAPI, UpdateFactory
from helpcenter.answers.render import to_plain
from helpcenter.core import HelpCenter

log = logging.getLogger(__name__)

BANNER = "Console chat with the help-center bot. Type a message, a number to press a button, /quit to leave."
USER_ID = 1
# The console user's first name, per language: the greeting says "您好 访客!" or "Hello Guest!",
# never a word of the other language.
NAMES = {"zh": "访客", "en": "Guest"}
EDITED = "(edited)"
TOAST = "»"
NO_BUTTONS = "(buttons removed)"
RULE = "─" * 12
MEDIA = {"sendPhoto": "photo", "sendDocument": "document", "sendVideo": "video", "sendVoice": "voice",
         "sendAudio": "audio", "sendSticker": "sticker", "sendAnimation": "animation",
         "copyMessage": "message", "forwardMessage": "message"}


@dataclass
class Button:
    """A pressable (callback) button shown as [n]: its data and the message it sits on."""

    label: str
    data: str
    chat_id: int
    message_id: int


class Console:
    def __init__(self, center: HelpCenter, settings: Settings, out: TextIO, lang: str = "zh") -> None:
        self.api = OfflineBotAPI()
        self.app = build_application(settings, center, request=self.api, rate_limit=False)
        self.lang = "en" if lang == "en" else "zh"
        self.factory = UpdateFactory(user_id=USER_ID, first_name=NAMES[self.lang],
                                     language_code="en" if self.lang == "en" else "zh-hans")
        self.out = out
        self.buttons: list[Button] = []  # the keyboard shown last, by number - 1
        self._seen = 0  # api.calls already shown

    # --- showing the user's chat -----------------------------------------------------------------

    def _show_new(self) -> None:
        calls = self.api.calls[self._seen:]
        self._seen = len(self.api.calls)
        for call in calls:
            if call.failed:
                continue  # Telegram refused it: the user sees nothing
            if call.method == "answerCallbackQuery":
                if call.params.get("text"):
                    self.out.write(f"\n{TOAST} {call.params['text']}\n")
            elif (call.method in SENDS or call.method in EDITS) and call.chat_id == USER_ID:
                self._show_message(call)
        self.out.flush()

    def _show_message(self, call: Call) -> None:
        edited = call.method in EDITS
        lines = [EDITED] if edited else []
        if call.method in MEDIA:
            lines.append(f"[{MEDIA[call.method]}]")
        if call.text:
            lines.append(to_plain(call.text))
        keyboard = self._keyboard(call) if call.method in EDITS or call.params.get("reply_markup") else []
        if call.method == "editMessageReplyMarkup" and not keyboard:
            lines[0] = f"{EDITED} {NO_BUTTONS}"
        if keyboard:  # a rule, so buttons never read as the text's numbered sources ("[1] …")
            lines.append(RULE)
        lines += keyboard
        self.out.write("\n" + "\n".join(lines) + "\n")

    def _keyboard(self, call: Call) -> list[str]:
        """Number the pressable buttons (they become the ones typed numbers press) and list the
        link buttons; an edit that removes the keyboard of the numbered message clears them."""
        message_id = _message_id(call)
        rows = call.buttons
        if not rows:
            if self.buttons and self.buttons[0].message_id == message_id:
                self.buttons = []
            return []
        lines: list[str] = []
        links: list[str] = []
        buttons: list[Button] = []
        for row in rows:
            labels = []
            for b in row:
                if "callback_data" in b:
                    buttons.append(Button(b["text"], b["callback_data"], USER_ID, message_id))
                    labels.append(f"[{len(buttons)}] {b['text']}")
                else:
                    links.append(_link_line(b, self.app.bot.username))
            if labels:
                lines.append("  ".join(labels))
        if buttons or (self.buttons and self.buttons[0].message_id == message_id):
            self.buttons = buttons  # an edit that leaves only links clears the numbers too
        return lines + links

    # --- the user's side -----------------------------------------------------------------------

    def _lang(self) -> str:
        data = self.app.user_data.get(USER_ID)
        return data.lang if data is not None and data.lang in NAMES else self.lang

    def _name(self, data: str | None) -> str:
        """The user's name in the language of the screen this update brings: the language now,
        or the one a language button (lang:en, lang:zh, lang:toggle) switches to."""
        lang = self._lang()
        if data is not None and data.startswith("lang:"):
            (choice,) = CallbackData(data).fields(1)
            lang = choice if choice in NAMES else ("en" if lang == "zh" else "zh")
        return NAMES[lang]

    async def send(self, line: str) -> None:
        """What the user typed: a number presses that button, anything else is a message."""
        line = line.strip()
        button = self.buttons[int(line) - 1] if line.isdigit() and 1 <= int(line) <= len(self.buttons) else None
        self.factory.user["first_name"] = self._name(button.data if button else None)
        raw = self.factory.click(button.data, self._message(button)) if button else self.factory.text(line)
        await self.app.process_update(Update.de_json(raw, self.app.bot))
        self._show_new()

    def _message(self, button: Button) -> dict[str, Any]:
        """The message the button sits on, as it is now (after any edits)."""
        message = self.api.messages.get((button.chat_id, button.message_id))
        return message or {"message_id": button.message_id, "date": 0, "chat": self.factory.chat}

    async def begin(self) -> None:
        """A new chat starts at /start; a chat that was in a flow when the console last closed
        (same DATA_DIR) goes on at the step it was on, as it would in Telegram, where nobody
        sends /start again to come back."""
        data = self.app.user_data.get(USER_ID)
        state = data.state if data is not None else None
        if state in (None, State.MENU):
            await self.send("/start")
            return
        chat = self.factory.chat
        raw = self.factory.click("resume", {"message_id": 0, "date": 0, "chat": chat})
        await self.app.process_update(Update.de_json(raw, self.app.bot))
        self._show_new()

    async def run(self, stdin: TextIO) -> None:
        self.out.write(BANNER + "\n")
        async with serving(self.app):
            await self.begin()
            loop = asyncio.get_running_loop()
            while True:
                self.out.write("> ")
                self.out.flush()
                line = await loop.run_in_executor(None, stdin.readline)
                if not line or line.strip() in ("/quit", "/exit"):
                    break
                if not line.strip():
                    continue
                try:
                    await self.send(line)
                except Exception as exc:  # one bad turn must not end the chat
                    log.exception("console turn failed")
                    self.out.write(f"(console error: {exc!r}; the chat goes on)\n")


def _message_id(call: Call) -> int:
    if isinstance(call.result, dict) and "message_id" in call.result:
        return int(call.result["message_id"])
    return int(call.params.get("message_id", 0))


def _link_line(button: dict[str, Any], bot_username: str) -> str:
    """A button that is not pressed but followed: the address (or what it does) on its own line."""
    target = (button.get("url") or (button.get("login_url") or {}).get("url")
              or (button.get("web_app") or {}).get("url"))
    mark = "" if button["text"].startswith("🔗") else "🔗 "
    if target:
        return f"{mark}{button['text']}: {target}"
    if "switch_inline_query" in button or "switch_inline_query_current_chat" in button:
        query = button.get("switch_inline_query", button.get("switch_inline_query_current_chat"))
        return f"{mark}{button['text']}: @{bot_username} {query}".rstrip()
    if "copy_text" in button:
        return f"📋 {button['text']}: {button['copy_text'].get('text', '')}"
    return f"· {button['text']}"


def run_console(center: HelpCenter, settings: Settings, lang: str = "zh") -> None:
    if hasattr(sys.stdin, "reconfigure"):  # a line cut mid-character reads as U+FFFD, not a crash
        sys.stdin.reconfigure(errors="replace")
    asyncio.run(Console(center, settings, sys.stdout, lang).run(sys.stdin))
