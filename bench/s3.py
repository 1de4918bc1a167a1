"""What an S3 round trip costs against a local directory: the same recipe built from local files to a local
directory, and from S3 to S3, on an S3-protocol server on 127.0.0.1 (moto_server, started here).

    .venv/bin/python bench/s3.py [--corpus bench/data/corpus.parquet] [--repeats 3]

Two workloads: the example recipe (recipes/example.recipe, 2.3 MB of sample data), and the bench corpus
(bench/corpus.py, 127 MB of Parquet) through a recipe of heuristic rules, exact dedup, a shuffle and 64 MB
shards. For each:
- cold: the whole build, every stage run, sources and output local against sources and output on S3 (a cache
  of its own each);
- publish: the output stage alone (the stages cached), to a local directory against to an S3 prefix, `--repeats`
  times each, alternating; the median of the output stage's seconds.
The build published from the warm cache is compared byte for byte with the one written to a directory (every
file, manifest included), and the cold builds' shards with each other (their manifests differ: they name
different sources). moto is a Python server on this machine: its throughput is not
a real store's, and the figures say what the protocol and the client cost here, not what AWS would. The last
line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from s3 import download, s3, s3_server  # noqa: E402 - the tests' server, started the same way

CORPUS_RECIPE = """
recipe "s3bench" { seed 3 }
source docs = parquet("SOURCE", id: "id")
filter docs {
  keep words(text) >= 50
  keep mean_word_length() between 3 and 10
  drop symbol_ratio("#") > 0.1
  dedup exact
}
order { shuffle }
output "build/s3bench" shard 64MB
"""


def run(work: Path, *args: str) -> tuple[float, dict[str, float]]:
    """`recipe run ARGS --json` in `work`: its wall seconds and each stage's."""
    started = time.perf_counter()
    result = subprocess.run([str(Path(sys.executable).with_name("recipe")), "run", *args, "--json"], cwd=work,
                            capture_output=True, text=True)
    wall = time.perf_counter() - started
    if result.returncode:
        sys.exit(f"recipe run {' '.join(args)} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return wall, {e["stage"]: e["seconds"] for e in events if e.get("event") == "stage_end"}


def same(local: Path, prefix: str, scratch: Path, under: str = "") -> bool:
    """Whether the build at `prefix` holds the files of `local` (those under `under`), byte for byte."""
    got = download(prefix, scratch)
    local, got = local / under, got / under
    files = sorted(p.relative_to(local) for p in local.rglob("*") if p.is_file())
    return files == sorted(p.relative_to(got) for p in got.rglob("*") if p.is_file()) and all(
        (local / f).read_bytes() == (got / f).read_bytes() for f in files)


def workload(name: str, work: Path, local_recipe: str, s3_recipe: str, output: str, repeats: int,
             scratch: Path) -> dict[str, object]:
    prefix = f"builds/{name}"
    cold_local, _ = run(work, local_recipe, "--cache", "cache-local")
    cold_s3, _ = run(work, s3_recipe, "--cache", "cache-s3", "--output", f"s3://{prefix}")
    # the manifests name different sources: the shards are compared
    shards = same(work / output, prefix, scratch / f"{name}-cold", "data")
    to_dir, to_s3 = [], []
    for _ in range(repeats):
        to_dir.append(run(work, local_recipe, "--cache", "cache-local")[1]["output"])
        to_s3.append(run(work, local_recipe, "--cache", "cache-local", "--output", f"s3://{prefix}-warm")[1]["output"])
    identical = same(work / output, f"{prefix}-warm", scratch / f"{name}-warm")
    size = sum(p.stat().st_size for p in (work / output).rglob("*") if p.is_file())
    out = {"build_mb": round(size / 1e6, 1), "cold_local_s": round(cold_local, 2), "cold_s3_s": round(cold_s3, 2),
           "cold_ratio": round(cold_s3 / cold_local, 3), "publish_dir_s": round(statistics.median(to_dir), 3),
           "publish_s3_s": round(statistics.median(to_s3), 3),
           "publish_extra_s": round(statistics.median(to_s3) - statistics.median(to_dir), 3),
           "identical": identical, "cold_shards_identical": shards}
    print(f"{name}: build {out['build_mb']} MB; cold {cold_local:.1f} s local, {cold_s3:.1f} s S3 "
          f"(x{out['cold_ratio']}); output stage {out['publish_dir_s']} s to a directory, {out['publish_s3_s']} s "
          f"to S3 (median of {repeats}); the same build published and written: {identical}; the cold builds' "
          f"shards the same: {shards}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default=str(ROOT / "bench/data/corpus.parquet"))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not Path(args.corpus).exists():
        sys.exit(f"{args.corpus} is missing: run `.venv/bin/python bench/corpus.py` first")
    with tempfile.TemporaryDirectory() as tmp, s3_server(Path(tmp) / "moto.log"):
        root = Path(tmp)
        fs = s3()
        for bucket in ("corpus", "builds"):
            fs.mkdir(bucket)  # type: ignore[attr-defined]
        for path in sorted((ROOT / "data/sample").rglob("*")):
            if path.is_file():
                fs.put_file(str(path), f"corpus/sample/{path.relative_to(ROOT / 'data/sample').as_posix()}")  # type: ignore[attr-defined]
        fs.put_file(args.corpus, "corpus/bench/corpus.parquet")  # type: ignore[attr-defined]

        example = root / "example"
        example.mkdir()
        (example / "data").symlink_to(ROOT / "data")
        text = (ROOT / "recipes/example.recipe").read_text()
        (example / "local.recipe").write_text(text)
        (example / "s3.recipe").write_text(text.replace('"data/sample/', '"s3://corpus/sample/'))
        corpus = root / "corpus"
        corpus.mkdir()
        (corpus / "local.recipe").write_text(CORPUS_RECIPE.replace("SOURCE", str(Path(args.corpus).resolve())))
        (corpus / "s3.recipe").write_text(CORPUS_RECIPE.replace("SOURCE", "s3://corpus/bench/corpus.parquet"))
        results = {"example": workload("example", example, "local.recipe", "s3.recipe", "build/example",
                                       args.repeats, root),
                   "corpus": workload("corpus", corpus, "local.recipe", "s3.recipe", "build/s3bench", args.repeats,
                                      root)}
    print(json.dumps(results))


if __name__ == "__main__":
    main()
