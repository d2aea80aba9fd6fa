"""The question path, measured from outside: the real bot beside a bare python-telegram-bot echo
bot (bench/echo_bot.py) in the same run, each a process of its own behind the Bot API emulator on
127.0.0.1.

    python bench/model_bench.py [--users 30] [--questions 8] [--flood 5]

It prints:
- start to first answer: a question is waiting when the process starts; seconds from the spawn
  to its reply. Cold: a fresh DATA_DIR and cache (a new machine or container); warm: the same
  DATA_DIR again;
- CPU per answered question: --users users each ask --questions distinct real questions (the
  labelled tuning questions), one after the other; the bot process's CPU time over the run
  divided by the questions answered, beside the echo bot answering the same messages;
- reply latency p50/p99 of that run, and the process's peak memory (VmHWM);
- the latency other users see while one user floods: one user sends --flood messages of 4,096
  characters back to back while the others each ask one short question; their p50/p99, beside
  the same questions asked with no flood, in the same process;
- how often the question reached the model (the bot logs it; see Matcher.decisive).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from handlers.offline.botapi import Call, UpdateFactory  # noqa: E402
from helpcenter.knowledge.labelled import read_questions  # noqa: E402
from tests.emulator import Emulator  # noqa: E402
from tests.loaddriver import cpu_seconds  # noqa: E402

TOKEN = "123456:bench"
LONG = ("我上周买的外套拉链坏了,卖家一直不回消息,我想退货退款。要准备什么材料?多久之内必须申请?"
        "I bought a jacket last week and the zipper broke; the seller does not answer. ") * 60


def questions() -> list[str]:
    """Real questions, shuffled the same way every run (in scope and off-topic)."""
    files = [ROOT / "tests" / "data" / name for name in
             ("questions/tune.tsv", "outside/tune.tsv", "paraphrases.tsv", "probes.tsv")]
    found = list(dict.fromkeys(r.question for path in files for r in read_questions(path)))
    random.Random(5).shuffle(found)
    return found


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000 if ordered else float("nan")


class Bot:
    """A bot process against an emulator: start, ask, measure, stop."""

    def __init__(self, name: str, command: list[str], data: Path, env_extra: dict[str, str]) -> None:
        self.name, self.command, self.data, self.env_extra = name, command, data, env_extra
        self.emu = Emulator()
        self.proc: subprocess.Popen[bytes] | None = None
        self.replies: dict[int, list[tuple[float, str]]] = {}
        self.lock = threading.Condition()

    def __enter__(self) -> Bot:
        self.emu.__enter__()
        self.emu.listeners.append(self._on_call)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.emu.__exit__(*exc)

    def _on_call(self, call: Call) -> None:
        if call.method == "sendMessage" and call.chat_id is not None:
            with self.lock:
                self.replies.setdefault(call.chat_id, []).append((time.perf_counter(), call.text))
                self.lock.notify_all()

    def start(self) -> float:
        env = {"PATH": os.environ.get("PATH", ""), "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": self.emu.url,
               "DATA_DIR": str(self.data), "CACHE_DIR": str(self.data / "cache"), "RATE_LIMIT": "off",
               "BOT_TIMEZONE": "UTC", **self.env_extra}
        spawned = time.perf_counter()
        self.proc = subprocess.Popen(self.command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        return spawned

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None

    def ask(self, user: int, text: str) -> float:
        """Push a question; return the push time (the reply is awaited with reply_after)."""
        factory = UpdateFactory(user, f"U{user}")
        sent = time.perf_counter()
        self.emu.push(factory.text(text))
        return sent

    def reply_after(self, user: int, sent: float, timeout: float = 120.0) -> float:
        """Seconds from sent until the first reply to user after it."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                for at, _ in self.replies.get(user, []):
                    if at >= sent:
                        return at - sent
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{self.name}: no reply to user {user}")
                self.lock.wait(0.2)

    def peak_mib(self) -> float:
        assert self.proc is not None
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(status.split("VmHWM:")[1].split()[0]) / 1024

    def cpu(self) -> float:
        assert self.proc is not None
        return cpu_seconds(self.proc.pid)


def with_market(bot: Bot, users: list[int]) -> None:
    """Each user picks a market first (/market), so that a reply is one message: without it the
    first answer whose figures differ by market also asks for it, in a second message."""
    before = sum(c.method == "answerCallbackQuery" for c in bot.emu.calls)
    for user in users:
        factory = UpdateFactory(user, f"U{user}")
        bot.emu.push(factory.click("prof:set:US", {"message_id": 1, "date": 0, "chat": factory.chat}))
    bot.emu.wait_for(lambda calls: sum(c.method == "answerCallbackQuery" for c in calls) >= before + len(users), 60)


def start_to_first_answer(bot: Bot, user: int = 7) -> float:
    spawned = bot.start()
    sent = bot.ask(user, "退款多久到账")
    return bot.reply_after(user, sent) + (sent - spawned)


def sequential_users(bot: Bot, users: list[int], texts: dict[int, list[str]]) -> tuple[list[float], float, int]:
    """Each user asks its questions one after the other, all users at once: latencies, CPU, answers."""
    latencies: list[float] = []
    lock = threading.Lock()

    def one(user: int) -> None:
        for text in texts[user]:
            got = bot.reply_after(user, bot.ask(user, text))
            with lock:
                latencies.append(got)

    before = bot.cpu()
    threads = [threading.Thread(target=one, args=(u,)) for u in users]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return latencies, bot.cpu() - before, sum(len(texts[u]) for u in users)


def flood(bot: Bot, flooder: int, others: list[int], texts: list[str], messages: int) -> tuple[list[float], float]:
    """One user sends `messages` long messages back to back; meanwhile each other user asks one
    question. The others' latencies, and when the flooder's last reply came."""
    sent = [bot.ask(flooder, LONG[:4096]) for _ in range(messages)]
    time.sleep(0.05)  # the flood is in the bot's hands first
    asked = [(u, bot.ask(u, t)) for u, t in zip(others, texts, strict=False)]
    latencies = [bot.reply_after(u, at) for u, at in asked]
    if not sent:
        return latencies, 0.0
    deadline = time.monotonic() + 120
    while len([1 for at, _ in bot.replies.get(flooder, []) if at >= sent[0]]) < messages:
        if time.monotonic() > deadline:
            raise TimeoutError("the flood was not answered")
        time.sleep(0.05)
    last = max(at for at, _ in bot.replies[flooder]) - sent[0]
    return latencies, last


@contextmanager
def running(name: str, command: list[str], data: Path, env: dict[str, str]) -> Any:
    with Bot(name, command, data, env) as bot:
        yield bot


def measure(name: str, command: list[str], env: dict[str, str], args: argparse.Namespace,
            pool: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name}
    users = list(range(100, 100 + args.users))
    per_user = {u: pool[i * args.questions:(i + 1) * args.questions] for i, u in enumerate(users)}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        with running(name, command, data, env) as bot:
            out["cold"] = start_to_first_answer(bot)
            bot.stop()
        with running(name, command, data, env) as bot:
            bot.emu.next_id = 1_000_000  # Telegram's update ids go on rising across restarts
            out["warm"] = start_to_first_answer(bot)
            time.sleep(1.0)  # the model loads in the background: measure the steady state
            with_market(bot, users)
            lat, cpu, answered = sequential_users(bot, users, per_user)
            out |= {"lat": lat, "cpu_ms": cpu / answered * 1000, "answered": answered}
            others = users[1:]
            used = len(users) * args.questions
            calm, _ = flood(bot, users[0], others, pool[used:used + len(others)], 0)
            busy, last = flood(bot, users[0], others, pool[used + len(others):used + 2 * len(others)], args.flood)
            out |= {"calm": calm, "busy": busy, "flood_last": last, "peak": bot.peak_mib()}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=30)
    parser.add_argument("--questions", type=int, default=8, help="distinct questions per user")
    parser.add_argument("--flood", type=int, default=5, help="4,096-character messages one user sends at once")
    args = parser.parse_args()
    pool = questions()
    assert len(pool) >= args.users * (args.questions + 2), "not enough distinct questions"
    runs = [measure("bare PTB echo bot", [sys.executable, "bench/echo_bot.py"], {}, args, pool),
            measure("help-center bot", [sys.executable, "bot.py"], {}, args, pool),
            measure("help-center, EMBEDDINGS=off", [sys.executable, "bot.py"], {"EMBEDDINGS": "off"}, args, pool)]
    load = os.getloadavg()
    print(f"\n{args.users} users x {args.questions} distinct real questions; flood: {args.flood} messages of 4,096"
          f" characters from one user while {args.users - 1} others ask; 2-core machine, load average"
          f" {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print(f"{'':<30}{'cold s':>8}{'warm s':>8}{'CPU ms/q':>10}{'p50 ms':>8}{'p99 ms':>8}{'peak MiB':>10}"
          f"{'others p50/p99 ms, calm':>26}{'…, flood':>14}{'flood done s':>14}")
    for r in runs:
        print(f"{r['name']:<30}{r['cold']:>8.2f}{r['warm']:>8.2f}{r['cpu_ms']:>10.2f}{pct(r['lat'], 50):>8.0f}"
              f"{pct(r['lat'], 99):>8.0f}{r['peak']:>10.0f}"
              f"{pct(r['calm'], 50):>17.0f} / {pct(r['calm'], 99):<6.0f}"
              f"{pct(r['busy'], 50):>7.0f} / {pct(r['busy'], 99):<6.0f}{r['flood_last']:>10.1f}")
    echo = runs[0]
    for r in runs[1:]:
        print(f"{r['name']}: CPU per question {r['cpu_ms'] - echo['cpu_ms']:+.1f} ms against the echo bot;"
              f" p99 {pct(r['lat'], 99) / max(1.0, pct(echo['lat'], 99)):.2f}x the echo bot's;"
              f" others wait {statistics.median(r['busy']) * 1000:.0f} ms (median) during a flood")


if __name__ == "__main__":
    main()
