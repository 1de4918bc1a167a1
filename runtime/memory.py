"""The build's memory budget, `--memory`: the whole process's, not DuckDB's alone.

A build's process holds three kinds of memory:

- a fixed overhead, whatever the corpus: the interpreter and its libraries (pyarrow, DuckDB, torch when a model
  or tokenizer is used), measured as the process's resident memory when its DuckDB session opens, plus the native
  core's word caches (`NATIVE_CACHE_PER_THREAD` for each of DuckDB's threads, which run the rule packs);
- DuckDB's buffers: everything the stages' SQL holds (the documents of a stage, dedup groups, sorts, the mix's
  selection), limited to `DUCKDB_SHARE` of what the overhead leaves, past which DuckDB spills to the cache's
  `duckdb-tmp` directory;
- the rest: Arrow batches in flight between DuckDB, the readers and the writers, the kernels' working memory and a
  scorer's model.

A `Watch` samples the process's resident memory while a stage runs. A stage that takes it past the budget is
stopped, before the kernel's OOM killer would, with an error naming the stage and `--memory`; it also records each
stage's peak and how much it spilled, which `--json` reports with the stage's end (a measure of this run, not part
of the build: the manifest stays the same bytes whatever the budget)."""

from __future__ import annotations

import _thread
import errno
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from datarecipe.compiler.language.ast import SIZE_UNITS
from datarecipe.compiler.language.errors import RecipeError

NATIVE_CACHE_PER_THREAD = 150 * 2**20  # the word splitter's chunk cache (≤ 110 MiB) and recent documents (32 MiB)
LIBRARY_RESERVE = 400 * 2**20  # libraries loaded after the session opens: torch and transformers, matplotlib
# Of what the fixed overhead leaves: DuckDB's memory limit, and the rows one run of the engine's sorts gathers
# (runtime/spill.py; sorting a run holds it twice). The rest is for what DuckDB holds beyond its limit (its allocator
# keeps freed pages for about a second: while it spills, up to about its limit again), Arrow batches in flight and
# the kernels' working memory.
DUCKDB_SHARE = 0.25
SORT_SHARE = 0.05
DUCKDB_MIN = 64 * 2**20  # the least DuckDB is given
DEFAULT_SORT_BYTES = 256 * 2**20  # a sort's runs where no budget is set (a Ray worker's part)
SAMPLE_SECONDS = 0.05
# The error of the stage a Watch stopped: the interrupt it sent may reach the main thread after the stage's own
# error was raised, and the command reports this error rather than an interruption.
STOPPED: RecipeError | None = None
HINT = "raise `--memory`, or lower `--threads` (each thread holds its own batches and native caches)"


def _libc() -> Any:
    """glibc, for malloc_trim and mallopt; None elsewhere."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim, libc.mallopt  # noqa: B018 - glibc has both
        return libc
    except (OSError, AttributeError):
        return None


_LIBC = _libc()
_M_MMAP_THRESHOLD = -3


def parse_size(text: str) -> int:
    """Bytes of a size with a unit, e.g. `4GB`, `512MB`, `1.5GiB`."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT]i?B)", text.strip())
    if not match:
        raise ValueError(f"not a size: {text!r}")
    return int(float(match.group(1)) * SIZE_UNITS[match.group(2)])


def words(n: float) -> str:
    """Bytes as a person reads them: `1.2 GB`, `350 MB`."""
    return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


def resident() -> int:
    """This process's resident memory in bytes (0 where /proc is not there)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def disk_full(stage: str, exc: BaseException, spill_dir: Path) -> RecipeError | None:
    """A stage's failure to write because its disk is full (its files, its spill, or DuckDB's), as a RecipeError;
    None for any other failure. The stage's temporary directory is removed, and the build's previous output stays."""
    full = isinstance(exc, OSError) and exc.errno == errno.ENOSPC or "No space left on device" in str(exc)
    if not full:
        return None
    return RecipeError(None, f"the disk is full: the stage could not write its files or spill ({_first_line(exc)})",
                       f"free space on the disk of the cache ({spill_dir.parent}), or point `--cache` at a larger "
                       "one; stages that finished are kept, and the previous build is untouched", stage=stage)


def _first_line(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc)
    return text.strip().splitlines()[0][:200] if text.strip() else type(exc).__name__


def release() -> None:
    """Give the memory the allocators keep for reuse back to the system, between stages."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def spill_bytes(directory: Path) -> int:
    """Bytes of the files in the spill directory now."""
    total = 0
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                try:
                    total += entry.stat(follow_symlinks=False).st_size
                except OSError:
                    continue
    except OSError:
        return 0
    return total


class Budget:
    """`--memory` for one process: the whole budget, the fixed overhead it measured, and DuckDB's share."""

    def __init__(self, memory: str, threads: int):
        import pyarrow as pa

        # Arrow's buffers from the system's allocator, which gives a large buffer back when it is freed: mimalloc,
        # the default, keeps freed pages, so the process's resident memory would say more than it holds. glibc's
        # threshold for such buffers is fixed (it would rise with every large buffer freed, and later ones would
        # stay in its heap once freed).
        pa.set_memory_pool(pa.system_memory_pool())
        if _LIBC is not None:
            _LIBC.mallopt(_M_MMAP_THRESHOLD, 1 << 20)
        self.setting = memory
        self.total = parse_size(memory)
        self.overhead = resident() + LIBRARY_RESERVE + threads * NATIVE_CACHE_PER_THREAD
        self.duckdb = int((self.total - self.overhead) * DUCKDB_SHARE)
        if self.duckdb < DUCKDB_MIN:
            least = self.overhead + int(DUCKDB_MIN / DUCKDB_SHARE)
            raise RecipeError(None, f"`--memory {memory}` is the whole process's budget, and its fixed overhead is "
                                    f"already {words(self.overhead)} ({words(resident())} of interpreter and "
                                    f"libraries, {words(LIBRARY_RESERVE)} for the libraries of models and plots, "
                                    f"{words(threads * NATIVE_CACHE_PER_THREAD)} of native caches for {threads} "
                                    "thread(s)): too little is left for the build",
                              f"give at least `--memory {-(-least // 10**8) / 10:.1f}GB`, or lower `--threads`")

    @property
    def sort_bytes(self) -> int:
        """The rows one run of the engine's sorts holds (runtime/spill.py)."""
        return int((self.total - self.overhead) * SORT_SHARE)

    def duckdb_setting(self) -> str:
        return f"{self.duckdb // 2**20}MiB"


class Watch:
    """Samples the process's resident memory and the spill directory while stages run; a stage that takes the
    process past the budget is interrupted (`over` says by how much) and fails with a RecipeError."""

    def __init__(self, budget: Budget, spill_dir: Path):
        self.budget, self.spill_dir = budget, spill_dir
        self.interrupt: Callable[[], None] | None = None  # stops DuckDB's running query
        self.over = 0  # the resident bytes that stopped the stage, or 0
        self.peak = self.spilled = 0
        self._stop = threading.Event()

    @contextmanager
    def stage(self, name: str, interrupt: Callable[[], None] | None = None) -> Iterator[None]:
        """Watch one stage: `measured()` says, while it runs and after, its peak and spill so far."""
        global STOPPED
        self.interrupt, self.over, self.peak, self.spilled = interrupt, 0, resident(), 0
        if self.peak > self.budget.total:  # past the budget already: the stage does not begin
            self.over = self.peak
            STOPPED = self.error(name)
            raise STOPPED
        self._stop.clear()
        thread = threading.Thread(target=self._run, name=f"memory-watch-{name}", daemon=True)
        thread.start()
        try:
            try:
                yield
            except BaseException as exc:
                if self.over:
                    STOPPED = self.error(name)
                    raise STOPPED from None
                if full := disk_full(name, exc, self.spill_dir):
                    raise full from None
                raise
            if self.over:  # interrupted between two statements, or while Python held the main thread
                STOPPED = self.error(name)
                raise STOPPED
        finally:
            self._stop.set()
            thread.join()

    def measured(self) -> dict[str, int]:
        """The watched stage's `peak_rss_bytes` and `spilled_bytes` (the most its spill held on disk at once), as
        sampled so far."""
        return {"peak_rss_bytes": max(self.peak, resident()), "spilled_bytes": self.spilled}

    def _run(self) -> None:
        trimmed = 0.0
        while not self._stop.wait(SAMPLE_SECONDS):
            now = resident()
            if now > 0.9 * self.budget.total and _LIBC is not None and time.monotonic() - trimmed > 1:
                _LIBC.malloc_trim(0)  # near the budget: what glibc keeps of freed memory goes back first
                trimmed = time.monotonic()
                now = resident()
            self.peak = max(self.peak, now)
            self.spilled = max(self.spilled, spill_bytes(self.spill_dir))
            if now > self.budget.total and not self.over:
                self.over = now
                if self.interrupt is not None:
                    self.interrupt()
                _thread.interrupt_main()

    def error(self, stage: str) -> RecipeError:
        """The error of a stage stopped past the budget."""
        b = self.budget
        return RecipeError(None, f"the process reached {words(self.over)} of memory, over `--memory {b.setting}`, "
                                 f"and was stopped (DuckDB's share {words(b.duckdb)}, fixed overhead "
                                 f"{words(b.overhead)})", HINT, stage=stage)
