"""Personal data masked before anything is stored or reported: one policy for the question log,
the editors' report and the phrasings agents teach (helpcenter/desk/taught.py)."""

from __future__ import annotations

import re

from helpcenter.answers.forms import EMAIL, USERNAME

_LINK = re.compile(r"https?://\S+|www\.\S+")
PLACEHOLDER = re.compile(r"\[(?:email|link|user|phone|number)\]")


_MASKS = (
    (_LINK, "[link]"),  # before the e-mail: a link's path may hold one
    (EMAIL, "[email]"),
    # An address whose @ and dots were folded to spaces by the normaliser: "ann example com".
    (re.compile(r"(?<![a-z0-9])[a-z0-9._%+-]+(?: [a-z0-9-]+){1,3} (?:com|net|org|edu|gov|cn)"
                r"(?![a-z0-9])"), "[email]"),
    (USERNAME, "[user]"),
    (re.compile(r"\+\s?\d(?:[\s().-]*\d){6,14}"), "[phone]"),
    (re.compile(r"(?<![0-9])1[3-9]\d(?:[ -]?\d){8}(?![0-9])"), "[phone]"),  # mainland China mobile
    (re.compile(r"(?<![A-Za-z0-9])(?=[A-Za-z0-9-]*\d)(?=(?:[A-Za-z-]*\d){6})[A-Za-z0-9-]{8,40}(?![A-Za-z0-9])"),
     "[number]"),  # tracking numbers and other codes with many digits
    (re.compile(r"(?<![0-9])\d(?:[ -]?\d){6,}(?![0-9])"), "[number]"),  # order numbers, other phones
)


def mask_personal(text: str) -> str:
    """Text with links, phone numbers, e-mail addresses, Telegram usernames, order and tracking
    numbers replaced by placeholders, so the question log, reports and taught phrasings never
    hold them (one policy for all three)."""
    for pattern, placeholder in _MASKS:
        text = pattern.sub(placeholder, text)
    return text


def without_placeholders(text: str) -> str:
    """What the matcher should read of a masked question: the words around the masks."""
    return " ".join(PLACEHOLDER.sub(" ", text).split())
