"""Issue 21's behaviours of the learnt understanding: no magnets, no guesses on chatter, the role a
question states respected, taught phrasings answered. (How well it generalises is measured, not
asserted here: bench/understanding_bench.py on the frozen and outside sets.)"""

from __future__ import annotations

import pytest

from helpcenter.core import ANSWER, FIGURE, GUESS, HelpCenter
from helpcenter.desk.taught import Phrasing, apply_overlay


@pytest.mark.parametrize("question", [
    "蓝色小盒子的事", "我朋友说的那个办法行不行啊", "那个事情怎么说", "tell me a joke", "what's the weather like",
    "asdf qwer", "嗯嗯", "ok so anyway",
])
def test_messages_without_domain_content_get_no_entry(center: HelpCenter, question: str) -> None:
    reply = center.ask(question, "zh")
    assert reply.kind not in (ANSWER, FIGURE, GUESS), (reply.kind, reply.answered)


@pytest.mark.parametrize("question", [
    "as a TikTok Shop seller, how do returns work", "I'm a seller, what happens when a buyer wants a refund",
    "我是卖家,买家退货怎么处理", "作为商家,退款要多久", "as a seller, where do returns go",
])
def test_a_stated_seller_never_gets_a_buyer_only_entry(center: HelpCenter, question: str) -> None:
    reply = center.ask(question, "zh")
    shown = reply.answered or (reply.match.suggestions[0].entry if reply.match.suggestions else None)
    assert shown is not None and shown.role != "buyer", shown.id


@pytest.mark.parametrize("question", [
    "I'm a buyer, where do I send my return", "我是买家,退货寄到哪里", "as a customer, how do I get my refund",
])
def test_a_stated_buyer_never_gets_a_seller_only_entry(center: HelpCenter, question: str) -> None:
    reply = center.ask(question, "en")
    shown = reply.answered or (reply.match.suggestions[0].entry if reply.match.suggestions else None)
    assert shown is not None and shown.role != "seller", shown.id


@pytest.mark.parametrize(("question", "topic"), [
    ("are there items that can't be returned", "return.policy"),
    ("how long does it take to get a refund", "refund.arrival"),
    ("who pays for return shipping", "return.ship_back"),
    ("哪些东西不能退", "return.policy"),
])
def test_the_overview_is_no_magnet_for_specific_questions(center: HelpCenter, question: str, topic: str) -> None:
    reply = center.ask(question, "en")
    assert reply.answered is not None and reply.answered.topic == topic, reply.answered


@pytest.mark.parametrize(("question", "entry"), [
    ("那个东西的钱呢", "refund-arrival"), ("蓝色小盒子的事", "dispute-damaged-package"),
    ("my thingy broke lol", "dispute-quality-safety"),
])
def test_a_taught_phrasing_is_answered_with_its_entry_however_vague(center: HelpCenter, question: str,
                                                                   entry: str) -> None:
    assert center.ask(question, "zh").entry is None  # not before an agent taught it
    taught = apply_overlay(center, [Phrasing(entry, "en" if question.isascii() else "zh", question, 1)])
    for asked in (question, question + "?", question.upper()):
        reply = taught.ask(asked, "zh")
        assert reply.entry is not None and reply.entry.id == entry, (asked, reply.kind)
    assert center.ask(question, "zh").entry is None  # the content's own center is left alone
