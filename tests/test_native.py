"""The native core's boundary (native/, operators/native.py): its character table is Python's, bad buffers and
panics become errors with a message, never a crash, and sliced, chunked and null-holding arrays are read right."""

from __future__ import annotations

import sys
import unicodedata
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from datarecipe.operators import native

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "native"))
import gen_unicode  # noqa: E402  (native/gen_unicode.py: how the table is made)


def test_the_character_table_is_this_pythons_unicodedata() -> None:
    ffi, lib = native.lib()
    assert ffi.string(lib.dr_unidata_version()).decode() == unicodedata.unidata_version, \
        "regenerate the table: python native/gen_unicode.py"
    term = gen_unicode.terminal()
    syms = gen_unicode.symbols(term)
    wrong = [cp for cp in range(0x110000)
             if lib.dr_char_props(cp) != gen_unicode.properties(cp, term, syms)]
    assert wrong == [], f"{len(wrong)} code points differ, e.g. {[hex(c) for c in wrong[:5]]}"


def _words(text: pa.Array) -> np.ndarray:
    t = native.Texts(text)
    out, ptr = native.numbers(t.n)
    native.check(native.lib()[1].dr_text_function(0, 0, *t.args(), ptr))
    return out


def test_sliced_chunked_and_null_arrays_are_read_at_their_offsets() -> None:
    full = pa.array(["one", "two words", None, "three more words", ""])
    assert list(_words(full.slice(1, 3))) == [2, 0, 3]
    chunked = pa.chunked_array([full.slice(0, 2), full.slice(3)])
    assert list(_words(chunked)) == [1, 2, 3, 0]
    assert list(native.Texts(full).nulls) == [False, False, True, False, False]
    assert list(_words(full.cast(pa.string()).slice(3))) == [3, 0]


def test_a_panic_is_an_error_with_its_message() -> None:
    with pytest.raises(native.NativeError, match="panicked: a deliberate panic"):
        native.check(native.lib()[1].dr_selftest_panic())
    assert list(_words(pa.array(["still works"]))) == [2]  # the library is usable after it


def test_bad_buffers_are_errors_not_reads_past_them() -> None:
    ffi, lib = native.lib()
    out, ptr = native.numbers(1)
    bad_utf8 = pa.LargeStringArray.from_buffers(1, pa.py_buffer(np.array([0, 2], dtype=np.int64)),
                                                pa.py_buffer(b"\xff\xfe"))
    with pytest.raises(native.NativeError, match="not valid UTF-8"):
        native.check(lib.dr_text_function(0, 0, *native.Texts(bad_utf8).args(), ptr))
    offsets = np.array([0, 1000], dtype=np.int64)
    data = np.frombuffer(b"abc", dtype=np.uint8)
    with pytest.raises(native.NativeError, match="past the data buffer"):
        native.check(lib.dr_text_function(0, 0, 1, ffi.cast("const int64_t *", offsets.ctypes.data),
                                          ffi.cast("const uint8_t *", data.ctypes.data), 3, ptr))
    backwards = np.array([2, 1], dtype=np.int64)
    with pytest.raises(native.NativeError, match="offsets decrease"):
        native.check(lib.dr_text_function(0, 0, 1, ffi.cast("const int64_t *", backwards.ctypes.data),
                                          ffi.cast("const uint8_t *", data.ctypes.data), 3, ptr))
