"""Planning what a merge or a partition overwrite replaces: prune by statistics, read and rewrite only touched files.

pyiceberg's ``upsert`` filters every data file with an ``In(key, <all batch keys>)`` expression re-bound per file
in Python (9-155 s for 200k keys). Here each file's key bounds from the manifest are compared with the sorted batch
keys (a binary search per file), only files whose range holds a batch key are read, the batch keys are anti-joined
out of them with Arrow/Polars, and only files that actually lost rows are rewritten. The new rows themselves were
already staged as files. The result is a list of files to remove and files to add, committed in one snapshot.

A merge that repeats rows the table already holds changes nothing: a file whose matched rows all equal their
incoming rows (compared by a 128-bit digest of each row, read back from the staged files and the table's files
through the same reader, so types and column order agree) is neither removed nor rewritten, and those incoming rows
are left out of the commit instead (:func:`drop_rows`). Rerunning a merge therefore rewrites nothing and, when no
row changes at all, commits a snapshot without files (it records the load, which freshness reads); the table
reads the same either way. A key the table holds more than
once outside rewritten files is not skipped (the merge collapses such duplicates, as it always did).

Partition overwrites work the same way with the batch's windows instead of keys: a file wholly inside the windows
is dropped without being read, a file outside them is kept, and only a file straddling a window edge is rewritten.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.io import FileIO
from pyiceberg.manifest import DataFile
from pyiceberg.table import FileScanTask, Transaction
from pyiceberg.types import DoubleType, FloatType

from oso_core.warehouse.compat import transaction_scan
from oso_core.warehouse.files import DataFileWriter, delete_quietly, read_data_files
from oso_core.warehouse.partitioning import COVERED, DISJOINT, Windows
from oso_core.warehouse.stats import column_bounds, comparable_values

# Rows read into memory at once while rewriting touched files (bounds a merge's memory, not its correctness).
REWRITE_GROUP_ROWS = 1_500_000


# Seeds of the two 64-bit row hashes whose pair is a row's digest.
_DIGEST_SEEDS = (0, 0x5EED_0F_D16E57)
_DIGEST_COLUMNS = ("__oso_digest_a", "__oso_digest_b")


@dataclass
class MergePlan:
    """Files a write removes from the table, the rewritten remainders it adds, and how many rows it replaced.

    ``unchanged``: keys of incoming rows equal to the rows the table already holds in files left untouched; the
    writer commits the incoming rows without them (None: none).
    """

    removed: list[DataFile] = field(default_factory=list)
    rewritten: list[DataFile] = field(default_factory=list)
    rows_replaced: int = 0
    unchanged: pl.DataFrame | None = None

    @property
    def rows_unchanged(self) -> int:
        return self.unchanged.height if self.unchanged is not None else 0


def row_digests(rows: pa.Table, key: Sequence[str]) -> pl.DataFrame:
    """The key columns of ``rows`` and a digest of each whole row (two 64-bit hashes of all its columns)."""
    frame = pl.from_arrow(rows)
    assert isinstance(frame, pl.DataFrame)
    digests = [
        frame.hash_rows(seed=seed).alias(name) for seed, name in zip(_DIGEST_SEEDS, _DIGEST_COLUMNS, strict=True)
    ]
    return frame.select(list(key)).with_columns(digests)


class IncomingRows:
    """The digests of a merge's incoming rows by key: does an existing row already equal its incoming row?"""

    def __init__(self, digests: pl.DataFrame, key: Sequence[str]):
        self.digests, self.key = digests, list(key)

    @classmethod
    def read(cls, metadata: Any, io: FileIO, files: Sequence[DataFile], key: Sequence[str]) -> IncomingRows | None:
        """Digests of the staged ``files`` read in the table's schema, a bounded group at a time (None: a column
        type the digest cannot hash; the merge then rewrites as if every row changed)."""
        parts = []
        try:
            for group in _groups(scan_tasks(files)):
                parts.append(row_digests(read_data_files(metadata, io, group), key))
        except (pl.exceptions.PolarsError, pa.ArrowException, TypeError, ValueError):
            return None
        if not parts:
            return None
        return cls(pl.concat(parts), key)

    def unchanged(self, existing: pa.Table) -> pl.DataFrame | None:
        """The keys of ``existing`` (rows whose key is incoming) if every one of them equals its incoming row."""
        try:
            theirs = row_digests(existing, self.key)
        except (pl.exceptions.PolarsError, pa.ArrowException, TypeError, ValueError):
            return None
        casts = {k: self.digests.schema[k] for k in self.key}
        matched = theirs.cast(casts).join(self.digests, on=[*self.key, *_DIGEST_COLUMNS], how="semi")
        return matched.select(self.key) if matched.height == existing.num_rows else None


def scan_tasks(files: Sequence[DataFile]) -> list[FileScanTask]:
    return [FileScanTask(data_file=f) for f in files]


def anti_join(rows: pa.Table, keys: pl.DataFrame, key: Sequence[str]) -> tuple[pa.Table, int]:
    """``rows`` without those whose key is in ``keys``; and how many were dropped."""
    hit = key_hits(rows, keys, key)
    dropped = pc.sum(hit).as_py() or 0
    return (rows.filter(pc.invert(hit)) if dropped else rows), dropped


def key_hits(rows: pa.Table, keys: pl.DataFrame, key: Sequence[str]) -> pa.ChunkedArray | pa.Array:
    """For each row of ``rows``: is its key one of ``keys``? (One hash table of ``keys`` per call.)"""
    if len(key) == 1:
        column = rows.column(key[0])
        values = keys.get_column(key[0]).drop_nulls().to_arrow().cast(column.type)
        return pc.is_in(column, value_set=values)
    frame = pl.from_arrow(rows.select(list(key)))
    assert isinstance(frame, pl.DataFrame)
    casts = {k: frame.schema[k] for k in key}
    matched = (
        frame.with_row_index("__row")
        .join(keys.select(list(key)).cast(casts), on=list(key), how="semi", nulls_equal=False)
        .get_column("__row")
        .to_numpy()
    )
    mask = np.zeros(rows.num_rows, dtype=bool)
    mask[matched] = True
    return pa.array(mask)


Hits = Callable[[Sequence[DataFile], pa.Table], "pa.ChunkedArray | pa.Array"]


class _SortedKeys:
    """A single-column batch key, sorted, so a group of files is checked against only the keys within its bounds."""

    def __init__(self, keys: pl.DataFrame, column: str, field_id: int, field_type: Any):
        self.column, self.field_id, self.field_type = column, field_id, field_type
        series = keys.get_column(column).drop_nulls().sort()
        self.values = series.to_arrow()
        self.comparable = comparable_values(series)  # same order as ``values``; None: no usable order

    def hits(self, files: Sequence[DataFile], rows: pa.Table) -> pa.ChunkedArray | pa.Array:
        column = rows.column(self.column)
        return pc.is_in(column, value_set=self._within(files).cast(column.type))

    def _within(self, files: Sequence[DataFile]) -> pa.Array:
        """The keys inside the union of the files' key bounds (all keys if any file has no usable bounds)."""
        if self.comparable is None or isinstance(self.field_type, (FloatType, DoubleType)):
            return self.values
        lows, highs = [], []
        for data_file in files:
            bounds = column_bounds(data_file, self.field_id, self.field_type)
            if bounds is None:
                return self.values
            lows.append(bounds[0])  # truncated string bounds still enclose the file's values
            highs.append(bounds[1])
        if not lows:
            return self.values
        first = bisect.bisect_left(self.comparable, min(lows))
        return self.values.slice(first, bisect.bisect_right(self.comparable, max(highs)) - first)


def plan_merge(
    txn: Transaction,
    io: FileIO,
    keys: pl.DataFrame,
    key: Sequence[str],
    writer: DataFileWriter,
    windows: Windows | None = None,
    incoming: IncomingRows | None = None,
) -> MergePlan:
    """Remove the current rows whose key is in ``keys`` by rewriting only the files that hold them.

    With ``incoming`` (the digests of the incoming rows) a file whose matched rows all equal their incoming rows
    is kept as it is, and the plan's ``unchanged`` names those keys (their incoming rows are not committed).

    With ``windows`` (the partitions of the change set's rows, given only when the key determines the partition)
    a file whose partition column statistics lie outside every window is not read: the old row of a key sits in
    the same partition as its new row. This prunes files of any spec, also those written before the table was
    partitioned, since it uses the column's statistics rather than the file's partition tuple.
    """
    schema = txn.table_metadata.schema()
    ranges = []
    for column in key:
        f = schema.find_field(column)
        ranges.append((f.field_id, f.field_type, comparable_values(keys.get_column(column))))
    window_field = schema.find_field(windows.partition.column) if windows is not None else None
    candidates = []
    for task in transaction_scan(txn).plan_files():
        outside = (
            windows is not None
            and window_field is not None
            and windows.classify(task.file, window_field.field_id, window_field.field_type) == DISJOINT
        )
        if not outside and _may_hold_keys(task.file, ranges):
            candidates.append(task)
    hits: Hits
    if len(key) == 1:
        hits = _SortedKeys(keys, key[0], ranges[0][0], ranges[0][1]).hits
    else:
        hits = lambda _, rows: key_hits(rows, keys, key)  # noqa: E731
    # A group never holds fewer rows than there are keys, so hashing the keys once per group costs at most as
    # much as reading the group: whatever the key shape, a merge costs at most about one full rewrite.
    group_rows = max(REWRITE_GROUP_ROWS, keys.height)
    plan = _rewrite(txn, io, candidates, writer, hits, group_rows, incoming)
    if plan.unchanged is not None and plan.unchanged.is_duplicated().any():
        # The table holds a key more than once outside the rewritten files: keeping them would keep the
        # duplicates, so plan again as if every row changed (rare: only appends make such tables).
        delete_quietly(writer.io, [f.file_path for f in plan.rewritten])
        plan = _rewrite(txn, io, candidates, writer, hits, group_rows)
    return plan


def drop_rows(
    metadata: Any, io: FileIO, files: Sequence[DataFile], keys: pl.DataFrame, key: Sequence[str], writer: DataFileWriter
) -> tuple[list[DataFile], list[DataFile]]:
    """``files`` without the rows whose key is in ``keys``: the files to commit instead, and the ``files`` they
    replace. A file without such rows is kept as it is; one with only such rows is dropped."""
    kept: list[DataFile] = []
    replaced: list[DataFile] = []
    for task in scan_tasks(files):
        rows = read_data_files(metadata, io, [task])
        remainder, dropped = anti_join(rows, keys, key)
        if not dropped:
            kept.append(task.file)
            continue
        replaced.append(task.file)
        kept += writer.write(remainder)
    return kept, replaced


def plan_partition_overwrite(txn: Transaction, io: FileIO, windows: Windows, writer: DataFileWriter) -> MergePlan:
    """Remove every current row inside ``windows``: drop covered files, rewrite straddling ones."""
    column = txn.table_metadata.schema().find_field(windows.partition.column)
    plan = MergePlan()
    straddling = []
    for task in transaction_scan(txn).plan_files():
        verdict = windows.classify(task.file, column.field_id, column.field_type)
        if verdict == COVERED:
            plan.removed.append(task.file)
            plan.rows_replaced += task.file.record_count
        elif verdict != DISJOINT:
            straddling.append(task)
    mask = windows.mask()

    def in_windows(_: Sequence[DataFile], rows: pa.Table) -> pa.ChunkedArray | pa.Array:
        frame = pl.from_arrow(rows.select([windows.partition.column]))
        assert isinstance(frame, pl.DataFrame)
        return frame.select(mask).to_series().to_arrow()

    rewritten = _rewrite(txn, io, straddling, writer, in_windows)
    plan.removed += rewritten.removed
    plan.rewritten = rewritten.rewritten
    plan.rows_replaced += rewritten.rows_replaced
    return plan


def _may_hold_keys(data_file: DataFile, ranges: list[tuple[int, Any, list[Any] | None]]) -> bool:
    """False only if the file's bounds prove no batch key is in it (every key column is checked)."""
    for field_id, field_type, values in ranges:
        if values is None:
            continue
        bounds = column_bounds(data_file, field_id, field_type)
        if bounds is None:
            continue
        lo, hi, _ = bounds
        i = bisect.bisect_left(values, lo)
        if i >= len(values) or values[i] > hi:
            return False
    return True


def _rewrite(
    txn: Transaction,
    io: FileIO,
    tasks: list[FileScanTask],
    writer: DataFileWriter,
    hits: Hits,
    group_rows: int = REWRITE_GROUP_ROWS,
    incoming: IncomingRows | None = None,
) -> MergePlan:
    """Read ``tasks`` a bounded group at a time, drop the rows ``hits`` marks, rewrite the files that lost rows.

    ``hits`` runs once per group (over the group's rows, concatenated without copying), not once per file, so
    per-call costs such as hashing the change set's keys are paid per group. Each group's remainders are written
    before the next group is read: memory holds one group, never the table. With ``incoming``, a file whose hit
    rows all equal their incoming rows is left alone and its hit keys go to the plan's ``unchanged``.
    """
    plan = MergePlan()
    unchanged: list[pl.DataFrame] = []
    for group in _groups(tasks, group_rows):
        read = list(_read_each(txn, io, group))
        if not read:
            continue
        together = pa.concat_tables([rows for _, rows in read], promote_options="permissive")
        mask = hits([task.file for task, _ in read], together)
        del together
        touched, offset = [], 0
        for task, rows in read:
            hit = mask.slice(offset, rows.num_rows)
            offset += rows.num_rows
            dropped = pc.sum(hit).as_py() or 0
            if not dropped:
                continue
            same = incoming.unchanged(rows.filter(hit)) if incoming is not None else None
            if same is not None:
                unchanged.append(same)  # every matched row of this file stays as it is: no rewrite
            else:
                touched.append((task, rows.filter(pc.invert(hit)), dropped))
        del read
        if not touched:
            continue  # the statistics over-approximated: none of these files holds a replaced row
        plan.removed += [task.file for task, _, _ in touched]
        plan.rows_replaced += sum(dropped for _, _, dropped in touched)
        remainders = [kept for _, kept, _ in touched if kept.num_rows]
        del touched
        if remainders:
            plan.rewritten += writer.write(pa.concat_tables(remainders, promote_options="permissive"))
    if unchanged:
        plan.unchanged = pl.concat(unchanged)
    return plan


def _read_each(txn: Transaction, io: FileIO, tasks: list[FileScanTask]) -> Iterator[tuple[FileScanTask, pa.Table]]:
    """Each task's rows in the table's current schema, read in one parallel scan.

    A file without delete files yields exactly its ``record_count`` rows, in task order, so one scan of the
    group is cut back into files; files with deletes are read one by one.
    """
    whole = [task for task in tasks if not task.delete_files]
    rows = read_data_files(txn.table_metadata, io, whole) if whole else None
    if rows is not None and rows.num_rows != sum(task.file.record_count for task in whole):
        rows, whole = None, []  # counts disagree with the manifests: fall back to reading file by file
    offset = 0
    for task in whole:
        assert rows is not None
        yield task, rows.slice(offset, task.file.record_count)
        offset += task.file.record_count
    for task in tasks:
        if task.delete_files or rows is None:
            yield task, read_data_files(txn.table_metadata, io, [task])


def _groups(tasks: list[FileScanTask], group_rows: int = REWRITE_GROUP_ROWS) -> list[list[FileScanTask]]:
    groups: list[list[FileScanTask]] = []
    current: list[FileScanTask] = []
    rows = 0
    for task in tasks:
        if current and rows + task.file.record_count > group_rows:
            groups.append(current)
            current, rows = [], 0
        current.append(task)
        rows += task.file.record_count
    if current:
        groups.append(current)
    return groups
