"""Webhook mode on PostgreSQL, with the real processes: two bots behind one URL (a reverse proxy
that tries each upstream in turn, as nginx's proxy_next_upstream does), one active. The emulator
calls the webhook as Telegram does, again until it is answered 2xx; an update it sends twice is
handled once, and after the active one is killed the standby takes the calls."""

from __future__ import annotations

import http.client
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from .conftest import ROOT, Backend
from .emulator import Emulator
from .test_e2e import EmuUser, _free_port, bot_env, health, stop_process


class Proxy:
    """One public URL in front of the bot processes: each call goes to the first upstream that
    accepts the connection; none does: 502 (Telegram will call again)."""

    def __init__(self) -> None:
        self.upstreams: list[int] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                for port in list(proxy.upstreams):
                    upstream = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                    try:
                        upstream.request("POST", self.path, body, headers)
                        response = upstream.getresponse()
                        status, answer = response.status, response.read()
                    except ConnectionRefusedError:
                        continue  # not listening (a standby, or a dead one): the next
                    finally:
                        upstream.close()
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                    return
                self.send_error(502)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Proxy:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def pg_backend(tmp_path, pg_url: str) -> Backend:
    return Backend("postgresql", tmp_path, pg_url)


def _wait_role(port: int, proc: subprocess.Popen, role: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while health(port) != role:
        assert proc.poll() is None, f"the bot exited with {proc.returncode}"
        assert time.monotonic() < deadline, f"never {role}"
        time.sleep(0.05)


def test_webhook_on_postgresql_two_processes_behind_one_url(pg_backend: Backend) -> None:
    data_dir = pg_backend.data_dir
    log = (data_dir / "bot.log").open("a")
    procs: list[subprocess.Popen] = []
    with Emulator() as emu, Proxy() as proxy:
        def spawn() -> tuple[subprocess.Popen, int]:
            port, health_port = _free_port(), _free_port()
            env = {**bot_env(emu, data_dir), **pg_backend.env(), "WEBHOOK_URL": proxy.url,
                   "WEBHOOK_SECRET": "s3cret", "PORT": str(port), "HEALTH_PORT": str(health_port)}
            proc = subprocess.Popen([sys.executable, "bot.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            procs.append(proc)
            proxy.upstreams.append(port)
            return proc, health_port

        try:
            active, active_health = spawn()
            _wait_role(active_health, active, "active")
            standby, standby_health = spawn()
            _wait_role(standby_health, standby, "standby")
            hook = next(c for c in emu.calls if c.method == "setWebhook")
            assert (hook.params["url"], hook.params["secret_token"]) == (f"{proxy.url}/telegram", "s3cret")
            assert emu.get_updates_calls == 0  # webhook mode: nobody polls

            ann = EmuUser(emu, 91)
            # Telegram calls again with an update whose answer it did not get: handled once.
            asked = ann.factory.text("退款多久到账")
            ann._act(asked, "退款到账时间")
            seen = len(ann._mine(emu.calls))
            assert emu.deliver(asked) == 200
            ann.send("退货运费谁出", "退货运费谁出")  # the same chat, in order: a second answer would come first
            assert not [c for c in ann._mine(emu.calls)[seen:] if "退款到账时间" in str(c.params.get("text"))]
            forged = ann.factory.text("/human")
            forged["update_id"] = 10**6
            assert emu.deliver(forged, secret="wrong") == 403  # not from Telegram: refused, not handled
            ann.send("/return", "步骤 1/6")
            ann.press("下一步", "步骤 2/6")

            active.send_signal(signal.SIGKILL)
            active.wait(timeout=10)
            tries = len(emu.deliveries)
            ann.press("下一步", "步骤 3/6")  # delivered once the standby has taken over and listens
            assert len(emu.deliveries) - tries > 1  # the first calls failed (502): Telegram called again
            assert health(standby_health) == "active"
            assert len([c for c in emu.calls if c.method == "setWebhook"]) == 2  # the new active set it again
            assert pg_backend.rows("SELECT COUNT(*) FROM tickets") == [(0,)]  # the forged /human opened none
        finally:
            for proc in procs:
                stop_process(proc)
            log.close()
    output = (data_dir / "bot.log").read_text()
    assert "Traceback" not in output, output[-3000:]
