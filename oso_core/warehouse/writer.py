"""IcebergWriter: the one place that turns Polars frames into Iceberg commits.

A write has two halves. *Staging* turns each incoming frame into data files as it arrives (so an iterator of
frames is written in memory bounded by one frame) and stages any schema change. *Committing* then plans what the
mode replaces in the current table (nothing for append; every file for replace; the files whose key statistics
overlap the batch's keys for merge; the files in the batch's partition windows for overwrite_partitions), rewrites
only files that are partly affected, and commits one snapshot that removes the old files and adds the new ones. A
merge leaves alone the files whose matched rows it would not change (and does not add those rows again), so a
rerun rewrites nothing and, when no row changes, commits a snapshot without files (the load is recorded).
Between the two halves the write's data-quality gate (``quality.py``) gives its verdict on the staged data: a
failed check is one more failure before the commit. If anything fails before the commit the table is untouched;
the staged files are deleted, whatever the error, as are the manifests and metadata file of a commit attempt that
did not land (best effort; a killed process leaves unreferenced files behind, which never become visible). A
full disk fails the write with ``disk_full.DiskFullError`` (a ``WarehouseError``) naming the table and the
filesystem. A commit conflict or a locked catalog re-plans and retries, as does a plan whose snapshot was expired
meanwhile (``commit.expired_plan``); a write whose own staged files were deleted before its commit fails instead of
committing a snapshot without them (``staged.py``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.io import FileIO
from pyiceberg.io.pyarrow import schema_to_pyarrow
from pyiceberg.partitioning import UNPARTITIONED_PARTITION_SPEC, PartitionField, PartitionSpec
from pyiceberg.table import Table, Transaction
from pyiceberg.table.update.snapshot import UpdateSnapshot

from oso_core.base.write_modes import WRITE_MODES
from oso_core.warehouse.attempt import RecordingFileIO, metadata_written, new_snapshot_id, record_metadata_writes
from oso_core.warehouse.commit import (
    CONFLICTS,
    RetryPolicy,
    commit_with_retry,
    expired_plan,
    is_lock_timeout,
    with_retry,
)
from oso_core.warehouse.compat import (
    memoized,
    restore_staged_updates,
    staged_updates,
    transaction_io,
    transaction_scan,
)
from oso_core.warehouse.disk_full import disk_full_error, is_disk_full
from oso_core.warehouse.errors import WarehouseError
from oso_core.warehouse.files import DataFileWriter, delete_quietly
from oso_core.warehouse.merge import IncomingRows, MergePlan, drop_rows, plan_merge, plan_partition_overwrite
from oso_core.warehouse.namespaces import ensure_namespace
from oso_core.warehouse.partitioning import PartitionBy, Windows, evolve_spec
from oso_core.warehouse.quality import (
    Check,
    CheckResult,
    Gate,
    GateContext,
    describe,
    duplicate_key_error,
    snapshot_properties,
)
from oso_core.warehouse.schema import assert_same_columns, changes_needed, drop_absent, evolve, iceberg_schema
from oso_core.warehouse.staged import require_staged_files
from oso_core.warehouse.types import normalize_frame, to_arrow

__all__ = ["FrameLike", "IcebergWriter", "WarehouseError", "WriteResult", "iter_frames"]

logger = logging.getLogger(__name__)
FrameLike = pl.DataFrame | pl.LazyFrame | Iterable[pl.DataFrame]
# A commit's snapshot properties, or a function returning them, called once when every row is staged and before
# the commit: a property computed alongside the write (the transform's fingerprint of the same rows) is ready then.
Properties = Mapping[str, str] | Callable[[], Mapping[str, str]]
DEDUPE = ("error", "last")


@dataclass(frozen=True)
class WriteResult:
    """What one ``Warehouse.write`` committed: enough for the run summary and the UI artifact."""

    table: str
    mode: str
    rows_written: int
    snapshot_id: int | None
    duration_s: float
    properties: dict[str, str] = field(default_factory=dict)
    rows_replaced: int = 0
    files_added: int = 0
    files_removed: int = 0
    checks: tuple[CheckResult, ...] = ()

    def as_row(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "mode": self.mode,
            "rows": self.rows_written,
            "snapshot_id": str(self.snapshot_id) if self.snapshot_id is not None else "",
            "seconds": round(self.duration_s, 3),
            "checks": describe(self.checks),
        }


def iter_frames(data: FrameLike) -> Iterator[pl.DataFrame]:
    if isinstance(data, pl.DataFrame):
        yield data
    elif isinstance(data, pl.LazyFrame):
        yield data.collect()
    else:
        for frame in data:
            if isinstance(frame, pl.LazyFrame):
                frame = frame.collect()
            if not isinstance(frame, pl.DataFrame):
                raise TypeError(f"expected polars DataFrames, got {type(frame).__name__}")
            yield frame


class IcebergWriter:
    """Writes frames to tables of one catalog with the write modes sources declare."""

    def __init__(self, catalog: Catalog, retry: RetryPolicy | None = None):
        self.catalog = catalog
        self.retry = retry or RetryPolicy()
        record_metadata_writes(catalog)

    def load(self, identifier: str) -> Table | None:
        try:
            return self.catalog.load_table(identifier)
        except NoSuchTableError:
            return None

    def write(
        self,
        identifier: str,
        data: FrameLike,
        *,
        mode: str = "append",
        key: tuple[str, ...] | list[str] | None = None,
        partition_by: str | None = None,
        dedupe: str = "error",
        properties: Properties | None = None,
        key_determines_partition: bool = False,
        checks: Sequence[Check] = (),
    ) -> WriteResult:
        """Write ``data`` in one commit, if it passes the data-quality gate (``checks`` and the defaults of ``mode``).

        ``partition_by`` is the table's declared partitioning: a new table is created with it, an existing table
        whose spec differs evolves to it in this commit. ``key_determines_partition`` declares that a key's row
        never moves to another partition (true by construction when the partition column is a key column), so a
        merge reads only the files in the partitions the change set's rows fall in.
        """
        started = time.perf_counter()
        key = tuple(key or ())
        if mode not in WRITE_MODES:
            raise WarehouseError(f"{identifier}: unknown write mode {mode!r}; one of {', '.join(WRITE_MODES)}")
        if dedupe not in DEDUPE:
            raise WarehouseError(f"{identifier}: dedupe must be one of {DEDUPE}, not {dedupe!r}")
        if mode == "merge" and not key:
            raise WarehouseError(f"{identifier}: mode 'merge' needs key columns")
        if mode == "overwrite_partitions" and not partition_by:
            raise WarehouseError(f"{identifier}: mode 'overwrite_partitions' needs partition_by")
        try:
            partition = PartitionBy.parse(partition_by) if partition_by else None
        except ValueError as error:
            raise WarehouseError(f"{identifier}: {error}") from None

        prune = partition is not None and (key_determines_partition or partition.column in key)
        gate = Gate(identifier, mode, checks)  # before staging: a badly declared check fails with nothing written
        staging = _Staging(self, identifier, mode, key, partition, dedupe, gate, prune)
        try:
            outcome = self._stage_and_commit(staging, data, properties)
        except BaseException as error:
            staging.discard()  # unless the commit may have landed: never delete files a snapshot may reference
            if is_disk_full(error):
                raise disk_full_error(
                    identifier, staging.location(), error, may_have_landed=staging.maybe_committed
                ) from error
            raise
        return WriteResult(
            table=identifier,
            mode=mode,
            rows_written=staging.rows,
            snapshot_id=outcome.snapshot_id,
            duration_s=time.perf_counter() - started,
            properties=outcome.properties,
            rows_replaced=outcome.rows_replaced,
            files_added=outcome.files_added,
            files_removed=outcome.files_removed,
            checks=tuple(staging.checks),
        )

    def _stage_and_commit(self, staging: _Staging, data: FrameLike, properties: Properties | None) -> _Outcome:
        identifier = staging.identifier
        for frame in iter_frames(data):
            staging.add(frame)
        staging.finish()
        given = properties() if callable(properties) else properties  # one that raises: nothing committed
        snapshot_props = {k: str(v) for k, v in (given or {}).items()}
        snapshot_props.update(snapshot_properties(staging.run_gate()))  # a failed gate raises: nothing committed
        attempts = 0

        def load() -> Table | None:
            # The first attempt commits against the table as staging loaded it (no second catalog round trip);
            # if another writer committed since, the catalog refuses the commit and the retry reloads.
            nonlocal attempts
            attempts += 1
            return staging.table if attempts == 1 else self.load(identifier)

        return commit_with_retry(
            identifier, load, lambda table: staging.commit(table, snapshot_props), policy=self.retry
        )


@dataclass
class _Outcome:
    snapshot_id: int | None
    properties: dict[str, str]
    rows_replaced: int
    files_added: int
    files_removed: int


class _Staging:
    """Data files and schema changes of one write, staged before its single commit."""

    def __init__(
        self,
        writer: IcebergWriter,
        identifier: str,
        mode: str,
        key: tuple[str, ...],
        partition: PartitionBy | None,
        dedupe: str,
        gate: Gate,
        prune_by_partition: bool = False,
    ):
        self.catalog = writer.catalog
        self.retry = writer.retry
        self.identifier = identifier
        self.mode = mode
        self.key = key
        self.partition = partition
        self.dedupe = dedupe
        self.gate = gate
        self.checks: list[CheckResult] = []
        self.table = with_retry(identifier, lambda: writer.load(identifier), self.retry)
        self.txn: Transaction | None = None
        self.created = False
        self.files_writer: DataFileWriter | None = None
        self.frames_files: list[list[Any]] = []  # data files per incoming frame
        self.keys: list[pl.DataFrame] = []
        self.windows: Windows | None = None
        # merge: the partitions the change set's rows fall in (None: read every file the key statistics allow)
        self.merge_windows: Windows | None = None
        self.prune_by_partition = prune_by_partition and mode == "merge"
        self.spec_checked = False
        self.rows = 0
        self.frames = 0
        self.committing = False
        self.columns: dict[str, None] = {}  # top-level columns of the data, in order (replace drops the others)
        self.data_schemas: list[pa.Schema] = []  # the frames' distinct schemas (replace: the table's new schema)
        self.maybe_committed = False  # a commit failed in a way that may have landed: keep every file

    # -- staging -------------------------------------------------------------------------------------------------
    def add(self, frame: pl.DataFrame) -> None:
        null_columns = [name for name, dtype in frame.schema.items() if dtype == pl.Null]
        frame = normalize_frame(frame)
        if self.key and self.mode == "merge":
            frame = self._check_keys(frame)
        arrow = to_arrow(frame)
        self.columns.update(dict.fromkeys(arrow.schema.names))
        if not any(arrow.schema.equals(seen) for seen in self.data_schemas):
            self.data_schemas.append(arrow.schema)
        if self.txn is None:
            self._begin(arrow.schema)
        assert self.txn is not None and self.files_writer is not None
        arrow = _typed_nulls(null_columns, arrow, self.txn.table_metadata.schema())
        if changes_needed(self.identifier, self.txn.table_metadata.schema(), arrow.schema, self.key):
            evolve(self.identifier, self.txn, arrow.schema)
            self.files_writer.metadata = self.txn.table_metadata
        if self.partition is not None and not self.spec_checked:
            self._evolve_spec(self.txn)
            self.files_writer.metadata = self.txn.table_metadata
            self.spec_checked = True
        if self.prune_by_partition:
            self._add_merge_windows(frame)
        if self.mode == "overwrite_partitions":
            assert self.partition is not None
            try:
                windows = self.partition.windows(frame)
            except ValueError as error:
                raise WarehouseError(f"{self.identifier}: {error}") from None
            self.windows = windows if self.windows is None else self.windows.union(windows)
        if self.mode == "merge":
            self.keys.append(frame.select(self.key).with_columns(pl.lit(self.frames).alias("__frame")))
        self.gate.add(frame)
        self.frames_files.append(self.files_writer.write(arrow))
        self.rows += arrow.num_rows
        self.frames += 1

    def _evolve_spec(self, txn: Transaction) -> None:
        """An existing table whose partition spec differs from the declared one evolves to it (in ``txn``)."""
        assert self.partition is not None
        try:
            if evolve_spec(txn, self.partition):
                logger.info("%s: partition spec evolves to %s", self.identifier, txn.table_metadata.spec())
        except ValueError as error:
            raise WarehouseError(f"{self.identifier}: {error}") from None

    def _add_merge_windows(self, frame: pl.DataFrame) -> None:
        """Record the partitions of a merge's rows; a frame without the partition column turns pruning off."""
        assert self.partition is not None
        if self.partition.column not in frame.columns:
            self.prune_by_partition, self.merge_windows = False, None
            return
        try:
            windows = self.partition.windows(frame)
        except ValueError as error:
            raise WarehouseError(f"{self.identifier}: {error}") from None
        self.merge_windows = windows if self.merge_windows is None else self.merge_windows.union(windows)

    def _check_keys(self, frame: pl.DataFrame) -> pl.DataFrame:
        for column in self.key:
            if column not in frame.columns:
                raise WarehouseError(f"{self.identifier}: key column {column!r} is missing from the data")
            if frame.get_column(column).null_count():
                raise WarehouseError(f"{self.identifier}: key column {column!r} has null values")
        duplicated = frame.select(self.key).is_duplicated()
        if duplicated.any():
            if self.dedupe == "error":
                raise duplicate_key_error(self.identifier, frame.filter(duplicated).select(self.key))
            frame = frame.unique(subset=list(self.key), keep="last", maintain_order=True)
        return frame.sort(list(self.key))  # tight key ranges per file make later merges touch fewer files

    def _begin(self, arrow_schema: pa.Schema) -> None:
        if self.table is not None:
            self.txn = memoized(self.table.transaction())
        else:
            namespace = self.identifier.rsplit(".", 1)[0]
            with_retry(self.identifier, lambda: ensure_namespace(self.catalog, namespace), self.retry)
            schema = iceberg_schema(arrow_schema)
            spec = _partition_spec(self.identifier, schema, self.partition)
            self.txn = memoized(
                with_retry(
                    self.identifier,
                    lambda: self.catalog.create_table_transaction(self.identifier, schema=schema, partition_spec=spec),
                    self.retry,
                )
            )
            self.created = True
        self.files_writer = DataFileWriter(self.txn.table_metadata, transaction_io(self.txn))

    def finish(self) -> None:
        if self.txn is None:
            raise WarehouseError(f"{self.identifier}: no data given (an empty frame is fine, no frames is not)")
        if self.mode == "replace":
            drop_absent(self.identifier, self.txn, self.data_schemas)
        if self.mode != "merge" or len(self.keys) < 2:
            return
        keys = pl.concat(self.keys, how="vertical_relaxed")
        repeated = keys.select(self.key).is_duplicated()
        if not repeated.any():
            return
        if self.dedupe == "error":
            raise duplicate_key_error(self.identifier, keys.filter(repeated).select(self.key))
        self._drop_superseded(keys)

    def _drop_superseded(self, keys: pl.DataFrame) -> None:
        """``dedupe="last"`` across frames: rewrite earlier frames' files without rows a later frame replaces."""
        from oso_core.warehouse.files import read_data_files
        from oso_core.warehouse.merge import anti_join, scan_tasks

        assert self.txn is not None and self.files_writer is not None
        last = keys.group_by(self.key).agg(pl.col("__frame").max().alias("__last"))
        superseded = keys.join(last, on=list(self.key)).filter(pl.col("__frame") < pl.col("__last"))
        for frame_no, drop in superseded.group_by("__frame"):
            index = int(frame_no[0])
            old = self.frames_files[index]
            rows = read_data_files(self.txn.table_metadata, transaction_io(self.txn), scan_tasks(old))
            kept, _ = anti_join(rows, drop.select(self.key), self.key)
            self.frames_files[index] = self.files_writer.write(kept)
            _delete_quietly(transaction_io(self.txn), old)
        self.keys = [keys.unique(subset=list(self.key), keep="last")]

    def run_gate(self) -> list[CheckResult]:
        """The data-quality verdict on the staged data, against the row count of the snapshot staging started from
        (its summary's ``total-records``: no scan). Raises ``QualityGateError`` on a failure the run does not accept.
        """
        snapshot = self.table.current_snapshot() if self.table is not None else None
        total = snapshot.summary.get("total-records") if snapshot is not None and snapshot.summary else None
        context = GateContext(
            self.identifier, self.mode, self.rows, int(total) if total is not None else None, self._staged_frames
        )
        self.checks = self.gate.verdict(context)
        return self.checks

    def _staged_frames(self) -> Iterator[pl.DataFrame]:
        """The staged data again, frame by frame, read back from its files (a failing check's examples)."""
        from oso_core.warehouse.files import read_data_files
        from oso_core.warehouse.merge import scan_tasks

        assert self.txn is not None
        io = transaction_io(self.txn)
        for files in self.frames_files:
            if files:
                yield pl.from_arrow(read_data_files(self.txn.table_metadata, io, scan_tasks(files)))

    def location(self) -> str:
        """Where the table's files go (the warehouse, before the table exists)."""
        if self.txn is not None:
            return self.txn.table_metadata.location
        return str(self.catalog.properties.get("warehouse", ""))

    def discard(self) -> None:
        if self.txn is None:
            return
        if self.maybe_committed:
            logger.warning("%s: the commit may have landed; its files are kept", self.identifier)
            return
        _delete_quietly(transaction_io(self.txn), [f for files in self.frames_files for f in files])

    # -- committing ----------------------------------------------------------------------------------------------
    def _transaction_for(self, table: Table | None) -> Transaction:
        """The staged transaction if the table is as staging saw it; else a fresh one with the schema re-staged."""
        assert self.txn is not None and self.files_writer is not None
        if not self.committing:
            self.committing = True
            unchanged = (
                table is None
                if self.created
                else (
                    table is not None
                    and self.table is not None
                    and table.metadata_location == self.table.metadata_location
                )
            )
            if unchanged:
                return self.txn
        if table is None and self.created:
            return self.txn  # the create did not land (a locked catalog): the staged create is committed again
        if table is None:
            raise WarehouseError(f"{self.identifier}: the table was dropped during the write")
        txn = memoized(table.transaction())
        written = self.files_writer.metadata.schema()
        if changes_needed(self.identifier, txn.table_metadata.schema(), schema_to_pyarrow(written), self.key):
            evolve(self.identifier, txn, schema_to_pyarrow(written))
        if self.mode == "replace":
            drop_absent(self.identifier, txn, self.data_schemas)
        only = self.columns if self.mode == "replace" else None
        assert_same_columns(self.identifier, written, txn.table_metadata.schema(), only)
        if self.partition is not None and txn.table_metadata.spec() != self.files_writer.metadata.spec():
            self._evolve_spec(txn)  # another writer committed before the staged spec change landed: stage it again
        if txn.table_metadata.spec() != self.files_writer.metadata.spec():
            raise WarehouseError(f"{self.identifier}: the table's partitioning changed during the write; rerun it")
        return txn

    def commit(self, table: Table | None, properties: dict[str, str]) -> _Outcome:
        txn = self._transaction_for(table)
        io = transaction_io(txn)
        # Every file this attempt writes (rewrites, manifests, manifest list), finished or not, goes through it.
        written = RecordingFileIO(io)
        # Restored if this attempt fails, so a staged create can be committed again.
        staged = staged_updates(txn)
        base_snapshot_id = txn.table_metadata.current_snapshot_id
        props = dict(properties)
        props.update({"oso.mode": self.mode, "oso.rows": str(self.rows)})
        plan = MergePlan()
        snapshot_id: int | None = None
        metadata_files: list[str] = []
        in_catalog = False
        superseded: list[Any] = []  # staged files this attempt commits without their unchanged rows
        try:
            new_rows = [f for files in self.frames_files for f in files]
            if self.mode == "merge":  # a merge reads them to drop unchanged rows: a missing one is named first
                require_staged_files(self.identifier, io, [f.file_path for f in new_rows])
            plan = self._plan(txn, io, written, props)
            if plan.unchanged is not None:
                writer = DataFileWriter(txn.table_metadata, written)
                new_rows, superseded = drop_rows(txn.table_metadata, io, new_rows, plan.unchanged, self.key, writer)
            added = new_rows + plan.rewritten
            _stage_snapshot(txn, written, plan, added, props)
            snapshot_id = new_snapshot_id(txn, base_snapshot_id)
            require_staged_files(self.identifier, io, [f.file_path for f in added])  # never commit a missing file
            in_catalog = True
            with metadata_written() as metadata_files:
                committed = txn.commit_transaction()
        except BaseException as error:
            restore_staged_updates(txn, staged)
            if not (in_catalog and self._landed(error, snapshot_id, metadata_files)):
                # This attempt's rewrites, manifests and metadata file, also those a full disk left half written;
                # a retry re-plans and writes them again.
                delete_quietly(io, written.written + metadata_files)
            if not in_catalog and table is not None:
                own = [f.file_path for files in self.frames_files for f in files] + list(written.written)
                location = txn.table_metadata.location
                conflict = expired_plan(error, self.identifier, location, own, lambda: self._moved_since(table))
                if conflict is not None:
                    raise conflict from error  # a conflict: commit_with_retry reloads and re-plans
            raise
        _delete_quietly(io, superseded)  # referenced by no snapshot: the commit holds their remainders
        snapshot = committed.current_snapshot()
        return _Outcome(
            snapshot_id=snapshot.snapshot_id if snapshot else None,
            properties=props,
            rows_replaced=plan.rows_replaced,
            files_added=len(added),
            files_removed=len(plan.removed),
        )

    def _plan(self, txn: Transaction, io: Any, written: RecordingFileIO, props: dict[str, str]) -> MergePlan:
        """What the mode replaces in the table as ``txn`` sees it (and the files it rewrites for that).

        Reads go through the table's ``io``, rewrites through ``written``, so a failed attempt can remove them.
        """
        plan = MergePlan()
        if self.mode == "replace":
            plan = MergePlan(removed=[t.file for t in transaction_scan(txn).plan_files()])
            plan.rows_replaced = sum(f.record_count for f in plan.removed)
        elif self.mode == "merge" and txn.table_metadata.current_snapshot() is not None:
            keys = pl.concat(self.keys, how="vertical_relaxed").select(self.key).unique()
            windows = self.merge_windows if self.prune_by_partition else None
            staged = [f for files in self.frames_files for f in files]
            incoming = IncomingRows.read(txn.table_metadata, io, staged, self.key)
            rewrites = DataFileWriter(txn.table_metadata, written)
            plan = plan_merge(txn, io, keys, self.key, rewrites, windows, incoming)
            props["oso.rows_updated"] = str(plan.rows_replaced)
            props["oso.rows_unchanged"] = str(plan.rows_unchanged)
            props["oso.rows_inserted"] = str(self.rows - plan.rows_replaced - plan.rows_unchanged)
        elif self.mode == "overwrite_partitions" and txn.table_metadata.current_snapshot() is not None:
            assert self.windows is not None
            plan = plan_partition_overwrite(txn, io, self.windows, DataFileWriter(txn.table_metadata, written))
            props["oso.windows"] = self.windows.describe()[:500]
        if self.mode != "merge":
            props["oso.rows_replaced"] = str(plan.rows_replaced)
        return plan

    def _moved_since(self, table: Table) -> bool:
        """Whether the catalog holds a newer metadata file of the table than ``table`` (True if it cannot tell)."""
        try:
            return self.catalog.load_table(self.identifier).metadata_location != table.metadata_location
        except NoSuchTableError:
            return False
        except Exception:  # noqa: BLE001 - the retry reloads and finds out; it is bounded
            return True

    def _landed(self, error: BaseException, snapshot_id: int | None, metadata_files: list[str]) -> bool:
        """Whether a commit that raised ``error`` may still have landed (then its files must stay)."""
        if isinstance(error, CONFLICTS) or is_lock_timeout(error):
            return False  # the catalog refused or was busy: nothing changed
        try:
            table = self.catalog.load_table(self.identifier)
        except NoSuchTableError:
            return False
        except Exception:  # noqa: BLE001 - the catalog cannot tell: assume the worst
            self.maybe_committed = True
            return True
        versions = {table.metadata_location, *(entry.metadata_file for entry in table.metadata.metadata_log)}
        if versions.intersection(metadata_files) or (
            snapshot_id is not None and table.metadata.snapshot_by_id(snapshot_id) is not None
        ):
            self.maybe_committed = True
            return True
        return False


def _stage_snapshot(txn: Transaction, io: FileIO, plan: MergePlan, added: list[Any], props: dict[str, str]) -> None:
    """Stage the write's one snapshot in ``txn``: an overwrite if it replaces files, else an append.

    ``txn.update_snapshot`` with the manifests written through ``io`` (the attempt's recording FileIO). A merge
    whose rows all equal the table's still commits a snapshot, without files: the load happened, and freshness
    (``oso_core.ops.freshness``) reads a table's last load from its current snapshot's commit time.
    """
    update = UpdateSnapshot(txn, io=io, snapshot_properties=props)
    if plan.removed:
        with update.overwrite() as overwrite:
            for data_file in plan.removed:
                overwrite.delete_data_file(data_file)
            for data_file in added:
                overwrite.append_data_file(data_file)
    elif added or plan.unchanged is not None or txn.table_metadata.current_snapshot() is None:
        with update.fast_append() as append:
            for data_file in added:
                append.append_data_file(data_file)


def _partition_spec(identifier: str, schema: Any, partition: PartitionBy | None) -> PartitionSpec:
    if partition is None:
        return UNPARTITIONED_PARTITION_SPEC
    try:
        source = schema.find_field(partition.column)
    except ValueError:
        raise WarehouseError(f"{identifier}: partition column {partition.column!r} is not in the data") from None
    return PartitionSpec(
        PartitionField(
            source_id=source.field_id,
            field_id=1000,
            transform=partition.iceberg_transform(),
            name=partition.field_name,
        )
    )


def _typed_nulls(null_columns: list[str], arrow: pa.Table, table_schema: Any) -> pa.Table:
    """All-null columns (Polars' Null type, from empty JSON fields) take the table's type instead of string."""
    for name in null_columns:
        try:
            existing = table_schema.find_field(name)
        except ValueError:
            continue
        arrow_type = schema_to_pyarrow(existing.field_type)
        index = arrow.schema.get_field_index(name)
        arrow = arrow.set_column(index, pa.field(name, arrow_type), pa.nulls(arrow.num_rows, arrow_type))
    return arrow


def _delete_quietly(io: Any, files: list[Any]) -> None:
    delete_quietly(io, [data_file.file_path for data_file in files])
