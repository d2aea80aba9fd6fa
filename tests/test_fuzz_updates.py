"""Property-based: random updates into the real Application never raise, every private message
gets a reply, and whatever the user typed is shown literally (valid Telegram HTML only)."""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram import Update

from handlers.offline.botapi import OfflineBotAPI, UpdateFactory
from helpcenter.core import HelpCenter

from .botkit import running_bot

ODD = st.characters(codec="utf-8", exclude_categories=("Cs",))
SPECIAL = st.sampled_from(["\u202e", "\u200b", "\u200d", "\ufeff", "<b>", "</i>", "&", "&amp;", "<a href='x'>",
                           "😀", "👨‍👩‍👧", "退款", "refund", "\n", " ", "/start", "ret:next:1", "\x00"])
TEXT = st.one_of(st.text(ODD, max_size=60), st.lists(SPECIAL, max_size=12).map("".join),
                 st.integers(4090, 5000).map(lambda n: "退" * n))
COMMANDS = ["/start", "/menu", "/return", "/refund", "/seller", "/faq", "/human", "/lang", "/cancel", "/help",
            "/forget", "/stats", "/reload", "/close", "/ban", "/nope"]
CALLBACKS = st.one_of(
    st.text(ODD, max_size=64),
    st.sampled_from(["ret:next:1", "ret:next:999", "ret:back:0", "ret:reason:99", "ret:continue", "ret:restart",
                     "ref:case:zzz", "ref:case:mismatch", "ref:mkt:ID", "ref:day:2026-02-30", "ref:remind",
                     "sel:wh:nope", "sel:mkt:x", "ans:nothing", "ans:refund-apply:a:b:c", "fb:x:up", "fb:1:sideways",
                     "tk:rate:1:9", "tk:end", "faq:t:buyer:zzz:-1", "faq:t:x:y:z", "go:nowhere", "lang:xx",
                     "role:pirate", "menu", "resume", "human", "cancel"]))
MEDIA = st.sampled_from(["sticker", "photo", "voice", "document", "location"])


@st.composite
def updates(draw: Any) -> list[tuple[str, Any]]:
    kinds = st.one_of(
        st.tuples(st.just("text"), TEXT),
        st.tuples(st.just("command"), st.tuples(st.sampled_from(COMMANDS), st.text(ODD, max_size=30))),
        st.tuples(st.just("click"), CALLBACKS),
        st.tuples(st.just("media"), MEDIA),
        st.tuples(st.just("edit"), TEXT),
        st.tuples(st.just("group"), TEXT),
        st.tuples(st.just("channel"), TEXT),
    )
    return draw(st.lists(kinds, min_size=1, max_size=12))


ALLOWED = re.compile(r"</?(b|i|a|code|pre)( href=\"[^\"<>]*\")?>|<blockquote expandable>|</blockquote>")


def _valid_html(text: str) -> bool:
    stack: list[str] = []
    for m in re.finditer(r"<[^>]*>", text):
        tag = m.group(0)
        if not ALLOWED.fullmatch(tag):
            return False
        name = re.match(r"</?(\w+)", tag).group(1)
        if tag.startswith("</"):
            if not stack or stack.pop() != name:
                return False
        else:
            stack.append(name)
    return not stack and not re.search(r"&(?!(lt|gt|amp|quot|#\d+);)", text)


async def _run(center: HelpCenter, steps: list[tuple[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        api = OfflineBotAPI()
        async with running_bot(Path(tmp), center, api=api) as (app, api):
            errors: list[BaseException] = []

            async def collect(update: object, context: Any) -> None:
                errors.append(context.error)

            app.add_error_handler(collect)
            user = UpdateFactory(5, "Fuzz", "zh-hans")
            last_message = {"message_id": 1, "date": 0, "chat": user.chat}
            for kind, value in steps:
                mark = len(api.calls)
                if kind == "text":
                    raw = user.text(value)
                elif kind == "command":
                    raw = user.text(f"{value[0]} {value[1]}".strip())
                elif kind == "click":
                    raw = user.click(value, last_message)
                elif kind == "media":
                    raw = user.media(value)
                elif kind == "edit":
                    raw = user.edit(user.text("x"), value or "y")
                elif kind == "group":
                    raw = user.group(-1001, value or "hi")
                else:
                    raw = {"update_id": 10**6, "channel_post": {"message_id": 1, "date": 0, "text": value or "c",
                                                                "chat": {"id": -1002, "type": "channel"}}}
                await app.process_update(Update.de_json(raw, app.bot))
                new = api.calls[mark:]
                sent = [c for c in new if c.method in ("sendMessage", "editMessageText")]
                if kind in ("text", "command", "media"):
                    assert sent, (kind, value)  # every private message gets a reply
                if kind == "click":
                    assert any(c.method == "answerCallbackQuery" for c in new), value
                for call in sent:
                    assert _valid_html(call.text), call.text[:300]
                    if call.result and isinstance(call.result, dict) and call.buttons:
                        last_message = call.result
            assert errors == [], errors


EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))  # FUZZ_EXAMPLES=400 for a longer hunt


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(steps=updates())
def test_random_updates_never_break_the_bot(center: HelpCenter, steps: list[tuple[str, Any]]) -> None:
    asyncio.run(_run(center, steps))
