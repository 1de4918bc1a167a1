"""The words the rule packs count: a re-implementation of the rules of spaCy's English tokenizer (datatrove's
default), which splits punctuation, contractions and hyphens off words. A whitespace-separated chunk is split once
and remembered, so the cost per document is close to one dict lookup per chunk. The character tables are built on
first use, so `recipe check` does not pay for them."""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import cache

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

@cache
def terminal() -> frozenset[str]:
    """Sentence-final punctuation, for line endings (FineWeb, C4) and sentence counts (C4)."""
    return frozenset(
        ch for cp in range(0x30000)
        if unicodedata.category(ch := chr(cp)) == "Po" and "INVERTED" not in unicodedata.name(ch, "")
        and any(k in unicodedata.name(ch, "") for k in ("FULL STOP", "QUESTION MARK", "EXCLAMATION", "DANDA"))
        and ch not in "·։"
    ) | frozenset("!.?։؟۔。！？｡‼⁇⁈⁉")


@cache
def symbols() -> frozenset[str]:
    """Characters that make a token "only symbols" for Gopher: ASCII and common Unicode punctuation, control
    characters, the full-width forms and sentence-final punctuation."""
    return frozenset(
        "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~«´»–—’“”„…‼‽⁇⁈⁉∶━►、。〈〉《》「」【】！％（），．１：；？～｡"
        + "".join(chr(c) for c in (*range(0, 9), *range(11, 32), *range(127, 160)))
    ) | terminal()

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
