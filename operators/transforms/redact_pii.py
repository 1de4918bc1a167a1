"""`apply redact_pii(...)`: an Arrow kernel, text -> the redacted text (NULL when unchanged). One RE2 scan of the
batch (pyarrow) finds the documents with a candidate; only those are rewritten, by Python regexes whose lookarounds
and validators (octet ranges, public IPs, digit counts) RE2 cannot express."""

from __future__ import annotations

import ipaddress
import re
from functools import cache
from typing import Any

from datarecipe.operators.base import Param, declare, register

# Each kind is a candidate pattern, valid both for RE2 and for Python's `re` (no lookarounds, no back-
# references), and a check of each candidate in its context. RE2 (pyarrow) finds the candidates of a whole
# batch, marking them with two control characters; Python only checks the candidates. A document that
# already holds a marker character is searched with Python's `re` instead: the same patterns, the same
# leftmost-first matches, the same checks.

# Emails: a local part at a domain with a TLD of letters (or an IDNA `xn--` one), in Latin, Greek or Cyrillic
# script. Scripts written without spaces (CJK, Thai) are left out of the class, so an address glued to a Chinese
# sentence is matched alone, not with the words before and after it. The local part is what addresses in text
# are made of, as in the usual `[A-Za-z0-9._%+-]+`, not every character RFC 5322 allows: next to an `@` in text,
# a quote, `=`, a backtick or a `/` is code or markup around an address (`author_email='gward@python.net'`), not
# part of it. It begins with a letter, digit or `_` (datatrove's and presidio's patterns begin at a word
# boundary): the `@` of a decorator in markup, ``:func:`@dataclasses.dataclass` `` or ```@property```, has none.
_LETTERS = "A-Za-z\u00C0-\u024F\u0370-\u03FF\u0400-\u04FF"  # the characters themselves: RE2 has no \u escape
_L = _LETTERS + "0-9"
_LOCAL = rf"[{_L}_][{_L}_%+-]*(?:\.[{_L}_%+-]+)*"
_EMAIL = (rf"{_LOCAL}@(?:[{_L}](?:[{_L}-]{{0,61}}[{_L}])?\.)+"
          rf"(?:xn--[A-Za-z0-9-]{{1,59}}|[{_LETTERS}]{{2,63}})")
_EMAIL_GLUED = re.compile(rf"[{_L}_-]")  # a TLD followed by one of these was cut short
# `logo@2x.png` is an image name, not an address.
_NOT_TLDS = frozenset("png jpg jpeg gif svg webp bmp ico tif tiff avif".split())

# IPv4: four dotted numbers; the check wants octets of 0..255 without leading zeros, not inside a longer
# run of dotted numbers (`1.2.3.4.5`) nor glued to a word (`v1.2.3.4`), not after a word or a product name
# that makes it a version or a section number (`Firefox/2.0.0.11`), not a numbered heading (`8.6.4.1. OR
# Patterns` at the start of a line), and (by default) a public address.
_IPV4 = r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}"
_OCTET = re.compile(r"0|[1-9][0-9]{0,2}")
_VERSION_BEFORE = re.compile(r"(?i)(?:version|release|section|chapter|rfc|§)\s*$|[a-z]/$")

# Phone numbers, in three plausible shapes; bare digit runs are never phone numbers.
_INTL = r"\+[1-9][0-9]{0,2}[ .-]?(?:\([0-9]{1,4}\)[ .-]?)?[0-9]{1,4}(?:[ .-]?[0-9]{1,4}){1,5}"
_NANP = r"(?:1[ .-]?)?(?:\([0-9]{3}\)[ .-]?|[0-9]{3}[ .-])[0-9]{3}[ .-][0-9]{4}"
_TRUNK = r"0[1-9][0-9]{0,3}[ ./-][0-9]{2,8}(?:[ ./-][0-9]{2,8}){0,3}"
# international +CC (E.164: at most 15 digits); North American (212) 555-0199, 212-555-0199,
# 1-212-555-0199; national with a trunk 0 and one separator throughout: 06 12 34 56 78, 020 7946 0958
_PHONE = f"{_INTL}|{_NANP}|{_TRUNK}"
_NANP_RE = re.compile(_NANP)


def _glued(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _email_ok(cand: str, before: str, after: str, p: dict[str, Any]) -> bool:
    return not _EMAIL_GLUED.match(after[:1]) and cand.rsplit(".", 1)[-1].lower() not in _NOT_TLDS


def _line_start(before: str) -> bool:
    """Whether only blanks stand between a candidate and the start of its line, from the CONTEXT characters
    before it (fewer at the start of the text)."""
    return not before.rsplit("\n", 1)[-1].strip() and ("\n" in before or len(before) < CONTEXT)


def _ip_ok(cand: str, before: str, after: str, p: dict[str, Any]) -> bool:
    if before[-1:] == "." or _glued(before[-1:]) or _glued(after[:1]) or after[:1] == "." and after[1:2].isdigit():
        return False
    if after[:1] == "." and after[1:2] in (" ", "\t") and _line_start(before):  # a heading's number
        return False
    if not all(_OCTET.fullmatch(o) and int(o) <= 255 for o in cand.split(".")) or _VERSION_BEFORE.search(before):
        return False
    return not p["public_ips_only"] or ipaddress.IPv4Address(cand).is_global


def _phone_ok(cand: str, before: str, after: str, p: dict[str, Any]) -> bool:
    if before[-1:] in ("+", ".", ",", "/", "-") or _glued(before[-1:]) or _glued(after[:1]):
        return False
    if after[:1] in (".", ",", "/", "-") and after[1:2].isdigit():
        return False
    digits = sum(ch.isdigit() for ch in cand)
    if cand.startswith("+"):
        return 9 <= digits <= 15
    if _NANP_RE.fullmatch(cand):
        return 10 <= digits <= 11
    return len(set(re.findall(r"[ ./-]", cand))) == 1 and 9 <= digits <= 12


_KINDS = (("email", _EMAIL, _email_ok), ("ip", _IPV4, _ip_ok), ("phone", _PHONE, _phone_ok))
_OPEN, _CLOSE = "\x00", "\x01"  # candidate markers (RE2 rewrite); texts holding them take the `re` path
CONTEXT = 16  # characters before a candidate that its check sees


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _marked_spans(marked: str) -> list[tuple[int, int]]:
    """Where the candidates are in the unmarked text, from the text with them marked."""
    spans: list[tuple[int, int]] = []
    pieces = marked.split(_OPEN)
    pos = len(pieces[0])
    for piece in pieces[1:]:
        cand, rest = piece.split(_CLOSE, 1)
        spans.append((pos, pos + len(cand)))
        pos += len(cand) + len(rest)
    return spans


def _replace(text: str, spans: Any, kind: str, p: dict[str, Any]) -> str:
    """The text with the candidates at `spans` that pass the kind's check replaced."""
    check = next(ok for name, _, ok in _KINDS if name == kind)
    out: list[str] = []
    last = 0
    for start, end in spans:
        if check(text[start:end], text[max(0, start - CONTEXT):start], text[end:end + 2], p):
            out += (text[last:start], p[f"{kind}_replacement"])
            last = end
    return "".join(out) + text[last:] if out else text


def redact(text: str, p: dict[str, Any]) -> str:
    """The text with the PII kinds that `p` enables replaced, emails first, then IPs, then phones
    (Python's `re`; the kernel finds the same candidates with RE2)."""
    for kind, pattern, _ in _KINDS:
        if p[kind]:
            text = _replace(text, [m.span() for m in _regex(pattern).finditer(text)], kind, p)
    return text


def redact_pii(text: Any, **p: Any) -> Any:
    """Arrow kernel: per row, the redacted text, or NULL if unchanged (every parameter is given: the checker
    fills in the defaults)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    kinds = [(kind, pattern) for kind, pattern, _ in _KINDS if p[kind]]
    out: list[str | None] = [None] * len(text)

    def where(mask: Any) -> Any:
        return np.flatnonzero(pc.fill_null(mask, False).to_numpy(zero_copy_only=False))

    if kinds and len(text):
        rows = where(pc.match_substring_regex(text, "|".join(f"(?:{pat})" for _, pat in kinds)))
        current = pc.take(text, pa.array(rows, pa.int64()))
        marker = where(pc.or_(pc.match_substring(current, _OPEN), pc.match_substring(current, _CLOSE)))
        fallback = set(marker.tolist())  # rows that hold a marker character: searched with `re`
        new: dict[int, str] = {}
        for kind, pattern in kinds:
            marked = pc.replace_substring_regex(current, f"({pattern})", f"{_OPEN}\\1{_CLOSE}")
            found = where(pc.not_equal(marked, current))
            if not len(found):
                continue
            taken = pa.array(found, pa.int64())
            changed = []
            for j, v, m in zip(found.tolist(), pc.take(current, taken).to_pylist(),
                               pc.take(marked, taken).to_pylist(), strict=True):
                spans = [x.span() for x in _regex(pattern).finditer(v)] if j in fallback else _marked_spans(m)
                if (replaced := _replace(v, spans, kind, p)) is not v:
                    new[j] = replaced
                    changed.append(j)
            if changed:
                mask = np.zeros(len(current), dtype=bool)
                mask[changed] = True
                current = pc.replace_with_mask(current, pa.array(mask),
                                               pa.array([new[j] for j in changed], pa.string()))
        for j, value in new.items():
            out[int(rows[j])] = value
    return pa.array(out, pa.string())


register(declare(redact_pii, "redact_pii", "transform", (
    Param("email", "bool", True, "replace email addresses: a local part of letters, digits and `._%+-`, "
          "beginning with a letter, digit or `_` (so not a decorator's `@` in markup), at a domain"),
    Param("ip", "bool", True, "replace IPv4 addresses (octets 0..255, no leading zeros; not `v1.2.3.4`, "
          "`1.2.3.4.5`, `Firefox/2.0.0.11`, a numbered heading `8.6.4.1. Title` at the start of a line, nor "
          "after `version`, `release`, `section`, `chapter`, `RFC`, `§`)"),
    Param("phone", "bool", True, "replace phone numbers: `+CC` and 9 to 15 digits, North American "
          "`(212) 555-0199` / `212-555-0199`, or national `06 12 34 56 78` / `020 7946 0958` (a leading 0, "
          "one separator throughout); bare digit runs, dates and times are left alone"),
    Param("public_ips_only", "bool", True,
          "replace only public IPs, as datatrove does (private, loopback, reserved and documentation "
          "ranges such as `192.168.0.1` or `127.0.0.1` are not personal)"),
    Param("email_replacement", "str", "<EMAIL>", "what an email address becomes"),
    Param("ip_replacement", "str", "<IP>", "what an IP address becomes"),
    Param("phone_replacement", "str", "<PHONE>", "what a phone number becomes")),
    "Transform: replaces email addresses, IP addresses and phone numbers in the text (emails first, then "
    "IPs, then phones; ASCII digits; addresses in Latin, Greek or Cyrillic script). Drops nothing; later "
    "rules see the redacted text. datatrove's PIIFormatter replaces emails and public IPs with fake ones "
    "(`email@example.com`); set the replacements to do the same."))
