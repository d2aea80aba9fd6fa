"""How text is folded before it is compared: the one definition that content checks (duplicate
phrasings) and the question normaliser (helpcenter/understanding/normalize.py) share."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc

_T2S = opencc.OpenCC("t2s")
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def clean(text: str) -> str:
    """Text that can be encoded: undecodable bytes a terminal cut mid-character arrive as lone
    surrogates, which would fail every later encode (matching, logging, the Bot API call)."""
    return _LONE_SURROGATE.sub("\ufffd", text)


@lru_cache(maxsize=4096)
def _fold_char_class(text: str) -> str:
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat[0] in "LN" or ch == "'":
            out.append(ch)
        elif cat == "Cf" or cat[0] == "M":
            continue  # zero-width joiners, variation selectors, combining marks
        else:
            out.append(" ")
    return "".join(out)


def fold(text: str) -> str:
    """NFKC, case, traditional→simplified, punctuation/emoji to spaces."""
    text = unicodedata.normalize("NFKC", clean(text)).casefold()
    text = _T2S.convert(text)
    text = _fold_char_class(text).replace("’", "'")
    return " ".join(text.split())
