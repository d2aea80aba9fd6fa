"""Composition root and command line of the TikTok Shop returns & refunds help-center bot.

    python bot.py                 serve Telegram if TELEGRAM_BOT_TOKEN is set, else console chat
    python bot.py console         the console chat (same handlers, no Telegram needed)
    python bot.py ask [--json] [--lang zh|en] QUESTION|-
    python bot.py check           validate content/ and templates/
    python bot.py model           embed content/'s phrasings, train the classifiers (make model)
    python bot.py eval FILE.tsv   score the matcher on labelled questions
    python bot.py report          the editors' list of unanswered and unhelpful questions, service figures
    python bot.py migrate --to postgresql://…   move a SQLite DATA_DIR into PostgreSQL
    python bot.py web [--port 8080]   the web help center alone (no bot needed)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path

from telegram import Update

from helpcenter.answers.render import to_plain
from helpcenter.core import FIGURE, GUESS, HelpCenter, guess_lang
from helpcenter.knowledge.labelled import read_questions
from helpcenter.knowledge.loader import InvalidContent, display_path
from helpcenter.knowledge.model import Entry
from helpcenter.reports.evaluate import evaluate, format_report
from helpcenter.storage.db import DB_ERRORS, database, is_postgres, safe_url
from helpcenter.storage.store import StoreError, check_data_dir
from helpcenter.understanding.normalize import clean

ENV_FILE = ".env"  # in the current directory; see .env.example

DESCRIPTION = """\
TikTok Shop returns & refunds help center: a Telegram bot that answers buyers' and sellers'
questions in Simplified Chinese and English, walks them through a self-ship return or a refund
request, works out their after-sales deadlines, and hands them over to a person when needed.

Without a command it serves Telegram when TELEGRAM_BOT_TOKEN is set, and otherwise opens the
same chat in this terminal. Settings are read from the environment and from ./.env (see
.env.example); a variable set in the environment wins over the file."""

EXAMPLES = """\
examples:
  python bot.py                          start (Telegram with a token, else the console chat)
  python bot.py console --lang en        chat with the bot here, in English
  python bot.py ask "退款多久到账"       print the answer to one question
  python bot.py check                    check content/ and templates/ after editing them
  python bot.py web                      the web help center on http://127.0.0.1:8080/"""


def load_env_file(path: Path | str = ENV_FILE) -> bool:
    """Read KEY=value lines of the .env file into os.environ, as .env.example promises; a
    variable already in the environment (even empty) is kept. False when there is no file."""
    from dotenv import load_dotenv

    return Path(path).is_file() and load_dotenv(path, override=False, encoding="utf-8")


def _load(background: bool = False) -> HelpCenter:
    """The help center, or exit 1 listing the content errors. background (the bot): the model
    loads in a thread and questions are matched on the lexical signals until it is ready."""
    try:
        return HelpCenter(background=background)
    except InvalidContent as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        print(f"{len(exc.errors)} content error(s); not starting.", file=sys.stderr)
        raise SystemExit(1) from None


def _as_json(center: HelpCenter, question: str) -> str:
    """What a user gets (design.md's contract): the entry answered (or the figure's entry), else
    null; the suggestions the chat offers (a guess first)."""
    reply = center.ask(question, guess_lang(question))
    match = reply.match
    scores = {c.entry.id: c.score for c in match.candidates}

    def item(entry: Entry) -> dict[str, object]:
        return {"id": entry.id, "topic": entry.topic, "score": round(scores.get(entry.id, match.top), 4)}

    offered = ([reply.answered] if reply.kind == GUESS and reply.answered else []) + [
        c.entry for c in match.suggestions]
    return json.dumps({
        "query": question,
        "answer": item(reply.entry) if reply.entry is not None else None,
        "suggestions": [item(e) for e in {e.id: e for e in offered}.values()][:3],
    }, ensure_ascii=False)


def cmd_ask(args: argparse.Namespace) -> int:
    center = _load()
    if args.question == "-" and hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(errors="replace")
    questions = (line.rstrip("\n") for line in sys.stdin) if args.question == "-" else [args.question]
    for question in map(clean, questions):
        if args.json:
            print(_as_json(center, question), flush=True)
            continue
        if args.explain:
            from helpcenter.reports.explain import explain

            print(explain(center, question, args.lang), flush=True)
            continue
        lang = args.lang or guess_lang(question)
        reply = center.ask(question, lang)
        # A figure answer leads with one limit; the terminal also prints its whole entry (the bot's 📖 button).
        more = center.renderer.answer(reply.entry, lang) if reply.kind == FIGURE and reply.entry else []
        print("\n\n".join(to_plain(m) for m in (*reply.messages, *more)), flush=True)
    return 0


def cmd_check(_: argparse.Namespace) -> int:
    try:
        center = HelpCenter()
    except InvalidContent as exc:
        for error in exc.errors:
            print(error)
        print(f"{len(exc.errors)} error(s)")
        return 1
    print(f"content OK: {len(center.kb.entries)} entries, {len(center.kb.topics)} topics,"
          f" {len(center.kb.sources)} sources")
    from helpcenter.understanding import embedding
    from helpcenter.understanding.classifier import MODEL_FILE
    from helpcenter.understanding.training import model_key

    missing, extra = embedding.stale(center.matcher.vector_texts()[0])
    if missing or extra:
        print(f"{display_path(embedding.SHIPPED)}: error: stale: {missing} phrasing(s) have no vector,"
              f" {extra} vector(s) belong to phrasings content/ no longer has; run `make model`")
        return 1
    if center.matcher.model is None or center.matcher.model.key != model_key(center.kb):
        print(f"{display_path(MODEL_FILE)}: error: stale: content/ or the labelled questions changed since the"
              " classifiers were trained; run `make model`")
        return 1
    print(f"phrasing vectors and classifiers OK: {display_path(embedding.SHIPPED)}, {display_path(MODEL_FILE)}"
          " match content/ and the labelled questions")
    import statistics

    from helpcenter.answers.render import PHONE_COLUMNS

    screens = center.renderer.first_screens()
    longest = max(screens, key=lambda s: s[2])
    print(f"first screen of an answer: median {statistics.median(s[2] for s in screens):g} lines,"
          f" max {longest[2]} ({longest[0]}, {longest[1]}), over {len(screens)} entries × languages")
    wrapped = center.renderer.first_screens(PHONE_COLUMNS)
    print(f"  wrapped at {PHONE_COLUMNS} columns (a narrow phone): median"
          f" {statistics.median(s[2] for s in wrapped):g}, max {max(s[2] for s in wrapped)}")
    from helpcenter.desk.taught import DESK_FILE, check_overlay, load_overlay

    overlay = Path(os.environ.get("DATA_DIR", "data")) / DESK_FILE
    url = os.environ.get("DATABASE_URL", "").strip()  # the phrasings live there when it is PostgreSQL
    overlay_errors = check_overlay(overlay, center.kb, url)
    for problem in overlay_errors:
        print(problem)
    if overlay_errors:
        print(f"{len(overlay_errors)} error(s) in the taught phrasings")
        return 1
    print(f"taught phrasings OK: {len(load_overlay(overlay, url))} in {safe_url(url) if url else overlay}")
    from helpcenter.understanding.matcher import confusions

    for entry, question, winner, score in confusions(center.matcher):
        print(f"{display_path(entry.file)}:{entry.line}: warning: entry {entry.id}: question {question!r} matches"
              f" {winner.id} ({score:.2f}) better than its own entry")
    return 0


def cmd_model(_: argparse.Namespace) -> int:
    """Build what the bot learns from content/ and the labelled questions (tests/data): the
    phrasing vectors (content/vectors.npz) and the trained classifiers with the fusion's
    calibration (content/model.npz). Both ship with the content; `bot.py check` says when they are
    stale. Needs the embedding model and scikit-learn (requirements-dev.txt; `make model`)."""
    from helpcenter.knowledge.loader import load_knowledge_base
    from helpcenter.understanding import embedding
    from helpcenter.understanding.classifier import MODEL_FILE
    from helpcenter.understanding.matcher import Matcher
    from helpcenter.understanding.training import Trainer

    reason = embedding.unavailable_reason()
    if reason is not None:
        print(f"error: the embedding model cannot run here: {reason}", file=sys.stderr)
        return 1
    try:
        kb = load_knowledge_base()
    except InvalidContent as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        return 1
    texts = Matcher(kb).vector_texts()[0]  # every phrasing the bot's matcher embeds
    embedding.write_vectors(embedding.SHIPPED, texts, embedding.Embedder.shared().embed(texts))
    print(f"{display_path(embedding.SHIPPED)}: {len(texts)} phrasing vectors ({embedding.MODEL})")
    semantic = embedding.Semantic(embedding.VectorStore(embedding.SHIPPED, embedding.default_cache_dir()))
    semantic.start(background=False)
    model = Trainer(kb, semantic).train()
    model.save(MODEL_FILE)
    print(f"{display_path(MODEL_FILE)}: classifiers over {len(model.vectorizer.index)} features; key {model.key}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Unanswered and 👎 questions grouped by similarity, as CSV and Markdown for editors."""
    import asyncio

    from helpcenter.reports.service_stats import report_zone

    try:
        tz = report_zone(os.environ.get("REPORT_TIMEZONE", ""))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    from helpcenter.reports.editors import group_questions, to_csv, to_markdown
    from helpcenter.storage.store import Store

    async def rows() -> list[tuple[str, str, str | None]]:
        store = Store(database(os.environ.get("DATABASE_URL", "").strip(),
                               Path(os.environ.get("DATA_DIR", "data")) / "helpcenter.sqlite3"))
        await store.open()
        try:
            return await store.to_review()
        finally:
            await store.close()

    groups = group_questions(asyncio.run(rows()))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.csv").write_text(to_csv(groups), encoding="utf-8")
    (out / "report.md").write_text(to_markdown(groups), encoding="utf-8")
    print(f"{len(groups)} group(s) of questions to review: {out / 'report.csv'}, {out / 'report.md'}")
    _report_desk(out, tz)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    """Copy DATA_DIR's SQLite files into an empty PostgreSQL database and verify the counts."""
    import asyncio

    from handlers.runtime import persistence
    from helpcenter.storage import desk_records as desk
    from helpcenter.storage import store
    from helpcenter.storage.migrate import Component, migrate

    if not is_postgres(args.to):
        print("error: --to must be a postgresql:// URL", file=sys.stderr)
        return 2
    data_dir = Path(args.data_dir or os.environ.get("DATA_DIR", "data"))
    components = [Component("store", "helpcenter.sqlite3", store.STEPS, store.TABLES),
                  Component("state", "state.sqlite3", persistence.STEPS, persistence.TABLES),
                  Component("desk", "desk.sqlite3", desk.STEPS, desk.TABLES, optional=True)]
    try:
        copied = asyncio.run(migrate(data_dir, args.to, components))
    except DB_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"migrated {sum(copied.values())} row(s) from {data_dir} to {safe_url(args.to)};"
          " start the bot with DATABASE_URL set to it")
    return 0


def _report_desk(out: Path, tz) -> None:  # noqa: ANN001 - a ZoneInfo
    """The agents' desk part of the report: service figures (CSV + Markdown) and the phrasings
    agents taught, for editors to move into content/. Days are whole days of tz (REPORT_TIMEZONE)."""
    import asyncio
    from datetime import datetime

    from helpcenter.desk import taught
    from helpcenter.knowledge.loader import CONTENT_DIR, load_content
    from helpcenter.reports import service_stats
    from helpcenter.reports.service_chart import svg_chart
    from helpcenter.storage.desk_records import Desk

    data_dir = Path(os.environ.get("DATA_DIR", "data"))
    zone = service_stats.zone_name(tz)
    days = 30

    async def read() -> tuple[list[dict], list, dict[str, float]]:
        url = os.environ.get("DATABASE_URL", "").strip()
        desk = (Desk(database(url, data_dir / taught.DESK_FILE)) if is_postgres(url)
                else Desk(data_dir / taught.DESK_FILE, data_dir / "helpcenter.sqlite3"))
        await desk.open()
        since = service_stats.period_start(datetime.now(tz), tz, days)
        try:
            return (await desk.service_rows(since), await desk.taught(), await desk.answer_rate_per_day(since, tz))
        finally:
            await desk.close()

    rows, phrasings, rates = asyncio.run(read())
    total, per_agent, per_day = service_stats.summarize(rows, tz, "(nobody)")
    (out / "service.csv").write_text(service_stats.to_csv(total, per_agent, per_day, zone), encoding="utf-8")
    (out / "service.md").write_text(service_stats.to_markdown(total, per_agent, per_day, days, zone)
                                    + f"\n![Tickets and answer rate per day ({zone})](service.svg)\n", encoding="utf-8")
    tickets = {f.label: f.tickets for f in per_day}
    chart = [(day, tickets.get(day, 0), rates.get(day)) for day in sorted(set(tickets) | set(rates))]
    (out / "service.svg").write_text(svg_chart(chart, f"Tickets and answer rate per day ({zone})"), encoding="utf-8")
    kb, _ = load_content(CONTENT_DIR)  # titles only: no matcher, no model to load
    by_id = kb.by_id if kb is not None else {}
    listed = [(p.entry_id, by_id[p.entry_id].texts["zh"].title if p.entry_id in by_id else "?", p.lang,
               p.text, p.agent) for p in phrasings]
    (out / "taught.md").write_text(taught.to_markdown(listed), encoding="utf-8")
    print(f"service: {total.tickets} ticket(s) in {days} days (days in {zone}): {out / 'service.csv'},"
          f" {out / 'service.md'}; chart {out / 'service.svg'}; {len(listed)} taught phrasing(s): {out / 'taught.md'}")


def cmd_eval(args: argparse.Namespace) -> int:
    center = _load()
    try:
        rows = read_questions(Path(args.file))
    except (OSError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 2
    print(format_report(evaluate(center.matcher, rows)))
    return 0


def cmd_web(args: argparse.Namespace) -> int:
    """The web help center alone, on this machine: no bot, so the Mini App cannot post to a chat."""
    import asyncio
    import logging

    from handlers.base.common import Settings
    from web.server import listen
    from web.site import Site

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("tornado.access").setLevel(logging.WARNING)
    settings = Settings.from_env()
    center = _load(background=True)
    port = args.port or settings.web_port or 8080

    async def serve() -> None:
        site = Site(lambda: center, agents=settings.support_chat_id is not None, default_timezone=settings.timezone)
        listen(site, port, args.host)
        print(f"web help center: http://{args.host}:{port}/  (Ctrl-C to stop)", flush=True)
        await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Serve Telegram with a token; otherwise open the same conversations in the console."""
    import logging

    from handlers.base.common import Settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "apscheduler", "tornado.access"):  # a line per request / per job is not news
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from handlers.runtime.startup import Health, OneLineTelegramErrors, reach_telegram
    from helpcenter.reports.service_stats import report_zone

    logging.getLogger("telegram.ext").addFilter(OneLineTelegramErrors())
    settings = Settings.from_env()
    try:
        report_zone(settings.report_timezone)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    on_postgres = is_postgres(settings.database_url)
    console = args.command == "console" or not settings.token
    leader = None
    if console and on_postgres:  # the console does not wait for the lock: it says who holds it, at once
        from helpcenter.storage.leader import LeaderLock

        leader = LeaderLock(settings.database_url)
        if not leader.try_acquire(pause=0):
            holder = leader.describe_holder()
            leader.close()
            if leader.error:
                print(f"error: cannot connect to PostgreSQL at {safe_url(settings.database_url)}: {leader.error}",
                      file=sys.stderr)
            else:
                print(f"error: {holder or 'another bot process'} is active on {safe_url(settings.database_url)};"
                      " stop it first, or give the console a database (or schema) of its own", file=sys.stderr)
            return 1
    lock = None
    try:  # before loading the content: a start that cannot work says so in a second, not after the load
        if settings.database_url and not on_postgres:
            database(settings.database_url, settings.data_dir)  # raises the clear error
        if not on_postgres:  # SQLite: one process per DATA_DIR, by a file lock
            check_data_dir(settings.data_dir)
            lock = _lock_data_dir(settings.data_dir)  # held until the process ends
            _check_free_space(settings.data_dir)
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    health = Health()
    if not console:  # answers "starting" from here, while the content loads
        from helpcenter.storage.leader import serve_health

        health_port = os.environ.get("HEALTH_PORT", "").strip()
        if not health_port and settings.webhook_url:
            health_port = str(int(os.environ.get("PORT", "8443")) + 1)
        if health_port.isdigit():
            serve_health(int(health_port), health.status)
    center = _load(background=True)
    if console:
        return _run_console(args, center, settings, leader)
    from handlers.app import build_application
    from helpcenter.storage.leader import LeaderLock

    app = build_application(settings, center, rate_limit=settings.rate_limit)  # ready before the lock
    leader = LeaderLock(settings.database_url, on_lost=lambda: _exit_fenced(app)) if on_postgres else None
    inner_post_init = app.post_init

    async def post_init(application) -> None:  # noqa: ANN001 - the Application
        if inner_post_init is not None:
            await inner_post_init(application)
        health.set("active")

    app.post_init = post_init
    def telegram_refuses() -> bool:
        """getMe until Telegram answers (STARTUP_TIMEOUT): False once it did; else the one line."""
        failed = reach_telegram(settings, health)
        if failed is not None:
            health.set("unhealthy", failed.removeprefix("error: "))
            print(failed, file=sys.stderr)
        return failed is not None

    try:
        if leader is not None:  # hot standby: wait here until the active process is gone
            try:  # a token Telegram refuses is found now, not in the middle of a failover
                if telegram_refuses():
                    return 1
                health.set("standby")
                leader.acquire()
            except KeyboardInterrupt:
                return 0
            leader.watch()
            health.set("starting")
        try:
            if telegram_refuses():
                return 1
        except KeyboardInterrupt:
            return 0
        from telegram.error import TelegramError

        try:
            if settings.webhook_url:
                app.run_webhook(listen="0.0.0.0", port=int(os.environ.get("PORT", "8443")),  # noqa: S104
                                url_path="telegram", webhook_url=settings.webhook_url.rstrip("/") + "/telegram",
                                secret_token=settings.webhook_secret or None, allowed_updates=Update.ALL_TYPES)
            else:
                app.run_polling(allowed_updates=Update.ALL_TYPES)
        except TelegramError as exc:  # getMe again, or setWebhook: refused or unreachable
            step = "setting the webhook" if settings.webhook_url else "starting"
            print(f"error: Telegram failed while {step}: {exc.message}; check"
                  f" {'WEBHOOK_URL (a public https:// address) and ' if settings.webhook_url else ''}the network",
                  file=sys.stderr)
            return 1
    except DB_ERRORS as exc:  # e.g. the disk filled up: let a supervisor restart us
        where = safe_url(settings.database_url) if on_postgres else settings.data_dir
        print(f"error: cannot keep the bot's data in {where}: {exc}", file=sys.stderr)
        return 1
    finally:
        if lock is not None:
            lock.close()
        if leader is not None:
            leader.close()
    return 0


def _exit_fenced(app) -> None:  # noqa: ANN001 - the Application
    """The lock connection failed (called from the lock's watcher thread): another process may
    serve already. Claim no more relays, give the ones being sent FENCE_GRACE seconds to be
    recorded (the new active waits for them instead of sending them again), then stop at once,
    without clean-up that could still send or commit, for a supervisor to restart this one."""
    from handlers.support.outbox import fence_from_thread
    from helpcenter.storage.leader import FENCE_GRACE

    print("error: lost the PostgreSQL connection that holds the active lock; finishing the relays in"
          f" flight (at most {FENCE_GRACE:.0f} s), then exiting so the standby takes over", file=sys.stderr, flush=True)
    left = fence_from_thread(app, FENCE_GRACE)
    if left:
        print(f"error: {left if left > 0 else 'some'} relay(s) still in flight; the standby sends them again",
              file=sys.stderr, flush=True)
    os._exit(1)


def _run_console(args: argparse.Namespace, center: HelpCenter, settings, leader) -> int:  # noqa: ANN001
    """The console chat. On PostgreSQL it holds the same single-instance lock as the Telegram mode
    (leader, taken by cmd_run before loading; on SQLite the DATA_DIR lock is held already)."""
    import logging

    from handlers.offline.console import run_console

    if leader is not None:
        leader.watch()
    logging.getLogger().setLevel(logging.WARNING)
    try:
        run_console(center, settings, lang=getattr(args, "lang", None) or "zh")
    finally:
        if leader is not None:
            leader.close()
    return 0


MIN_FREE_BYTES = 1 << 20  # below this the inbox cannot take updates: refuse to start


def _lock_data_dir(data_dir: Path):  # noqa: ANN202 - an open file, kept for its lock
    """One bot per DATA_DIR: two would both poll (409 Conflict) and overwrite each other's state."""
    import fcntl

    path = data_dir / "bot.lock"
    handle = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "?"
        handle.close()
        raise StoreError(f"another bot process (pid {holder}) is already using DATA_DIR {data_dir};"
                         " stop it first, or give this one its own DATA_DIR") from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def _check_free_space(data_dir: Path) -> None:
    stat = os.statvfs(data_dir)
    free = stat.f_bavail * stat.f_frsize
    if free < MIN_FREE_BYTES:
        raise StoreError(f"DATA_DIR {data_dir} has only {free // 1024} KiB free; free some space and start again")


def main(argv: list[str] | None = None) -> int:
    load_env_file()
    parser = argparse.ArgumentParser(prog="bot.py", description=DESCRIPTION, epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND")

    def command(name: str, summary: str) -> argparse.ArgumentParser:
        """A command whose `--help` starts with the line the command list shows."""
        return sub.add_parser(name, help=summary, description=summary)

    command("run", "serve Telegram (TELEGRAM_BOT_TOKEN), or without a token the console chat; the default")
    console = command("console", "chat with the bot in this terminal (buttons become numbers)")
    console.add_argument("--lang", choices=("zh", "en"), help="language of the chat (default: zh)")
    ask = command("ask", "print the bot's answer to a question")
    ask.add_argument("question", metavar="QUESTION",
                     help="the question in Chinese or English, quoted; '-' reads one question per line from stdin")
    ask.add_argument("--json", action="store_true", help="print the reply as JSON (entry id, topic, score)")
    ask.add_argument("--explain", action="store_true",
                     help="say why: each signal's candidates, the slots' probabilities, the rule that decided")
    ask.add_argument("--lang", choices=("zh", "en"), help="answer language (default: guessed from the question)")
    command("check", "check content/, templates/ and the phrasings agents taught for errors (file:line), exit 1 on"
                     " any")
    command("model", "after editing content/ or the labelled questions: embed the phrasings and train the"
                     " classifiers (content/vectors.npz, content/model.npz)")
    ev = command("eval", "score the answers on labelled questions (top-1, top-3, misses)")
    ev.add_argument("file", metavar="FILE.tsv", help="question<TAB>topics lines, e.g. shared/eval/dev_questions.tsv")
    report = command("report", "the unanswered and 👎 questions, grouped, for editors (CSV + Markdown); the agents'"
                               " service figures, a chart and the phrasings they taught")
    report.add_argument("--out", default="reports", help="folder for report.csv and report.md (default: reports)")
    migrate = command("migrate", "copy DATA_DIR's SQLite data into an empty PostgreSQL database, verify counts")
    migrate.add_argument("--to", required=True, metavar="URL", help="postgresql://user@host:5432/dbname")
    migrate.add_argument("--data-dir", help="the SQLite DATA_DIR to copy (default: $DATA_DIR or data)")
    web = command("web", "serve the web help center alone, without the bot (http://127.0.0.1:8080/)")
    web.add_argument("--port", type=int, help="port (default: WEB_PORT, else 8080)")
    web.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    args = parser.parse_args(argv)
    handlers = {"ask": cmd_ask, "check": cmd_check, "eval": cmd_eval, "run": cmd_run, "console": cmd_run,
                "report": cmd_report, "migrate": cmd_migrate, "model": cmd_model, "web": cmd_web}
    return handlers[args.command or "run"](args)


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except BrokenPipeError:  # `bot.py ask … | head`: the reader left; that is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(0) from None
