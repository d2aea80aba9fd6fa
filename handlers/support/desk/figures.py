"""/stats in the agents' group: the service figures of the last days."""

from __future__ import annotations

from datetime import timedelta

from telegram import Update

from handlers.base.common import Context, Services, services
from handlers.support.desk.shared import agents_lang, desk_of, refuse
from helpcenter.reports.service_stats import service_block

STATS_DAYS = 7

async def service_text(svc: Services, lang: str, days: int = STATS_DAYS) -> str:
    rows = await desk_of(svc).service_rows(svc.now() - timedelta(days=days))
    return service_block(rows, lambda key, **v: svc.center.renderer.t(key, lang, **v), svc.tz, days)


async def stats_command(update: Update, context: Context) -> None:
    if await refuse(update, context):
        return
    svc = services(context)
    await update.effective_message.reply_text(await service_text(svc, agents_lang(svc)))
