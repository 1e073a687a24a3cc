"""The one module that touches pyiceberg's private names; the rest of the warehouse calls these wrappers.

pyiceberg's public API does not cover everything the warehouse does (its own Parquet writer, an overwrite that
drops tombstone manifests, cleaning up after a failed commit), so a few private names are unavoidable. Keeping them
here, each behind a wrapper whose docstring says why it is needed and what the public alternative would be, makes
a pyiceberg upgrade a review of one file. ``TOUCH_POINTS`` lists them; ``tests/test_pyiceberg_compat.py`` proves
no other module uses a private pyiceberg name, that the installed pyiceberg is the pinned ``PYICEBERG_VERSION``,
and that each touch point still exists with the signature below.

Private names are looked up when a wrapper runs, not on import, so a pyiceberg that dropped one still imports
this package and the compat test can report every touch point to re-check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyiceberg.table import DataScan, Transaction

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.catalog import Catalog
    from pyiceberg.io import FileIO
    from pyiceberg.manifest import ManifestFile
    from pyiceberg.schema import Schema

# The pyiceberg release these wrappers were written and checked against (must equal the pin in pyproject.toml).
PYICEBERG_VERSION = "0.12.0"


@dataclass(frozen=True)
class TouchPoint:
    """One private pyiceberg name this module relies on.

    ``owner`` is ``module:qualname`` of what holds the name (``module`` alone for a module function);
    ``signature`` is ``str(inspect.signature(...))`` of the function on ``PYICEBERG_VERSION``, or None for an
    instance attribute (checked on a real instance); ``wrappers`` are the functions here that use it.
    """

    owner: str
    name: str
    signature: str | None
    wrappers: tuple[str, ...]

    @property
    def target(self) -> str:
        return f"{self.owner.replace(':', '.')}.{self.name}"


TOUCH_POINTS: tuple[TouchPoint, ...] = (
    TouchPoint("pyiceberg.table:Transaction", "_table", None, ("transaction_io", "transaction_scan", "memoized")),
    TouchPoint(
        "pyiceberg.table:Transaction", "_updates", None, ("staged_updates", "restore_staged_updates", "memoized")
    ),
    TouchPoint(
        "pyiceberg.table.update.snapshot:_OverwriteFiles",
        "_existing_manifests",
        "(self) -> 'list[ManifestFile]'",
        ("filter_carried_manifests",),
    ),
    TouchPoint(
        "pyiceberg.catalog:MetastoreCatalog",
        "_write_metadata",
        "(metadata: 'TableMetadata', io: 'FileIO', metadata_path: 'str') -> 'None'",
        ("metadata_writer", "replace_metadata_writer"),
    ),
    TouchPoint(
        "pyiceberg.catalog:Catalog",
        "_convert_schema_if_needed",
        "(schema: 'Schema | pa.Schema', format_version: 'TableVersion' = 2) -> 'Schema'",
        ("schema_without_ids",),
    ),
    TouchPoint(
        "pyiceberg.io.pyarrow",
        "_get_parquet_writer_kwargs",
        "(table_properties: 'Properties') -> 'dict[str, Any]'",
        ("parquet_writer_kwargs",),
    ),
    TouchPoint(
        "pyiceberg.io.pyarrow",
        "_to_requested_schema",
        "(requested_schema: 'Schema', file_schema: 'Schema', batch: 'pa.RecordBatch', "
        "downcast_ns_timestamp_to_us: 'bool' = False, include_field_ids: 'bool' = False, "
        "projected_missing_fields: 'dict[int, Any]' = {}, allow_timestamp_tz_mismatch: 'bool' = False, "
        "format_model: 'FileFormatModel | None' = None) -> 'pa.RecordBatch'",
        ("to_requested_schema",),
    ),
    TouchPoint(
        "pyiceberg.io.pyarrow:PyArrowFileIO",
        "_initialize_s3_fs",
        "(self, netloc: 'str | None') -> 'FileSystem'",
        ("pyiceberg_s3_filesystem",),
    ),
)


# -- transactions ---------------------------------------------------------------------------------------------------
def transaction_io(txn: Transaction) -> FileIO:
    """The FileIO of the table ``txn`` changes (its catalog's credentials and settings).

    Why private: ``Transaction`` keeps its table in ``_table`` and exposes no FileIO; a transaction from
    ``catalog.create_table_transaction`` has no ``Table`` the caller could ask instead.
    Public alternative: keep the ``Table`` a transaction came from and use ``table.io`` (not possible for a staged
    create), or ``pyiceberg.io.load_file_io(catalog.properties, location)``, which builds a second FileIO.
    """
    return txn._table.io


def transaction_scan(txn: Transaction) -> DataScan:
    """A scan of the table as ``txn`` sees it (its staged schema, spec and snapshot), built with public ``DataScan``.

    Same as ``txn._scan()`` (which the warehouse called before): that private method builds exactly this
    ``DataScan``; only the FileIO needs ``_table`` (see :func:`transaction_io`).
    Public alternative: ``table.scan()`` scans the committed table, not the transaction's staged state.
    """
    return DataScan(table_metadata=txn.table_metadata, io=transaction_io(txn))


def memoized(txn: Transaction) -> Transaction:
    """``txn``, its ``table_metadata`` computed once per staged change instead of on every read.

    pyiceberg's ``Transaction.table_metadata`` applies every staged update to the table's metadata and deep-copies
    the result on each read, and a write reads it some twenty times (the writer, the merge planner, pyiceberg's own
    snapshot producer). The copy grows with the table's history (every snapshot, with its summary), so a windowed
    load's commits got slower with each window: half of a 200k-record open_collective load was these copies. The
    metadata is a frozen model that nothing mutates, so the same value is handed out until ``txn._updates`` or
    ``txn._table.metadata`` is replaced (both are, never changed in place, on every staged update and refresh).
    The class of ``txn`` becomes a subclass of its own class (``Transaction`` or a staged create's) overriding the
    one property, so pyiceberg's code that reads it through the transaction gets the memo too.

    Why private: the memo key is ``_table.metadata`` and ``_updates``, the property's own inputs.
    Public alternative: none; ``update_table_metadata(table.metadata, updates)`` is what the property computes.
    """
    cls = type(txn)
    memo_class = _MEMO_CLASSES.get(cls)
    if memo_class is None:
        memo_class = type(cls.__name__, (cls,), {"table_metadata": property(_memoized_metadata)})
        memo_class.__module__ = cls.__module__
        _MEMO_CLASSES[cls] = memo_class
    txn.__class__ = memo_class
    return txn


_MEMO_CLASSES: dict[type, type] = {}


def _memoized_metadata(txn: Transaction) -> Any:
    from pyiceberg.table.update import update_table_metadata

    base, updates = txn._table.metadata, txn._updates
    memo = txn.__dict__.get("_oso_metadata_memo")
    if memo is not None and memo[0] is base and memo[1] is updates:
        return memo[2]
    metadata = update_table_metadata(base, updates)
    txn.__dict__["_oso_metadata_memo"] = (base, updates, metadata)
    return metadata


def staged_updates(txn: Transaction) -> tuple[Any, ...]:
    """The metadata updates staged in ``txn`` so far, to put back with :func:`restore_staged_updates`.

    Why private: ``commit_transaction`` clears ``Transaction._updates`` even when the commit fails, so a staged
    table create (which cannot be re-staged from a reloaded table: there is none) could not be committed again.
    Public alternative: none in pyiceberg 0.12; a new ``catalog.create_table_transaction`` restages the create but
    not the schema evolution and files already staged on it.
    """
    return txn._updates


def restore_staged_updates(txn: Transaction, updates: tuple[Any, ...]) -> None:
    """Put back what :func:`staged_updates` returned, after a failed commit cleared it.

    Why private and Public alternative: see :func:`staged_updates` (``Transaction._updates``).
    """
    txn._updates = updates


def filter_carried_manifests(overwrite: Any, keep: Callable[[ManifestFile], bool]) -> None:
    """Make ``overwrite`` (from ``txn.update_snapshot().overwrite()``) carry only the parent manifests ``keep`` accepts.

    Why private: pyiceberg 0.12's ``_OverwriteFiles._existing_manifests`` decides which of the parent snapshot's
    manifests the new snapshot lists, and carries tombstone-only manifests forever (see ``commit.replace_files``);
    overriding it on this one producer instance is the only hook.
    Public alternative: none (``UpdateSnapshot.overwrite`` offers no manifest filter); a pyiceberg that stops
    carrying tombstone-only manifests would let ``replace_files`` drop this call.
    """
    carried = overwrite._existing_manifests
    overwrite._existing_manifests = lambda: [m for m in carried() if keep(m)]


# -- catalogs -------------------------------------------------------------------------------------------------------
def metadata_writer(catalog: Catalog) -> Callable[[Any, Any, str], None] | None:
    """The catalog's function writing a new table metadata JSON, or None for catalogs that write none (REST).

    Why private: metastore catalogs (SQL, Hive, Glue, ...) write the next metadata file through
    ``MetastoreCatalog._write_metadata`` before swapping the table's pointer and never return its path, so wrapping
    it (:func:`replace_metadata_writer`) is the one way to learn, and delete, a failed commit's metadata file.
    Public alternative: none; listing ``<table>/metadata/`` for files no snapshot log names would find them too.
    """
    return getattr(catalog, "_write_metadata", None)


def replace_metadata_writer(catalog: Catalog, writer: Callable[[Any, Any, str], None]) -> None:
    """Make this catalog instance write metadata files through ``writer`` (which calls the original).

    Why private and Public alternative: see :func:`metadata_writer` (``MetastoreCatalog._write_metadata``).
    """
    catalog._write_metadata = writer  # type: ignore[attr-defined]


def schema_without_ids(arrow_schema: pa.Schema) -> Schema:
    """``arrow_schema`` as an Iceberg schema whose field ids are placeholders (to be assigned), as a new table gets.

    Why private: ``Catalog._convert_schema_if_needed`` is what ``create_table`` uses to convert an Arrow schema
    without field ids (honouring the ns-timestamp downcast setting); the visitor it uses is private too.
    Public alternative: ``pyiceberg.io.pyarrow.pyarrow_to_schema`` needs field ids or a name mapping already;
    ``catalog.create_table_transaction(identifier, schema=arrow_schema)`` converts, but only by creating a table.
    """
    from pyiceberg.catalog import Catalog

    return Catalog._convert_schema_if_needed(arrow_schema)


# -- object stores ---------------------------------------------------------------------------------------------------
def pyiceberg_s3_filesystem(io: Any, netloc: str | None) -> Any:
    """The S3 filesystem pyiceberg's PyArrow FileIO builds from its ``s3.*`` properties (endpoint, keys, region,
    timeouts, retry strategy), for ``ObjectStoreFileIO`` to open with one option more (``allow_delayed_open``).

    Why private: ``PyArrowFileIO._initialize_s3_fs`` is where pyiceberg reads those properties; calling it keeps that
    reading in one place instead of a copy here. Public alternative: none in pyiceberg 0.12 (no property passes
    ``allow_delayed_open``); a pyiceberg that adds one would make ``ObjectStoreFileIO`` set the property instead.
    """
    from pyiceberg.io.pyarrow import PyArrowFileIO

    return PyArrowFileIO._initialize_s3_fs(io, netloc)


# -- Parquet data files ---------------------------------------------------------------------------------------------
def parquet_writer_kwargs(table_properties: dict[str, str]) -> dict[str, Any]:
    """pyarrow ``ParquetWriter`` options from the table's ``write.parquet.*`` properties (codec, level, page sizes).

    Why private: the warehouse writes data files itself (per-column dictionary choice, its own file sizes) and must
    honour the same table properties pyiceberg's writer does; ``_get_parquet_writer_kwargs`` is that mapping.
    Public alternative: ``pyiceberg.io.pyarrow.write_file`` / ``Table.append`` apply it internally, without the
    per-column control.
    """
    from pyiceberg.io.pyarrow import _get_parquet_writer_kwargs

    return _get_parquet_writer_kwargs(table_properties)


def to_requested_schema(
    requested_schema: Schema,
    file_schema: Schema,
    batch: pa.RecordBatch,
    include_field_ids: bool = False,
    format_model: Any = None,
) -> pa.RecordBatch:
    """``batch`` cast to the table's schema (types widened, field ids attached) as pyiceberg writes data files.

    Why private: ``_to_requested_schema`` is the projection pyiceberg applies to every batch before writing a data
    file; the warehouse's own writer needs the same result so its files read back like pyiceberg's.
    Public alternative: ``pyiceberg.io.pyarrow.write_file`` / ``Table.append`` apply it internally; there is no
    public function for one batch.
    """
    from pyiceberg.io.pyarrow import _to_requested_schema

    return _to_requested_schema(
        requested_schema=requested_schema,
        file_schema=file_schema,
        batch=batch,
        include_field_ids=include_field_ids,
        format_model=format_model,
    )
