"""The English stemmer every signal shares (n-gram grams, BM25 words, the slot reader's word lists),
so a word and its stem mean the same thing to all three."""

from __future__ import annotations

from functools import lru_cache

from snowballstemmer.english_stemmer import EnglishStemmer  # not the package: it loads every language

_STEMMER = EnglishStemmer()


@lru_cache(maxsize=16384)
def stem(word: str) -> str:
    """Snowball's English stem of one word."""
    return _STEMMER.stemWord(word)


def stem_latin(word: str) -> str:
    """The stem of an English word; anything else (digits, Chinese, mixed) unchanged."""
    return stem(word) if word.isascii() and word.isalpha() else word
