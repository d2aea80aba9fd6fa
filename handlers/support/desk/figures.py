"""/stats in the agents' group: the service figures of the last days."""

from __future__ import annotations

from telegram import Update

from handlers.base.common import Context, Services, services
from handlers.support.desk.shared import agents_lang, desk_of, refuse
from helpcenter.reports.service_stats import period_start, service_block

STATS_DAYS = 7

async def service_text(svc: Services, lang: str, days: int = STATS_DAYS) -> str:
    rows = await desk_of(svc).service_rows(period_start(svc.now(), svc.report_tz, days))
    return service_block(rows, lambda key, **v: svc.center.renderer.t(key, lang, **v), svc.report_tz, days)


async def stats_command(update: Update, context: Context) -> None:
    if await refuse(update, context):
        return
    svc = services(context)
    await update.effective_message.reply_text(await service_text(svc, agents_lang(svc)))
