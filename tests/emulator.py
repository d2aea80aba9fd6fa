"""A Telegram Bot API emulator on 127.0.0.1, for running the real bot process against.

It serves /bot<token>/<method> over HTTP/1.1: getUpdates long-polls a queue the test fills,
every other method is answered (and recorded) by handlers.offline.OfflineBotAPI's shapes.
Failures can be injected per method. Bounded by design: it only listens on loopback.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import threading
import time
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from handlers.offline.botapi import Call, Failure, OfflineBotAPI


class Emulator:
    def __init__(self, forum_chats: set[int] | None = None) -> None:
        self.api = OfflineBotAPI(forum_chats=forum_chats or set())
        self.lock = threading.Condition()
        self.updates: list[dict[str, Any]] = []
        self.next_id = 1
        self.listeners: list[Callable[[Call], None]] = []
        self.get_updates_calls = 0
        self.poll_times: list[float] = []  # perf_counter of each getUpdates call (failover timing)
        self.holds: dict[str, threading.Event] = {}  # method -> released: its next call waits for it
        self.webhook: tuple[str, str] | None = None  # (url, secret) once the bot called setWebhook
        self.deliveries: list[tuple[int, int]] = []  # webhook calls: (update_id, HTTP status or 0: no answer)
        self.held: list[str] = []  # methods whose call is being held now
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # with buffered writes: one packet a response, no 40 ms stalls
            wbufsize = 1 << 16

            def log_message(self, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                method = self.path.rsplit("/", 1)[-1]
                status, payload = emulator.handle(method, _params(self.headers.get("Content-Type", ""), body))
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Emulator:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.updates.clear()
            self.lock.notify_all()
        self.server.shutdown()
        self.server.server_close()

    # --- what the bot calls ------------------------------------------------------------------

    def handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "getUpdates":
            return 200, {"ok": True, "result": self._poll(params)}
        with self.lock:
            release = self.holds.pop(method, None)
            if release is not None:
                self.held.append(method)
                self.lock.notify_all()
        if release is not None:  # a call in flight, as long as the test wants: Telegram is slow
            release.wait(30)
            with self.lock:
                self.held.remove(method)
        with self.lock:
            failure = self.api._failure(method)
            if failure is not None:
                self.api.calls.append(Call(method, params, result=f"error {failure.code}"))
                body: dict[str, Any] = {"ok": False, "error_code": failure.code, "description": failure.description}
                if failure.retry_after is not None:
                    body["parameters"] = {"retry_after": failure.retry_after}
                return failure.code, body
            result = self.api._answer(method, params)
            if method == "setWebhook":
                self.webhook = (str(params["url"]), str(params.get("secret_token") or ""))
            elif method == "deleteWebhook":
                self.webhook = None
            call = Call(method, params, result)
            call.at = time.perf_counter()  # type: ignore[attr-defined]
            self.api.calls.append(call)
            self.lock.notify_all()
        for listener in list(self.listeners):
            listener(call)
        return 200, {"ok": True, "result": result}

    def _poll(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = min(float(params.get("timeout") or 0), 10.0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + timeout
        with self.lock:
            self.get_updates_calls += 1
            self.poll_times.append(time.perf_counter())
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
            while not self.updates and time.monotonic() < deadline:
                self.lock.wait(max(0.0, deadline - time.monotonic()))
            return self.updates[:limit]

    # --- what the test does ------------------------------------------------------------------

    def push(self, update: dict[str, Any]) -> None:
        """Give the bot an update: through getUpdates, or, once it set a webhook, by calling it."""
        with self.lock:
            update["update_id"] = self.next_id
            self.next_id += 1
            if self.webhook is None:
                self.updates.append(update)
                self.lock.notify_all()
                return
        self.deliver(update)

    def deliver(self, update: dict[str, Any], timeout: float = 30.0, secret: str | None = None) -> int:
        """Call the webhook with an update, as Telegram does: again and again until it answers
        2xx (or timeout). The last HTTP status."""
        import urllib.error
        import urllib.request

        assert self.webhook is not None, "the bot set no webhook"
        url, token = self.webhook
        body = json.dumps(update).encode()
        deadline = time.monotonic() + timeout
        while True:
            headers = {"Content-Type": "application/json",
                       "X-Telegram-Bot-Api-Secret-Token": token if secret is None else secret}
            request = urllib.request.Request(url, data=body, headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    status = response.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError:
                status = 0
            with self.lock:
                self.deliveries.append((update["update_id"], status))
            if 200 <= status < 300 or status == 403 or time.monotonic() > deadline:  # 403: a wrong secret
                return status
            time.sleep(0.1)

    def hold(self, method: str) -> threading.Event:
        """The next call of method waits (in flight, not answered) until the event is set."""
        release = threading.Event()
        with self.lock:
            self.holds[method] = release
        return release

    def fail(self, failure: Failure) -> None:
        with self.lock:
            self.api.failures.append(failure)

    @property
    def calls(self) -> list[Call]:
        with self.lock:
            return list(self.api.calls)

    def wait_for(self, predicate: Callable[[list[Call]], Any], timeout: float = 20.0) -> Any:
        """Wait until predicate(calls) is truthy and return its value."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                value = predicate(self.api.calls)
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("the bot did not answer in time")
                self.lock.wait(min(remaining, 0.2))


def _params(content_type: str, body: bytes) -> dict[str, Any]:
    """PTB posts url-encoded forms whose values are JSON; decode both layers."""
    if not body:
        return {}
    if content_type.startswith("application/json"):
        return json.loads(body)
    if content_type.startswith("multipart/form-data"):  # uploads (sendDocument): files kept as bytes
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
        out = {}
        for part in message.iter_parts():
            name, payload = part.get_param("name", header="content-disposition"), part.get_payload(decode=True)
            if part.get_filename():
                out[name] = {"filename": part.get_filename(), "content": payload}
            else:
                try:
                    out[name] = json.loads(payload)
                except ValueError:
                    out[name] = payload.decode()
        return out
    out: dict[str, Any] = {}
    for key, values in urllib.parse.parse_qs(body.decode(), keep_blank_values=True).items():
        value = values[-1]
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out
