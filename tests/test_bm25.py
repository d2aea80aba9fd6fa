"""The bot's BM25 gives bm25s's Lucene scores (bm25s is a dev tool here: it would import scipy at
every start of the bot whenever scipy is installed, and it is, for training)."""

from __future__ import annotations

import bm25s
import numpy as np

from helpcenter.core import HelpCenter
from helpcenter.knowledge.labelled import read_questions
from helpcenter.understanding.bm25 import Bm25Index

from .conftest import ROOT


def test_the_scores_are_bm25s_lucene_scores(center: HelpCenter) -> None:
    norm, documents = center.matcher.norm, center.matcher.by_entry
    ours = Bm25Index(norm, documents)
    theirs = bm25s.BM25(method="lucene", k1=1.5, b=0.75)
    theirs.index([norm.terms(" ".join(d)) or ["\x00"] for d in documents], show_progress=False)
    questions = [r.question for r in read_questions(ROOT / "tests" / "data" / "questions" / "tune.tsv")]
    for question in [*questions, "退款 退款 退款", "zzz"]:
        normalized = norm.normalize(question)
        tokens = [t for t in norm.terms(normalized) if t in theirs.vocab_dict]
        expected = theirs.get_scores(tokens) if tokens else np.zeros(len(documents))
        assert np.allclose(ours.scores(normalized), expected, atol=1e-4), question
