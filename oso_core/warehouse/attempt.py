"""The files one commit attempt writes, so an attempt that did not land leaves none behind.

A commit rewrites the data files a merge or partition overwrite only partly replaces, writes a manifest per batch
of added or removed files, a manifest list for the new snapshot and (in the catalog's ``commit_table``) the table's
next metadata JSON, all before the catalog swaps the table's pointer. If the attempt fails before the swap (a full
disk while writing a manifest, a conflict, a locked SQLite file), those files are referenced by nothing.
pyiceberg removes the manifests of a refused commit itself, but not those of a commit that failed with any other
error (a manifest that hit a full disk stays behind, 0 bytes long), and never the metadata JSON, whose path it does
not return. :class:`RecordingFileIO` remembers every file the attempt creates through the table's FileIO, whether
or not its write finished; :func:`metadata_written` the catalog's metadata JSON. Deleting them is safe only when
the commit certainly did not land; the writer decides that, this module only remembers the paths.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Iterator
from typing import Any

from pyiceberg.catalog import Catalog
from pyiceberg.io import FileIO, InputFile, OutputFile
from pyiceberg.table import Transaction

from oso_core.warehouse.compat import metadata_writer, replace_metadata_writer

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


def new_snapshot_id(txn: Transaction, base_snapshot_id: int | None) -> int | None:
    """The snapshot staged in ``txn``, if any (how the writer tells whether a failed commit landed after all)."""
    snapshot = txn.table_metadata.current_snapshot()
    if snapshot is None or snapshot.snapshot_id == base_snapshot_id:
        return None
    return snapshot.snapshot_id


class RecordingFileIO(FileIO):
    """A table's FileIO that remembers the path of every file created through it (``written``), in any thread.

    The path is recorded before the file is opened, so a file whose write failed half way (or left it empty) is
    remembered too. Hand it to what writes (the snapshot producer, the rewrite's ``DataFileWriter``), not to
    readers: pyiceberg's Arrow scan reads only through its own FileIO classes.
    """

    def __init__(self, io: FileIO):
        super().__init__(io.properties)
        self.io = io
        self._recording_lock = threading.Lock()
        self._recorded: list[str] = []

    @property
    def written(self) -> list[str]:
        with self._recording_lock:
            return list(self._recorded)

    def new_input(self, location: str) -> InputFile:
        return self.io.new_input(location)

    def new_output(self, location: str) -> OutputFile:
        with self._recording_lock:
            self._recorded.append(location)
        return self.io.new_output(location)

    def delete(self, location: str | InputFile | OutputFile) -> None:
        self.io.delete(location)
