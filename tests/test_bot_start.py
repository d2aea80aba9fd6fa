"""Starting, menus, language, help and deep links, through the real Application."""

from __future__ import annotations

from pathlib import Path

from helpcenter.core import HelpCenter

from .botkit import chat, running_bot


async def test_start_greets_in_chinese_and_asks_the_role(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        ann = chat(app, api)
        await ann.send("/start")
        assert "您好 Ann!我是 TikTok Shop 退货退款助手" in ann.text
        assert ann.buttons == ["🛍 我是买家", "🏪 我是卖家", "🌐 English"]
        await ann.press("我是买家")
        assert "买家菜单" in ann.text
        assert "📦 自行寄回退货(6 步)" in ann.buttons


async def test_english_client_gets_english_and_can_switch(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        bob = chat(app, api, user_id=2, language_code="en-US", first_name="Bob")
        await bob.send("/start")
        assert "Hello Bob!" in bob.text
        await bob.press("I am a seller")
        assert "Seller menu" in bob.text
        await bob.press("中文")
        assert "卖家菜单" in bob.text
        await bob.send("/lang")
        await bob.press("English")
        assert "Seller menu" in bob.text


async def test_command_menu_is_registered_in_both_languages(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (_, api):
        calls = [c for c in api.calls if c.method == "setMyCommands"]
        assert len(calls) == 2
        names = [cmd["command"] for cmd in calls[0].params["commands"]]
        assert calls[0].params["commands"][2]["description"] == "自行寄回退货(6 步)"
        assert names == ["start", "menu", "return", "refund", "seller", "faq", "human", "lang", "cancel", "help",
                         "forget", "market"]


async def test_deep_link_opens_an_answer(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        ann = chat(app, api)
        await ann.send("/start dispute-lost-package")
        assert ann.text.startswith("丢失包裹")
        assert "受理期:7 天,最后一次物流更新起" in ann.text


async def test_help_lists_commands(tmp_path: Path, center: HelpCenter) -> None:
    async with running_bot(tmp_path, center) as (app, api):
        ann = chat(app, api)
        await ann.send("/help")
        for command in ("/return", "/refund", "/seller", "/faq", "/human", "/lang", "/cancel"):
            assert command in ann.text



async def test_help_names_the_hand_off_that_this_bot_has(tmp_path: Path, center: HelpCenter) -> None:
    """One help text in i18n.yaml: only its /human line differs with and without live agents."""
    async with running_bot(tmp_path, center, support_chat_id=-100) as (app, api):
        ann, bob = chat(app, api), chat(app, api, user_id=2, language_code="en")
        await ann.send("/help")
        assert ann.text.startswith("我能做的事:\n/return 自行寄回退货(6 步)\n")
        assert "\n/faq 常见问题\n/human 转人工客服\n/lang 切换语言\n" in ann.text
        assert ann.text.endswith("也可以随时直接输入问题,例如“退款多久到账”。")
        await bob.send("/nonsense")
        assert "I do not know that command.\n\nWhat I can do:\n" in bob.text
        assert "\n/human talk to a person\n/lang switch language\n" in bob.text
    async with running_bot(tmp_path / "no-agents", center) as (app, api):
        bob = chat(app, api, user_id=2, language_code="en")
        await bob.send("/help")
        assert "\n/human how to reach TikTok Shop's own customer service\n/lang switch language\n" in bob.text
        assert "{human}" not in bob.text

async def test_a_failing_command_menu_call_is_not_fatal(tmp_path: Path, center: HelpCenter) -> None:
    from handlers.app import build_application, serving
    from handlers.base.common import Settings
    from handlers.offline.botapi import Failure, OfflineBotAPI

    from .botkit import NOW

    api = OfflineBotAPI(failures=[Failure("Internal Server Error", code=500, method="setMyCommands", times=2)])
    app = build_application(Settings(data_dir=tmp_path), center, request=api, clock=lambda: NOW, rate_limit=False)
    async with serving(app):
        ann = chat(app, api)
        await ann.send("/start")
        assert "您好 Ann" in ann.text
