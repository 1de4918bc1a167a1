"""`recipe verify`: every file of a build re-hashed against its manifest, and the manifest against its checksum
file (in `sha256sum` format, "HASH  manifest.json", so `sha256sum -c` reads it too)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from datarecipe.runtime.artifacts.report import load_manifest
from datarecipe.runtime.artifacts.shards import MANIFEST, sha256_file


def verify(path: str) -> dict[str, Any]:
    """What differs between the build at `path` and what its manifest says: `problems`, one line each (empty when
    every file matches), with the count of `files` and `shards` checked. A build from before whole-build
    checksums (output layout 3 and older; `whole_build` false) lists its shards, ledger and quarantine only:
    those are checked."""
    directory = Path(path)
    manifest = load_manifest(path)
    checksum = directory / f"{MANIFEST}.sha256"
    recorded = checksum.read_text(encoding="utf-8", errors="replace").split() if checksum.is_file() else None
    whole = recorded is not None or "files" in manifest
    problems = [] if recorded is not None or not whole else [f"{checksum.name}: missing"]
    files: list[tuple[str, int | None, str | None]] = [(MANIFEST, None, (recorded or [""])[0] if whole else None)]
    try:
        shards = [(str(s["path"]), int(s["bytes"]), str(s["sha256"])) for s in manifest["shards"]]
        files += shards
        files += [(str(manifest[k]["path"]), None, manifest[k].get("sha256")) for k in ("ledger", "quarantine")]
        files += [(str(name), None, str(digest)) for name, digest in dict(manifest.get("files", {})).items()]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        shards = []
        problems.append(f"{MANIFEST}: malformed ({type(exc).__name__}: {exc}); its files cannot be checked")
    for name, size, digest in files:
        file = directory / name
        if not file.is_file():
            problems.append(f"{name}: missing")
        elif size is not None and file.stat().st_size != size:
            problems.append(f"{name}: {file.stat().st_size:,} bytes, the manifest says {size:,}")
        elif digest is not None and sha256_file(file) != digest:
            problems.append(f"{name}: sha256 differs from the " + ("checksum file's" if name == MANIFEST else
                                                                    "manifest's"))
    listed = {name for name, _, _ in files} | {checksum.name}
    for file in sorted(p for p in directory.rglob("*") if p.is_file()) if whole else ():
        if file.relative_to(directory).as_posix() not in listed:
            problems.append(f"{file.relative_to(directory).as_posix()}: not in the manifest")
    return {"dir": str(directory), "ok": not problems, "files": len(files), "shards": len(shards),
            "whole_build": whole, "problems": problems}
