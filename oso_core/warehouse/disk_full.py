"""A write that ran out of disk space: one ``WarehouseError`` naming the table, the full filesystem and what to do.

PyArrow (data files, manifests) and the catalog (metadata JSON) raise a bare ``OSError: [Errno 28]`` that names
neither the table nor the place that is full; a write on a full disk then reads like a bug. The writer turns it
into :class:`DiskFullError` once, where it knows the table and its location, after its files were cleaned up.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from oso_core.warehouse.errors import WarehouseError
from oso_core.warehouse.storage import iceberg_setting, is_object_store

# ENOSPC: no space left on the device; EDQUOT: the user's quota on it is used up (the same remedy).
_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
# SQLite's SQLITE_FULL, for an embedded catalog on the same full disk.
_SQLITE_FULL = "database or disk is full"


class DiskFullError(WarehouseError):
    """A write found no space left where the table's files (or the catalog) live."""


def is_disk_full(error: BaseException) -> bool:
    """The error, or one it was raised from, says the disk (or the user's quota on it) is full."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in _FULL_ERRNOS:
            return True
        if _SQLITE_FULL in str(current).lower():
            return True
        current = current.__cause__ or current.__context__
    return False


def disk_full_error(identifier: str, location: str, error: BaseException, *, may_have_landed: bool) -> DiskFullError:
    """The error to raise for ``error`` (a full disk) while writing ``identifier``, whose files live at ``location``.

    ``may_have_landed``: the commit may have reached the catalog, so its files were kept and the table may have
    changed (the writer could not tell); otherwise the table is at its previous snapshot.
    """
    where = _describe_place(getattr(error, "filename", None) or location)
    outcome = (
        "the commit may have landed (the catalog could not tell), so its files were kept: check the table's "
        "current snapshot before rerunning"
        if may_have_landed
        else "the table is unchanged and the files this write had written were removed"
    )
    move = f"{iceberg_setting('warehouse')} or OSO_HOME"
    return DiskFullError(
        f"{identifier}: no space left on the disk {where}; {outcome}. Free space there (or move the lake "
        f"elsewhere with {move}) and rerun the write"
    )


def _describe_place(location: str) -> str:
    """``holding <path> (filesystem mounted at <mount>: <size> in all, <free> free now)``, as far as a local path
    allows. "Now" is after the write removed its own files, so it may be more than the write found."""
    if is_object_store(location):
        return f"holding {location}"
    path = Path(location.removeprefix("file://"))
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    if existing is None:
        return f"holding {path}"
    mount = existing.resolve()
    while not os.path.ismount(mount) and mount != mount.parent:
        mount = mount.parent
    try:
        usage = shutil.disk_usage(existing)
    except OSError:
        return f"holding {path} (filesystem mounted at {mount})"
    return f"holding {path} (filesystem mounted at {mount}: {_size(usage.total)} in all, {_size(usage.free)} free now)"


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
