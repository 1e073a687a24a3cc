"""The files one commit attempt writes besides data files, so an attempt that did not land leaves none behind.

A commit writes a manifest per batch of added or removed files, a manifest list for the new snapshot and (in the
catalog's ``commit_table``) the table's next metadata JSON, all before the catalog swaps the table's pointer. If
the catalog then refuses or cannot be reached (a conflict, a locked SQLite file), those files are referenced by
nothing. pyiceberg removes the manifests of a refused commit itself, but not those of a commit that failed with
any other error, and never the metadata JSON, whose path it does not return. Deleting them is safe only when the
commit certainly did not land; the writer decides that, this module only remembers the paths.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

from pyiceberg.catalog import Catalog
from pyiceberg.table import Transaction

from oso_core.warehouse.compat import metadata_writer, replace_metadata_writer, transaction_io

_WRITTEN: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("oso_metadata_written", default=None)
_MARK = "_oso_records_metadata_paths"


def record_metadata_writes(catalog: Catalog) -> None:
    """Make the catalog report the metadata files it writes (once per catalog; a no-op for REST catalogs).

    pyiceberg's metastore catalogs write the new metadata JSON through ``self._write_metadata``; wrapping it on
    the instance is the one way to learn a failed commit's metadata path.
    """
    original = metadata_writer(catalog)
    if original is None or getattr(original, _MARK, False):
        return

    def write_metadata(metadata: Any, io: Any, metadata_path: str) -> None:
        if (paths := _WRITTEN.get()) is not None:
            paths.append(metadata_path)
        original(metadata, io, metadata_path)

    setattr(write_metadata, _MARK, True)
    replace_metadata_writer(catalog, write_metadata)


@contextlib.contextmanager
def metadata_written() -> Iterator[list[str]]:
    """The metadata files a catalog wrapped by :func:`record_metadata_writes` writes inside this block."""
    paths: list[str] = []
    token = _WRITTEN.set(paths)
    try:
        yield paths
    finally:
        _WRITTEN.reset(token)


def new_snapshot_files(txn: Transaction, base_snapshot_id: int | None) -> tuple[int | None, list[str]]:
    """The snapshot staged in ``txn`` (if any) and the manifest list and manifests written for it."""
    snapshot = txn.table_metadata.current_snapshot()
    if snapshot is None or snapshot.snapshot_id == base_snapshot_id:
        return None, []
    io = transaction_io(txn)
    paths = [snapshot.manifest_list]
    with contextlib.suppress(Exception):  # best effort: an unreadable list leaves its manifests behind
        paths += [m.manifest_path for m in snapshot.manifests(io) if m.added_snapshot_id == snapshot.snapshot_id]
    return snapshot.snapshot_id, paths
