"""`recipe verify`: every file of a build re-hashed against its manifest, and the manifest against its checksum
file (in `sha256sum` format, "HASH  manifest.json", so `sha256sum -c` reads it too). A build is a directory or an
object store's prefix (`s3://BUCKET/PREFIX`), read through fsspec."""

from __future__ import annotations

from typing import Any

from datarecipe.runtime.artifacts.report import load_manifest
from datarecipe.runtime.artifacts.shards import MANIFEST, sha256_file
from datarecipe.runtime.paths import is_remote
from datarecipe.runtime.stages.atomic import PUBLISHING, object_store, published_files, store_errors


def verify(path: str) -> dict[str, Any]:
    """What differs between the build at `path` and what its manifest says: `problems`, one line each (empty when
    every file matches), with the count of `files` and `shards` checked. A build from before whole-build
    checksums (output layout 3 and older; `whole_build` false) lists its shards, ledger and quarantine only:
    those are checked."""
    manifest = load_manifest(path)
    with store_errors(path, "read"):
        return _verify(path, manifest)


def _verify(path: str, manifest: dict[str, Any]) -> dict[str, Any]:
    fs, root = object_store(path)
    found = {name: int(fs.size(f"{root}/{name}")) for name in published_files(fs, root)}
    checksum = f"{MANIFEST}.sha256"
    recorded = fs.cat_file(f"{root}/{checksum}").decode("utf-8", "replace").split() if checksum in found else None
    whole = recorded is not None or "files" in manifest
    problems = [] if recorded is not None or not whole else [f"{checksum}: missing"]
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
        if name not in found:
            problems.append(f"{name}: missing")
        elif size is not None and found[name] != size:
            problems.append(f"{name}: {found[name]:,} bytes, the manifest says {size:,}")
        elif digest is not None and sha256_file(f"{root}/{name}", fs) != digest:
            problems.append(f"{name}: sha256 differs from the " + ("checksum file's" if name == MANIFEST else
                                                                    "manifest's"))
    # A publish stopped after its commit, before it removed its marker, left a committed build and the marker.
    listed = {name for name, _, _ in files} | {checksum} | ({PUBLISHING} if is_remote(path) else set())
    for name in sorted(found) if whole else ():
        if name not in listed:
            problems.append(f"{name}: not in the manifest")
    return {"dir": path, "ok": not problems, "files": len(files), "shards": len(shards),
            "whole_build": whole, "problems": problems}
