"""A Bot API that answers locally: the console chat and the tests run the real Application on it.

It records every call, answers each the way Telegram would (a Message for sends and edits, True
for the rest), and can be told to fail the next calls, so error paths are testable offline.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telegram.request import BaseRequest, RequestData

BOT_USER = {"id": 100000001, "is_bot": True, "first_name": "HelpCenter", "username": "helpcenter_bot",
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": True}

SENDS = {"sendMessage", "sendPhoto", "sendDocument", "sendVideo", "sendVoice", "sendAudio",
         "sendSticker", "sendAnimation", "copyMessage", "forwardMessage"}
EDITS = {"editMessageText", "editMessageReplyMarkup", "editMessageCaption"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    result: Any = None

    @property
    def text(self) -> str:
        return str(self.params.get("text") or self.params.get("caption") or "")

    @property
    def chat_id(self) -> int | None:
        """The chat the call goes to (None for inline messages and calls without a chat)."""
        chat = self.params.get("chat_id")
        return int(chat) if chat is not None and str(chat).lstrip("-").isdigit() else None

    @property
    def failed(self) -> bool:
        """Telegram refused the call (an injected Failure)."""
        return isinstance(self.result, str) and self.result.startswith("error")

    @property
    def buttons(self) -> list[list[dict[str, Any]]]:
        markup = self.params.get("reply_markup") or {}
        if isinstance(markup, str):
            markup = json.loads(markup)
        return markup.get("inline_keyboard", [])

    @property
    def button_texts(self) -> list[str]:
        return [b["text"] for row in self.buttons for b in row]


@dataclass
class Failure:
    """Answer the next `times` calls of `method` (or any method if None) with an error."""

    description: str
    code: int = 400
    method: str | None = None
    times: int = 1
    retry_after: int | None = None


@dataclass
class OfflineBotAPI(BaseRequest):
    calls: list[Call] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    forum_chats: set[int] = field(default_factory=set)  # group ids that are forums
    chat_admins: set[int] = field(default_factory=set)  # user ids getChatMember calls administrators
    on_call: Callable[[Call], None] | None = None
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1000))

    def __post_init__(self) -> None:
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = None, write_timeout: Any = None, connect_timeout: Any = None,
                         pool_timeout: Any = None) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        params = request_data.parameters if request_data else {}
        failure = self._failure(api_method)
        if failure is not None:
            self.calls.append(Call(api_method, params, result=f"error {failure.code}"))
            body: dict[str, Any] = {"ok": False, "error_code": failure.code, "description": failure.description}
            if failure.retry_after is not None:
                body["parameters"] = {"retry_after": failure.retry_after}
            return failure.code, json.dumps(body).encode()
        result = self._answer(api_method, params)
        call = Call(api_method, params, result)
        self.calls.append(call)
        if self.on_call is not None:
            self.on_call(call)
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def _failure(self, method: str) -> Failure | None:
        for failure in self.failures:
            if failure.method in (None, method) and failure.times > 0:
                failure.times -= 1
                if failure.times == 0:
                    self.failures.remove(failure)
                return failure
        return None

    def _chat(self, chat_id: Any) -> dict[str, Any]:
        chat_id = int(chat_id)
        return {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup",
                **({"first_name": "User"} if chat_id > 0 else {"title": "Agents"})}

    def _answer(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method in SENDS:
            message = {"message_id": next(self._ids), "date": int(time.time()),
                       "chat": self._chat(params["chat_id"]), "from": BOT_USER}
            for name in ("text", "caption", "reply_markup", "message_thread_id"):
                if name in params:
                    message[name] = params[name]
            if method == "copyMessage":
                return {"message_id": message["message_id"]}
            self.messages[(int(params["chat_id"]), message["message_id"])] = message
            return message
        if method in EDITS:
            if "inline_message_id" in params:
                return True
            key = (int(params["chat_id"]), int(params["message_id"]))
            message = dict(self.messages.get(key) or {"message_id": key[1], "date": int(time.time()),
                                                       "chat": self._chat(key[0]), "from": BOT_USER})
            message.pop("reply_markup", None)
            for field_name in ("text", "caption", "reply_markup"):
                if field_name in params:
                    message[field_name] = params[field_name]
            self.messages[key] = message
            return message
        if method == "createForumTopic":
            return {"message_thread_id": next(self._ids), "name": params.get("name", ""), "icon_color": 0}
        if method == "getUpdates":
            return []
        if method == "getChatMember":
            user = {"id": int(params["user_id"]), "is_bot": False, "first_name": "User"}
            if int(params["user_id"]) in self.chat_admins:
                return {"status": "creator", "user": user, "is_anonymous": False}
            return {"status": "member", "user": user}
        if method == "getChat":
            chat = self._chat(params["chat_id"])
            return {**chat, "is_forum": int(params["chat_id"]) in self.forum_chats, "accent_color_id": 0,
                    "max_reaction_count": 11, "accepted_gift_types": {"unlimited_gifts": False,
                    "limited_gifts": False, "unique_gifts": False, "premium_subscription": False,
                    "gifts_from_channels": False}}
        return True

    # --- what tests and the console read -------------------------------------------------------

    def sent(self, chat_id: int | None = None) -> list[Call]:
        """Messages sent or edited (that Telegram accepted), in order, optionally to one chat."""
        return [c for c in self.calls if (c.method in SENDS or c.method in EDITS) and not c.failed
                and (chat_id is None or c.chat_id == chat_id)]

    def clear(self) -> None:
        self.calls.clear()


class UpdateFactory:
    """Builds the updates Telegram would send for a private chat with one user."""

    def __init__(self, user_id: int = 1, first_name: str = "Ann", language_code: str = "zh-hans") -> None:
        self.user = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": language_code}
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)

    @property
    def chat(self) -> dict[str, Any]:
        return {"id": self.user["id"], "type": "private", "first_name": self.user["first_name"]}

    def text(self, text: str) -> dict[str, Any]:
        message: dict[str, Any] = {"message_id": next(self._message_ids), "date": int(time.time()),
                                   "chat": self.chat, "from": self.user, "text": text}
        if text.startswith("/"):
            length = len(text.split()[0].encode("utf-16-le")) // 2
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return {"update_id": next(self._update_ids), "message": message}

    def media(self, kind: str) -> dict[str, Any]:
        """A sticker, photo, voice note, … (kind is the Message field)."""
        samples: dict[str, Any] = {
            "sticker": {"file_id": "s1", "file_unique_id": "s1", "width": 512, "height": 512,
                        "is_animated": False, "is_video": False, "type": "regular"},
            "photo": [{"file_id": "p1", "file_unique_id": "p1", "width": 90, "height": 90}],
            "voice": {"file_id": "v1", "file_unique_id": "v1", "duration": 2},
            "document": {"file_id": "d1", "file_unique_id": "d1", "file_name": "a.pdf"},
            "location": {"latitude": 1.0, "longitude": 2.0},
        }
        message = {"message_id": next(self._message_ids), "date": int(time.time()),
                   "chat": self.chat, "from": self.user, kind: samples[kind]}
        return {"update_id": next(self._update_ids), "message": message}

    def group(self, chat_id: int, text: str | None = None, kind: str | None = None,
              reply_to: dict[str, Any] | None = None, thread_id: int | None = None) -> dict[str, Any]:
        """A message from this user in a group (the agents' group): text or a media kind."""
        chat = {"id": chat_id, "type": "supergroup", "title": "Agents", **({"is_forum": True} if thread_id else {})}
        raw = self.media(kind) if kind else self.text(text or "")
        message = raw["message"]
        message["chat"] = chat
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
            message.setdefault("reply_to_message", {"message_id": thread_id, "date": 0, "chat": chat,
                                                    "forum_topic_created": {"name": "t", "icon_color": 0}})
        return raw

    def edit(self, raw: dict[str, Any], text: str) -> dict[str, Any]:
        """The edited_message update for a message this factory made earlier."""
        message = dict(raw["message"], text=text, edit_date=int(time.time()))
        return {"update_id": next(self._update_ids), "edited_message": message}

    def inline(self, query: str) -> dict[str, Any]:
        return {"update_id": next(self._update_ids),
                "inline_query": {"id": str(next(self._update_ids)), "from": self.user, "query": query, "offset": ""}}

    def click(self, data: str, message: dict[str, Any]) -> dict[str, Any]:
        return {"update_id": next(self._update_ids),
                "callback_query": {"id": str(next(self._update_ids)), "from": self.user, "chat_instance": "1",
                                   "data": data, "message": message}}
