"""The web help center's HTTP server (tornado, on the bot's asyncio loop or alone).

Routes:
    /                         → /zh/ or /en/ (the language chosen before, else the browser's)
    /<lang>/                  home: search, the deadline calculator, topics by role
    /<lang>/e/<entry-id>      an entry
    /<lang>/search?q=         the chat's answer to a question
    /<lang>/deadline?case=&variant=&market=&day=
    /api/suggest?lang=&q=     as-you-type suggestions (JSON)
    /api/webapp               POST from the Telegram Mini App: initData checked, then the chat acts
    /static/<file>, /robots.txt

Every response carries a Content-Security-Policy that allows only this server's own script,
style and requests, and framing only by Telegram's web clients (the Mini App inside
web.telegram.org); no third-party request is ever made by a page.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import tornado.web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from helpcenter.knowledge.model import LANGS
from helpcenter.understanding.worker import Busy

from .initdata import InitDataError, WebAppUser, verify
from .site import Prefs, Site

log = logging.getLogger(__name__)

# Telegram's web clients, the only pages that may frame ours (the Mini App in a browser).
TELEGRAM_FRAMERS = "https://web.telegram.org https://webk.telegram.org https://webz.telegram.org"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       f"form-action 'self'; base-uri 'none'; frame-ancestors {TELEGRAM_FRAMERS}")
COOKIE_AGE_DAYS = 365
MAX_BODY = 16 * 1024  # a Mini App post is a few hundred bytes
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".svg": "image/svg+xml", ".txt": "text/plain; charset=utf-8"}

# What the Mini App asks the chat to do, once initData is verified: the bot's side (handlers/webapp.py).
Post = Callable[[WebAppUser, dict[str, str]], Awaitable[None]]


class Base(tornado.web.RequestHandler):
    def initialize(self, site: Site, token: str = "", post: Post | None = None) -> None:
        self.site, self.token, self.post_to_chat = site, token, post

    def set_default_headers(self) -> None:
        self.clear_header("Server")
        self.set_header("Content-Security-Policy", CSP)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
        self.set_header("Cache-Control", "no-cache")

    async def head(self, *args: str) -> None:
        result = self.get(*args)
        if result is not None:
            await result

    def compute_etag(self) -> None:
        return None  # pages are cheap to send again; hashing each would cost more than it saves

    def prefs(self, lang: str) -> Prefs:
        """Market and role from the query (remembered in cookies), else from the cookies."""
        values = {}
        for arg, cookie in (("m", "hc_m"), ("r", "hc_r")):
            given = self.get_query_argument(arg, None)
            if given is not None:
                value = given if given not in ("", "-") else None
                if value is None:
                    self.clear_cookie(cookie, path="/")
                values[arg] = value
            else:
                values[arg] = self.get_cookie(cookie)
        prefs = self.site.prefs(lang, values["m"], values["r"])
        for arg, cookie, value in (("m", "hc_m", prefs.market), ("r", "hc_r", prefs.role)):
            if self.get_query_argument(arg, None) and value:
                self.set_cookie(cookie, value, path="/", expires_days=COOKIE_AGE_DAYS, samesite="Lax", httponly=True)
        if self.get_cookie("hc_lang") != lang:
            self.set_cookie("hc_lang", lang, path="/", expires_days=COOKIE_AGE_DAYS, samesite="Lax", httponly=True)
        return prefs

    def page(self, body: bytes, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(body)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        if status_code == 404:
            self.page(self.site.not_found(Prefs()), 404)
            return
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(f"{status_code} {self._reason}")


class Root(Base):
    def get(self) -> None:
        lang = self.get_cookie("hc_lang")
        if lang not in LANGS:
            accept = (self.request.headers.get("Accept-Language") or "").lower()
            lang = "en" if accept.startswith("en") else "zh"
        self.redirect(f"/{lang}/" + (f"?{self.request.query}" if self.request.query else ""))


class Home(Base):
    def get(self, lang: str) -> None:
        self.page(self.site.home(self.prefs(lang)))


class EntryPage(Base):
    def get(self, lang: str, entry_id: str) -> None:
        prefs = self.prefs(lang)
        body = self.site.entry(entry_id, prefs)
        if body is None:
            self.page(self.site.not_found(prefs), 404)
            return
        self.page(body)


class Search(Base):
    async def get(self, lang: str) -> None:
        try:
            self.page(await self.site.search(self.get_query_argument("q", "")[:1000], self.prefs(lang)))
        except Busy:  # too many questions waiting (the chat's too): say so rather than queue forever
            raise tornado.web.HTTPError(503) from None


class Deadline(Base):
    def get(self, lang: str) -> None:
        args = {k: self.get_query_argument(k, "")[:100] for k in ("case", "variant", "market", "day")}
        self.page(self.site.deadline(self.prefs(lang), **args))


class Suggest(Base):
    async def get(self) -> None:
        lang = self.get_query_argument("lang", "zh")
        prefs = self.site.prefs(lang, self.get_query_argument("m", None), self.get_query_argument("r", None))
        self.set_header("Content-Type", "application/json; charset=utf-8")
        try:
            found = await self.site.suggest(self.get_query_argument("q", "")[:1000], prefs)
        except Busy:
            found = {"kind": "", "items": []}  # suggestions are a nicety: none while the worker is full
        self.finish(json.dumps(found, ensure_ascii=False))


class WebAppPost(Base):
    """The Mini App asks the chat to act. Nothing happens, and nothing is stored, unless initData
    is Telegram's, for this bot, and fresh; the answer then says what went wrong in words."""

    def fail(self, status: int, code: str, lang: str) -> None:
        self.set_status(status)
        self.finish({"ok": False, "error": code, "message": self.site.renderer.t(f"web.post_error.{code}", lang)})

    async def post(self) -> None:
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError:
            data = None
        if not isinstance(data, dict):
            self.fail(400, "invalid", "zh")
            return
        lang = str(data["lang"]) if data.get("lang") in LANGS else "zh"
        if self.post_to_chat is None or not self.token:
            self.fail(503, "no_bot", lang)
            return
        try:
            user = verify(str(data.get("initData") or ""), self.token)
        except InitDataError as exc:
            log.info("Mini App post refused: %s", exc)
            self.fail(400 if exc.code == "malformed" else 403, exc.code, lang)
            return
        try:
            action = self.site.check_action(data)
        except ValueError as exc:
            log.info("Mini App post from %s refused: %s", user.id, exc)
            self.fail(400, "invalid", lang)
            return
        await self.post_to_chat(user, {**action, "lang": lang})
        self.finish({"ok": True})


class Static(Base):
    def get(self, name: str) -> None:
        body = self.site.static.get(name)
        suffix = name[name.rfind("."):] if "." in name else ""
        if body is None or suffix not in STATIC_TYPES:
            raise tornado.web.HTTPError(404)
        self.set_header("Content-Type", STATIC_TYPES[suffix])
        self.set_header("Cache-Control", "public, max-age=86400")  # links carry ?v=<hash of the files>
        self.finish(body)


class NotFound(Base):
    def prepare(self) -> None:
        raise tornado.web.HTTPError(404)


def make_app(site: Site, token: str = "", post: Post | None = None) -> tornado.web.Application:
    args = {"site": site, "token": token, "post": post}
    lang = "(zh|en)"
    return tornado.web.Application([
        (r"/", Root, args),
        (rf"/{lang}/", Home, args),
        (rf"/{lang}", tornado.web.RedirectHandler, {"url": "/{0}/"}),
        (rf"/{lang}/e/([a-z0-9][a-z0-9_-]{{0,47}})", EntryPage, args),
        (rf"/{lang}/search", Search, args),
        (rf"/{lang}/deadline", Deadline, args),
        (r"/api/suggest", Suggest, args),
        (r"/api/webapp", WebAppPost, args),
        (r"/static/([a-z0-9_.-]+)", Static, args),
        (r"/(robots\.txt)", Static, args),
    ], default_handler_class=NotFound, default_handler_args=args, compress_response=False)


def listen(site: Site, port: int, host: str = "127.0.0.1", token: str = "", post: Post | None = None) -> HTTPServer:
    """Serve on the running asyncio loop (call it from a coroutine); stop with server.stop()."""
    server = HTTPServer(make_app(site, token, post), max_body_size=MAX_BODY, max_header_size=16 * 1024,
                        idle_connection_timeout=60)
    sockets = bind_sockets(port, address=host)
    server.add_sockets(sockets)
    port = sockets[0].getsockname()[1]  # port 0 picks a free one: tests read it from the server
    server.port = port  # type: ignore[attr-defined]  # tornado's HTTPServer has no port: the tests read it here
    log.info("web help center on http://%s:%d/", host, port)
    return server
