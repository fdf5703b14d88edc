"""Content-addressed caches shared by flows, sweep workers and re-runs.

A cache is a folder of entries, each a folder named by the digest of everything its
files depend on. Entries are written whole into a temporary folder and renamed into
place, so concurrent workers never see half of one; the first writer of a key wins.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path


def cache_dir(kind: str) -> Path:
    """``$CODESIGN_CACHE_DIR/<kind>``, else ``$XDG_CACHE_HOME/codesign/<kind>``, else
    ``~/.cache/codesign/<kind>``."""
    if root := os.environ.get("CODESIGN_CACHE_DIR"):
        return Path(root) / kind
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "codesign" / kind


def files_digest(files: Mapping[str, Path]) -> str:
    """SHA-256 (hex) over each file's name and bytes, in the mapping's order."""
    h = hashlib.sha256()
    for name, path in files.items():
        h.update(name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created with its folder) for the block, so
    that processes or threads sharing one folder take turns. Where the lock file cannot be
    created (a read-only place) nothing is written there to share either, and no lock is
    taken."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+b")  # noqa: SIM115 (closed below)
    except OSError:
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the handle closes
        yield


def entry_lock(cache: Path, key: str) -> contextlib.AbstractContextManager[None]:
    """Entry ``key``'s lock, held while computing it, so that concurrent workers (sweep
    processes, test workers, or threads) that need the same entry wait for the first one
    and then read its result instead of repeating the work."""
    return file_lock(cache / ".locks" / f"{key}.lock")


def store_entry(cache: Path, key: str, files: Mapping[str, Path]) -> None:
    """Copy ``files`` (entry name -> source file) into the entry ``key`` atomically."""
    cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=cache))
    try:
        for name, src in files.items():
            shutil.copyfile(src, tmp / name)
        os.replace(tmp, cache / key)
    except OSError:
        pass  # another worker stored the same key first (or the cache is read-only)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
