"""Random agents' group traffic around an open ticket: forged desk buttons, odd /kb, /teach and
/transcript arguments, notes and media: never an unhandled error, only valid Telegram HTML."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram import Update

from handlers.offline.botapi import OfflineBotAPI, UpdateFactory
from helpcenter.core import HelpCenter

from .botkit import running_bot
from .test_agents import AGENTS
from .test_fuzz_updates import TEXT, _valid_html

SUPPORT = -1005000
WORDS = st.one_of(TEXT, st.sampled_from(["退款", "lost parcel", "#1", "1", "99", "-1", "<b>", "&"]))
CALLBACKS = st.one_of(
    st.builds(lambda a, n, x: f"dk:{a}:{n}:{x}", st.sampled_from(["take", "kb", "tc", "zz"]),
              st.sampled_from(["1", "2", "0", "x", "99999999999999999999"]),
              st.sampled_from(["refund-arrival", "nope", "", "1:2"])),
    st.sampled_from(["dk:", "dk:take", "dk:take:", "dk:kb:1", "dk:tc:1"]),
)


@st.composite
def steps(draw: Any) -> list[tuple[str, Any]]:
    kinds = st.one_of(
        st.tuples(st.just("say"), WORDS), st.tuples(st.just("note"), WORDS),
        st.tuples(st.just("command"), st.tuples(st.sampled_from(["/kb", "/teach", "/transcript", "/mine", "/stats",
                                                                 "/close"]), WORDS)),
        st.tuples(st.just("click"), CALLBACKS), st.tuples(st.just("media"), st.sampled_from(["photo", "sticker"])),
        st.tuples(st.just("customer"), WORDS),
    )
    return draw(st.lists(kinds, min_size=1, max_size=12))


async def _run(center: HelpCenter, actions: list[tuple[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with running_bot(Path(tmp), center, **AGENTS, api=OfflineBotAPI(), support_chat_id=SUPPORT) as (app, api):
            errors: list[BaseException] = []

            async def collect(update: object, context: Any) -> None:
                errors.append(context.error)

            app.add_error_handler(collect)
            customer, agent = UpdateFactory(5, "Fuzz"), UpdateFactory(900, "Lin")
            await app.process_update(Update.de_json(customer.text("/human"), app.bot))
            card = next(c for c in api.calls if c.chat_id == SUPPORT and "🎫" in c.text)
            on_card = {"message_id": card.result["message_id"], "date": 0, "text": "x",
                       "chat": {"id": SUPPORT, "type": "supergroup"}}
            for kind, value in actions:
                mark = len(api.calls)
                if kind == "customer":
                    raw = customer.text(value or "hi")
                elif kind == "click":
                    raw = agent.click(value, on_card)
                elif kind == "command":
                    raw = agent.group(SUPPORT, f"{value[0]} {value[1]}".strip(), reply_to=on_card)
                else:
                    text = ("// " + value) if kind == "note" else (value or "hi")
                    raw = agent.group(SUPPORT, None if kind == "media" else text,
                                      kind=value if kind == "media" else None, reply_to=on_card)
                    raw["message"].pop("entities", None)
                await app.process_update(Update.de_json(raw, app.bot))
                for call in api.calls[mark:]:
                    if call.method in ("sendMessage", "editMessageText") and call.params.get("parse_mode") == "HTML":
                        assert _valid_html(call.text), call.text[:300]  # plain-text replies are not parsed
                if kind == "note":
                    assert not [c for c in api.calls[mark:] if c.method == "copyMessage"], value
            assert errors == [], errors


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "25")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(actions=steps())
def test_random_agents_traffic_never_breaks_the_desk(center: HelpCenter, actions: list[tuple[str, Any]]) -> None:
    asyncio.run(_run(center, actions))
