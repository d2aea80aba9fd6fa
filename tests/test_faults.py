"""Bot API errors injected during flows: no crash, the conversation goes on."""

from __future__ import annotations

from pathlib import Path

import pytest

from handlers.offline import Failure, OfflineBotAPI
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
