"""Rule packs: the Gopher, C4 and FineWeb heuristics, computed per document over Arrow batches.

Each pack decides like the reference implementation (datatrove 0.10, which follows the papers)
and names the sub-rule that dropped a document. Their word counts come from `words()`, a
re-implementation of the rules of spaCy's English tokenizer (datatrove's default), which splits
punctuation, contractions and hyphens off words. A whitespace-separated chunk is split once and
remembered, so the cost per document is close to one dict lookup per chunk.

A pack kernel takes the text column and the pack's parameters and returns, per row, the reason it
drops the document or NULL; c4, which also rewrites, returns a struct {drop: the reason or NULL, text:
the rewritten text or NULL when unchanged}.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable
from functools import cache, lru_cache
from itertools import filterfalse
from typing import Any

from datarecipe.operators.kernels import STOPWORDS

# ---- character classes ------------------------------------------------------------------------------


@cache
def _chars() -> dict[str, str]:
    """Regex class bodies (without brackets) for the Unicode categories the tokenizer needs."""
    groups: dict[str, list[int]] = {"Ll": [], "Lu": [], "L": [], "So": [], "Sc": []}
    for cp in range(0x30000):
        cat = unicodedata.category(chr(cp))
        if cat[0] == "L":
            groups["L"].append(cp)
        if cat in groups:
            groups[cat].append(cp)
    return {name: _ranges(cps) for name, cps in groups.items()}


def _ranges(cps: list[int]) -> str:
    out, start, prev = [], None, None
    for cp in cps + [-2]:
        if start is None:
            start = prev = cp
        elif cp == prev + 1:  # type: ignore[operator]
            prev = cp
        else:
            out.append(re.escape(chr(start)) + ("" if prev == start else "-" + re.escape(chr(prev))))  # type: ignore
            start = prev = cp
    return "".join(out)


# Punctuation that splits off the start or end of a word, quotes, and hyphens, after the classes
# spaCy's tokenizer uses for English (currency is Unicode `Sc`, icons Unicode `So`).
_PUNCT = "…,:;!?¿؟¡()[]{}<>_#*&。？！，、；：～·।،۔؛٪"
_QUOTES = "'\"”“`‘´’‚,„»«「」『』（）〔〕【】《》〈〉⟦⟧"
_UNITS = ("km km² km³ m m² m³ dm dm² dm³ cm cm² cm³ mm mm² mm³ ha µm nm yd in ft kg g mg µg t lb oz "
          "m/s km/h kmh mph hPa Pa mbar mb MB kb KB gb GB tb TB T G M K %").split()
_ALWAYS_SUFFIX = frozenset(",:;!?)]}\"'…")
_HYPHENS = ("-", "–", "—", "--", "---", "——", "~")

# Sentence-final punctuation, for line endings (FineWeb, C4) and sentence counts (C4).
TERMINAL = frozenset(
    ch for cp in range(0x30000)
    if unicodedata.category(ch := chr(cp)) == "Po" and "INVERTED" not in unicodedata.name(ch, "")
    and any(k in unicodedata.name(ch, "") for k in ("FULL STOP", "QUESTION MARK", "EXCLAMATION", "DANDA"))
    and ch not in "·։"
) | frozenset("!.?։؟۔。！？｡‼⁇⁈⁉")

# Characters that make a token "only symbols" for Gopher: ASCII and common Unicode punctuation,
# control characters, and the full-width forms.
SYMBOLS = frozenset(
    "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~«´»–—’“”„…‼‽⁇⁈⁉∶━►、。〈〉《》「」【】！％（），．１：；？～｡"
    + "".join(chr(c) for c in (*range(0, 9), *range(11, 32), *range(127, 160)))
) | TERMINAL

# Strings the tokenizer keeps whole (or splits its own way) wherever they occur in a chunk:
# abbreviations, emoticons, and contractions, with and without the apostrophe.
_ABBREVIATIONS = (
    "Mr. Mrs. Ms. Dr. Prof. St. Jr. Inc. Ltd. Co. Corp. Bros. Gen. Gov. Rep. Sen. Rev. Mt. Messrs. Adm. "
    "Jan. Feb. Mar. Apr. Jun. Jul. Aug. Sep. Sept. Oct. Nov. Dec. e.g. i.e. E.g. I.e. E.G. I.E. a.m. p.m. "
    "vs. v.s. co. Ph.D. D.C. N.Y. N.J. N.C. N.D. N.H. N.M. S.C. Ala. Ariz. Ark. Calif. Colo. Conn. Del. Fla. "
    "Ga. Ia. Id. Ill. Ind. Kan. Kans. Ky. La. Md. Mass. Mich. Minn. Miss. Mo. Mont. Neb. Nebr. Nev. Okla. "
    "Ore. Pa. Tenn. Va. Wash. Wis. Ak. and/or ''"
).split() + [f"{ch}." for ch in "abcdefghijklmnopqrstuvwxyzäöü"]
_EMOTICONS = (
    ":) :-) :)) :-)) :))) :-))) (: (-: =) (= :] :-] [: [-: [= =] :o) (o: :} :-} 8) 8-) (-8 ;) ;-) (; (-; "
    ":( :-( :(( :-(( :((( :-((( ): )-: =( >:( :') :'-) :'( :'-( :/ :-/ =/ =| :| :-| :1 :P :-P :p :-p :O :-O "
    ":o :-o :0 :-0 :() >:o :* :-* :3 :-3 =3 :> :-> :X :-X :x :-x :D :-D ;D ;-D =D xD XD xDD XDD 8D 8-D ^_^ "
    "^__^ ^___^ >.< >.> <.< ._. ;_; -_- -__- v.v V.V v_v V_V o_o o_O O_o O_O 0_o o_0 0_0 o.O O.o O.O o.o "
    "0.0 o.0 0.o @_@ <3 <33 <333 </3 (^_^) (-_-) (._.) (>_<) (*_*) (¬_¬) ಠ_ಠ ಠ︵ಠ (ಠ_ಠ) ¯\\(ツ)/¯"
).split()
_SPLITS = {"cannot": ("can", "not"), "Cannot": ("Can", "not"), "y'all": ("y'", "all"), "Y'all": ("Y'", "all"),
           "y’all": ("y’", "all"), "Y’all": ("Y’", "all"), "gonna": ("gon", "na"), "Gonna": ("Gon", "na"),
           "gotta": ("got", "ta"), "Gotta": ("Got", "ta"), "wanna": ("wan", "na"), "Wanna": ("Wan", "na")}
_NEG_BASES = ("do", "does", "did", "is", "are", "was", "were", "has", "have", "had", "could", "would",
              "should", "must", "need", "might", "ca", "wo", "ai", "sha")
_PRONOUN_CLITICS = {"i": ("m", "ve", "ll", "d"), "you": ("re", "ve", "ll", "d"), "he": ("ll", "d"),
                    "she": ("ll", "d"), "it": ("ll", "d"), "we": ("re", "ve", "ll", "d"),
                    "they": ("re", "ve", "ll", "d")}
_NOT_CONTRACTIONS = {"ill", "its", "hell", "shell", "shed", "were", "well"}


def _contractions() -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    pairs = [(b, "n't") for b in _NEG_BASES] + [(p, "'" + c) for p, cs in _PRONOUN_CLITICS.items() for c in cs]
    for base, clitic in pairs:
        for b in {base, base.capitalize(), "I" if base == "i" else base}:
            for apostrophe in ("'", "’", ""):
                c = clitic.replace("'", apostrophe)
                word = b + c
                if apostrophe or word.lower() not in _NOT_CONTRACTIONS:
                    out[word] = (b, c)
    for clitic in ("'s", "'S", "'re", "'ve", "'ll", "'d", "n't"):
        out[clitic] = (clitic,)
        out[clitic.replace("'", "’")] = (clitic.replace("'", "’"),)
    return out


RECENT_CHARS = 32_000_000  # the words of the last texts are kept, up to this many characters of text


class Tokenizer:
    """Words as spaCy's English tokenizer splits them, minus whitespace tokens.

    A chunk between whitespace loses punctuation from its start and end (prefixes and suffixes,
    repeatedly), keeps known abbreviations and URLs whole, and splits the rest at infixes: hyphens
    and `,` `:` `/` `=` `<` `>` between letters, `.` between a lower- and an uppercase letter,
    operators between digits, ellipses and symbols anywhere. Contractions split into two words
    (`don't` → `do`, `n't`).
    """

    def __init__(self) -> None:
        c = _chars()
        punct, quotes = re.escape(_PUNCT), re.escape(_QUOTES)
        icons, currency = c["So"], c["Sc"]
        units = "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True))
        hyphens = "|".join(re.escape(h) for h in _HYPHENS)
        self.prefix = re.compile(
            rf"§|%|=|—|–|\+(?![0-9])|\.\.+|…|[{punct}]|[{quotes}]|[{currency}]|[{icons}]")
        self.suffix = re.compile(
            rf"(?:\.\.+|…|[{punct}]|[{quotes}]|[{icons}]|'s|'S|’s|’S|—|–|(?<=[0-9])\+|(?<=°[FfCcKk])\."
            rf"|(?<=[0-9])(?:[{currency}]|{units})|(?<=[0-9{c['Ll']}%²\-+{punct}{quotes}])\."
            rf"|(?<=[{c['Lu']}][{c['Lu']}])\.)$")
        self.infix = re.compile(
            rf"\.\.+|…|[{icons}]|(?<=[0-9])[+\-*^](?=[0-9-])|(?<=[{c['Ll']}{quotes}])\.(?=[{c['Lu']}{quotes}])"
            rf"|(?<=[{c['L']}]),(?=[{c['L']}])|(?<=[{c['L']}0-9])(?:{hyphens})(?=[{c['L']}])"
            rf"|(?<=[{c['L']}0-9])[:<>=/](?=[{c['L']}])")
        # Hosts may have capitals, the top-level domain is lowercase, so `io.Reader` is not a URL.
        self.url = re.compile(
            r"(?:[\w+\-.]{2,}://)?(?:[^\s@]+@)?(?:\d{1,3}(?:\.\d{1,3}){3}|"
            r"(?:(?:[A-Za-z0-9\u00a1-\uffff][A-Za-z0-9\u00a1-\uffff_-]{0,62})?[A-Za-z0-9\u00a1-\uffff]\.)+"
            rf"[{c['Ll']}]{{2,63}})(?::\d{{2,5}})?(?:[/?#]\S*)?")
        self.special: dict[str, tuple[str, ...]] = {a: (a,) for a in _ABBREVIATIONS + _EMOTICONS}
        self.special.update(_SPLITS)
        self.special.update(_contractions())
        self.cache: dict[str, tuple[str, ...]] = {}
        self.recent: dict[str, list[str]] = {}  # the words of the last texts, up to RECENT_CHARS
        self.recent_chars = 0
        self.lock = threading.Lock()
        # A special string can also appear inside a chunk, as a run of the words it would otherwise
        # split into (`b.Run` → `b`, `.`, `Run` → `b.`, `Run`): those runs are merged back.
        self.runs: dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]] = {}
        for key, value in self.special.items():
            plain = self._split(key, specials=False)
            if len(plain) > 1:
                self.runs.setdefault(plain[0], []).append((plain, value))
        for options in self.runs.values():
            options.sort(key=lambda o: -len(o[0]))

    def __call__(self, text: str) -> list[str]:
        """The words of a text. The packs of one filter see the same texts batch after batch, so the
        words of the last few thousand texts are kept."""
        out = self.recent.get(text)
        if out is not None:
            return out
        out = self.words(text)
        with self.lock:  # DuckDB may call kernels from several threads
            if text not in self.recent:
                self.recent[text] = out
                self.recent_chars += len(text)
            while self.recent_chars > RECENT_CHARS:
                oldest = next(iter(self.recent))
                del self.recent[oldest]
                self.recent_chars -= len(oldest)
        return out

    def words(self, text: str) -> list[str]:
        out: list[str] = []
        cache = self.cache
        for chunk in text.split():
            toks = cache.get(chunk)
            if toks is None:
                toks = self.split(chunk)
                if len(cache) < 2_000_000:
                    cache[chunk] = toks
            out += toks
        return out

    def split(self, s: str) -> tuple[str, ...]:
        if s in self.special:
            return self.special[s]
        if s.isalpha():  # nothing to split off (contractions without apostrophes are specials)
            return (s,)
        last = s[-1]
        if len(s) > 1 and s[:-1].isalpha() and (last in _ALWAYS_SUFFIX or last == "." and (
                s[-2].islower() or s[-2].isdigit())):
            words = self.split(s[:-1]) + (last,)  # the common `word,` and `word.`
        else:
            words = self._split(s, specials=True)
        if len(words) == 1 or not any(w in self.runs for w in words):
            return words
        out: list[str] = []
        i = 0
        while i < len(words):
            for plain, value in self.runs.get(words[i], ()):
                if tuple(words[i:i + len(plain)]) == plain:
                    out += value
                    i += len(plain)
                    break
            else:
                out.append(words[i])
                i += 1
        return tuple(out)

    def _split(self, s: str, specials: bool) -> tuple[str, ...]:
        special = self.special if specials else {}
        prefixes: list[str] = []
        suffixes: list[str] = []
        last = -1
        while s and len(s) != last and s not in special:
            last = len(s)
            m = self.prefix.match(s)
            pre = m.end() if m else 0
            if pre and s[pre:] in special:
                prefixes.append(s[:pre])
                s = s[pre:]
                break
            # Suffixes are short: search the end of the chunk, unless the match reaches the window.
            window = max(pre, len(s) - 12)
            m = self.suffix.search(s, window)
            if m and m.start() == window and window > pre:
                m = self.suffix.search(s, pre)
            suf = len(s) - m.start() if m and m.start() >= pre else 0
            if suf and s[:-suf] in special:
                suffixes.append(s[-suf:])
                s = s[:-suf]
                break
            if pre and suf and pre + suf <= len(s):
                prefixes.append(s[:pre])
                suffixes.append(s[-suf:])
                s = s[pre:-suf]
            elif pre:
                prefixes.append(s[:pre])
                s = s[pre:]
            elif suf:
                suffixes.append(s[-suf:])
                s = s[:-suf]
        middle: list[str] = []
        if s:
            if s in special:
                middle.extend(special[s])
            elif len(s) == 1 or self.url.fullmatch(s):
                middle.append(s)
            else:
                start = 0
                for m in self.infix.finditer(s):
                    if m.start() == m.end() == 0:
                        continue
                    if m.start() != start:
                        middle.append(s[start:m.start()])
                    if m.start() != m.end():
                        middle.append(m.group())
                    start = m.end()
                if start < len(s):
                    middle.append(s[start:])
        return tuple(prefixes + middle + suffixes[::-1])


@cache
def tokenizer() -> Tokenizer:
    return Tokenizer()


# ---- the packs ------------------------------------------------------------------------------------



def gopher_quality(text: str, p: dict[str, Any], tok: Tokenizer) -> tuple[str | None, None]:
    """Gopher's quality rules (Rae et al. 2021, appendix A), in datatrove's order."""
    words = tok(text)
    n_words = max(len(words), 1)
    content = list(filterfalse(SYMBOLS.issuperset, words))  # words that are not only punctuation
    n_content = len(content)
    if p["min_doc_words"] and n_content < p["min_doc_words"]:
        return "short_doc", None
    if p["max_doc_words"] and n_content > p["max_doc_words"]:
        return "long_doc", None
    mean = sum(map(len, content)) / n_content if n_content else float("nan")
    if p["min_avg_word_length"] and mean < p["min_avg_word_length"]:
        return "below_avg_word_length", None
    if p["max_avg_word_length"] and mean > p["max_avg_word_length"]:
        return "above_avg_word_length", None
    ratio = p["max_symbol_word_ratio"]
    if ratio and text.count("#") / n_words > ratio:
        return "too_many_hashes", None
    if ratio and (text.count("...") + text.count("…")) / n_words > ratio:
        return "too_many_ellipsis", None
    lines = text.splitlines() or [""]
    if p["max_bullet_lines_ratio"] and sum(
            s.lstrip().startswith(("•", "-")) for s in lines) / len(lines) > p["max_bullet_lines_ratio"]:
        return "too_many_bullets", None
    if p["max_ellipsis_lines_ratio"] and sum(
            s.rstrip().endswith(("...", "…")) for s in lines) / len(lines) > p["max_ellipsis_lines_ratio"]:
        return "too_many_end_ellipsis", None
    if p["min_alpha_words_ratio"] and sum(map(_has_alpha, words)) / n_words < p["min_alpha_words_ratio"]:
        return "below_alpha_threshold", None
    if p["min_stop_words"] and len(_STOP_SET.intersection(words)) < p["min_stop_words"]:
        return "few_stop_words", None
    return None, None


_STOP_SET = frozenset(STOPWORDS["en"])  # Gopher's, case-sensitive as in datatrove


@lru_cache(maxsize=1 << 16)
def _has_alpha(word: str) -> bool:
    return any(ch.isalpha() for ch in word)


_PARAGRAPHS = re.compile(r"\n{2,}")
_LINES = re.compile(r"\n+")


def _duplicates(items: list[str]) -> tuple[int, int]:
    """How many items repeat an earlier one, and their total length."""
    seen: set[str] = set()
    n = chars = 0
    for x in items:
        if x in seen:
            n += 1
            chars += len(x)
        else:
            seen.add(x)
    return n, chars


def gopher_repetition(text: str, p: dict[str, Any], tok: Tokenizer) -> tuple[str | None, None]:
    """Gopher's repetition rules (Rae et al. 2021, table A1), in datatrove's order."""
    if not text:
        return "empty", None
    paragraphs = _PARAGRAPHS.split(text.strip())
    n, chars = _duplicates(paragraphs)
    if p["dup_para_frac"] and n / len(paragraphs) > p["dup_para_frac"]:
        return "dup_para_frac", None
    if p["dup_para_char_frac"] and chars / len(text) > p["dup_para_char_frac"]:
        return "dup_para_char_frac", None
    lines = _LINES.split(text)
    n, chars = _duplicates(lines)
    if p["dup_line_frac"] and n / len(lines) > p["dup_line_frac"]:
        return "dup_line_frac", None
    if p["dup_line_char_frac"] and chars / len(text) > p["dup_line_char_frac"]:
        return "dup_line_char_frac", None
    words = tok(text)
    if not words:
        return None, None
    import numpy as np

    # Words become 64-bit keys (equal words, equal keys), n-grams rolling combinations of them.
    keys = np.fromiter(map(hash, words), dtype=np.int64, count=len(words)).view(np.uint64)
    ends = np.zeros(len(words) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, words), dtype=np.int64, count=len(words)), out=ends[1:])
    size = len(text)
    grams = keys
    distinct = False  # no n-gram repeats, so no longer one does either
    for n in range(2, 11):
        if len(words) < n or distinct and n >= 5:
            break
        # n-gram keys from (n-1)-gram keys: a polynomial hash, collisions astronomically rare
        with np.errstate(over="ignore"):
            grams = grams[:-1] * np.uint64(0x9E3779B97F4A7C15) + keys[n - 1:]
        values = grams.tolist()
        if n <= 4:
            limit = p[f"top_{n}_gram"]
            if not limit:
                continue
            gram, top = Counter(values).most_common(1)[0]  # of equally frequent n-grams, the first seen
            distinct = top == 1
            start = values.index(gram)
            # the n-gram joined with spaces, times its count
            if (ends[start + n] - ends[start] + n - 1) * top / size > limit:
                return f"top_{n}_gram", None
            continue
        distinct = len(set(values)) == len(values)
        limit = p[f"dup_{n}_gram"]
        if limit and not distinct and _repeated_chars(grams, values, ends, n, limit * size) > limit * size:
            return f"duplicated_{n}_n_grams", None
    return None, None


def _repeated_chars(grams: Any, values: list[int], ends: Any, n: int, limit: float) -> int:
    """Characters in n-grams that repeat an earlier one, scanning left to right and skipping a
    repeated n-gram whole (Gopher's duplicate n-gram character fraction), counted until `limit` is
    passed. N-grams are compared by their word sequence, the same as comparing them joined up to
    rare ambiguities."""
    import numpy as np

    _, first, inverse = np.unique(grams, return_index=True, return_inverse=True)
    starts = np.flatnonzero(first[inverse] < np.arange(len(grams)))
    # The count is at most the characters of the words that repeated n-grams cover.
    cover = np.zeros(len(ends), dtype=np.int64)
    np.add.at(cover, starts, 1)
    np.add.at(cover, starts + n, -1)
    if int(np.diff(ends)[np.cumsum(cover[:-1]) > 0].sum()) <= limit:
        return 0
    # The scan is sequential, but only where an n-gram has occurred before: every other position
    # is visited in turn (unless a skip jumps over it) and only adds its n-gram to those seen.
    seen: set[int] = set()
    repeated = i = 0
    last = len(ends) - 1
    for c in starts.tolist():
        if c < i:
            continue  # skipped over
        seen.update(values[i:c])
        if values[c] in seen:
            repeated += int(ends[min(c + n, last)] - ends[c])
            if repeated > limit:
                break
            i = c + n
        else:
            seen.add(values[c])
            i = c + 1
    return repeated


_CITATION = re.compile(r"\[\d*]|\[edit]|\[citation needed]")
_POLICY = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies")
_C4_END = (".", "?", "!", '"', "'")


def c4(text: str, p: dict[str, Any], tok: Tokenizer) -> tuple[str | None, str | None]:
    """C4's line and page rules (Raffel et al. 2020; TFDS c4_utils), as datatrove applies them.

    Lines are dropped for lacking terminal punctuation, having too few words, a too-long word,
    `javascript` or a policy phrase; the page is dropped for `lorem ipsum`, a curly bracket, or
    too few sentences in the lines that remain. A kept page is rewritten to its kept lines.
    """
    kept: list[str] = []
    sentences = 0
    max_word, min_words = p["max_word_length"], p["min_words_per_line"]
    for line in text.splitlines():
        line = line.strip()
        words = line.split()
        if max_word != -1 and any(len(w) > max_word for w in words):
            continue
        if p["remove_citations"]:
            line = _CITATION.sub("", line)
        if p["filter_no_terminal_punct"] and (not line.endswith(_C4_END) or line.endswith("...")):
            continue
        if len(words) < min_words:
            continue
        lower = line.lower()
        if p["filter_lorem_ipsum"] and "lorem ipsum" in lower:
            return "lorem_ipsum", None
        if p["filter_javascript"] and "javascript" in lower:
            continue
        if p["filter_curly_bracket"] and "{" in line:
            return "curly_bracket", None
        if p["filter_policy"] and any(x in lower for x in _POLICY):
            continue
        if p["min_num_sentences"] != -1:
            sentences += _sentences(tok.words(line))  # lines are not seen again: not kept
        kept.append(line)
    if sentences < p["min_num_sentences"]:
        return "too_few_sentences", None
    out = "\n".join(kept).strip()
    return None, (None if out == text else out)


def _sentences(words: list[str]) -> int:
    """Sentences in a line, as spaCy's sentencizer splits them: a new one starts at the first word
    that is not punctuation after a sentence-final mark."""
    if not words:
        return 0
    n, after_end = 1, False
    for w in words:
        if w in TERMINAL:
            after_end = True
        elif after_end and not _is_punct(w):
            n += 1
            after_end = False
    return n


@lru_cache(maxsize=1 << 16)
def _is_punct(word: str) -> bool:
    return all(unicodedata.category(ch)[0] == "P" for ch in word)


def fineweb(text: str, p: dict[str, Any], tok: Tokenizer) -> tuple[str | None, None]:
    """FineWeb's extra rules (Penedo et al. 2024), as datatrove's FineWebQualityFilter applies them."""
    lines = [line for line in text.split("\n") if line.strip() != ""]
    if not lines:
        return "empty", None
    ends = tuple(TERMINAL)
    ratio = sum(1 for line in lines if line.endswith(ends)) / len(lines)
    if ratio < p["line_punct_thr"] and not (ratio == 0 and p["line_punct_exclude_zero"]):
        return "line_punct_ratio", None
    if sum(1 for line in lines if len(line) <= p["short_line_length"]) / len(lines) > p["short_line_thr"]:
        return "short_line_ratio", None
    if _duplicates(lines)[1] / max(len(text) - text.count("\n"), 1) > p["char_duplicates_ratio"]:
        return "char_dup_ratio", None
    words = tok(text)
    if text.count("\n") / max(len(words), 1) > p["new_line_ratio"]:
        return "list_ratio", None
    return None, None


PACKS: dict[str, Callable[[str, dict[str, Any], Tokenizer], tuple[str | None, str | None]]] = {
    "gopher_quality": gopher_quality, "gopher_repetition": gopher_repetition, "c4": c4, "fineweb": fineweb,
}
REWRITING = ("c4",)  # the packs that rewrite the text as well as drop documents


def kernel(name: str) -> Callable[[Any, dict[str, Any]], Any]:
    """The Arrow kernel of a pack: (text, parameters) -> per row, why it is dropped (NULL: kept); for a pack
    that also rewrites (c4), struct<drop, text: the new text or NULL when unchanged>."""
    rule = PACKS[name]

    def run(text: Any, p: dict[str, Any]) -> Any:
        import pyarrow as pa

        tok = tokenizer()
        drops: list[str | None] = []
        texts: list[str | None] = []
        for value in text.to_pylist():
            if value is None:
                drops.append(None)
                texts.append(None)
                continue
            drop, new = rule(value, p, tok)
            drops.append(drop)
            texts.append(new)
        if name not in REWRITING:
            return pa.array(drops, pa.string())
        return pa.StructArray.from_arrays([pa.array(drops, pa.string()), pa.array(texts, pa.string())],
                                          names=["drop", "text"])

    run.__name__ = f"dr_{name}"
    return run
