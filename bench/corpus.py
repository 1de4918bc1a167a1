"""Build the benchmark corpus: real text from Debian bookworm packages, written by their authors, not by us.

    .venv/bin/python bench/corpus.py [--out bench/data/corpus.parquet] [--min-docs 20000]

The .deb files are fetched with `apt-get download PACKAGE=VERSION` (root, or a user apt lets download) into
bench/data/debs/, checked against the sha256 below, and unpacked with `dpkg-deb -x` into a temporary
directory. Documents:

  python3.11-doc   prose     en        HTML pages -> text (data/make_sample.py's Sectioner), one doc per section
  debian-handbook  prose     26 langs  HTML pages -> text (data/make_sample.py), one doc per page
  linux-doc-6.1    prose     en        Documentation/**/*.rst and *.txt (reStructuredText / plain text source)
  manpages(-dev)   manpage   en        man pages rendered with groff -man -Tutf8 (no hyphenation, left-adjusted)
  golang-1.19-src  code      -         src/**/*.{go,c,h,s} (no testdata/) and test/**/*.go

Every document has 200 to 100,000 characters: shorter ones are left out, longer prose is cut at paragraph (then
line) boundaries into pieces of at most 50,000 characters, longer code files (generated tables) are left out.
Undecodable (non UTF-8) files are left out. The rows are ordered by sha256 of the id, so any prefix of the file is
a mix of every package. Output columns: id, text, kind, lang, package (all strings; lang is null for code).

Deterministic: pinned package versions and hashes, sorted file lists, a fixed row order, fixed Parquet settings;
two runs give byte-identical files (the man pages depend on the groff version: 1.22.4 in bookworm).
"""

from __future__ import annotations

import argparse
import glob
import gzip
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
DEFAULT_OUT = DATA / "corpus.parquet"
DEBS = DATA / "debs"

sys.path.insert(0, str(ROOT / "data"))
import make_sample  # noqa: E402  (the sample builder: HTML -> text sections, reused as is)

# package -> (version, sha256 of the .deb)
PACKAGES = {
    "python3.11-doc": ("3.11.2-6+deb12u8", "50eb63e7f636c4281e9ce1b8f10386f1def42159eddce34fc1f41c46261df71b"),
    "debian-handbook": ("11.20220922", "3d5dbeac1f1afc9c094eab9d0f701f6ecff99c4927d5a4794cf6c85678134faa"),
    "golang-1.19-src": ("1.19.8-2", "2dfa82fe4f08f4e0193c532e561af4c91871f5235608f04f2bb8d57bb288df5a"),
    "linux-doc-6.1": ("6.1.176-1", "0d843674607703b9ef8c1db5e715c38ed52ff23574feabfe0d961d552126859f"),
    "manpages": ("6.03-2", "efa1ba4cd19ad7baeae959c9209a7eb74be2ebb858bcabb412597bfc9f588c91"),
    "manpages-dev": ("6.03-2", "96f55cb5e26231d5567c89b692bced63825a14a2d5bd18fdf16ea2ed44eb9838"),
}

MIN_CHARS = 200
MAX_CHARS = 100_000  # longer prose is cut into pieces of at most PIECE_CHARS; longer code is left out
PIECE_CHARS = 50_000
WORKERS = max(1, min(4, os.cpu_count() or 1))


# ---------------------------------------------------------------------------------------------
# fetching and unpacking


def deb_path(pkg: str) -> Path:
    version, _ = PACKAGES[pkg]
    return DEBS / f"{pkg}_{version.replace(':', '%3a')}_all.deb"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch(pkg: str) -> Path:
    """The cached .deb of pkg, downloaded with apt-get if missing; its sha256 must match."""
    version, want = PACKAGES[pkg]
    path = deb_path(pkg)
    if not (path.exists() and sha256_file(path) == want):
        DEBS.mkdir(parents=True, exist_ok=True)
        cmd = ["apt-get", "download", "-qq", f"{pkg}={version}"]
        if subprocess.run(cmd, cwd=DEBS, stderr=subprocess.DEVNULL).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], check=True)
            subprocess.run(cmd, cwd=DEBS, check=True)
        got = sha256_file(path)
        if got != want:
            sys.exit(f"{path}: sha256 {got}, expected {want}")
    return path


def unpack(pkg: str, dest: Path) -> Path:
    root = dest / pkg
    root.mkdir(parents=True)
    subprocess.run(["dpkg-deb", "-x", str(fetch(pkg)), str(root)], check=True)
    return root


# ---------------------------------------------------------------------------------------------
# splitting


def pieces(text: str) -> list[str]:
    """text itself if it is short enough, else pieces of at most PIECE_CHARS at paragraph (then line) boundaries."""
    if len(text) <= MAX_CHARS:
        return [text]
    units: list[str] = []
    for para in text.split("\n\n"):
        if len(para) <= PIECE_CHARS:
            units.append(para)
            continue
        acc = ""
        for line in para.split("\n"):
            line = line[:PIECE_CHARS]
            if acc and len(acc) + 1 + len(line) > PIECE_CHARS:
                units.append(acc)
                acc = line
            else:
                acc = acc + "\n" + line if acc else line
        if acc:
            units.append(acc)
    out, cur = [], ""
    for u in units:
        if cur and len(cur) + 2 + len(u) > PIECE_CHARS:
            out.append(cur)
            cur = u
        else:
            cur = cur + "\n\n" + u if cur else u
    if cur:
        out.append(cur)
    return [p.strip() for p in out if p.strip()]


def prose_docs(doc_id: str, text: str, lang: str | None, package: str, kind: str = "prose") -> list[dict]:
    parts = pieces(text)
    docs = []
    for k, piece in enumerate(parts, 1):
        if len(piece) < MIN_CHARS:
            continue
        pid = doc_id if len(parts) == 1 else f"{doc_id}:{k}"
        docs.append({"id": pid, "text": piece, "kind": kind, "lang": lang, "package": package})
    return docs


# ---------------------------------------------------------------------------------------------
# the packages


def _py_page(args: tuple[str, str]) -> list[dict]:
    rel, path = args
    secs, _ = make_sample.py_sections(path)
    docs = []
    for n, sec in enumerate(secs, 1):
        docs += prose_docs(f"python3.11-doc:{rel}#{n}", sec["text"], "en", "python3.11-doc")
    return docs


def python_docs(root: Path) -> list[dict]:
    html = root / "usr/share/doc/python3.11/html"
    with ProcessPoolExecutor(WORKERS) as ex:
        return [d for page in ex.map(_py_page, make_sample.py_pages(str(html)), chunksize=8) for d in page]


def handbook_lang(locale: str) -> str:
    lang, _ = locale.split("-")
    return locale.lower() if lang in ("pt", "zh") else lang


def _hb_page(args: tuple[str, str, str]) -> list[dict]:
    locale, page, path = args
    secs, _, _ = make_sample.hb_sections(path)
    text = "\n\n".join(s["text"] for s in secs)
    return prose_docs(f"debian-handbook:{locale}/{page}", text, handbook_lang(locale), "debian-handbook")


def handbook_docs(root: Path) -> list[dict]:
    html = root / "usr/share/doc/debian-handbook/html"
    jobs = []
    for locale in sorted(os.listdir(html)):
        if not (html / locale).is_dir() or not re.fullmatch(r"[a-z]{2}-[A-Z]{2}", locale):
            continue
        for path in sorted(glob.glob(str(html / locale / "*.html"))):
            page = os.path.basename(path)
            if page != "index.html":
                jobs.append((locale, page, path))
    with ProcessPoolExecutor(WORKERS) as ex:
        return [d for page in ex.map(_hb_page, jobs, chunksize=8) for d in page]


def read_text(path: str) -> str | None:
    raw = gzip.open(path).read() if path.endswith(".gz") else Path(path).read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def linux_docs(root: Path) -> list[dict]:
    base = root / "usr/share/doc/linux-doc-6.1"
    files = []
    for ext in ("rst", "txt"):
        for pattern in (f"**/*.{ext}", f"**/*.{ext}.gz"):
            files += glob.glob(str(base / "Documentation" / pattern), recursive=True)
    docs = []
    for path in sorted(files):
        text = read_text(path)
        if text is None or os.path.islink(path):
            continue
        rel = os.path.relpath(path, base).removesuffix(".gz")
        docs += prose_docs(f"linux-doc-6.1:{rel}", text, "en", "linux-doc-6.1")
    return docs


def _render_man(path: str) -> str | None:
    src = gzip.open(path).read()
    if src.startswith(b".so "):
        return None  # a link to another page
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"}
    cmd = ["groff", "-man", "-t", "-Tutf8", "-P", "-cbou", "-rLL=80n", "-rHY=0", "-dAD=l", "-rcR=1"]
    res = subprocess.run(cmd, input=src, capture_output=True, env=env)
    if res.returncode != 0:
        return None
    text = res.stdout.decode("utf-8", errors="strict")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def man_docs(roots: dict[str, Path]) -> list[dict]:
    if shutil.which("groff") is None:
        print("warning: groff not found, leaving the man pages out", file=sys.stderr)
        return []
    jobs = []
    for pkg in ("manpages", "manpages-dev"):
        base = roots[pkg] / "usr/share/man"
        for path in sorted(glob.glob(str(base / "man*" / "*.gz"))):
            if not os.path.islink(path):
                jobs.append((pkg, os.path.relpath(path, base).removesuffix(".gz"), path))
    with ThreadPoolExecutor(WORKERS) as ex:
        texts = list(ex.map(_render_man, [p for _, _, p in jobs]))
    docs = []
    for (pkg, rel, _), text in zip(jobs, texts, strict=True):
        if text:
            docs += prose_docs(f"{pkg}:{rel}", text, "en", pkg, kind="manpage")
    return docs


def go_docs(root: Path) -> list[dict]:
    base = root / "usr/share/go-1.19"
    files = []
    for ext in ("go", "c", "h", "s"):
        files += [p for p in glob.glob(str(base / "src" / "**" / f"*.{ext}"), recursive=True)
                  if "testdata" not in Path(p).relative_to(base).parts]
    files += glob.glob(str(base / "test" / "**" / "*.go"), recursive=True)
    docs = []
    for path in sorted(files):
        if os.path.islink(path):
            continue
        text = read_text(path)
        if text is None or not (MIN_CHARS <= len(text) <= MAX_CHARS):
            continue
        rel = os.path.relpath(path, base)
        docs.append({"id": f"golang-1.19-src:{rel}", "text": text, "kind": "code", "lang": None,
                     "package": "golang-1.19-src"})
    return docs


# ---------------------------------------------------------------------------------------------


def build(out: Path = DEFAULT_OUT, min_docs: int = 20_000, verbose: bool = True) -> Path:
    """Build the corpus into out (atomically); returns out."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    t0 = time.perf_counter()
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    for pkg in PACKAGES:
        fetch(pkg)
    with tempfile.TemporaryDirectory(prefix="corpus-", dir=out.parent) as tmp:
        roots = {pkg: unpack(pkg, Path(tmp) / "x") for pkg in sorted(PACKAGES)}
        docs: list[dict] = []
        for name, fn in [("python3.11-doc", lambda: python_docs(roots["python3.11-doc"])),
                         ("debian-handbook", lambda: handbook_docs(roots["debian-handbook"])),
                         ("linux-doc-6.1", lambda: linux_docs(roots["linux-doc-6.1"])),
                         ("manpages", lambda: man_docs(roots)),
                         ("golang-1.19-src", lambda: go_docs(roots["golang-1.19-src"]))]:
            t = time.perf_counter()
            part = fn()
            docs += part
            if verbose:
                print(f"  {name}: {len(part)} docs in {time.perf_counter() - t:.1f}s", file=sys.stderr)
        ids = [d["id"] for d in docs]
        dup = [i for i, n in Counter(ids).items() if n > 1]
        if dup:
            raise RuntimeError(f"duplicate ids, e.g. {dup[:3]}")
        if len(docs) < min_docs:
            raise RuntimeError(f"only {len(docs)} documents, fewer than --min-docs {min_docs}")
        docs.sort(key=lambda d: (hashlib.sha256(d["id"].encode()).hexdigest(), d["id"]))
        schema = pa.schema([(c, pa.string()) for c in ("id", "text", "kind", "lang", "package")])
        table = pa.Table.from_pylist(docs, schema)
        part_path = Path(tmp) / "corpus.parquet"
        pq.write_table(table, part_path, compression="zstd", compression_level=9, row_group_size=4096,
                       write_statistics=False)
        os.replace(part_path, out)
    if verbose:
        print_counts(docs)
        print(f"{len(docs)} docs, {sum(len(d['text']) for d in docs):,} chars -> {out} "
              f"({out.stat().st_size:,} bytes, sha256 {sha256_file(out)[:16]}) in {time.perf_counter() - t0:.0f}s")
    return out


def print_counts(docs: list[dict]) -> None:
    by: Counter = Counter()
    chars: Counter = Counter()
    for d in docs:
        by[(d["package"], d["kind"])] += 1
        chars[(d["package"], d["kind"])] += len(d["text"])
    print(f"{'package':<18}{'kind':<9}{'docs':>7}{'MB':>8}{'median':>8}")
    for key in sorted(by):
        lens = sorted(len(d["text"]) for d in docs if (d["package"], d["kind"]) == key)
        print(f"{key[0]:<18}{key[1]:<9}{by[key]:>7}{chars[key] / 1e6:>8.1f}{lens[len(lens) // 2]:>8}")
    langs = Counter(d["lang"] or "-" for d in docs)
    print("langs: " + ", ".join(f"{k} {v}" for k, v in sorted(langs.items(), key=lambda kv: (-kv[1], kv[0]))))
    kinds = Counter(d["kind"] for d in docs)
    print("kinds: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--min-docs", type=int, default=20_000)
    args = ap.parse_args()
    build(args.out, args.min_docs)


if __name__ == "__main__":
    main()
