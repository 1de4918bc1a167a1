"""A real S3-protocol server on 127.0.0.1 for the tests (moto's `moto_server`, from PyPI): started once per test
module, with dummy credentials; the build's processes reach it through `AWS_ENDPOINT_URL`, which boto, s3fs and
DVC's S3 remote read. No traffic leaves the machine."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def s3_server(log: Path) -> Iterator[str]:
    """A moto S3 server on a free loopback port, its endpoint in this process's environment (and so in every
    command a test runs) while it runs; yields the endpoint URL."""
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
                              stdout=log.open("wb"), stderr=subprocess.STDOUT)
    saved = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                            "AWS_DEFAULT_REGION", "AWS_EC2_METADATA_DISABLED")}
    os.environ.update({"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"})
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(endpoint, timeout=2).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not start: {log.read_text()[-2000:]}") from None
                time.sleep(0.2)
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=30)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# `python -c KILL_ON_UPLOAD recipe-args...`: the `recipe` command, SIGKILLed by itself as it begins its n-th upload to
# the store (n in the environment's KILL_ON_UPLOAD): a kill at a known point of publishing a build.
KILL_ON_UPLOAD = """
import os, signal, sys
import s3fs.core
count = {"n": 0}
original = s3fs.core.S3FileSystem._put_file
async def put_file(self, lpath, rpath, *args, **kwargs):
    count["n"] += 1
    if count["n"] == int(os.environ["KILL_ON_UPLOAD"]):
        os.kill(os.getpid(), signal.SIGKILL)
    return await original(self, lpath, rpath, *args, **kwargs)
s3fs.core.S3FileSystem._put_file = put_file
from datarecipe.runtime.cli import main
sys.argv[0] = "recipe"
sys.exit(main())
"""


def killed_at_upload(n: int, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`recipe ARGS`, killed as it begins its n-th upload (KILL_ON_UPLOAD)."""
    return subprocess.run([sys.executable, "-c", KILL_ON_UPLOAD, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "KILL_ON_UPLOAD": str(n)})


def s3() -> object:
    """An s3fs file system on the test server (a fresh instance: s3fs caches listings)."""
    import s3fs

    return s3fs.S3FileSystem(skip_instance_cache=True)


def download(prefix: str, to: Path) -> Path:
    """Every object under `prefix` (`BUCKET/PREFIX`) copied into the directory `to`."""
    fs = s3()
    for key in fs.find(prefix):  # type: ignore[attr-defined]
        target = to / key[len(prefix.rstrip("/")) + 1:]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(fs.cat_file(key))  # type: ignore[attr-defined]
    return to
