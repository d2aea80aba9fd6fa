"""What people type is folded to one comparable form."""

from __future__ import annotations

import pytest

from helpcenter.knowledge.loader import load_knowledge_base
from helpcenter.understanding.normalize import Normalizer


@pytest.fixture(scope="module")
def norm() -> Normalizer:
    return Normalizer(load_knowledge_base().lexicon)


def test_traditional_becomes_simplified(norm: Normalizer) -> None:
    assert norm.fold("退貨申請怎麼寫") == "退货申请怎么写"


def test_full_width_case_punctuation_and_emoji(norm: Normalizer) -> None:
    assert norm.fold("ＴｉｋＴｏｋ　退款！！😭") == "tiktok 退款"


def test_zero_width_characters_do_not_split_words(norm: Normalizer) -> None:
    assert norm.fold("退\u200b款") == "退款"


def test_mixed_chinese_and_english_are_split_into_runs(norm: Normalizer) -> None:
    grams = norm.grams(norm.normalize("TikTok退款refund"))
    assert "w:tiktok" in grams and "退款" in grams and "w:refund" in grams


def test_synonyms_apply_to_chinese_and_whole_english_words(norm: Normalizer) -> None:
    assert norm.normalize("商家不退钱") == "卖家不退款"
    assert norm.normalize("my parcel") == "my package"
    assert norm.normalize("parcelforce") == "parcelforce"  # not inside other words


def test_english_is_stemmed_and_stopwords_dropped(norm: Normalizer) -> None:
    grams = norm.grams(norm.normalize("the items were returned"))
    assert "w:item" in grams and "w:return" in grams and "w:the" not in grams


def test_durations_become_one_form(norm: Normalizer) -> None:
    assert "几天" in norm.normalize("過了七天還能退貨嗎")
    assert "how many days" in norm.normalize("can I return after 2 weeks")
