"""Drive the real Application offline, as a user would: send text, press buttons by label."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from telegram import Update

from handlers.app import build_application, serving
from handlers.base.common import HelpApplication, Settings
from handlers.offline.botapi import Call, OfflineBotAPI, UpdateFactory
from helpcenter.answers.render import to_plain
from helpcenter.core import HelpCenter

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=TZ)


class Chat:
    """One user's private chat with the bot."""

    def __init__(self, app: HelpApplication, api: OfflineBotAPI, factory: UpdateFactory) -> None:
        self.app, self.api, self.factory = app, api, factory
        self.user_id = factory.user["id"]
        self._mark = 0

    async def _process(self, raw: dict) -> list[Call]:
        self._mark = len(self.api.calls)
        await self.app.process_update(Update.de_json(raw, self.app.bot))
        return self.replies

    @property
    def replies(self) -> list[Call]:
        """Messages sent or edited to this chat by the last action."""
        return [c for c in self.api.calls[self._mark:]
                if c in self.api.sent(self.user_id)]

    @property
    def text(self) -> str:
        """Everything the last action showed, as plain text."""
        return "\n".join(to_plain(c.text) for c in self.replies)

    @property
    def buttons(self) -> list[str]:
        last = self.last_with_buttons()
        return last.button_texts if last else []

    @property
    def alerts(self) -> list[str]:
        return [str(c.params.get("text", "")) for c in self.api.calls[self._mark:]
                if c.method == "answerCallbackQuery" and c.params.get("text")]

    def last_with_buttons(self) -> Call | None:
        return next((c for c in reversed(self.api.sent(self.user_id)) if c.buttons), None)

    def last_with(self, label: str) -> Call | None:
        """The latest message with a button whose text contains label (an answer above the
        one-time market question, say)."""
        return next((c for c in reversed(self.api.sent(self.user_id))
                     if any(label in text for text in c.button_texts)), None)

    async def send(self, text: str) -> list[Call]:
        return await self._process(self.factory.text(text))

    async def send_media(self, kind: str) -> list[Call]:
        return await self._process(self.factory.media(kind))

    async def press(self, label: str, call: Call | None = None) -> list[Call]:
        """Press the button whose text contains label, on the latest message that has buttons
        (or on an older message, to press a stale button)."""
        call = call or self.last_with_buttons()
        assert call is not None, "no message with buttons"
        for row in call.buttons:
            for b in row:
                if label in b["text"]:
                    return await self.press_data(b["callback_data"], call)
        raise AssertionError(f"no button {label!r} in {call.button_texts}")

    async def press_data(self, data: str, call: Call) -> list[Call]:
        message = call.result if isinstance(call.result, dict) else {"message_id": 1, "date": 0,
                                                                      "chat": self.factory.chat}
        return await self._process(self.factory.click(data, message))


@asynccontextmanager
async def running_bot(data_dir: Path, center: HelpCenter, now: datetime = NOW, timeout: float = 1800,
                      api: OfflineBotAPI | None = None, clock: Callable[[], datetime] | None = None,
                      **settings: object) -> AsyncIterator[tuple[HelpApplication, OfflineBotAPI]]:
    api = api or OfflineBotAPI()
    config = Settings(data_dir=data_dir, conversation_timeout=timeout, **settings)  # type: ignore[arg-type]
    app = build_application(config, center, request=api, clock=clock or (lambda: now), rate_limit=False)
    async with serving(app):
        yield app, api


def chat(app: HelpApplication, api: OfflineBotAPI, user_id: int = 1, language_code: str = "zh-hans",
         first_name: str = "Ann") -> Chat:
    return Chat(app, api, UpdateFactory(user_id, first_name, language_code))
