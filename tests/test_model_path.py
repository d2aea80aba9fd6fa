"""The question path (issue 19): long messages are read in part and answered, answering runs off
the event loop and takes the chats in turn, and the phrasing vectors ship with the content.

Behaviour, not timing: the benchmarks (bench/model_bench.py) measure how fast."""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from telegram import Update

import bot
from helpcenter.answers.render import to_plain
from helpcenter.core import HelpCenter
from helpcenter.understanding import embedding
from helpcenter.understanding.matcher import FOCUS_CHARS, Matcher
from helpcenter.understanding.worker import Busy, FairWorker

from .botkit import chat, running_bot

LONG_STORY = ("我上周在店里买了一件外套,穿了两次拉链就坏了,颜色也和图片不太一样,我给卖家发了好几次消息一直没人回,"
              "家里人说可以找平台,我也不知道该怎么办才好。") * 40
QUESTION = "买到的东西坏了,多久之内可以申请退款?"


def test_a_long_message_is_matched_on_its_telling_sentences(center: HelpCenter) -> None:
    message = LONG_STORY[:3000] + QUESTION + "谢谢!" * 300
    focused = center.matcher.focus(message)
    assert len(focused) <= FOCUS_CHARS
    assert center.matcher.focus(QUESTION) == QUESTION  # a question of normal length is all read
    assert center.matcher.focus("x" * 5000) == "x" * FOCUS_CHARS  # no known word: its beginning


def test_a_long_message_gets_an_answer_that_says_which_part_was_read(center: HelpCenter) -> None:
    reply = center.ask((QUESTION + " ") * 200, "zh")
    assert reply.entry is not None
    first = to_plain(reply.messages[0])
    assert first.startswith("您的消息很长") and QUESTION[:10] in first
    assert len(first.splitlines()[0]) < 120  # the note quotes a little, not the message


def test_a_flood_of_long_messages_does_not_hold_up_another_chat(
        tmp_path: Path, center: HelpCenter, monkeypatch: pytest.MonkeyPatch) -> None:
    """One user sends five 4,096-character messages; each costs the matcher 0.3 s here (a
    stand-in for the model). Meanwhile another user's /start is answered at once (the event loop
    is free) and their question comes before the flooder's third answer (chats take turns)."""
    real_ask = HelpCenter.ask

    def slow_ask(self: HelpCenter, question: str, *args: object, **kwargs: object) -> object:
        if len(question) > 1000:
            time.sleep(0.3)
        return real_ask(self, question, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(HelpCenter, "ask", slow_ask)

    async def scenario() -> None:
        async with running_bot(tmp_path, center) as (app, api):
            flooder, other = chat(app, api, 1), chat(app, api, 2)
            other.factory._update_ids = itertools.count(100)  # update ids are unique across chats
            for _ in range(5):
                await app.update_queue.put(Update.de_json(flooder.factory.text(LONG_STORY[:4096]), app.bot))
            await asyncio.sleep(0.1)  # the first long message is being matched
            await app.update_queue.put(Update.de_json(other.factory.text("/start"), app.bot))
            await app.update_queue.put(Update.de_json(other.factory.text("退款多久到账"), app.bot))
            for _ in range(300):
                order = [(c.chat_id, to_plain(c.text)) for c in api.sent()]
                # each long message's answer (a note says which part was read; or "sorry, not sure")
                answers = [i for i, (who, text) in enumerate(order)
                           if who == 1 and (text.startswith("您的消息很长") or text.startswith("抱歉"))]
                theirs = [i for i, (who, _) in enumerate(order) if who == 2]
                if len(answers) >= 5 and len(theirs) >= 2:
                    break
                await asyncio.sleep(0.05)
            assert len(answers) == 5 and len(theirs) >= 2, order
            assert theirs[0] < answers[0]  # /start while the first long message is in the matcher
            assert theirs[1] < answers[2]  # the question waited for one long message, not five

    asyncio.run(scenario())


def test_the_worker_serves_chats_in_turn() -> None:
    """Jobs of one chat queue behind that chat's own, not in front of the others."""
    release = threading.Event()
    ran: list[str] = []

    def job(name: str) -> str:
        if name == "a1":
            release.wait(5)
        ran.append(name)
        return name

    async def scenario() -> None:
        worker = FairWorker(threads=1)
        first = asyncio.ensure_future(worker.run("a", job, "a1"))
        await asyncio.sleep(0.05)
        rest = [asyncio.ensure_future(worker.run(key, job, name))
                for key, name in (("a", "a2"), ("a", "a3"), ("b", "b1"), ("c", "c1"), ("b", "b2"))]
        await asyncio.sleep(0.05)
        release.set()
        assert await first == "a1" and [await r for r in rest] == ["a2", "a3", "b1", "c1", "b2"]
        await worker.close()

    asyncio.run(scenario())
    assert ran == ["a1", "a2", "b1", "c1", "a3", "b2"]


def test_the_worker_says_when_it_is_full() -> None:
    async def scenario() -> None:
        worker = FairWorker(threads=1, max_waiting=2)
        gate = threading.Event()
        running = asyncio.ensure_future(worker.run("a", gate.wait, 5))
        await asyncio.sleep(0.05)
        waiting = [asyncio.ensure_future(worker.run(k, lambda: None)) for k in ("b", "c")]
        await asyncio.sleep(0)
        with pytest.raises(Busy):
            await worker.run("d", lambda: None)
        gate.set()
        await asyncio.gather(running, *waiting)
        await worker.close()

    asyncio.run(scenario())


def test_the_shipped_vectors_match_the_content() -> None:
    """content/vectors.npz holds exactly the phrasings the matcher embeds (`make vectors` after
    editing content/); `bot.py check` fails otherwise, so CI does too."""
    texts = Matcher(HelpCenter().kb).vector_texts()[0]
    assert embedding.stale(texts) == (0, 0)


def test_check_fails_when_content_changed_without_new_vectors(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    texts, vectors = embedding.read_vectors(embedding.SHIPPED)
    old = tmp_path / "vectors.npz"
    embedding.write_vectors(old, texts[1:], vectors[1:])  # as if a phrasing had been added since
    monkeypatch.setattr(embedding, "SHIPPED", old)
    assert bot.main(["check"]) == 1
    out = capsys.readouterr().out
    assert "vectors.npz: error: stale: 1 phrasing(s) have no vector" in out and "make model" in out


def test_vector_files_for_another_model_or_broken_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "v.npz"
    embedding.write_vectors(path, ["a", "b"], np.ones((2, 4), dtype=np.float32))
    assert embedding.read_vectors(path)[0] == ["a", "b"]
    np.savez(path, model=np.asarray("another-model"), texts=np.asarray(["a"]), vectors=np.ones((1, 4)))
    assert embedding.read_vectors(path)[0] == []
    path.write_bytes(b"not a vector file")
    assert embedding.read_vectors(path)[0] == []


REASON = embedding.unavailable_reason({"EMBEDDINGS": "on"})


@pytest.mark.skipif(REASON is not None, reason=f"embedding model unavailable: {REASON}")
def test_a_taught_phrasing_is_the_only_one_embedded_on_reload(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from helpcenter.desk.taught import Phrasing, apply_overlay

    semantic = embedding.Semantic(embedding.VectorStore(embedding.SHIPPED, tmp_path / "cache"))
    semantic.start(background=False)
    center = HelpCenter()
    center.matcher = Matcher(center.kb, semantic=semantic)
    assert center.matcher.semantic_ready  # content/vectors.npz: nothing embedded at start
    taught = Phrasing("refund-arrival", "zh", "钱啥时候回到我卡上", "agent")
    with caplog.at_level(logging.INFO, logger="helpcenter.understanding.embedding"):
        overlaid = apply_overlay(center, [taught])
    assert [r.getMessage() for r in caplog.records] == ["embedding 1 phrasing(s) the vector files lack"]
    assert overlaid.matcher.semantic_ready
    assert (tmp_path / "cache" / embedding.EXTRA).exists()  # the next start embeds nothing
