"""The seam to the native core (native/, a std-only Rust crate built by `make install`, called through cffi): Arrow
string arrays go in as their buffers (no text becomes a Python object), numpy arrays or Arrow arrays come out.

Every call releases the GIL (cffi does), so the threads DuckDB runs a stage's batches on run them in parallel. A
failure or a panic inside the crate comes back as a NativeError with the crate's message; the kernel wrappers in
runtime/session.py name the operator and the stage around it. The Python implementations the native kernels
replaced are the test oracle, in tests/oracle/.
"""

from __future__ import annotations

from functools import cache
from typing import Any


class NativeError(RuntimeError):
    """An error the native core reported (bad input buffers, a panic)."""


@cache
def lib() -> tuple[Any, Any]:
    """(ffi, lib) of the installed crate, loaded on first use so `recipe check` does not pay for it."""
    try:
        from datarecipe_native import ffi, lib
    except ImportError as e:  # pragma: no cover - make install builds it
        raise NativeError("the native core (package datarecipe-native, built from native/) is not installed: "
                          "run `make install`") from e
    return ffi, lib


def check(rc: int) -> None:
    """Raise the native core's last error when a call returned non-zero."""
    if rc != 0:
        ffi, native = lib()
        raise NativeError(ffi.string(native.dr_last_error()).decode("utf-8", "replace"))


class Texts:
    """A string array as the native core reads it: (n, offsets, data, data_len), with the buffers kept alive.
    Null rows are passed as whatever bytes their slots hold; callers mask them with `nulls`."""

    def __init__(self, text: Any):
        import numpy as np
        import pyarrow as pa

        if isinstance(text, pa.ChunkedArray):
            text = text.combine_chunks() if text.num_chunks != 1 else text.chunk(0)
        if text.type != pa.large_string():
            text = text.cast(pa.large_string())
        ffi, _ = lib()
        self.array = text
        self.n = len(text)
        buffers = text.buffers()
        self.nulls = (text.is_null().to_numpy(zero_copy_only=False) if text.null_count
                      else np.zeros(self.n, dtype=bool))
        self.offsets = ffi.cast("const int64_t *", buffers[1].address + 8 * text.offset)
        data = buffers[2]
        self.data = ffi.cast("const uint8_t *", data.address if data is not None else 0)
        self.data_len = data.size if data is not None else 0

    def args(self) -> tuple[Any, Any, Any, int]:
        return self.n, self.offsets, self.data, self.data_len


def numbers(n: int, dtype: str = "float64") -> tuple[Any, Any]:
    """An output array of n numbers, and the cffi pointer to it."""
    import numpy as np

    ffi, _ = lib()
    out = np.empty(n, dtype=dtype)
    ctype = {"float64": "double *", "int32": "int32_t *", "uint64": "uint64_t *", "int64": "int64_t *",
             "uint32": "uint32_t *"}[dtype]
    return out, ffi.cast(ctype, out.ctypes.data)


class Out:
    """A result the native core allocated (strings with a flag per row, and/or numbers), copied out and freed."""

    def __init__(self) -> None:
        ffi, _ = lib()
        self.handle = ffi.new("Out **")

    def take(self) -> tuple[Any, Any, Any, Any]:
        """(bytes, offsets int64[rows + 1], flags bool[rows], numbers uint64[]) as numpy arrays, and free it."""
        import numpy as np

        ffi, native = lib()
        out = self.handle[0]
        if out == ffi.NULL:
            raise NativeError("the native core returned no result")
        try:
            p = {k: ffi.new(t) for k, t in (("bytes", "uint8_t **"), ("bytes_len", "uintptr_t *"),
                                             ("offsets", "int64_t **"), ("flags", "uint8_t **"),
                                             ("rows", "uintptr_t *"), ("numbers", "uint64_t **"),
                                             ("numbers_len", "uintptr_t *"))}
            native.dr_out_buffers(out, p["bytes"], p["bytes_len"], p["offsets"], p["flags"], p["rows"],
                                  p["numbers"], p["numbers_len"])
            rows, nbytes, nnum = p["rows"][0], p["bytes_len"][0], p["numbers_len"][0]

            def copy(ptr: Any, count: int, dtype: str, size: int) -> Any:
                if count == 0:
                    return np.zeros(0, dtype=dtype)
                return np.frombuffer(ffi.buffer(ptr, count * size), dtype=dtype).copy()

            return (copy(p["bytes"][0], nbytes, "uint8", 1), copy(p["offsets"][0], rows + 1, "int64", 8),
                    copy(p["flags"][0], rows, "uint8", 1).astype(bool), copy(p["numbers"][0], nnum, "uint64", 8))
        finally:
            native.dr_out_free(out)

    def strings(self) -> Any:
        """The result as an Arrow large_string array, null where the flag is 0."""
        import pyarrow as pa

        data, offsets, flags, _ = self.take()
        return pa.LargeStringArray.from_buffers(len(flags), pa.py_buffer(offsets), pa.py_buffer(data),
                                                pa.py_buffer(__import__("numpy").packbits(flags, bitorder="little")))
