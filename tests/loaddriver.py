"""Simulated users for load runs against the emulator: each user sends its next update as soon
as the bot's reply to the previous one (a message with buttons containing the expected text)
has arrived. Every expected reply must arrive; latency is push → reply."""

from __future__ import annotations

import os
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from handlers.offline.botapi import Call, UpdateFactory
from helpcenter.answers.render import to_plain

from .emulator import Emulator

# (kind, value, expected text in the reply); kind: text | press (callback data)
FLOW: list[tuple[str, str, str]] = [
    ("text", "/start", "请先告诉我您的身份"),
    ("press", "role:buyer", "买家菜单"),
    ("press", "go:ret", "步骤 1/6"),
    ("press", "ret:next:1", "步骤 2/6"),
    ("text", "退款多久到账", "退款退到哪里"),
    ("press", "resume", "步骤 2/6"),
    ("press", "ret:next:2", "步骤 3/6"),
    ("text", "/refund", "您遇到的是哪种情况"),
    ("press", "ref:case:lost_package", "您在哪个市场购买"),
    ("press", "ref:mkt:ID", "那是哪一天"),
    ("text", "昨天", "还可以申请"),
]


@dataclass
class UserRun:
    factory: UpdateFactory
    step: int = 0
    sent_at: float = 0.0
    last_message: dict[str, Any] | None = None
    seen: list[str] = field(default_factory=list)


@dataclass
class LoadResult:
    users: int
    updates: int
    seconds: float
    latencies: list[float]
    missing: list[str]
    crossed: int

    @property
    def per_second(self) -> float:
        return self.updates / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000 if ordered else 0.0

    def summary(self) -> str:
        return (f"{self.users} users, {self.updates} updates in {self.seconds:.2f} s: {self.per_second:.0f} updates/s,"
                f" reply latency p50 {self.pct(50):.1f} ms, p99 {self.pct(99):.1f} ms,"
                f" mean {statistics.fmean(self.latencies) * 1000 if self.latencies else 0:.1f} ms")


def run_load(emu: Emulator, users: int, flow: list[tuple[str, str, str]] = FLOW, first_id: int = 10_000,
             timeout: float = 240.0) -> LoadResult:
    runs = {first_id + i: UserRun(UpdateFactory(first_id + i, f"U{i}", "zh-hans")) for i in range(users)}
    for run in runs.values():
        run.factory._update_ids = iter(range(10**9))
    latencies: list[float] = []
    crossed = 0
    done = threading.Event()
    remaining = [users]
    lock = threading.Lock()

    def push(user_id: int, run: UserRun) -> None:
        kind, value, _ = flow[run.step]
        if kind == "text":
            update = run.factory.text(value)
        else:
            update = run.factory.click(value, run.last_message or {"message_id": 1, "date": 0,
                                                                   "chat": run.factory.chat})
        run.sent_at = time.perf_counter()
        emu.push(update)

    def on_call(call: Call) -> None:
        nonlocal crossed
        if call.method not in ("sendMessage", "editMessageText") or not call.buttons:
            return
        try:
            user_id = int(call.params.get("chat_id"))
        except (TypeError, ValueError):
            return
        run = runs.get(user_id)
        if run is None or run.step >= len(flow):
            return
        text = to_plain(call.text)
        if "您好 U" in text and f"您好 U{user_id - first_id}!" not in text:
            crossed += 1  # another user's greeting: state crossed between users
        if flow[run.step][2] not in text:
            return
        with lock:
            latencies.append(time.perf_counter() - run.sent_at)
            run.last_message = call.result if isinstance(call.result, dict) else run.last_message
            run.step += 1
            finished = run.step >= len(flow)
            if finished:
                remaining[0] -= 1
                if remaining[0] == 0:
                    done.set()
        if not finished:
            push(user_id, run)

    emu.listeners.append(on_call)
    start = time.perf_counter()
    for user_id, run in runs.items():
        push(user_id, run)
    done.wait(timeout)
    seconds = time.perf_counter() - start
    emu.listeners.remove(on_call)
    missing = [f"user {u}: stuck before step {r.step} ({flow[r.step][1]!r})" for u, r in runs.items()
               if r.step < len(flow)]
    return LoadResult(users, sum(r.step for r in runs.values()), seconds, latencies, missing, crossed)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
