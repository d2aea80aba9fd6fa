"""Telegram Mini App initData: check that Telegram signed it for this bot, and that it is fresh.

Telegram's documented algorithm (core.telegram.org/bots/webapps, "Validating data received via
the Mini App"): initData is a query string; data_check_string is every field but `hash`, sorted by
key, as `key=value` lines joined by "\\n" (values URL-decoded); secret_key = HMAC_SHA256(key=
"WebAppData", msg=bot_token); the field `hash` must equal hex(HMAC_SHA256(key=secret_key,
msg=data_check_string)). auth_date (Unix seconds) says when Telegram issued it: older than max_age
is refused, so a copied initData stops working.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

MAX_AGE = 24 * 3600  # seconds an initData is accepted after Telegram issued it
MAX_LENGTH = 4096  # an initData longer than this is not Telegram's
CLOCK_SKEW = 300  # an auth_date this far in the future is tolerated (clocks differ)


class InitDataError(ValueError):
    """Why initData is refused; str() is a short reason in English, code a stable key for wording."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code  # malformed | bad_hash | expired


@dataclass(frozen=True, slots=True)
class WebAppUser:
    id: int
    first_name: str
    language_code: str
    auth_date: int


def _secret(bot_token: str) -> bytes:
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def _check_string(fields: dict[str, str]) -> str:
    return "\n".join(f"{k}={v}" for k, v in sorted(fields.items()) if k != "hash")


def sign(fields: dict[str, Any], bot_token: str) -> str:
    """initData as Telegram would build it for these fields (tests, the bench, local tries)."""
    plain = {k: v if isinstance(v, str) else json.dumps(v, separators=(",", ":"), ensure_ascii=False)
             for k, v in fields.items()}
    digest = hmac.new(_secret(bot_token), _check_string(plain).encode(), hashlib.sha256).hexdigest()
    return urlencode({**plain, "hash": digest})


def verify(init_data: str, bot_token: str, now: float | None = None, max_age: float = MAX_AGE) -> WebAppUser:
    """The user Telegram vouches for, or InitDataError (malformed, bad_hash, expired)."""
    if not bot_token:
        raise InitDataError("malformed", "no bot token: Mini App data cannot be checked")
    if not isinstance(init_data, str) or not init_data or len(init_data) > MAX_LENGTH:
        raise InitDataError("malformed", "initData is missing or too long")
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise InitDataError("malformed", "initData is not a query string") from None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise InitDataError("malformed", "a field of initData appears twice")
    given = fields.get("hash", "")
    expected = hmac.new(_secret(bot_token), _check_string(fields).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise InitDataError("bad_hash", "initData is not signed by Telegram for this bot")
    try:
        auth_date = int(fields["auth_date"])
        user = json.loads(fields["user"])
        user_id = int(user["id"])
    except (KeyError, ValueError, TypeError):
        raise InitDataError("malformed", "initData has no valid auth_date or user") from None
    now = time.time() if now is None else now
    if auth_date < now - max_age or auth_date > now + CLOCK_SKEW:
        raise InitDataError("expired", "initData is too old; open the help center again from the chat")
    return WebAppUser(user_id, str(user.get("first_name", "")), str(user.get("language_code", "")), auth_date)
