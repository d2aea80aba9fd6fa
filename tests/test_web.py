"""The web help center without a browser: initData, pages built from the chat's content and
wording, the HTTP server's answers and headers, and what reaches the chat from the Mini App."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from helpcenter.core import HelpCenter
from web import initdata
from web.server import listen
from web.site import MAX_QUERY, Prefs, Site

TOKEN = "123456:TEST-token"
USER = {"id": 4242, "first_name": "Ann", "language_code": "zh-hans"}
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
PAGE_LIMIT = 50 * 1024
ASSET = re.compile(r"""<(?:script|link|img|iframe)\b[^>]*(?:src|href)=["']([^"']+)""")


def signed(user: dict | None = None, age: float = 0, token: str = TOKEN, **extra: str) -> str:
    return initdata.sign({"user": user or USER, "auth_date": str(int(time.time() - age)),
                          "query_id": "AAE1", **extra}, token)


# --- initData -------------------------------------------------------------------------------------

def test_init_data_signed_by_telegram_for_this_bot_is_accepted() -> None:
    user = initdata.verify(signed(), TOKEN)
    assert (user.id, user.first_name, user.language_code) == (4242, "Ann", "zh-hans")


@pytest.mark.parametrize(("data", "code"), [
    (signed(token="999:OTHER"), "bad_hash"),  # signed for another bot
    (signed().replace("4242", "4243"), "bad_hash"),  # someone else's id, hash kept
    (signed() + "&start_param=x", "bad_hash"),  # a field added after signing
    (signed(age=2 * 24 * 3600), "expired"),  # issued two days ago
    (signed(age=-3600), "expired"),  # issued in the future
    ("", "malformed"),
    ("user=%7B%7D", "bad_hash"),
    ("a" * 5000, "malformed"),
    (signed() + "&auth_date=1", "malformed"),  # a field twice
])
def test_forged_stale_or_broken_init_data_is_refused(data: str, code: str) -> None:
    with pytest.raises(initdata.InitDataError) as refused:
        initdata.verify(data, TOKEN)
    assert refused.value.code == code


def test_the_check_follows_telegrams_documented_algorithm() -> None:
    """An independent computation of the documented scheme gives the same hash."""
    import hashlib
    import hmac
    from urllib.parse import parse_qsl

    fields = dict(parse_qsl(signed()))
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()) if k != "hash")
    secret = hmac.new(b"WebAppData", TOKEN.encode(), hashlib.sha256).digest()
    assert hmac.new(secret, check.encode(), hashlib.sha256).hexdigest() == fields["hash"]


# --- pages ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def site(center: HelpCenter) -> Site:
    return Site(lambda: center, bot_username="helpcenter_bot", clock=lambda: NOW, can_post=True)


def _pages(site: Site) -> list[tuple[str, bytes]]:
    kb = site.center.kb
    out = []
    for lang in ("zh", "en"):
        for market in (None, "US", "ID", "PH"):
            prefs = site.prefs(lang, market, None)
            out.append((f"home {lang} {market}", site.home(prefs)))
            out += [(f"{e.id} {lang} {market}", site.entry(e.id, prefs)) for e in kb.entries]
        out.append((f"deadline {lang}", site.deadline(Prefs(lang), "mismatch", "", "ID", "2026-11-20")))
        out.append((f"404 {lang}", site.not_found(Prefs(lang))))
    return out


def test_every_page_is_small_self_contained_and_in_one_language(site: Site) -> None:
    for what, page in _pages(site):
        assert page is not None and len(page) <= PAGE_LIMIT, (what, len(page))
        html = page.decode()
        assert all(src.startswith("/") for src in ASSET.findall(html)), (what, ASSET.findall(html))
        assert "<script>" not in html and " style=" not in html, what  # nothing inline: the CSP forbids it
        if " en " in f" {what} ":
            text = re.sub(r"<[^>]+>", "", html)
            stray = re.findall(r"[\u4e00-\u9fff]+", re.sub(r"中文|「[^」]*」", "", text))
            assert not stray, (what, stray[:5])


def test_an_entry_page_shows_the_chosen_markets_figures_first(site: Site) -> None:
    html = site.entry("return-policy", site.prefs("en", "US", None)).decode()
    mine = html[html.index('class="mine"'):html.index("</section>")]
    assert "United States: 30 calendar days" in mine and "United Kingdom" not in mine
    assert html.index('class="mine"') < html.index('class="steps"')  # figures first, steps after
    assert "United Kingdom (statutory): 14 days" in html  # the others behind "Other markets"
    other = site.entry("return-policy", site.prefs("en", "PH", None)).decode()
    assert "Philippines: no public figure." in other and "Where to look:" in other
    assert 'class="mine"' not in other
    seller = site.entry("dispute-mismatch", site.prefs("en", "ID", "seller")).decode()
    assert seller.index("Item not as ordered · seller&#39;s side") < seller.index('class="steps"')
    buyer = site.entry("dispute-mismatch", site.prefs("en", "ID", "buyer")).decode()
    assert buyer.index('class="steps"') < buyer.index("Item not as ordered · seller&#39;s side")
    zh = site.entry("seller-handle-refund", site.prefs("zh", "US", None)).decode()
    assert "美国 · 卖家响应退货/退款申请的时限,超时自动同意:24 小时" in zh


def test_an_entry_page_cites_its_sources_with_dates_and_links_to_the_chat(site: Site) -> None:
    html = site.entry("return-policy", Prefs("zh")).decode()
    source = r'<li value="\d+"><a href="https://shop.tiktok.com/us/return-policy"[^>]*>[^<]+</a>, 未注明日期'
    assert re.search(source, html)
    assert "2024-07-18" in html
    assert 'href="https://t.me/helpcenter_bot?start=return-policy"' in html
    assert 'data-action="human" data-entry="return-policy"' in html


def test_the_deadline_calculator_gives_the_chats_result_in_the_markets_time_zone(site: Site) -> None:
    # 2026-11-22 10:00 in Shanghai is 09:00 in Jakarta, same day.
    html = site.deadline(Prefs("zh"), "mismatch", "", "ID", "2026-11-20").decode()
    assert "✅ 最迟 2026-11-26(这是上限,还剩 4 天;以 App 显示的为准)" in html
    assert "Asia/Jakarta" in html and 'data-action="remind"' in html and 'data-day="2026-11-20"' in html
    closed = site.deadline(Prefs("en"), "mismatch", "", "ID", "2026-11-01").decode()
    assert "❌ Closed on 2026-11-07." in closed and 'data-action="remind"' not in closed
    not_sure = site.deadline(Prefs("en"), "quality_safety", "", "ID", "2026-11-20").decode()  # no variant: each
    assert "(durable goods): 6 months" in not_sure and "(other consumer goods): 14 days" in not_sure
    assert "You were not sure which applies" in not_sure
    assert 'data-action="remind"' in not_sure and 'data-variant=""' in not_sure  # the first to close
    durable = site.deadline(Prefs("en"), "quality_safety", "durable", "ID", "2026-11-20").decode()
    assert "2027-05-20" in durable
    us = site.deadline(Prefs("en"), "mismatch", "", "US", "2026-11-20").decode()
    assert "Still open: file by 2026-12-20" in us and "America/Los_Angeles" in us and "assumed" in us
    other = site.deadline(Prefs("en"), "mismatch", "", "MY", "2026-11-20").decode()
    assert "Malaysia: no public figure." in other and "Where to look:" in other
    bad = site.deadline(Prefs("en"), "mismatch", "", "ID", "2027-01-01").decode()
    assert "I could not read that date, or it is in the future" in bad


@pytest.mark.parametrize(("lang", "says"), [
    ("zh", "如果这一步一直没有发生(例如包裹丢失),公开来源没有说明该怎么算"),
    ("en", "If that never happened (as with a lost parcel), the public source does not say how the window applies"),
])
def test_the_web_calculator_says_a_lost_parcel_never_delivered_is_not_covered(site: Site, lang: str,
                                                                               says: str) -> None:
    """Thailand and Vietnam count a lost package's window from Delivered: the page says what the
    source does not cover, and where to check; not for a case whose parcel arrives."""
    for market, variant in (("VN", ""), ("TH", "non_mall"), ("TH", "")):
        html = site.deadline(Prefs(lang), "lost_package", variant, market, "2026-11-20").decode()
        assert says in html, (market, variant)
        assert "TikTok" in html.split(says)[1][:120]  # … or ask TikTok's official customer service
    damaged = site.deadline(Prefs(lang), "damaged_package", "", "VN", "2026-11-20").decode()
    assert says not in damaged


def test_a_seller_is_not_offered_the_buyers_deadline_calculator_on_the_web(site: Site) -> None:
    calc = "/deadline"
    for lang in ("zh", "en"):
        seller = site.entry("dispute-counterfeit", site.prefs(lang, "TH", "seller")).decode()
        assert calc not in seller.split("<main")[1]
        assert calc not in site.home(site.prefs(lang, "TH", "seller")).decode().split("<main")[1]
        buyer = site.entry("dispute-counterfeit", site.prefs(lang, "TH", "buyer")).decode()
        assert calc in buyer.split("<main")[1]
        assert calc in site.home(site.prefs(lang, "TH", None)).decode().split("<main")[1]


async def test_search_makes_the_chats_decision(site: Site) -> None:
    answer = await site.find("退款退到哪里", Prefs("zh"))  # the entry's own figure leads, as in the chat
    assert answer.kind in ("answer", "figure") and answer.entry.id == "refund-arrival"
    page = (await site.search("退款退到哪里", Prefs("zh"))).decode()
    assert 'class="best"><a href="/zh/e/refund-arrival">' in page
    figure = await site.find("how long do I have to report a wrong item in Indonesia", Prefs("en"))
    assert figure.kind == "figure" and "Indonesia" in figure.card
    social = await site.find("谢谢", Prefs("zh"))
    assert social.kind == "social" and social.card and not social.others
    elsewhere = await site.find("淘宝怎么退款", Prefs("zh"))
    assert elsewhere.entry is None and "refund-arrival" not in elsewhere.card
    page = (await site.search("x" * 5000, Prefs("en"))).decode()
    assert "x" * MAX_QUERY in page and "x" * (MAX_QUERY + 1) not in page
    assert (await site.suggest("退", Prefs("zh")))["items"] == []


# --- the server -----------------------------------------------------------------------------------

@pytest.fixture
async def server(site: Site):
    posted: list = []

    async def post(user, action) -> None:
        posted.append((user.id, action))

    srv = listen(site, 0, token=TOKEN, post=post)
    yield f"http://127.0.0.1:{srv.port}", posted
    srv.stop()


async def _get(url: str, **kw):
    try:
        return await AsyncHTTPClient().fetch(url, raise_error=False, follow_redirects=False, **kw)
    except HTTPClientError as exc:
        return exc.response


async def test_pages_carry_the_security_headers_and_telegram_may_frame_them(server) -> None:
    base, _ = server
    r = await _get(base + "/zh/e/return-policy")
    assert r.code == 200
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "frame-ancestors https://web.telegram.org" in csp and "*" not in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff" and r.headers["Referrer-Policy"] == "no-referrer"
    assert "Server" not in r.headers
    assert (await _get(base + "/zh/e/no-such-entry")).code == 404
    assert (await _get(base + "/zh/../../etc/passwd")).code == 404
    assert (await _get(base + "/static/app.js")).headers["Content-Type"].startswith("text/javascript")
    root = await _get(base + "/", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert root.code == 302 and root.headers["Location"] == "/en/"


async def test_market_and_role_are_remembered(server) -> None:
    base, _ = server
    r = await _get(base + "/en/?m=US&r=seller")
    cookies = "; ".join(c.split(";")[0] for c in r.headers.get_list("Set-Cookie"))
    assert "hc_m=US" in cookies and "hc_r=seller" in cookies and "hc_lang=en" in cookies
    again = (await _get(base + "/en/e/return-policy", headers={"Cookie": cookies})).body.decode()
    assert "Limits in United States" in again and 'href="/en/e/return-overview?m=US&amp;r=seller"' in again
    home = (await _get(base + "/en/", headers={"Cookie": cookies})).body.decode()
    assert "For sellers" in home
    cleared = await _get(base + "/en/?m=-", headers={"Cookie": cookies})
    assert any(c.startswith("hc_m=") and "expires=" in c.lower() for c in cleared.headers.get_list("Set-Cookie"))


async def test_suggestions_as_you_type(server) -> None:
    base, _ = server
    r = await _get(base + "/api/suggest?lang=zh&q=" + quote("退款退到哪里"))
    items = json.loads(r.body)["items"]
    assert items[0]["best"] and items[0]["url"] == "/zh/e/refund-arrival" and len(items) <= 6


async def _post(base: str, body: dict) -> tuple[int, dict]:
    r = await _get(base + "/api/webapp", method="POST", body=json.dumps(body),
                   headers={"Content-Type": "application/json"})
    return r.code, json.loads(r.body)


async def test_the_mini_app_reaches_the_chat_only_with_good_init_data(server) -> None:
    base, posted = server
    good = {"initData": signed(), "action": "human", "entry": "dispute-mismatch", "lang": "en"}
    assert await _post(base, good) == (200, {"ok": True})
    assert posted == [(4242, {"action": "human", "entry": "dispute-mismatch", "lang": "en"})]
    for init, status, code in ((signed(token="9:X"), 403, "bad_hash"), (signed(age=3 * 86400), 403, "expired"),
                               ("", 400, "malformed")):
        answer = await _post(base, {**good, "initData": init})
        assert answer[0] == status and answer[1]["error"] == code and "nothing was saved" in answer[1]["message"]
    assert (await _post(base, {**good, "entry": "no-such-entry"}))[0] == 400
    remind = {"initData": signed(), "action": "remind", "case": "mismatch", "market": "ID", "day": "2026-11-20"}
    assert (await _post(base, remind))[0] == 200
    assert (await _post(base, {**remind, "market": "MY"}))[0] == 400
    assert (await _post(base, {**remind, "day": "2027-01-01"}))[0] == 400
    assert len(posted) == 2  # nothing else got through
