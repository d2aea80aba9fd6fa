"""Starting the Telegram process as an operator sees it: what /health says, and whether Telegram
answers at all (one clear line when it does not, never a traceback)."""

from __future__ import annotations

import asyncio
import logging
import time

from telegram import Bot
from telegram.error import InvalidToken, NetworkError, TelegramError

from handlers.base.common import Settings

log = logging.getLogger(__name__)

MAX_RETRY_DELAY = 15.0  # seconds between getMe tries at most


class Health:
    """What GET /health says (HEALTH_PORT): starting (loading, or Telegram has not answered getMe
    yet), standby (PostgreSQL: another process serves), unhealthy (Telegram cannot be reached;
    retrying, error says why), active (serving). Only active answers 200."""

    def __init__(self) -> None:
        self.role, self.error = "starting", ""

    def set(self, role: str, error: str = "") -> None:
        self.role, self.error = role, error

    def status(self) -> dict[str, str]:
        return {"role": self.role, **({"error": self.error} if self.error else {})}


def reach_telegram(settings: Settings, health: Health) -> str | None:
    """Ask Telegram getMe until it answers, at most STARTUP_TIMEOUT seconds: None once it did,
    else the one line that says what failed and what to check. A rejected token is not retried.
    Runs on a new event loop, set as the current one: the loop run_polling/run_webhook then use."""
    base = settings.api_base_url.rstrip("/")
    where = base or "https://api.telegram.org"
    check_url = f" and TELEGRAM_API_BASE_URL={base}" if base else ""
    token = settings.token.split(":", 1)[0] + ":…"  # the bot id; the secret part is never printed

    async def probe() -> str | None:
        deadline = time.monotonic() + settings.startup_timeout
        delay, tries = 1.0, 0
        while True:
            tries += 1
            bot = (Bot(settings.token, base_url=f"{base}/bot", base_file_url=f"{base}/file/bot") if base
                   else Bot(settings.token))
            try:
                async with bot:  # initialize(): getMe
                    log.info("Telegram answered getMe: @%s", bot.username)
                    return None
            except InvalidToken:  # its message quotes the whole token: not printed
                return (f"error: Telegram at {where} rejected the bot token {token}; check TELEGRAM_BOT_TOKEN"
                        f" (the token @BotFather gave: /mybots → API Token){check_url}")
            except TelegramError as exc:
                kind = "cannot reach" if isinstance(exc, NetworkError) else "no valid answer from"
                reason = f"{kind} Telegram at {where} ({exc.message})"
            if time.monotonic() + delay > deadline:
                return (f"error: {reason}; gave up after {tries} tries (STARTUP_TIMEOUT="
                        f"{settings.startup_timeout:g} s); check the network (DNS, firewall, proxy){check_url}")
            health.set("unhealthy", reason)
            log.warning("%s; trying again in %.0f s", reason, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY_DELAY)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    return loop.run_until_complete(probe())


class OneLineTelegramErrors(logging.Filter):
    """PTB logs a failed start-up call (getMe, setWebhook) with its traceback before raising it;
    the raise is reported in one line by bot.py, so the log keeps the line, not the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], TelegramError):
            record.exc_info, record.exc_text = None, None
        return True
