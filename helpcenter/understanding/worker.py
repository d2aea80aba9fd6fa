"""Answering off the event loop, fairly.

Matching a question costs milliseconds, and the embedding model tens of them: done on the event
loop, one user's long messages would hold up every other chat's updates. FairWorker runs such
calls in worker threads (the model's engine releases the GIL while it computes) and serves the
waiting chats in turn: each chat has its own queue, and the next job comes from the chat served
least recently, so a user who sends twenty long messages in a row waits behind themselves, not in
front of everyone.
"""

from __future__ import annotations

import asyncio
import functools
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
MAX_WAITING = 1024  # jobs queued at most (the update processor runs 128 chats at once)


class Busy(RuntimeError):
    """More jobs are waiting than MAX_WAITING: the caller says so instead of queueing forever."""


class FairWorker:
    """Round-robin over chats, `threads` jobs at a time, at most `max_waiting` waiting."""

    def __init__(self, threads: int = 1, max_waiting: int = MAX_WAITING) -> None:
        self.threads = threads
        self.max_waiting = max_waiting
        self._queues: OrderedDict[Hashable, deque[tuple[Callable[[], Any], asyncio.Future[Any]]]] = OrderedDict()
        self._running = 0
        self._executor: ThreadPoolExecutor | None = None
        self.done = 0  # jobs run, for the benchmarks

    @property
    def waiting(self) -> int:
        return sum(len(q) for q in self._queues.values())

    async def run(self, key: Hashable, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """fn(*args, **kwargs) in a worker thread, after the jobs of chats served before key."""
        if self.waiting >= self.max_waiting:
            raise Busy(f"{self.waiting} questions are waiting")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queues.setdefault(key, deque()).append((functools.partial(fn, *args, **kwargs), future))
        self._pump()
        return await future

    def _pump(self) -> None:
        """Start jobs while threads are free, taking each from the chat first in line; a chat with
        more jobs goes to the back of the line."""
        loop = asyncio.get_running_loop()
        while self._running < self.threads and self._queues:
            key, queue = self._queues.popitem(last=False)
            job, future = queue.popleft()
            if queue:
                self._queues[key] = queue
            if future.cancelled():  # the update that wanted it is gone
                continue
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.threads, thread_name_prefix="answer")
            self._running += 1
            done: Future[Any] = self._executor.submit(job)
            done.add_done_callback(functools.partial(self._settle, loop, future))

    def _settle(self, loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any], done: Future[Any]) -> None:
        """In the worker thread: hand the result back to the event loop."""
        loop.call_soon_threadsafe(self._finish, done, future)

    def _finish(self, done: Future[Any], future: asyncio.Future[Any]) -> None:
        self._running -= 1
        self.done += 1
        if not future.cancelled():
            exc = done.exception()
            if exc is not None:
                future.set_exception(exc)
            else:
                future.set_result(done.result())
        self._pump()

    async def close(self) -> None:
        """Drop the jobs still waiting (their updates are not done, so the inbox replays them at
        the next start) and wait for the running ones."""
        for queue in self._queues.values():
            for _, future in queue:
                future.cancel()
        self._queues.clear()
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, wait=True)
