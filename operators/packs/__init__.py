"""Rule packs: the Gopher, C4 and FineWeb heuristics, one module each, computed per document over Arrow batches.

Each pack decides like the reference implementation (datatrove 0.10, which follows the papers) and names the
sub-rule that dropped a document. Its module holds its declaration; its rule runs in the native core
(native/src/packs/, one module per pack, over the batch's Arrow buffers), which counts words as spaCy's English
tokenizer splits them (native/src/wordsplit.rs). `declare_pack` turns a pack into its Arrow kernel: per row, the
reason it drops the document or NULL; for a pack that also rewrites (c4), a struct {drop: the reason or NULL, text:
the new text or NULL when unchanged}. The Python rules the native ones replaced are the test oracle
(tests/oracle/packs.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from datarecipe.operators.base import Operator, Param, declare

PACKS = ("gopher_quality", "gopher_repetition", "c4", "fineweb")  # the native core's pack ids, in order


def declare_pack(name: str, params: Iterable[Param], doc: str, rewrites: bool = False) -> Operator:
    """The filter operator `name` whose kernel runs the native pack of that name (see the package docstring). The
    native pack takes the parameters in the order they are declared here."""
    params = tuple(params)
    pack = PACKS.index(name)

    def kernel(text: Any, **p: Any) -> Any:
        import numpy as np  # imported when a build runs, so `recipe check` stays fast
        import pyarrow as pa
        from datarecipe.operators.native import Out, Texts, check, lib, numbers

        ffi, native = lib()
        texts = Texts(text)
        values = ffi.new("double[]", [float(p[q.name]) for q in params])
        codes, codes_ptr = numbers(texts.n, "int32")
        out = Out()
        check(native.dr_pack(pack, *texts.args(), values, len(params), codes_ptr, out.handle))
        drops = _reasons(pack).take(pa.array(codes, pa.int32(), mask=(codes < 0) | texts.nulls))
        if not rewrites:
            return drops
        data, offsets, flags, _ = out.take()
        valid = np.packbits(flags & ~texts.nulls, bitorder="little")
        new = pa.LargeStringArray.from_buffers(texts.n, pa.py_buffer(offsets), pa.py_buffer(data),
                                               pa.py_buffer(valid)).cast(pa.string())
        return pa.StructArray.from_arrays([drops, new], names=["drop", "text"])

    kernel.__name__ = name
    return declare(kernel, name, "filter", params, doc, rewrites=rewrites)


@cache
def _reasons(pack: int) -> Any:
    """The drop reasons of a native pack, in the order of its codes, as a string array."""
    import pyarrow as pa
    from datarecipe.operators.native import Out, check, lib

    _, native = lib()
    out = Out()
    check(native.dr_pack_reasons(pack, out.handle))
    return out.strings().cast(pa.string())


def ratio(name: str, default: float, doc: str) -> Param:
    """A threshold on a share, which 0 turns off."""
    return Param(name, "float", default, doc + " (0 turns the check off)", min=0)
