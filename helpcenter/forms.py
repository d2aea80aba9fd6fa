"""Validation of what the return flow collects, so bad input gets an example, not a crash."""

from __future__ import annotations

import re
import unicodedata

ORDER_DIGITS = (10, 24)  # TikTok Shop order ids are long digit strings (commonly 17-19)
TRACKING = re.compile(r"^[A-Z0-9][A-Z0-9-]{5,39}$")
MAX_FIELD = 200


def _clean(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def order_number(text: str) -> str | None:
    """Digits only (spaces and dashes ignored), of a sensible length; None if not valid."""
    digits = re.sub(r"[\s-]", "", _clean(text))
    lo, hi = ORDER_DIGITS
    return digits if digits.isdigit() and lo <= len(digits) <= hi else None


def tracking_number(text: str) -> str | None:
    value = re.sub(r"\s", "", _clean(text)).upper()
    return value if TRACKING.match(value) else None


def free_text(text: str) -> str | None:
    """A short free-text field (product, reason, contact, carrier): non-empty, at most 200."""
    value = " ".join(_clean(text).split())
    return value[:MAX_FIELD] if value else None
