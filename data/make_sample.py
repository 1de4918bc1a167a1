#!/usr/bin/env python3
"""Regenerate the sample corpus under data/sample/ (kept for provenance; the build never runs it).

Sources are three Debian bookworm packages, fetched with `apt-get download` and unpacked with
`dpkg-deb -x` into a temporary directory:

  python3.11-doc   -> data/sample/pydocs.jsonl.gz       (PSF-2.0)
  debian-handbook  -> data/sample/handbook/*.parquet    (GPL-2.0+ or CC-BY-SA-3.0)
  golang-1.19-src  -> data/sample/code/*.go             (BSD-3-Clause, "The Go Authors")

It then mixes deliberately injected noise (exact duplicates, near duplicates and junk built from
real text) into the first two parts and lists every injected id in data/sample_junk_ids.txt.

Run as root (or with a prepared --debs directory) from anywhere:

    /work/main/.venv/bin/python data/make_sample.py            # fetches the .debs itself
    /work/main/.venv/bin/python data/make_sample.py --debs DIR # uses DIR/*.deb already fetched

Everything apart from the parquet writer (pyarrow) is the standard library. The output is
deterministic: one fixed seed, sorted file lists, gzip with mtime=0, stable sort of records.
"""

from __future__ import annotations

import argparse
import fnmatch
import glob
import gzip
import html
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

SEED = 20240611
PACKAGES = {
    "python3.11-doc": "3.11.2-6+deb12u8",
    "debian-handbook": "11.20220922",
    "golang-1.19-src": "1.19.8-2",
}

MIN_CHARS, MAX_CHARS = 200, 8000

PYDOCS_REAL = 1100
PYDOCS_EXACT_DUPS = 40
PYDOCS_NEAR_DUPS = 20
PYDOCS_JUNK = 40

HANDBOOK_LANGS = {  # directory in the package -> value of the `lang` column
    "en-US": "en",
    "de-DE": "de",
    "fr-FR": "fr",
    "es-ES": "es",
    "it-IT": "it",
    "pt-BR": "pt-br",
    "ja-JP": "ja",
    "ru-RU": "ru",
}
HANDBOOK_REAL_PER_LANG = 70
HANDBOOK_EXACT_DUPS = 20
HANDBOOK_NEAR_DUPS = 10
HANDBOOK_JUNK = 20

GO_FILES = 150
GO_MAX_BYTES = 20_000
GO_MIN_BYTES = 1_000

JUNK_KINDS = [
    "short_fragment",
    "nav_boilerplate",
    "symbol_lines",
    "all_caps",
    "bullet_list",
    "ellipsis_lines",
    "lorem_filler",
]

# ---------------------------------------------------------------------------------------------
# HTML -> sections of plain text


BLOCK_2 = {"p", "div", "pre", "table", "ul", "ol", "dl", "section", "blockquote", "h1", "h2",
           "h3", "h4", "h5", "h6", "figure", "article", "aside"}
BLOCK_1 = {"li", "dt", "dd", "tr", "br", "caption", "tbody", "thead"}
VOID = {"br", "img", "hr", "meta", "link", "input", "wbr", "col", "area", "base", "source"}
CELL = {"td", "th"}


class Sectioner(HTMLParser):
    """Turns one HTML page into sections split at h1-h4 headings.

    in_region(tag, attrs) -> bool opens the region that holds the content (None: whole body);
    skip(tag, attrs) -> bool drops an element with everything inside it.
    """

    def __init__(self, in_region, skip, heading_tags=("h1", "h2", "h3", "h4")):
        super().__init__(convert_charrefs=True)
        self.in_region_pred = in_region
        self.skip_pred = skip
        self.heading_tags = set(heading_tags)
        self.region_tag = None
        self.region_depth = 0 if in_region is not None else None
        self.region_done = False
        self.skip_tag = None
        self.skip_depth = 0
        self.pre = 0
        self.heading = None  # list of str while inside a heading
        self.heading_anchor = None
        self.sections = []  # dicts: title, anchor, buf
        self.cur = {"title": "", "anchor": "", "buf": []}
        self.pending_anchor = None

    # -- helpers
    def _active(self):
        if self.skip_tag is not None:
            return False
        if self.region_depth is None:
            return True
        return self.region_tag is not None and not self.region_done

    def _emit(self, s):
        if self.heading is not None:
            self.heading.append(s)
        self.cur["buf"].append(s)

    def _newline(self, n):
        self.cur["buf"].append("\n" * n)

    def _start_section(self):
        self.sections.append(self.cur)
        self.cur = {"title": "", "anchor": "", "buf": []}

    # -- parser callbacks
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if self.skip_tag is not None:
            if tag == self.skip_tag:
                self.skip_depth += 1
            return
        if self.region_depth is not None and self.region_tag is None and not self.region_done:
            if self.in_region_pred(tag, a):
                self.region_tag = tag
                self.region_depth = 1
            return
        if self.region_tag is not None and tag == self.region_tag:
            self.region_depth += 1
        if not self._active():
            return
        if self.skip_pred(tag, a):
            if tag not in VOID:
                self.skip_tag = tag
                self.skip_depth = 1
            return
        if "id" in a and self.heading is not None and not self.heading_anchor:
            self.heading_anchor = a["id"]
        if tag in ("section", "div") and "id" in a:
            self.pending_anchor = a["id"]
        if tag in self.heading_tags:
            self._start_section()
            self.cur["anchor"] = a.get("id") or self.pending_anchor or ""
            self.pending_anchor = None
            self.heading = []
            self.heading_anchor = None
        if tag == "pre":
            self.pre += 1
        if tag in BLOCK_2:
            self._newline(2)
        elif tag in BLOCK_1:
            self._newline(1)
        elif tag in CELL:
            self.cur["buf"].append(" ")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if self.skip_tag is not None:
            if tag == self.skip_tag:
                self.skip_depth -= 1
                if self.skip_depth == 0:
                    self.skip_tag = None
            return
        if self.region_tag is not None and tag == self.region_tag and not self.region_done:
            self.region_depth -= 1
            if self.region_depth == 0:
                self.region_done = True
                return
        if not self._active():
            return
        if tag in self.heading_tags and self.heading is not None:
            title = re.sub(r"\s+", " ", "".join(self.heading)).strip()
            self.cur["title"] = title
            if self.heading_anchor:  # publican puts the anchor inside the heading
                self.cur["anchor"] = self.heading_anchor
            self.heading = None
        if tag == "pre" and self.pre:
            self.pre -= 1
        if tag in BLOCK_2:
            self._newline(2)
        elif tag in BLOCK_1:
            self._newline(1)

    def handle_data(self, data):
        if not self._active():
            return
        if self.pre:
            self.cur["buf"].append("\x00PRE" + data + "\x00")
            if self.heading is not None:
                self.heading.append(data)
        else:
            self._emit(re.sub(r"\s+", " ", data))

    def result(self):
        self._start_section()
        out = []
        for sec in self.sections:
            text = render(sec["buf"])
            if text:
                out.append({"title": sec["title"], "anchor": sec["anchor"], "text": text})
        return out


def render(buf):
    """Joins parser output: collapses whitespace outside <pre>, keeps it inside."""
    s = "".join(buf)
    parts = re.split(r"\x00PRE(.*?)\x00", s, flags=re.S)
    out = []
    for i, p in enumerate(parts):
        if i % 2:
            out.append(p)
        else:
            p = re.sub(r"[ \t]+", " ", p)
            p = re.sub(r" *\n *", "\n", p)
            out.append(p)
    s = "".join(out)
    s = "\n".join(line.rstrip() for line in s.split("\n"))
    s = re.sub(r"\n{3,}", "\n\n", s)
    return s.strip()


def chunk(text):
    """Splits text into pieces of at most MAX_CHARS at paragraph (then line) boundaries."""
    if len(text) <= MAX_CHARS:
        return [text]
    pieces, cur = [], ""
    paras = text.split("\n\n")
    units = []
    for p in paras:
        if len(p) <= MAX_CHARS:
            units.append(p)
        else:
            lines, acc = p.split("\n"), ""
            for ln in lines:
                ln = ln[:MAX_CHARS]
                if acc and len(acc) + 1 + len(ln) > MAX_CHARS:
                    units.append(acc)
                    acc = ln
                else:
                    acc = acc + "\n" + ln if acc else ln
            if acc:
                units.append(acc)
    for u in units:
        if cur and len(cur) + 2 + len(u) > MAX_CHARS:
            pieces.append(cur)
            cur = u
        else:
            cur = cur + "\n\n" + u if cur else u
    if cur:
        pieces.append(cur)
    return [p.strip() for p in pieces]


def norm_key(text):
    """The key of exact(normalize: true): lowercase, runs of punctuation/whitespace collapsed."""
    return re.sub(r"[\W_]+", " ", text.lower()).strip()


# ---------------------------------------------------------------------------------------------
# Part 1: Python documentation

PY_EXCLUDE = {"genindex.html", "genindex-all.html", "py-modindex.html", "search.html",
              "contents.html", "index.html", "license.html", "copyright.html", "bugs.html",
              "about.html", "download.html", "glossary.html", "whatsnew/changelog.html"}


def py_pages(root):
    pages = []
    for p in sorted(glob.glob(os.path.join(root, "**", "*.html"), recursive=True)):
        rel = os.path.relpath(p, root).replace(os.sep, "/")
        if rel.startswith(("_", "genindex")) or rel in PY_EXCLUDE:
            continue
        if rel.endswith("/index.html"):
            continue  # table-of-contents pages
        pages.append((rel, p))
    return pages


def py_sections(path):
    with open(path, encoding="utf-8") as f:
        src = f.read()
    sp = Sectioner(
        in_region=lambda t, a: t == "div" and a.get("role") == "main",
        skip=lambda t, a: (t == "a" and "headerlink" in (a.get("class") or ""))
        or t in ("script", "style"),
    )
    sp.feed(src)
    sp.close()
    nav = py_nav_text(src)
    return sp.result(), nav


def py_nav_text(src):
    """The text of the page's 'related' navigation bar (real boilerplate, used for junk)."""
    m = re.search(r'<div class="related" role="navigation"[^>]*>(.*?)</ul>', src, re.S)
    if not m:
        return ""
    t = re.sub(r"<[^>]+>", " ", m.group(1))
    t = html.unescape(t)
    return re.sub(r"\s+", " ", t).strip()


def build_pydocs(root):
    pool = []  # candidate real documents
    page_max = {}  # rel -> highest section number used
    nav_by_page = {}
    for rel, path in py_pages(root):
        secs, nav = py_sections(path)
        nav_by_page[rel] = nav
        n = 0
        for sec in secs:
            for piece in chunk(sec["text"]):
                n += 1
                if MIN_CHARS <= len(piece) <= MAX_CHARS:
                    pool.append({"id": f"{rel}#{n}", "text": piece, "title": sec["title"],
                                 "license": "PSF-2.0", "_page": rel, "_n": n})
        page_max[rel] = n
    return pool, page_max, nav_by_page


# ---------------------------------------------------------------------------------------------
# Part 2: debian-handbook


def hb_sections(path):
    with open(path, encoding="utf-8") as f:
        src = f.read()

    def skip(t, a):
        cls = a.get("class") or ""
        return (
            t in ("head", "script", "style")
            or a.get("id") in ("banner", "title", "site_footer")
            or (t == "ul" and "docnav" in cls)
            or (t == "div" and cls.split()[:1] == ["toc"])
            or (t == "a" and "indexterm" in cls)
        )

    sp = Sectioner(in_region=None, skip=skip)
    sp.feed(src)
    sp.close()
    up = re.search(r'<link rel="up" href="([^"]+)"', src)
    up_href = up.group(1) if up else "index.html"
    nav = hb_nav_text(src)
    return sp.result(), up_href, nav


def hb_nav_text(src):
    parts = []
    m = re.search(r'<div id="banner">(.*?)</div>', src, re.S)
    if m:
        parts.append(m.group(1))
    for m in re.finditer(r'<ul class="docnav[^"]*">(.*?)</ul>', src, re.S):
        parts.append(m.group(1))
    t = re.sub(r"<[^>]+>", " ", " ".join(parts))
    return re.sub(r"\s+", " ", html.unescape(t)).strip()


def is_prose(p):
    """An English sentence-like paragraph (not a code block or a command line)."""
    return ("\n" not in p and len(p.split()) >= 8 and p.rstrip().endswith((".", ":", ")"))
            and re.search(r"\b(the|and|of|is|to)\b", p) is not None)


def build_handbook(root):
    by_lang = {}
    page_max = {}
    nav_by_page = {}
    en_paras = set()  # English paragraphs (to spot untranslated text)
    dropped_untranslated = 0
    for locale in ["en-US"] + sorted(k for k in HANDBOOK_LANGS if k != "en-US"):
        lang = HANDBOOK_LANGS[locale]
        base = f"https://debian-handbook.info/browse/{locale}/stable"
        docs = []
        for path in sorted(glob.glob(os.path.join(root, locale, "*.html"))):
            page = os.path.basename(path)
            if page == "index.html":
                continue
            secs, up_href, nav = hb_sections(path)
            chapter = page[:-5] if up_href in ("index.html", "#") else up_href.split("#")[0][:-5]
            nav_by_page[(locale, page)] = nav
            if locale == "en-US":
                en_paras.update(p.strip() for s in secs for p in s["text"].split("\n\n")
                                if len(p.strip()) > 40)
            n = 0
            for sec in secs:
                anchor = sec["anchor"] or "top"
                for k, piece in enumerate(chunk(sec["text"]), 1):
                    n += 1
                    if not (MIN_CHARS <= len(piece) <= MAX_CHARS):
                        continue
                    if locale != "en-US":
                        # translations of edition 11 lag behind the English text: drop sections
                        # that are mostly English, or hold any English prose paragraph
                        paras = [p.strip() for p in piece.split("\n\n") if len(p.strip()) > 40]
                        same = [p for p in paras if p in en_paras]
                        if paras and (len(same) / len(paras) > 0.5 or any(map(is_prose, same))):
                            dropped_untranslated += 1
                            continue
                    frag = anchor if k == 1 else f"{anchor}:{k}"
                    docs.append({"url": f"{base}/{page}#{frag}", "body": piece, "lang": lang,
                                 "chapter": chapter, "_key": (locale, page, anchor)})
            page_max[(locale, page)] = n
        by_lang[locale] = docs
    return by_lang, page_max, nav_by_page, dropped_untranslated


# ---------------------------------------------------------------------------------------------
# Noise

LOREM = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt "
         "ut labore et dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco "
         "laboris nisi aliquip ex ea commodo consequat duis aute irure in reprehenderit voluptate "
         "velit esse cillum fugiat nulla pariatur excepteur sint occaecat cupidatat non proident "
         "sunt culpa qui officia deserunt mollit anim id est laborum").split()


def pick_line(text, rng):
    """A real sentence of 20 to 200 characters from text (for an appended line)."""
    cands = [s for s in sentences(text) if 20 <= len(s) <= 200]
    return rng.choice(cands) if cands else None


def sentences(text):
    out = []
    for line in text.split("\n"):
        parts = re.split(r"(?<=[.!?。])\s+|(?<=。)", line.strip())
        out += [p.strip() for p in parts if p.strip()]
    return out


def make_junk(kind, text, title, nav, rng):
    words = text.split()
    if kind == "short_fragment":
        if len(words) >= 4:
            k = rng.randint(3, min(8, len(words)))
            return " ".join(words[:k])
        return text[: rng.randint(8, 20)].strip()
    if kind == "nav_boilerplate":
        nav = nav or title
        return "\n".join([nav] * rng.randint(15, 40))
    if kind == "symbol_lines":
        lines = [ln for ln in text.split("\n") if ln.strip()][:12]
        cols = rng.randint(3, 5)
        out = []
        for ln in lines:
            frag = " ".join(ln.split()[:4]) or ln[:20]
            out.append(f"#### {frag} ####")
            out.append("|" + "|".join(["-" * rng.randint(4, 10)] * cols) + "|")
            out.append("=" * rng.randint(20, 40))
        return "\n".join(out)
    if kind == "all_caps":
        return text[:1500].upper()
    if kind == "bullet_list":
        marks = ["•", "*", "-", "–", "·"]
        mark = rng.choice(marks)
        if len(words) >= 12:
            items, i = [], 0
            while i < len(words) and len(items) < 40:
                k = rng.randint(1, 3)
                items.append(" ".join(words[i:i + k]))
                i += k
        else:
            items = list(text)
        return "\n".join(f"{mark} {it}" for it in items)
    if kind == "ellipsis_lines":
        out = []
        for s in sentences(text)[:20]:
            w = s.split()
            if len(w) > 1:
                out.append(" ".join(w[: rng.randint(4, 9)]).rstrip(".,;:") + "...")
            else:
                out.append(s[: rng.randint(10, 25)] + "...")
        return "\n".join(out)
    if kind == "lorem_filler":
        paras = [title] if title else []
        for _ in range(rng.randint(3, 6)):
            sents = []
            for _ in range(rng.randint(3, 6)):
                w = [rng.choice(LOREM) for _ in range(rng.randint(6, 14))]
                sents.append(" ".join(w).capitalize() + ".")
            paras.append(" ".join(sents))
        return "\n\n".join(paras)
    raise ValueError(kind)


def long_enough(text, cjk=False):
    """Near duplicates are made only of texts long enough to stay near (5-gram Jaccard)."""
    return len(text) >= 1200 if cjk else len(text.split()) >= 120


def near_dup(text, rng, extra_line, cjk=False):
    """A real text with a few words swapped for others from the same text, or a line appended."""
    tokens = text.split(" ")
    cand = [i for i, t in enumerate(tokens) if re.fullmatch(r"[^\W\d_]{4,}", t)]
    if not cjk and len(cand) >= 60 and rng.random() < 0.5:
        pool = [tokens[i] for i in cand]
        for i in rng.sample(cand, rng.randint(2, 4)):
            choices = [w for w in pool if w != tokens[i]]
            if choices:
                tokens[i] = rng.choice(choices)
        new = " ".join(tokens)
        if new != text:
            return new, "near_dup_words_changed"
    return text + "\n\n" + extra_line, "near_dup_line_appended"


# ---------------------------------------------------------------------------------------------
# Part 3: Go sources


def go_non_go_license_globs(copyright_path):
    """Paths whose Debian copyright stanza is not 'License: Go' (excluded)."""
    text = Path(copyright_path).read_text(encoding="utf-8")
    globs = []
    for stanza in text.split("\n\n"):
        if not stanza.startswith("Files:"):
            continue
        lic = re.search(r"^License:\s*(\S+)", stanza, re.M)
        files = re.search(r"^Files:(.*?)(?=^\S)", stanza + "\nX", re.M | re.S)
        if lic and lic.group(1) != "Go" and files:
            globs += files.group(1).split()
    return globs


GO_HEADER = re.compile(
    r"\A// Copyright \d{4} The Go Authors\. All rights reserved\.\n"
    r"// Use of this source code is governed by a BSD-style\n"
    r"// license that can be found in the LICENSE file\.\n"
)


def pick_go(root, copyright_path, rng):
    src = os.path.join(root, "src")
    bad = go_non_go_license_globs(copyright_path)
    cands = []
    for p in sorted(glob.glob(os.path.join(src, "**", "*.go"), recursive=True)):
        rel = os.path.relpath(p, src).replace(os.sep, "/")
        parts = rel.split("/")
        if "testdata" in parts or "vendor" in parts:
            continue
        if any(fnmatch.fnmatch("src/" + rel, g) for g in bad):
            continue
        size = os.path.getsize(p)
        if not (GO_MIN_BYTES <= size < GO_MAX_BYTES):
            continue
        with open(p, "rb") as f:
            raw = f.read()
        try:
            txt = raw.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if not GO_HEADER.match(txt) or "Code generated" in txt[:2000] or "\r" in txt:
            continue
        cands.append((rel, raw))
    picked = rng.sample(cands, GO_FILES)
    return sorted(picked), len(cands)


# ---------------------------------------------------------------------------------------------


def fetch(debs_dir):
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    for pkg, ver in sorted(PACKAGES.items()):
        subprocess.run(["apt-get", "download", "-qq", f"{pkg}={ver}"], check=True, cwd=debs_dir)


def unpack(debs_dir, dest):
    roots = {}
    for pkg in sorted(PACKAGES):
        debs = sorted(glob.glob(os.path.join(debs_dir, f"{pkg}_*.deb")))
        if not debs:
            sys.exit(f"missing {pkg} .deb in {debs_dir}")
        d = os.path.join(dest, pkg)
        os.makedirs(d)
        subprocess.run(["dpkg-deb", "-x", debs[-1], d], check=True)
        roots[pkg] = d
    return roots


def write_jsonl_gz(path, rows):
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        for r in rows:
            gz.write((json.dumps(r, ensure_ascii=False) + "\n").encode("utf-8"))
    Path(path).write_bytes(buf.getvalue())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--debs", help="directory that already holds the three .deb files")
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    args = ap.parse_args()
    out = Path(args.out)
    sample = out / "sample"
    rng = random.Random(SEED)

    with tempfile.TemporaryDirectory() as tmp:
        debs = args.debs
        if not debs:
            debs = os.path.join(tmp, "debs")
            os.makedirs(debs)
            fetch(debs)
        roots = unpack(debs, os.path.join(tmp, "x"))

        if sample.exists():
            shutil.rmtree(sample)
        (sample / "handbook").mkdir(parents=True)
        (sample / "code").mkdir()
        noise = []  # (id, part, kind, source id)

        # ---- part 1
        py_root = os.path.join(roots["python3.11-doc"], "usr/share/doc/python3.11/html")
        pool, page_max, py_nav = build_pydocs(py_root)
        seen, uniq, nat_dups = set(), [], 0
        for d in pool:
            k = norm_key(d["text"])
            if k in seen:
                nat_dups += 1
                continue
            seen.add(k)
            uniq.append(d)
        real = rng.sample(uniq, PYDOCS_REAL)
        real_ids = {d["id"] for d in real}
        unused = [d for d in uniq if d["id"] not in real_ids]
        docs = [dict(d) for d in real]

        def next_id(d):
            page_max[d["_page"]] += 1
            return f"{d['_page']}#{page_max[d['_page']]}", page_max[d["_page"]]

        src_for_dups = rng.sample(real, PYDOCS_EXACT_DUPS)
        dup_ids = {d["id"] for d in src_for_dups}
        src_for_near = rng.sample([d for d in real if d["id"] not in dup_ids and long_enough(d["text"])],
                                  PYDOCS_NEAR_DUPS)
        for d in src_for_dups:
            nid, n = next_id(d)
            docs.append({**d, "id": nid, "_n": n})
            noise.append((nid, "pydocs", "exact_dup", d["id"]))
        for d in src_for_near:
            extra = None
            while extra is None:
                extra = pick_line(rng.choice(unused)["text"], rng)
            text, kind = near_dup(d["text"], rng, extra)
            nid, n = next_id(d)
            docs.append({**d, "id": nid, "text": text, "_n": n})
            noise.append((nid, "pydocs", kind, d["id"]))
        for i, d in enumerate(rng.sample(unused, PYDOCS_JUNK)):
            kind = JUNK_KINDS[i % len(JUNK_KINDS)]
            text = make_junk(kind, d["text"], d["title"], py_nav.get(d["_page"], ""), rng)
            nid, n = next_id(d)
            docs.append({**d, "id": nid, "text": text, "_n": n})
            noise.append((nid, "pydocs", "junk_" + kind, d["id"]))
        docs.sort(key=lambda d: (d["_page"], d["_n"]))
        rows = [{"id": d["id"], "text": d["text"], "title": d["title"], "license": d["license"]}
                for d in docs]
        write_jsonl_gz(sample / "pydocs.jsonl.gz", rows)
        stats = {"pydocs_pool": len(pool), "pydocs_natural_dups_removed": nat_dups,
                 "pydocs_rows": len(rows)}

        # ---- part 2
        hb_root = os.path.join(roots["debian-handbook"], "usr/share/doc/debian-handbook/html")
        by_lang, hb_max, hb_nav, untranslated = build_handbook(hb_root)
        seen, real, unused, nat_dups = set(), [], [], 0
        for locale in sorted(by_lang):
            uniq = []
            for d in by_lang[locale]:
                k = norm_key(d["body"])
                if k in seen:
                    nat_dups += 1
                    continue
                seen.add(k)
                uniq.append(d)
            picked = rng.sample(uniq, HANDBOOK_REAL_PER_LANG)
            ids = {d["url"] for d in picked}
            real += picked
            unused += [d for d in uniq if d["url"] not in ids]
        hdocs = [dict(d) for d in real]

        def hb_next_url(d):
            locale, page, anchor = d["_key"]
            hb_max[(locale, page)] += 1
            return f"{d['url'].split('#')[0]}#{anchor}:{hb_max[(locale, page)]}"

        src_for_dups = rng.sample(real, HANDBOOK_EXACT_DUPS)
        dup_ids = {d["url"] for d in src_for_dups}
        src_for_near = rng.sample([d for d in real if d["url"] not in dup_ids
                                   and long_enough(d["body"], cjk=d["lang"] == "ja")],
                                  HANDBOOK_NEAR_DUPS)
        for d in src_for_dups:
            nu = hb_next_url(d)
            hdocs.append({**d, "url": nu})
            noise.append((nu, "handbook", "exact_dup", d["url"]))
        for d in src_for_near:
            same_lang = [u for u in unused if u["lang"] == d["lang"]]
            extra = None
            while extra is None:
                extra = pick_line(rng.choice(same_lang)["body"], rng)
            text, kind = near_dup(d["body"], rng, extra, cjk=d["lang"] == "ja")
            nu = hb_next_url(d)
            hdocs.append({**d, "url": nu, "body": text})
            noise.append((nu, "handbook", kind, d["url"]))
        for i, d in enumerate(rng.sample(unused, HANDBOOK_JUNK)):
            kind = JUNK_KINDS[i % len(JUNK_KINDS)]
            title = d["body"].split("\n", 1)[0]
            text = make_junk(kind, d["body"], title, hb_nav.get(d["_key"][:2], ""), rng)
            nu = hb_next_url(d)
            hdocs.append({**d, "url": nu, "body": text})
            noise.append((nu, "handbook", "junk_" + kind, d["url"]))
        urls = [d["url"] for d in hdocs]
        assert len(urls) == len(set(urls)), "handbook urls must be unique"
        hdocs.sort(key=lambda d: (d["lang"], d["url"]))
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pa.schema([("url", pa.string()), ("body", pa.string()), ("lang", pa.string()),
                            ("chapter", pa.string())])
        half = (len(hdocs) + 1) // 2
        for j, part in enumerate([hdocs[:half], hdocs[half:]]):
            table = pa.Table.from_pylist(
                [{k: d[k] for k in ("url", "body", "lang", "chapter")} for d in part], schema)
            pq.write_table(table, sample / "handbook" / f"part-{j:05d}.parquet",
                           compression="zstd", compression_level=19, row_group_size=10_000)
        stats.update({"handbook_rows": len(hdocs), "handbook_natural_dups_removed": nat_dups,
                      "handbook_untranslated_dropped": untranslated})

        # ---- part 3
        go_root = os.path.join(roots["golang-1.19-src"], "usr/share/go-1.19")
        go_copyright = os.path.join(roots["golang-1.19-src"],
                                    "usr/share/doc/golang-1.19-src/copyright")
        picked, ncand = pick_go(go_root, go_copyright, rng)
        for rel, raw in picked:
            (sample / "code" / rel.replace("/", "__")).write_bytes(raw)
        stats.update({"go_candidates": ncand, "go_files": len(picked)})

        # ---- ground truth of injected noise, and the package licenses
        noise.sort()
        with open(out / "sample_junk_ids.txt", "w", encoding="utf-8") as f:
            f.write("# injected noise in data/sample (see SOURCES.md): id\tpart\tkind\tsource id\n")
            for row in noise:
                f.write("\t".join(row) + "\n")
        lic = out / "licenses"
        lic.mkdir(exist_ok=True)
        for pkg, rel in [("python3.11-doc", "usr/share/doc/python3.11-doc/copyright"),
                         ("debian-handbook", "usr/share/doc/debian-handbook/copyright"),
                         ("golang-1.19-src", "usr/share/doc/golang-1.19-src/copyright")]:
            shutil.copyfile(os.path.join(roots[pkg], rel), lic / f"{pkg}.copyright")

    counts = {}
    for _, part, kind, _ in noise:
        counts[(part, kind)] = counts.get((part, kind), 0) + 1
    stats["noise"] = {f"{p}/{k}": v for (p, k), v in sorted(counts.items())}
    print(json.dumps(stats, indent=2))


if __name__ == "__main__":
    main()
