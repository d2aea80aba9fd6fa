"""Deadline arithmetic and form validation, without Telegram."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from helpcenter.answers import forms, privacy
from helpcenter.answers.deadlines import DateError, add_months, deadline, parse_day, window_end
from helpcenter.core import check
from helpcenter.desk import taught
from helpcenter.knowledge.loader import load_knowledge_base
from helpcenter.knowledge.model import Window

TODAY = date(2026, 11, 22)
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
WORDS = load_knowledge_base().lexicon.dates


@pytest.mark.parametrize("text, expected", [
    ("today", TODAY), ("今天", TODAY), ("昨天", date(2026, 11, 21)), ("Yesterday", date(2026, 11, 21)),
    ("前天", date(2026, 11, 20)), ("3天前", date(2026, 11, 19)), ("10 days ago", date(2026, 11, 12)),
    ("2026-11-01", date(2026, 11, 1)), ("2026/6/1", date(2026, 6, 1)), ("2026年6月1日", date(2026, 6, 1)),
    # issue 9 item 6: the forms people type, and the bot's own day-button label
    ("11月18日", date(2026, 11, 18)), ("11月18号", date(2026, 11, 18)), ("11-18", date(2026, 11, 18)),
    ("11/18", date(2026, 11, 18)), ("11.18", date(2026, 11, 18)), ("两天前", date(2026, 11, 20)),
    ("兩天前", date(2026, 11, 20)), ("十五天前", date(2026, 11, 7)), ("二十天前", date(2026, 11, 2)),
    ("Nov 18", date(2026, 11, 18)), ("18 Nov", date(2026, 11, 18)), ("Nov. 18th", date(2026, 11, 18)),
    ("November 18, 2026", date(2026, 11, 18)), ("18 November 2026", date(2026, 11, 18)),
    ("two days ago", date(2026, 11, 20)), ("a day ago", date(2026, 11, 21)), ("18/11", date(2026, 11, 18)),
    ("18/11/2026", date(2026, 11, 18)), ("11月18日。", date(2026, 11, 18)),
    ("一周前", date(2026, 11, 15)), ("两个星期前", date(2026, 11, 8)), ("a week ago", date(2026, 11, 15)),
    ("2 weeks ago", date(2026, 11, 8)),
    # no year: the most recent such day that is not in the future
    ("12-25", date(2025, 12, 25)), ("Dec 25", date(2025, 12, 25)), ("2月29日", date(2024, 2, 29)),
    ("11-22", TODAY),
])
def test_parse_day(text: str, expected: date) -> None:
    assert parse_day(text, TODAY, WORDS) == expected


@pytest.mark.parametrize("text", ["tomorrow", "2026-13-01", "2026-02-30", "2026-12-01", "", "上周", "Nov 31",
                                  "13-45", "11月", "2026-12-25", "Dec 25 2026", "十十天前", "abc"])
def test_parse_day_refuses(text: str) -> None:
    with pytest.raises(DateError):
        parse_day(text, TODAY, WORDS)


def test_relative_words_come_from_the_lexicon() -> None:
    assert WORDS.days_before["前天"] == 2 and WORDS.numbers["两"] == 2 and WORDS.months["nov"] == 11
    with pytest.raises(DateError):  # without the words, only numeric dates are read
        parse_day("昨天", TODAY)
    assert parse_day("2026-11-18", TODAY) == date(2026, 11, 18)


def _break(content: Path, old: str, new: str) -> tuple[int, list[str]]:
    path = content / "lexicon.yaml"
    text = path.read_text(encoding="utf-8")
    line = text[:text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return line, [str(e).replace(str(content.parent) + "/", "") for e in check(content)]


@pytest.mark.parametrize("old, new, message", [
    ("    前天: 2\n", "    前天: two\n", "dates.days_before: '前天' must map to a whole number from 0 to 366"),
    ("    nov: 11\n", "    nov: 13\n", "dates.months: 'nov' must map to a whole number from 1 to 12"),
    ("    大前天: 3\n", "    大前天: 3\n    yesterday2: 1\n    三: 3\n",
     "dates.numbers: '三' is already listed in dates.days_before"),
    ("  ago: [", "  ago_words: [",
     "unknown key 'ago_words' in dates (allowed: ago, before_today, days_before, filler, marks, months, numbers,"
     " weekdays, weeks_ago, weeks_before)"),
])
def test_dates_section_is_validated_with_file_and_line(content_copy: Path, old: str, new: str,
                                                       message: str) -> None:
    line, errors = _break(content_copy, old, new)
    if "already listed" in message:
        line = next(int(e.split(":")[1]) for e in errors if "already listed" in e)
        assert (content_copy / "lexicon.yaml").read_text(encoding="utf-8").splitlines()[line - 1].strip() == "三: 3"
    assert f"content/lexicon.yaml:{line}: {message}" in errors, errors


def test_dates_section_names_every_month(content_copy: Path) -> None:
    _, errors = _break(content_copy, "    dec: 12\n    december: 12\n", "")
    months_line = (content_copy / "lexicon.yaml").read_text(encoding="utf-8").splitlines().index(
        "  months:               # month names: Nov 18, 18 Nov, November 18, 2026") + 1
    assert f"content/lexicon.yaml:{months_line}: dates.months: no name for month 12" in errors, errors


def test_add_months_clamps_to_month_end() -> None:
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert add_months(date(2026, 1, 15), 1) == date(2026, 2, 15)


def test_business_days_skip_weekends() -> None:
    friday = datetime(2026, 11, 20, tzinfo=NOW.tzinfo)
    end = window_end(friday, Window(value=3, unit="business_day", source="s"))
    assert end is not None and end.date() == date(2026, 11, 25)


def test_deadline_open_closed_and_unknown() -> None:
    six_days = Window(value=6, unit="day", source="s")
    d = deadline(date(2026, 11, 21), six_days, NOW)
    assert d is not None and d.last_day == date(2026, 11, 27) and d.days_left == 5 and d.open
    closed = deadline(date(2026, 11, 1), six_days, NOW)
    assert closed is not None and not closed.open
    assert deadline(TODAY, Window(value=None, source="s"), NOW) is None


def test_order_numbers() -> None:
    assert forms.order_number(" 5764 8293 0174 6293 81 ") == "576482930174629381"
    assert forms.order_number("５７６４８２９３０１７４６２９３８１") == "576482930174629381"  # full width
    for bad in ("12345", "abc", "5764829301746293812345678", ""):
        assert forms.order_number(bad) is None


def test_tracking_and_free_text() -> None:
    assert forms.tracking_number("1z 999 aa1 0123456784") == "1Z999AA10123456784"
    assert forms.tracking_number("??") is None
    assert forms.free_text("   ") is None
    assert len(forms.free_text("x" * 500) or "") == forms.MAX_FIELD


def test_numbers_in_a_sentence() -> None:
    assert forms.order_number("订单号 576894321098765432") == "576894321098765432"
    assert forms.order_number("订单号是5764 8293 0174 6293 81,谢谢") == "576482930174629381"
    assert forms.order_number("订单 576894321098765432 和 576894321098765433") is None  # which one?
    assert forms.order_number("SF1234567890123") is None  # a tracking number is not an order number
    assert forms.tracking_number("单号是 SF1234567890123") == "SF1234567890123"
    assert forms.tracking_number("单号是 SF 1234 5678 9012 3") == "SF1234567890123"
    assert forms.tracking_number("my tracking number is 1Z999AA10123456784") == "1Z999AA10123456784"


@pytest.mark.parametrize("text", ["SF 1234", "SF1234", "ABCDEFGHIJKL", "USPS", "1234-5678", "x" * 41 + "1"])
def test_tracking_numbers_too_short_or_without_digits(text: str) -> None:
    assert forms.tracking_number(text) is None


@pytest.mark.parametrize("text, expected", [
    ("ann@example.com", "ann@example.com"), ("邮箱:ann.lee+tt@mail.example.co.uk", "ann.lee+tt@mail.example.co.uk"),
    ("13812345678", "13812345678"), ("+1 555 0100", "+1 555 0100"), ("(020) 7946-0000", "(020) 7946-0000"),
    ("电话13812345678", "13812345678"), ("@ann_li", "@ann_li"), ("我的 Telegram 是 @ann_li", "@ann_li"),
])
def test_contacts(text: str, expected: str) -> None:
    assert forms.contact(text) == expected


@pytest.mark.parametrize("text", ["abc", "12345", "@ab", "ann@", "call me", "ann@example.com 13812345678", ""])
def test_not_contacts(text: str) -> None:
    assert forms.contact(text) is None


@pytest.mark.parametrize("text, expected", [
    ("13812345678", "[phone]"), ("电话 138 1234 5678", "电话 [phone]"), ("+44 20 7946 0000", "[phone]"),
    ("sf1234567890123", "[number]"), ("SF1234567890123 到哪了", "[number] 到哪了"),
    ("订单号 576894321098765432", "订单号 [number]"), ("ann@example.com", "[email]"),
    ("我的邮箱是ann qq com", "我的邮箱是[email]"),  # an address after the normaliser folded @ and dots
    ("找 @ann_li", "找 [user]"),
    # what must survive: durations, short numbers, ordinary words
    ("退货 3天 怎么办", "退货 3天 怎么办"), ("send it back to me", "send it back to me"),
    ("30 days return window", "30 days return window"), ("2026", "2026"),
])
def test_mask_personal(text: str, expected: str) -> None:
    assert privacy.mask_personal(text) == expected


# Chinese month numerals, a day of the month alone, weekday words (all words from lexicon.yaml);
# TODAY is a Sunday.
@pytest.mark.parametrize("text, expected", [
    ("十一月二十八日", date(2025, 11, 28)), ("十一月二十日", date(2026, 11, 20)), ("十月三十一号", date(2026, 10, 31)),
    ("18号", date(2026, 11, 18)), ("18日", date(2026, 11, 18)), ("二十号", date(2026, 11, 20)),
    ("22号", TODAY), ("30号", date(2026, 10, 30)), ("31日", date(2026, 10, 31)),
    ("今日", TODAY), ("昨日", date(2026, 11, 21)), ("3日前", date(2026, 11, 19)),
    ("周五", date(2026, 11, 20)), ("星期日", TODAY), ("上周五", date(2026, 11, 13)),
    ("上星期一", date(2026, 11, 9)), ("上个礼拜天", date(2026, 11, 15)), ("本周一", date(2026, 11, 16)),
    ("last Friday", date(2026, 11, 20)), ("last Sunday", date(2026, 11, 15)), ("friday", date(2026, 11, 20)),
    ("Mon", date(2026, 11, 16)),
])
def test_parse_day_words_and_numerals(text: str, expected: date) -> None:
    assert parse_day(text, TODAY, WORDS) == expected


@pytest.mark.parametrize("text", ["32号", "0号", "这周八", "上周", "next friday"])
def test_parse_day_refuses_other_day_words(text: str) -> None:
    with pytest.raises(DateError):
        parse_day(text, TODAY, WORDS)


@pytest.mark.parametrize("text", ["👍", "?", "a", "1", "…", "  ", "🙂🙂"])
def test_free_text_fields_want_words(text: str) -> None:
    assert forms.product(text) is None and forms.reason(text) is None and forms.carrier(text) is None


@pytest.mark.parametrize("text", ["耳机", "TV", "J&T", "顺丰", "too small", "左耳没有声音"])
def test_free_text_fields_take_words(text: str) -> None:
    assert forms.product(text) == text and forms.carrier(text) == text


def test_questions_are_told_by_a_mark_or_a_word() -> None:
    words = {"zh": ("吗", "多久"), "en": ("how", "can i")}
    assert forms.looks_like_question("退款多久到账", words) and forms.looks_like_question("ok?", words)
    assert forms.looks_like_question("How long", words) and forms.looks_like_question("can I return it", words)
    assert not forms.looks_like_question("not a contact", words)
    assert not forms.looks_like_question("show me", words)  # "how" inside a word does not count


def test_one_masking_policy_for_the_question_log_and_taught_phrasings() -> None:
    """There were two: the question log's (forms.mask_personal) kept links, /teach's (taught.mask)
    masked them. Both read answers/privacy.py now."""
    text = "看这个 https://shop.example.com/item/5768 退款 ann@example.com"
    assert privacy.mask_personal(text) == "看这个 [link] 退款 [email]"
    assert taught.mask(text) == privacy.mask_personal(text)
