"""The storage interface on both backends (SQLite files, PostgreSQL): the same calls give the
same answers, writes survive a reopen, the update inbox is committed with the state it changed."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from handlers.offline.botapi import Call
from handlers.runtime.persistence import STEPS as STATE_STEPS
from handlers.runtime.persistence import SqlPersistence
from helpcenter.core import HelpCenter
from helpcenter.storage.db import StoreError, database
from helpcenter.storage.store import STEPS as STORE_STEPS
from helpcenter.storage.store import Store

from .botkit import chat, running_bot
from .conftest import ROOT, Backend

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


def _store(backend: Backend) -> Store:
    return Store(database(backend.url, backend.data_dir / "helpcenter.sqlite3"))


def _persistence(backend: Backend) -> SqlPersistence:
    return SqlPersistence(database(backend.url, backend.data_dir / "state.sqlite3"))


async def test_reminders_once_per_request_and_cancel(backend: Backend) -> None:
    store = _store(backend)
    await store.open()
    try:
        due = NOW + timedelta(days=3)
        first = await store.add_reminder(-1001234567890123, 7, due, {"lang": "zh", "x": "退货"}, NOW, request="r1")
        again = await store.add_reminder(-1001234567890123, 7, due, {"lang": "zh"}, NOW, request="r1")
        other = await store.add_reminder(7, 7, due, {"lang": "en"}, NOW, request="r2")
        assert first == again != other
        pending = await store.pending_reminders()
        assert [(r.id, r.chat_id, r.payload) for r in pending][:1] == [(first, -1001234567890123,
                                                                          {"lang": "zh", "x": "退货"})]
        assert pending[0].due_at == due
        assert not await store.cancel_reminder(first, user_id=8)  # not theirs
        assert await store.cancel_reminder(first, user_id=7)
        assert await store.reminder_status(first) == "cancelled"
        renewed = await store.add_reminder(7, 7, due, {}, NOW, request="r1")  # a cancelled one does not block
        assert renewed not in (first, other)
        await store.set_reminder_status(other, "sent")
        assert [r.id for r in await store.pending_reminders()] == [renewed]
    finally:
        await store.close()


async def test_tickets_links_outbox_and_bans(backend: Backend) -> None:
    store = _store(backend)
    await store.open()
    try:
        ticket = await store.open_ticket(5, 5, "Ann", "zh", "buyer", NOW)
        assert ticket.open and ticket.created_at == NOW
        await store.update_ticket(ticket.id, NOW, thread_id=77, card_msg=3)
        assert (await store.ticket_by_thread(77)).id == ticket.id
        await store.update_ticket(ticket.id, NOW + timedelta(hours=1), status="closed", rating=5)
        closed = await store.ticket(ticket.id)
        assert closed.status == "closed" and closed.rating == 5 and closed.closed_at == NOW + timedelta(hours=1)
        assert await store.open_tickets() == []
        await store.link(ticket.id, 5, 10, -1005000, 20)
        assert await store.ticket_of_message(-1005000, 20) == ticket.id == await store.ticket_of_message(5, 10)
        assert await store.copies_of(5, 10) == [(-1005000, 20)]
        item = await store.enqueue(ticket.id, {"op": "copy", "text": "照片"}, NOW, dedup="copy:5:10")
        assert item is not None and await store.enqueue(ticket.id, {}, NOW, dedup="copy:5:10") is None
        assert [(i.id, i.payload) for i in await store.pending_outbox()] == [(item.id, {"op": "copy", "text": "照片"})]
        assert await store.take_over(NOW) is None  # the first process to serve here
        assert await store.start_sending(item.id) == "claimed"
        assert await store.pending_outbox() == []
        assert await store.start_sending(item.id) == "gone"  # claimed once
        assert await store.interrupted_sends() == 0  # its own claim, not a dead process's
        again = Store(database(backend.url, backend.data_dir / "helpcenter.sqlite3"))
        await again.open()
        try:  # a process that takes over: the first one can claim nothing more
            assert await again.take_over(NOW) is None  # the same process (this test) again
            assert await again.interrupted_sends() == 1  # the one before died mid-send: it goes out again
            assert await store.start_sending(item.id) == "fenced"
            assert await again.start_sending(item.id) == "claimed"
            await store.mark_outbox(item.id, "failed")  # the fenced process's late outcome does not count
            await again.mark_outbox(item.id, "sent")
        finally:
            await again.close()
        assert backend.rows(f"SELECT status, attempts FROM outbox WHERE id={item.id}") == [("sent", 1)]
        await store.ban(5, NOW)
        await store.ban(5, NOW + timedelta(1))  # banning twice is not an error
        assert await store.is_banned(5)
        await store.unban(5)
        assert not await store.is_banned(5)
    finally:
        await store.close()


async def test_question_log_feedback_stats_and_forget(backend: Backend) -> None:
    store = _store(backend)
    await store.open()
    try:
        a = await store.log_question(9, "zh", "退款 13812345678", "refund-time", "refund", 0.8, NOW)
        b = await store.log_question(9, "zh", "退款多久", "refund-time", "refund", 0.7, NOW)
        await store.log_question(9, "en", "hello?", None, None, 0.1, NOW)
        assert await store.set_feedback(a, 9, 1)
        assert await store.set_feedback(b, 9, -1)  # the same answer again: the first vote withdrawn
        assert (await store.feedback(a, 9), await store.feedback(b, 9)) == (None, -1)
        assert not await store.set_feedback(a, 10, 1)  # not this chat's
        assert not await store.set_feedback(2**64, 9, 1) and await store.feedback(2**64, 9) is None
        stats = await store.stats(NOW - timedelta(days=1))
        assert (stats["total"], stats["answered"], stats["topics"]) == (3, 2, [("refund", 2)])
        assert stats["per_day"] == [("2026-11-22", 3)] and (stats["helpful"], stats["unhelpful"]) == (0, 1)
        assert await store.top_topics() == ["refund"]
        assert [r[0] for r in await store.to_review()] == ["退款多久", "hello?"]
        await store.add_reminder(9, 9, NOW, {}, NOW, request="x")
        await store.open_ticket(9, 9, "Bo", "en", "seller", NOW)
        assert await store.forget(9) == {"questions": 3, "reminders": 1, "tickets": 1}
        assert await store.to_review() == []
    finally:
        await store.close()


async def test_data_and_schema_version_survive_a_reopen(backend: Backend) -> None:
    store = _store(backend)
    await store.open()
    ticket = await store.open_ticket(5, 5, "Ann", "zh", "buyer", NOW)
    await store.close()
    again = _store(backend)
    await again.open()
    try:
        assert (await again.ticket(ticket.id)).user_name == "Ann"
        second = await again.open_ticket(6, 6, "Bo", "zh", "buyer", NOW)
        assert second.id == ticket.id + 1
        assert "schema_version" in await again.database.tables()
    finally:
        await again.close()
    versions = dict(backend.rows("SELECT component, version FROM schema_version"))
    assert versions == {"store": max(s.version for s in STORE_STEPS)}


async def test_inbox_and_state_commit_together(backend: Backend) -> None:
    """The state an update changed and its done mark: both committed, or neither."""
    persistence = _persistence(backend)
    assert await persistence.inbox_add(1, '{"update_id": 1}')
    assert not await persistence.inbox_add(1, '{"update_id": 1}')  # Telegram sent it again
    assert await persistence.inbox_add(2, '{"update_id": 2}')

    class App:  # what save_update needs of the Application
        def __init__(self, fail: bool) -> None:
            self.fail, self.marked = fail, []

        async def update_persistence(self) -> None:
            await persistence.update_user_data(5, {"step": 3, "语言": "zh"})
            await persistence.update_conversation("main", (5, 5), "ret")
            if self.fail:
                raise OSError("disk gone")

        def mark_data_for_update_persistence(self, chat_ids: list, user_ids: list) -> None:
            self.marked.append((chat_ids, user_ids))

    failing = App(fail=True)
    with pytest.raises(OSError):
        await persistence.save_update(failing, 1, 5, 5)
    assert failing.marked == [([5], [5])]
    assert backend.rows("SELECT COUNT(*) FROM kv", "state") == [(0,)]  # nothing half-saved
    assert await persistence.inbox_pending() == [(1, '{"update_id": 1}'), (2, '{"update_id": 2}')]
    await persistence.save_update(App(fail=False), 2, 5, 5)  # takes update 1 along
    assert await persistence.inbox_pending() == []
    await persistence.drop_user_data(6)  # outside an update: kept for the next commit
    await persistence.flush()
    again = _persistence(backend)
    assert await again.get_user_data() == {5: {"step": 3, "语言": "zh"}}
    assert await again.get_conversations("main") == {(5, 5): "ret"}
    await again.flush()
    versions = dict(backend.rows("SELECT component, version FROM schema_version", "state"))
    assert versions == {"state": max(s.version for s in STATE_STEPS)}


async def test_the_bot_resumes_a_flow_after_a_restart(backend: Backend, center: HelpCenter) -> None:
    """The real Application on each backend: a text field, a reminder and a ticket outlive it."""
    async with running_bot(backend.data_dir, center, database_url=backend.url) as (app, api):
        ann = chat(app, api)
        await ann.send("/return")
        for _ in range(3):
            await ann.press("下一步")
        await ann.press("下一步")
        await ann.send("576482930174629381")
        assert "要退的是哪件商品" in ann.text
        bob = chat(app, api, user_id=2, language_code="en")
        await bob.send("/refund")
        await bob.press("Item not as ordered")
        await bob.press("Indonesia")
        await bob.press("Yesterday")
        await bob.press("Remind me")
        assert "I will remind you on 2026-11-26 10:00" in bob.text
    async with running_bot(backend.data_dir, center, database_url=backend.url) as (app, api):
        ann = chat(app, api)
        await ann.send("白色 T 恤")  # still waiting for the product
        assert "退货原因是什么" in ann.text
        assert [r.user_id for r in await app.services.store.pending_reminders()] == [2]
    assert backend.rows("SELECT COUNT(*) FROM inbox WHERE done=0", "state") == [(0,)]
    assert backend.rows("SELECT status FROM reminders") == [("pending",)]


async def test_an_unknown_database_url_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="must start with postgresql://"):
        database("mysql://x@y/z", tmp_path / "a.sqlite3")


async def test_an_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    store = Store(database("postgresql://nobody:secret@127.0.0.1:9/none?connect_timeout=1", tmp_path / "x"))
    with pytest.raises(StoreError, match=r"cannot connect to PostgreSQL at postgresql://nobody:\*\*\*@127.0.0.1:9"):
        await store.open()


def _migrate(data_dir: Path, url: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "bot.py", "migrate", "--to", url, "--data-dir", str(data_dir)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, env={"PATH": os.environ.get("PATH", "")})


async def test_migrate_copies_a_data_dir_into_postgresql(tmp_path: Path, pg_url: str, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center, support_chat_id=-1005000) as (app, api):
        ann = chat(app, api)
        await ann.send("/return")
        await ann.press("下一步")
        await ann.send("退款多久到账")  # a logged question
        bob = chat(app, api, user_id=2)
        await bob.send("/human")  # a ticket, its card queued and sent, a link
        await bob.send("照片稍后发")  # relayed, and in the desk's history of the ticket
    out = _migrate(tmp_path, pg_url)
    assert out.returncode == 0, out.stderr
    assert "state.sqlite3:kv:" in out.stdout and "counts match" in out.stdout
    assert "helpcenter.sqlite3:tickets: 1 row(s) copied, counts match" in out.stdout
    assert "desk.sqlite3:desk_tickets: 1 row(s) copied, counts match" in out.stdout, out.stdout  # the agents' desk
    pg = Backend("postgresql", tmp_path, pg_url)
    assert pg.rows("SELECT user_id, status FROM tickets") == [(2, "open")]
    async with running_bot(tmp_path / "unused", center, database_url=pg_url, support_chat_id=-1005000) as (app, api):
        ann = chat(app, api)
        assert app.user_data[1].ret.step == 2  # the conversation state came along
        screen = Call("sendMessage", {}, result={"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}})
        await ann.press_data("ret:next:2", screen)  # the step-2 screen's Next, pressed after the move
        assert "步骤 3/6" in ann.text
        carl = chat(app, api, user_id=3)
        await carl.send("/human")
        assert [t.id for t in await app.services.store.open_tickets()] == [1, 2]  # ids go on after the copied
    again = _migrate(tmp_path, pg_url)
    assert again.returncode == 1 and "migrate needs an empty database" in again.stderr


async def test_a_newer_schema_is_refused(backend: Backend) -> None:
    store = _store(backend)
    await store.open()
    await store.close()
    newer = max(s.version for s in STORE_STEPS) + 1
    sql = f"UPDATE schema_version SET version={newer} WHERE component='store'"
    if backend.url:
        import psycopg

        with psycopg.connect(backend.url) as db:
            db.execute(sql)
    else:
        import sqlite3

        with sqlite3.connect(backend.data_dir / "helpcenter.sqlite3") as db:
            db.execute(sql)
    with pytest.raises(StoreError, match=f"the store tables have schema {newer}, newer than this bot's"):
        await _store(backend).open()


def _desk(backend: Backend):
    from helpcenter.storage.desk_records import Desk

    if backend.url:
        return Desk(database(backend.url, backend.data_dir / "desk.sqlite3"))
    return Desk(backend.data_dir / "desk.sqlite3", backend.data_dir / "helpcenter.sqlite3")


async def test_the_agents_desk_on_both_backends(backend: Backend) -> None:
    """Holding, history (a replayed update adds nothing), taught phrasings, service rows, forget."""
    from helpcenter.desk.taught import load_overlay

    store = _store(backend)
    await store.open()
    desk = _desk(backend)
    await desk.open()
    try:
        ticket = await store.open_ticket(5, 5, "Ann", "zh", "buyer", NOW)
        await store.log_question(5, "zh", "退款多久", "refund-time", "refund", 0.8, NOW)
        assert await desk.ensure(ticket.id, 5, NOW, before=[("bot_q", "退款多久"), ("bot_a", "3-5 天")])
        desk._known.clear()
        assert not await desk.ensure(ticket.id, 5, NOW)  # known: its history is not added again
        await desk.claim(ticket.id, 900, "Agent Li", NOW)
        assert (await desk.holding(ticket.id)).holder_name == "Agent Li"
        assert await desk.held_by(900) == [ticket.id]
        for _ in range(2):  # the same message twice (an update replayed after a crash)
            await desk.record(ticket.id, 5, "user", NOW, "在吗", source="5:10")
        await desk.responded(ticket.id, NOW + timedelta(minutes=2))
        assert [e.kind for e in await desk.history(ticket.id)] == ["bot_q", "bot_a", "user"]
        offered = await desk.offer(ticket.id, "钱什么时候退回来", "zh", 900, "Agent Li", NOW)
        assert (await desk.teach(offered, "refund-time", 900, "Agent Li", NOW)).entry_id == "refund-time"
        assert await desk.teach(offered, "refund-time", 900, "Agent Li", NOW) is None  # stored already
        assert [(p.entry_id, p.text) for p in load_overlay(backend.data_dir / "desk.sqlite3", backend.url)] == [
            ("refund-time", "钱什么时候退回来")]
        rows = await desk.service_rows(NOW - timedelta(days=1))
        assert [(r["id"], r["holder"], r["first_response_at"]) for r in rows] == [
            (ticket.id, "Agent Li", NOW + timedelta(minutes=2))]
        assert list((await desk.answer_rate_per_day(NOW - timedelta(days=1), UTC)).values()) == [1.0]
        await desk.forget(5)
        assert await desk.history(ticket.id) == [] and await desk.holding(ticket.id) is None
    finally:
        await desk.close()
        await store.close()
