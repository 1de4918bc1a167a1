"""`apply url_blocklist(PATH)`: lowered to SQL, a join of each document's host and parent domains against a table
that the engine reads from the list file (DuckDB reads no file; the runtime reads it with `parse_blocklist`). The
file is an input of the stage: its sha256 is part of the stage's parameters, hence of its fingerprint."""

from __future__ import annotations

import re
from typing import Any

from datarecipe.operators.base import REQUIRED, FilterStep, Operator, Param, register

# The host of a URL (lowercased first): after an optional `scheme://` and `user@`, up to `:` `/` `?` `#`.
# A URL without a scheme (`example.com/page`) is read the same way. The same pattern runs in DuckDB (RE2)
# over the documents' URLs and in Python over the list's entries.
HOST_REGEX = r"^(?:[a-z][a-z0-9+.\-]*://|//)?(?:[^@/?#\s]*@)?([^:/?#\s]*)"
_DOMAIN = re.compile(r"[^\s/\\@:?#\[\]<>\"'`|{}^]+")


def host(url: str) -> str:
    """The host of a URL or a bare domain, lowercased, without a final dot."""
    m = re.match(HOST_REGEX, url.strip().lower())
    return (m.group(1) if m else "").rstrip(".")


def parse_blocklist(text: str) -> tuple[list[str], list[tuple[int, str]]]:
    """(domains, bad lines) of a blocklist: one domain or URL per line, `#` comments, blank lines.

    A `*.` or `.` before a domain is dropped (its subdomains are blocked anyway). An internationalized
    domain is listed in both its Unicode and its IDNA (`xn--`) spellings, so either form in a URL matches.
    """
    domains: set[str] = set()
    bad: list[tuple[int, str]] = []
    for number, raw in enumerate(text.lstrip("\ufeff").split("\n"), 1):
        line = re.split(r"(?:^|\s)#", raw, maxsplit=1)[0].strip()
        if not line:
            continue
        name = host(line).removeprefix("*.").lstrip(".")
        if not name or " " in line or not _DOMAIN.fullmatch(name):
            bad.append((number, raw.strip()))
            continue
        domains.add(name)
        try:
            domains.add(name.encode("idna").decode("ascii") if not name.isascii()
                        else name.encode("ascii").decode("idna").lower())
        except UnicodeError:
            pass
    return sorted(domains), bad


def lower(step: FilterStep) -> dict[str, Any]:
    """The filter.sql.j2 step: the document's URL as SQL, and the list's table (`step.files[0]`, the list the
    runtime resolved and hashed)."""
    assert step.files, "the runtime resolves every blocklist before planning"
    file = step.files[0]
    return {"kind": "url_blocklist", "label": "url_blocklist:blocked",
            "url_sql": step.sql(step.args["url"], "string"), "host_regex": HOST_REGEX,
            "table": {"name": f"url_blocklist_{step.index}", "path": file.path, "size": file.size,
                      "fingerprint": file.fingerprint}}


register(Operator("url_blocklist", "pack", (
    Param("path", "file", REQUIRED, "the list: a local file, relative to the working directory like "
          "sources; one domain or URL per line, `#` comments and blank lines ignored; any other line (a hosts-file "
          "`0.0.0.0 x.com`, an adblock `||x^`) stops the build, naming the line"),
    Param("url", "text", "meta.url", "the document's URL; any string expression")),
    "Drops documents whose URL's host, or any parent domain of it, is listed (`example.com` blocks "
    "`www.example.com` and `a.b.example.com`, not `notexample.com`). Hosts are compared lowercased, "
    "without a port, a user or a final dot; a listed URL stands for its host, `*.example.com` for "
    "`example.com`, and internationalized domains match in either spelling (`xn--`). Documents without "
    "a URL are kept. The list's sha256 is part of the stage fingerprint: editing it re-runs the filter. "
    "Drops are labelled `url_blocklist:blocked`.",
    lower=lower))
