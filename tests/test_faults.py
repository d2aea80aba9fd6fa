"""Bot API errors injected during flows: no crash, the conversation goes on."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from handlers.offline.botapi import Failure, OfflineBotAPI
from helpcenter.core import HelpCenter

from .botkit import chat, running_bot


@pytest.mark.parametrize("failure", [
    Failure("Timed out", code=504, method="sendMessage"),
    Failure("Internal Server Error", code=500, method="sendMessage", times=2),
    Failure("Too Many Requests: retry after 1", code=429, method="sendMessage", retry_after=1),
])
async def test_transient_send_errors_are_retried(tmp_path: Path, center: HelpCenter, failure: Failure) -> None:
    api = OfflineBotAPI(failures=[failure])
    async with running_bot(tmp_path, center, api=api) as (app, api):
        ann = chat(app, api)
        await ann.send("/return")
        assert "步骤 1/6" in ann.text


async def test_persistent_send_failure_is_reported_and_the_user_can_go_on(tmp_path: Path,
                                                                         center: HelpCenter) -> None:
    api = OfflineBotAPI()
    async with running_bot(tmp_path, center, api=api, admin_ids=frozenset({42})) as (app, api):
        ann = chat(app, api)
        await ann.send("/return")
        api.failures.append(Failure("Bad Gateway", code=502, method="editMessageText", times=3))
        api.failures.append(Failure("Bad Gateway", code=502, method="sendMessage", times=3))
        await ann.press("下一步")  # the edit fails, the send fails three times: the error is reported
        assert "抱歉,出了点问题" in ann.text  # to the user
        assert any("Bad Gateway" in c.text for c in api.sent(42))  # and to the admins
        await ann.press("下一步")  # the API is back; the step-1 button leads to where the user is
        assert "步骤 2/6" in ann.text
        await ann.press("下一步")
        assert "步骤 3/6" in ann.text


@pytest.mark.parametrize("description", ["Bad Request: message is not modified",
                                         "Bad Request: query is too old and response timeout expired"])
async def test_harmless_bad_requests_are_ignored(tmp_path: Path, center: HelpCenter, description: str) -> None:
    api = OfflineBotAPI()
    async with running_bot(tmp_path, center, api=api) as (app, api):
        ann = chat(app, api)
        await ann.send("/return")
        method = "editMessageText" if "modified" in description else "answerCallbackQuery"
        api.failures.append(Failure(description, code=400, method=method))
        await ann.press("下一步")
        if "modified" not in description:
            assert "步骤 2/6" in ann.text
        await ann.press("下一步") if "modified" not in description else await ann.send("/return")
        assert "步骤" in ann.text


async def test_blocked_user_does_not_crash_the_bot(tmp_path: Path, center: HelpCenter) -> None:
    api = OfflineBotAPI(failures=[Failure("Forbidden: bot was blocked by the user", code=403,
                                          method="sendMessage", times=1)])
    async with running_bot(tmp_path, center, api=api) as (app, api):
        ann = chat(app, api)
        await ann.send("/start")  # blocked: nothing is sent, nothing crashes
        assert ann.text == ""
        await ann.send("/start")  # unblocked again
        assert "您好" in ann.text


# --- durable intake and state saved with its update (issue 12 items 1 and 2) ---------------------

def _committed(data_dir: Path, user_id: int) -> tuple[object, dict]:
    """What a SIGKILL right now would leave on disk: (conversation state, user_data)."""
    import pickle
    import sqlite3

    with sqlite3.connect(data_dir / "state.sqlite3") as db:
        rows = dict(((kind, key), value) for kind, key, value in db.execute("SELECT kind, key, value FROM kv"))
    state = rows.get(("conv:main", f"[{user_id}, {user_id}]"))
    data = rows.get(("user_data", str(user_id)))
    return (pickle.loads(state) if state else None), (pickle.loads(data) if data else {})


async def test_state_on_disk_is_the_screen_just_shown(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center, support_chat_id=-1005000) as (app, api):
        ann = chat(app, api)
        await ann.send("/return")
        for n in (2, 3, 4):
            await ann.press("下一步")
            assert f"步骤 {n}/6" in ann.text
            state, data = _committed(tmp_path, 1)
            assert data["ret"]["step"] == n and state == data["state"] == "ret"
        await ann.press("下一步")
        assert "请输入订单号" in ann.text
        state, data = _committed(tmp_path, 1)
        assert state == data["state"] and data["ret"]["step"] == 4  # the field state, with its form
        await ann.send("/human")  # the hand-off handlers (group -1) stop the update: saved all the same
        await ann.send("还在吗")
        assert _committed(tmp_path, 1)[1] == app.user_data[1].to_dict()


async def test_an_update_received_but_not_handled_is_handled_after_a_restart(tmp_path: Path,
                                                                           center: HelpCenter) -> None:
    from telegram import Update

    from handlers.app import build_application, serving
    from handlers.base.common import Settings
    from handlers.offline.botapi import UpdateFactory

    from .botkit import NOW

    factory = UpdateFactory(5, "Eve")
    first = OfflineBotAPI()
    app = build_application(Settings(data_dir=tmp_path), center, request=first, clock=lambda: NOW, rate_limit=False)
    raw = factory.text("/start")
    async with app:  # initialised, never started: the update is received, then the process "dies"
        await app.update_queue.put(Update.de_json(raw, app.bot))
    assert first.sent(5) == []
    again = OfflineBotAPI()
    app = build_application(Settings(data_dir=tmp_path), center, request=again, clock=lambda: NOW, rate_limit=False)
    async with serving(app):
        for _ in range(100):
            if again.sent(5):
                break
            await asyncio.sleep(0.02)
        assert "您好 Eve" in again.sent(5)[0].text
        await app.update_queue.put(Update.de_json(raw, app.bot))  # Telegram sends it once more
        await asyncio.sleep(0.2)
        assert len(again.sent(5)) == 1


async def test_forged_feedback_numbers_do_not_crash(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center, admin_ids=frozenset({42})) as (app, api):
        ann = chat(app, api)
        await ann.send("/start")
        await ann.press_data("fb:99999999999999999999:up", ann.last_with_buttons())
        assert not [c for c in api.sent(42) if "OverflowError" in c.text]
        assert not [c for c in api.sent(1) if "出了点问题" in c.text]


async def test_a_locked_state_database_fails_fast_with_a_reply(tmp_path: Path, center: HelpCenter) -> None:
    import sqlite3
    import time

    async with running_bot(tmp_path, center) as (app, api):
        ann = chat(app, api)
        await ann.send("/start")
        other = sqlite3.connect(tmp_path / "state.sqlite3", timeout=0)
        other.execute("BEGIN EXCLUSIVE")  # another process holds the database
        started = time.monotonic()
        await ann.send("/menu")
        waited = time.monotonic() - started
        other.rollback()
        other.close()
        assert waited < 3
        assert "抱歉,出了点问题" in ann.text
        await ann.send("/menu")  # the database is free again: the bot goes on
        assert "抱歉" not in ann.text


async def test_an_update_arriving_while_the_disk_is_full_is_kept(tmp_path: Path, center: HelpCenter) -> None:
    """The update is not confirmed until it is on disk: put() tries again, nothing is dropped."""
    import sqlite3

    from telegram import Update

    async with running_bot(tmp_path, center) as (app, api):
        persistence = app.persistence
        real, refusals = persistence.inbox_add, [2]

        async def full_disk(update_id: int, body: str) -> bool:
            if refusals[0]:
                refusals[0] -= 1
                raise sqlite3.OperationalError("database or disk is full")
            return await real(update_id, body)

        persistence.inbox_add = full_disk
        ann = chat(app, api)
        await app.update_queue.put(Update.de_json(ann.factory.text("/start"), app.bot))
        for _ in range(100):
            if api.sent(1):
                break
            await asyncio.sleep(0.05)
        assert refusals == [0] and "您好 Ann" in api.sent(1)[0].text
