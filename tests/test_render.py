"""Messages are Telegram HTML: escaped, structured, cited, and within the length limit."""

from __future__ import annotations

import re

from helpcenter.answers.render import TELEGRAM_LIMIT, split_message, to_plain
from helpcenter.core import HelpCenter

ALLOWED_TAGS = re.compile(r"</?(b|i|a|code|pre)( href=\"[^\"]*\")?>|<blockquote expandable>|</blockquote>")


def _tags_balanced(text: str) -> bool:
    stack = []
    for m in re.finditer(r"<(/?)(\w+)[^>]*>", text):
        if m.group(1):
            if not stack or stack.pop() != m.group(2):
                return False
        else:
            stack.append(m.group(2))
    return not stack


def test_every_entry_renders_in_both_languages_with_only_telegram_tags(center: HelpCenter) -> None:
    for entry in center.kb.entries:
        for lang in ("zh", "en"):
            for message in center.renderer.answer(entry, lang):
                assert len(message) <= TELEGRAM_LIMIT
                assert _tags_balanced(message), (entry.id, lang)
                for tag in re.findall(r"<[^>]+>", message):
                    assert ALLOWED_TAGS.fullmatch(tag), tag


def test_answer_shows_numbered_steps_title_and_sources(center: HelpCenter) -> None:
    text = center.renderer.answer(center.kb.by_id["return-overview"], "zh")[0]
    assert text.startswith("<b>签收后自行寄回退货的完整流程</b>")
    for n in range(1, 7):
        assert re.search(rf"(\n|<blockquote expandable>){n}\. ", text), n  # steps after the first are folded
    assert "2024-09-24" in text


def test_unknown_figure_says_unknown_and_cites_where_we_looked(center: HelpCenter) -> None:
    text = to_plain(center.renderer.answer(center.kb.by_id["dispute-lost-package"], "en")[0])
    assert "Acceptance window: 7 days, after the last tracking update" in text
    assert "Decision time: unknown (no public source states this limit)" in text
    assert "seller-id.tokopedia.com" in text


def test_figures_show_market_and_source_date(center: HelpCenter) -> None:
    text = to_plain(center.renderer.answer(center.kb.by_id["return-policy"], "zh")[0])
    assert "泰国(非 Mall 商家):7 个自然日" in text
    assert "2024-07-18" in text


def test_user_text_is_escaped_when_echoed(center: HelpCenter) -> None:
    reply = center.ask('地址 <b>bold</b> & <a href="x">', "zh")
    text = reply.messages[0]
    assert reply.match.answer is None
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; &lt;a href=&#34;x&#34;&gt;" in text
    assert "您是不是想问" in text
    assert _tags_balanced(text)


def test_huge_question_is_echoed_shortened(center: HelpCenter) -> None:
    reply = center.ask("退货" + "啊" * 5000, "zh")
    assert all(len(m) <= TELEGRAM_LIMIT for m in reply.messages)


def test_long_text_is_split_below_the_limit_without_cutting_tags() -> None:
    para = "<b>标题</b>\n" + "\n".join(f"{i}. " + "退货" * 40 for i in range(60))
    text = "\n\n".join([para] * 4)
    parts = split_message(text)
    assert len(parts) > 1
    assert all(len(p.encode("utf-16-le")) // 2 <= TELEGRAM_LIMIT for p in parts)
    assert all(_tags_balanced(p) for p in parts)
    assert "".join(p.replace("\n", "") for p in parts) == text.replace("\n", "")


def test_a_single_huge_line_is_cut_outside_entities() -> None:
    line = "&amp;" * 2000
    parts = split_message(line)
    assert all(len(p) <= TELEGRAM_LIMIT for p in parts)
    assert all(re.fullmatch(r"(&amp;)+", p) for p in parts)


def test_emoji_count_as_two_units() -> None:
    parts = split_message("😀" * 3000)
    assert len(parts) == 2 and all(len(p) * 2 <= TELEGRAM_LIMIT for p in parts)
