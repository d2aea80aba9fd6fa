"""The question log: every question asked, its answer and score, 👍/👎 feedback, and the figures
/stats and the editors' report read from it (personal data masked, answers/privacy.py)."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

from helpcenter.answers.privacy import mask_personal
from helpcenter.storage.db import Tables, iso


class Questions(Tables):
    """The questions table (composed into storage.store.Store)."""

    async def log_question(self, chat_id: int | None, lang: str, normalized: str, entry_id: str | None,
                           topic: str | None, score: float, now: datetime, source: str = "text") -> int:
        new = await self.db.insert(
            "INSERT INTO questions(asked_at, chat_id, lang, normalized, entry_id, topic, score, source)"
            " VALUES (?,?,?,?,?,?,?,?) RETURNING id",
            (iso(now), chat_id, lang, mask_personal(normalized)[:500], entry_id, topic, float(score), source))
        return int(new or 0)

    async def set_feedback(self, question_id: int, chat_id: int, value: int) -> bool:
        """One vote per user per answer: this one counts, an earlier vote on the same entry (the
        same answer asked again) is withdrawn. False if the question is not this chat's."""
        if not 0 < question_id < 2**63:  # a forged button: the ids are 64-bit integers
            return False
        async with self.db.transaction() as tx:
            changed = await tx.execute("UPDATE questions SET feedback=? WHERE id=? AND chat_id=?",
                                       (value, question_id, chat_id))
            if changed:
                await tx.execute(
                    "UPDATE questions SET feedback=NULL WHERE chat_id=? AND id<>? AND feedback IS NOT NULL"
                    " AND entry_id=(SELECT entry_id FROM questions WHERE id=?)", (chat_id, question_id, question_id))
        return changed > 0

    async def feedback(self, question_id: int, chat_id: int) -> int | None:
        """The vote this chat gave the answer to a question: 1, -1, or None."""
        if not 0 < question_id < 2**63:  # a forged button
            return None
        row = await self.db.fetchone("SELECT feedback FROM questions WHERE id=? AND chat_id=?",
                                     (question_id, chat_id))
        return row[0] if row else None

    async def stats(self, since: datetime, limit: int = 5, tz: tzinfo = UTC) -> dict[str, Any]:
        """Questions per day (days in tz), answer rate, top topics, top unanswered, helpful ratio."""
        start = iso(since)

        async def rows(sql: str, *args: Any) -> list[Any]:
            return await self.db.fetchall(sql, (start, *args))

        days: dict[str, int] = {}
        for (asked,) in await rows("SELECT asked_at FROM questions WHERE asked_at>=? AND source='text'"):
            day = datetime.fromisoformat(asked).astimezone(tz).strftime("%Y-%m-%d")
            days[day] = days.get(day, 0) + 1
        per_day = sorted(days.items())
        total, answered = (await rows("SELECT COUNT(*), COUNT(entry_id) FROM questions WHERE asked_at>=?"
                                      " AND source='text'"))[0]
        topics = await rows("SELECT topic, COUNT(*) FROM questions WHERE asked_at>=? AND topic IS NOT NULL"
                            " GROUP BY topic ORDER BY 2 DESC, 1 LIMIT ?", limit)
        unanswered = await rows("SELECT normalized, COUNT(*) FROM questions WHERE asked_at>=? AND entry_id IS NULL"
                                " AND normalized<>'' GROUP BY normalized ORDER BY 2 DESC, 1 LIMIT ?", limit)
        up, down = (await rows("SELECT COUNT(CASE WHEN feedback=1 THEN 1 END), COUNT(CASE WHEN feedback=-1 THEN 1 END)"
                               " FROM questions WHERE asked_at>=?"))[0]
        unanswered = [(mask_personal(text), n) for text, n in unanswered]  # rows logged before masking
        return {"per_day": per_day, "total": total, "answered": answered, "topics": topics,
                "unanswered": unanswered, "helpful": up, "unhelpful": down}

    async def top_topics(self, limit: int = 5) -> list[str]:
        rows = await self.db.fetchall("SELECT topic FROM questions WHERE topic IS NOT NULL GROUP BY topic"
                                      " ORDER BY COUNT(*) DESC, topic LIMIT ?", (limit,))
        return [row[0] for row in rows]

    async def to_review(self) -> list[tuple[str, str, str | None]]:
        """Unanswered and not-helpful questions: (normalized text, lang, entry given or None)."""
        rows = await self.db.fetchall("SELECT normalized, lang, entry_id FROM questions"
                                      " WHERE entry_id IS NULL OR feedback=-1 ORDER BY id")
        return [(mask_personal(r[0]), r[1], r[2]) for r in rows]
