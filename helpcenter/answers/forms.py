"""Validation of what the return flow collects, so bad input gets an example, not a crash.

People answer a prompt with a sentence as often as with the bare value ("订单号 5768…", "单号是
SF123…", "my e-mail is ann@example.com"), so each reader accepts the value alone or the one value
found in a sentence; two candidates are ambiguous and refused. privacy.mask_personal() keeps such values
out of anything logged or reported.
"""

from __future__ import annotations

import re
import unicodedata

ORDER_DIGITS = (10, 24)  # TikTok Shop order ids are long digit strings (commonly 17-19)
# Tracking numbers: the shortest common formats have 10 characters (DHL), UPU S10 has 13, UPS 18,
# USPS 20-22; all contain digits. The prompt (ret.ask_tracking) states this rule.
TRACKING_LEN = (10, 40)
TRACKING = re.compile(r"^(?=.*\d)[A-Z0-9][A-Z0-9-]*[A-Z0-9]$")
PHONE_DIGITS = (7, 15)  # E.164 allows at most 15 digits; local numbers have at least 7
MAX_FIELD = 200

_DIGIT_RUN = re.compile(r"(?<![A-Za-z0-9])\d+(?:[ -]\d+)*(?![A-Za-z0-9])")
_CODE_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
USERNAME = re.compile(r"(?<![A-Za-z0-9_@])@[A-Za-z][A-Za-z0-9_]{3,30}[A-Za-z0-9](?![A-Za-z0-9_])")
_PHONE = re.compile(r"(?<![A-Za-z0-9+])\+?\(?\d[\d ().-]*\d(?![A-Za-z0-9])")


def _clean(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def _one(candidates: list[str]) -> str | None:
    """The value when exactly one distinct candidate was found."""
    found = list(dict.fromkeys(candidates))
    return found[0] if len(found) == 1 else None


def order_number(text: str) -> str | None:
    """Digits only (spaces and dashes ignored), of a sensible length, alone or in a sentence;
    None if there is none or more than one."""
    lo, hi = ORDER_DIGITS
    runs = (re.sub(r"[ -]", "", run) for run in _DIGIT_RUN.findall(_clean(text)))
    return _one([digits for digits in runs if lo <= len(digits) <= hi])


def _tracking_value(value: str) -> str | None:
    value = value.upper()
    lo, hi = TRACKING_LEN
    return value if lo <= len(value) <= hi and TRACKING.match(value) else None


def tracking_number(text: str) -> str | None:
    """Letters and digits (spaces ignored) of TRACKING_LEN; in a sentence, the run of code-like
    words (those with a digit, and a short carrier prefix such as SF or JT before them)."""
    cleaned = _clean(text)
    whole = _tracking_value(re.sub(r"\s", "", cleaned))
    if whole is not None and cleaned.isascii() and not re.search(r"[a-z]{2,}\s+[a-z]{2,}", cleaned.lower()):
        return whole
    tokens = [(m.group(), m.start(), m.end()) for m in _CODE_TOKEN.finditer(cleaned)]
    runs: list[list[str]] = []
    previous_end = -2
    for i, (token, start, end) in enumerate(tokens):
        has_digit = any(ch.isdigit() for ch in token)
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        prefix = (token.isalpha() and token.isupper() and len(token) <= 4 and nxt is not None
                  and any(ch.isdigit() for ch in nxt[0]) and not cleaned[end:nxt[1]].strip())
        if not (has_digit or prefix):
            previous_end = -2
            continue
        if runs and previous_end >= 0 and not cleaned[previous_end:start].strip():
            runs[-1].append(token)
        else:
            runs.append([token])
        previous_end = end
    return _one([v for run in runs if (v := _tracking_value("".join(run))) is not None])


def contact(text: str) -> str | None:
    """A phone number, an e-mail address or a Telegram @username, alone or in a sentence."""
    cleaned = _clean(text)
    found = [m.group() for m in EMAIL.finditer(cleaned)]
    rest = EMAIL.sub(" ", cleaned)
    found += [m.group() for m in USERNAME.finditer(rest)]
    lo, hi = PHONE_DIGITS
    for m in _PHONE.finditer(USERNAME.sub(" ", rest)):
        digits = sum(ch.isdigit() for ch in m.group())
        if lo <= digits <= hi:
            found.append(" ".join(m.group().split()))
    return _one(found)


MIN_LETTERS = 2  # product, reason, carrier: words, not an emoji, a "?" or a stray key


def _letters(text: str) -> int:
    """Letters of any script (Latin, CJK, Thai …); digits, symbols and emoji do not count."""
    return sum(unicodedata.category(ch).startswith("L") for ch in text)


def free_text(text: str, min_letters: int = MIN_LETTERS) -> str | None:
    """A short free-text field: at least min_letters letters (a CJK character is one), at
    most MAX_FIELD characters; None for text without words ("👍", "?", "a")."""
    value = " ".join(_clean(text).split())
    return value[:MAX_FIELD] if _letters(value) >= min_letters else None


def product(text: str) -> str | None:
    """What is returned: "白色 T 恤 M 码 ×1", "耳机", "TV"."""
    return free_text(text)


def reason(text: str) -> str | None:
    """Why: "左耳没有声音", "too small"; a single letter is not a reason."""
    return free_text(text)


def carrier(text: str) -> str | None:
    """The carrier's name: "USPS", "J&T", "顺丰"; a "?" is not a name."""
    return free_text(text)


_QUESTION_MARK = re.compile(r"[??]")


def question_mark(text: str) -> bool:
    return bool(_QUESTION_MARK.search(text))


def looks_like_question(text: str, words: dict[str, tuple[str, ...]]) -> bool:
    """A question mark, or a question word (content/flows.yaml question_words, any language):
    Chinese words anywhere, other words as whole words ("how" is not in "show")."""
    if question_mark(text):
        return True
    folded = " ".join(_clean(text).lower().split())
    for word in (w for ws in words.values() for w in ws):
        word = word.lower()
        if word.isascii():
            if re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", folded):
                return True
        elif word in folded:
            return True
    return False
