"""A real, tiny filesystem for disk-full tests: a tmpfs of a few MiB mounted under the test's own folder.

A full disk is a fault of the kernel, not of Python: mounting a real small filesystem makes every writer (PyArrow's
C++ streams, pyiceberg's Avro writer, SQLite, DuckDB) see the ``ENOSPC`` it would see in production, where a
monkeypatched ``write`` would reach only the one call it replaces. Mounting needs root (CI runs as root); without
it the test is skipped, saying why.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

MOUNT_TIMEOUT_S = 20


@contextlib.contextmanager
def mounted_tmpfs(path: Path, size: str) -> Iterator[Path]:
    """``path`` (created if missing) as a tmpfs of ``size`` (``mount``'s syntax: ``1m``, ``512k``) while inside."""
    if os.geteuid() != 0:
        pytest.skip("a disk-full test mounts a small tmpfs, which needs root (CI runs as root)")
    path.mkdir(parents=True, exist_ok=True)
    mount = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        timeout=MOUNT_TIMEOUT_S,
    )
    if mount.returncode != 0:
        pytest.skip(f"cannot mount a {size} tmpfs at {path} for a disk-full test: {mount.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True, timeout=MOUNT_TIMEOUT_S)


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[Path]:
    """``folder`` seen read-only while inside: a read-only bind mount over itself, so every write there fails with
    ``EROFS``, even root's (``chmod a-w`` does not stop root, and the tests run as root). A bind mount, not a
    remount of the filesystem, so files a test still holds open for writing do not make it "busy"."""
    if os.geteuid() != 0:
        pytest.skip("a read-only test bind-mounts a folder, which needs root (CI runs as root)")
    subprocess.run(["mount", "--bind", str(folder), str(folder)], check=True, timeout=MOUNT_TIMEOUT_S)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], check=True, timeout=MOUNT_TIMEOUT_S)
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True, timeout=MOUNT_TIMEOUT_S)


def fill(folder: Path, name: str = "filler") -> Path:
    """Write ``folder/name`` until the filesystem is full (every later write there fails with ENOSPC)."""
    target = folder / name
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    block = b"\0" * 4096
    try:
        while True:
            os.write(fd, block)
    except OSError as error:
        if error.errno != 28:
            raise
    finally:
        os.close(fd)
    return target
