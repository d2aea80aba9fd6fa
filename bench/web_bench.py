"""Web help center benchmark: page sizes, and latency of pages and search served locally.

The server runs as in the bot (tornado on an asyncio loop, here in a thread of this process); a
client in another thread sends requests one after another over one keep-alive connection. The
baseline in the same run is /robots.txt, a static file from memory through the same server and
client: what HTTP, tornado and the client cost before any page logic. Search is measured twice:
repeated questions (the page's cache of recent questions) and questions not asked before (the
chat's matcher and decision, in the worker thread).

    python bench/web_bench.py [--requests N] [--embeddings on|off]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LIMIT = 50 * 1024  # bytes a page may weigh, without images


def serve(center):  # returns (site, port, stop)
    from web.server import listen
    from web.site import Site

    ready, holder = threading.Event(), {}
    loop = asyncio.new_event_loop()

    def run() -> None:
        asyncio.set_event_loop(loop)

        async def start() -> None:
            holder["site"] = Site(lambda: center, bot_username="helpcenter_bot", can_post=True)
            holder["server"] = listen(holder["site"], 0)
            ready.set()

        loop.run_until_complete(start())
        loop.run_forever()

    threading.Thread(target=run, daemon=True).start()
    ready.wait(30)
    return holder["site"], holder["server"].port, lambda: loop.call_soon_threadsafe(loop.stop)


def timed(port: int, paths: list[str], n: int) -> list[float]:
    """Milliseconds per request, n requests cycling through paths (after one warm-up round)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    out = []
    for i in range(len(paths) + n):
        path = paths[i % len(paths)]
        start = time.perf_counter()
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        assert response.status == 200, (path, response.status)
        if i >= len(paths):
            out.append((time.perf_counter() - start) * 1000)
    conn.close()
    return out


def once(port: int, paths: list[str]) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    out = []
    for path in paths:
        start = time.perf_counter()
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        assert response.status == 200, (path, response.status)
        out.append((time.perf_counter() - start) * 1000)
    conn.close()
    return out


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="requests per row (default 2000)")
    parser.add_argument("--embeddings", choices=("on", "off"), default=os.environ.get("EMBEDDINGS", "on"))
    args = parser.parse_args()
    os.environ["EMBEDDINGS"] = args.embeddings

    from helpcenter.core import HelpCenter
    from web.site import Prefs

    center = HelpCenter()
    center.ask("warm-up: the model's first question pays its start", "en")  # not one of the measured ones
    site, port, stop = serve(center)
    kb = center.kb
    print(f"# web help center, {len(kb.entries)} entries, embeddings {args.embeddings},"
          f" {args.requests} requests a row\n")

    print("## Page sizes (bytes, HTML without the shared CSS and JS)\n")
    print("| page | zh max | en max | over 50 KB |")
    print("|---|---|---|---|")
    sizes = {}
    for lang in ("zh", "en"):
        markets = [None, *kb.vocabulary.markets]
        sizes[("home", lang)] = [len(site.home(site.prefs(lang, m, r))) for m in markets for r in ("buyer", "seller")]
        sizes[("entry", lang)] = [len(site.entry(e.id, site.prefs(lang, m, None))) for e in kb.entries for m in markets]
        sizes[("deadline", lang)] = [len(site.deadline(Prefs(lang), c, v, "ID", "2026-11-20"))
                                     for c in kb.glossary.cases for v in (site.variants(c) or [""])]
    for page in ("home", "entry", "deadline"):
        over = sum(s > LIMIT for lang in ("zh", "en") for s in sizes[(page, lang)])
        print(f"| {page} | {max(sizes[(page, 'zh')])} | {max(sizes[(page, 'en')])} | {over} |")
    static = {name: len(body) for name, body in site.static.items()}
    print(f"\nShared and cached by the browser: {', '.join(f'{k} {v}' for k, v in sorted(static.items()))} bytes.\n")

    questions = [line.split("\t")[0] for line in (ROOT / "tests/data/paraphrases.tsv").read_text(encoding="utf-8")
                 .splitlines() if line and not line.startswith("#")]
    rows = [
        ("baseline: /robots.txt (static, from memory)", ["/robots.txt"]),
        ("home", ["/zh/", "/en/?m=US&r=seller"]),
        ("entry pages (every entry, zh/en, a market)",
         [f"/{lang}/e/{e.id}?m=ID" for e in kb.entries for lang in ("zh", "en")]),
        ("deadline result", ["/zh/deadline?case=mismatch&market=ID&day=2026-11-20"]),
        ("search page, repeated question", ["/zh/search?q=" + quote("退款退到哪里")]),
        ("suggestions, repeated question", ["/api/suggest?lang=zh&q=" + quote("退款退到")]),
    ]
    print("## Latency, one client, keep-alive (ms)\n")
    print("| request | p50 | p99 | max |")
    print("|---|---|---|---|")
    for name, paths in rows:
        ms = timed(port, paths, args.requests)
        print(f"| {name} | {statistics.median(ms):.2f} | {pct(ms, 99):.2f} | {max(ms):.2f} |", flush=True)
    half = len(questions) // 2  # each question once, in one of the two rows: nothing cached
    for name, template, asked in (("suggestions", "/api/suggest?lang=zh&q={}", questions[:half]),
                                  ("search page", "/zh/search?q={}", questions[half:])):
        ms = once(port, [template.format(quote(q)) for q in asked])
        print(f"| {name}, new question ({len(asked)}) | {statistics.median(ms):.2f} | {pct(ms, 99):.2f} |"
              f" {max(ms):.2f} |", flush=True)
    stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
