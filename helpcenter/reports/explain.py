"""Why the bot answered what it answered (`bot.py ask --explain`): each signal's best candidates,
the slots with their probabilities, and the rule that decided answer, guess, suggest or decline."""

from __future__ import annotations

from typing import Any

import numpy as np

from helpcenter.core import HelpCenter, Reply, guess_lang
from helpcenter.understanding.classifier import SURE
from helpcenter.understanding.matcher import Match

SHOWN = 3  # candidates per signal


def explain(center: HelpCenter, question: str, lang: str | None = None) -> str:
    lang = lang or guess_lang(question)
    m = center.matcher
    focused = m.focus(question)
    reply = center.ask(question, lang)
    match = reply.match
    lines = [f"question: {question!r}" + (f" (read: {focused!r})" if focused != question else ""),
             f"normalised: {match.normalized!r}"]
    lines.append(_stage(center, focused))
    _, scores = m.signals(focused, with_model=match.used_model)
    for name, values in scores.items():
        lines.append(f"  {name:<8}{_best(m.items, values)}")
    if scores:
        cal = m.calibration if match.used_model or m.mode == "lexical" else m.first_stage
        lines.append(f"  {'fused':<8}{_best(m.items, m.probabilities(scores, cal))}  (the calibrated probability)")
    lines.append(_slots(match, reply))
    lines.append(_decision(center, match))
    answered = reply.answered.id if reply.answered else "-"
    lines.append(f"reply: {reply.kind}, entry {answered}" + (f", figure {reply.figure.case}/{reply.figure.aspect}"
                                                             f"/{reply.figure.market or 'every market'}"
                                                             if reply.figure else ""))
    return "\n".join(lines)


def _best(items: list[Any], values: np.ndarray) -> str:
    order = np.argsort(-values)[:SHOWN]
    return ", ".join(f"{items[i].id} {values[i]:.3f}" for i in order)


def _stage(center: HelpCenter, question: str) -> str:
    m = center.matcher
    if m.mode == "lexical":
        return "stage: lexical signals only (no model here)"
    bar = m.first_stage.get("skip_model", 2.0)
    normalized, scores, prediction = m.read(question, with_model=False)
    if not scores:
        return "stage: nothing to match"
    first = m.decide(question, normalized, m.probabilities(scores, m.first_stage), m.first_stage,
                     prediction=prediction)
    if m.decisive(first):
        return f"stage: the lexical stage is sure (best {first.top:.2f} ≥ skip_model {bar}): the model was not asked"
    why = (f"best {first.top:.2f} < skip_model {bar}" if first.top < bar or (first.answer is None and
           first.out_of_scope is None) else "the answer is clear but the case or aspect is not")
    return f"stage: the model was asked (lexical stage: {why})"


def _slots(match: Match, reply: Reply) -> str:
    pred = match.prediction
    read = [f"{head} {value} {p:.2f}{'' if p >= SURE[head] else ' (unsure: not used)'}"
            for head, (value, p) in (pred.slots.items() if pred else ())]
    reading = reply.reading
    used = reading.slots if reading else None
    extra = f"; used: {used}" if used else ""
    return "slots: " + (" · ".join(read) or "-") + extra


def _decision(center: HelpCenter, match: Match) -> str:
    m = center.matcher
    cal = m.calibration if match.used_model or m.mode == "lexical" else m.first_stage
    if match.out_of_scope:
        return (f"decision: declined ({match.out_of_scope}: an out-of-scope example or another shop won,"
                " or no word is known)")
    top = match.candidates[0] if match.candidates else None
    if top is None:
        return "decision: nothing to match"
    rival = next((c.score for c in match.candidates[1:] if c.entry.topic != top.entry.topic), 0.0)
    if match.answer is not None:
        why = (f"{top.score:.2f} ≥ answer {cal['answer']}" if top.score >= cal["answer"] else
               f"{top.score:.2f} ≥ clear {cal['clear']} and {cal['ratio']}× the best other topic {rival:.2f}")
        return f"decision: answer {match.answer.entry.id} ({why})"
    if match.guess is not None:
        return (f"decision: guess {match.guess.entry.id} ({top.score:.2f} ≥ guess {cal['guess']} and"
                f" {cal['lead']}× the best other topic {rival:.2f}, but under answer {cal['answer']})")
    return (f"decision: suggestions (best {top.score:.2f}: under answer {cal['answer']}, not {cal['ratio']}× ahead"
            f" of {rival:.2f})")
