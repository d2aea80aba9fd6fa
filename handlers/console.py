"""The bot in a terminal: the real Application and handlers on the offline Bot API, with inline
buttons shown as numbers the user types. Anyone can try the flows with no Telegram account."""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from telegram import Update

from helpcenter.core import HelpCenter
from helpcenter.render import to_plain

from .app import build_application, serving
from .common import Settings
from .offline import OfflineBotAPI, UpdateFactory

BANNER = "Console chat with the help-center bot. Type a message, a number to press a button, /quit to leave."


class Console:
    def __init__(self, center: HelpCenter, settings: Settings, out: TextIO, lang: str = "zh") -> None:
        self.api = OfflineBotAPI()
        self.app = build_application(settings, center, request=self.api, rate_limit=False)
        self.factory = UpdateFactory(user_id=1, first_name="You", language_code="en" if lang == "en" else "zh-hans")
        self.out = out
        self.buttons: list[tuple[str, dict]] = []  # (callback data, message) by number
        self._seen = 0

    def _print_new(self) -> None:
        for call in self.api.sent()[self._seen:]:
            self.out.write("\n" + to_plain(call.text) + "\n")
            if call.buttons:
                self.buttons = []
                labels = []
                for row in call.buttons:
                    for b in row:
                        self.buttons.append((b["callback_data"], call.result))
                        labels.append(f"[{len(self.buttons)}] {b['text']}")
                self.out.write("  ".join(labels) + "\n")
        self._seen = len(self.api.sent())
        self.out.flush()

    async def send(self, line: str) -> None:
        line = line.strip()
        if line.isdigit() and 1 <= int(line) <= len(self.buttons):
            data, message = self.buttons[int(line) - 1]
            raw = self.factory.click(data, message)
        else:
            raw = self.factory.text(line)
        await self.app.process_update(Update.de_json(raw, self.app.bot))
        self._print_new()

    async def run(self, stdin: TextIO) -> None:
        self.out.write(BANNER + "\n")
        async with serving(self.app):
            await self.send("/start")
            loop = asyncio.get_running_loop()
            while True:
                self.out.write("> ")
                self.out.flush()
                line = await loop.run_in_executor(None, stdin.readline)
                if not line or line.strip() in ("/quit", "/exit"):
                    break
                if line.strip():
                    await self.send(line)


def run_console(center: HelpCenter, settings: Settings, lang: str = "zh") -> None:
    asyncio.run(Console(center, settings, sys.stdout, lang).run(sys.stdin))
