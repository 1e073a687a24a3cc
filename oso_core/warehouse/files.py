"""Writing and reading Iceberg data files without committing: the staging half of every write.

Each write first turns its frames into data files (per batch, so an iterator streams in bounded memory) and only
then commits them, all at once, in one snapshot. pyiceberg's own partitioned writer filters the whole table once
per partition (1.7× a plain Parquet write for 90 day partitions); here rows are grouped by partition in one pass
and files are written in parallel. Each file is one ``pyarrow.parquet.ParquetWriter`` pass with pyiceberg's
writer settings, and its column statistics (which later merges prune by) come from the Parquet footer, as in
pyiceberg's ``write_file``.

One setting differs: dictionary encoding is switched off for columns that are mostly distinct in a sample of the
written rows (ids, timestamps, hashes). Parquet would fill the dictionary page for them and fall back to plain
encoding anyway; building that dictionary first is what makes many small files (per partition, per merge
rewrite) cost up to twice a single Parquet write, and it makes them larger on disk too. A write that fails
deletes the files it had written, so the caller sees whole writes or none.

Very large values (``LARGE_VALUE_BYTES`` and up, e.g. one 50 MB JSON document) change two settings more, for the
columns holding them: no dictionary (Parquet falls back to plain once the dictionary page passes its 1 MiB limit,
so the distinct count would only copy the value once more), and no Parquet statistics in the files holding them
(Parquet drops a min/max over 4 KiB from the footer anyway, after computing it at ~6x the value in memory: a
50 MB value peaked at ~480 MiB above the frame, ~180 MiB without). Such a file records that column with metrics
mode ``none`` (no counts, no bounds): metrics prune reads but never change their result.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyiceberg.expressions import AlwaysTrue
from pyiceberg.io import FileIO
from pyiceberg.io.pyarrow import (
    ArrowScan,
    MetricModeTypes,
    MetricsMode,
    ParquetFormatModel,
    StatisticsCollector,
    compute_statistics_plan,
    data_file_statistics_from_parquet_metadata,
    parquet_path_to_id_mapping,
    pyarrow_to_schema,
)
from pyiceberg.manifest import DataFile, DataFileContent, FileFormat
from pyiceberg.partitioning import PartitionFieldValue, PartitionKey
from pyiceberg.schema import Schema, sanitize_column_names
from pyiceberg.table import FileScanTask, TableProperties
from pyiceberg.table.locations import LocationProvider, load_location_provider
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.typedef import Record
from pyiceberg.utils.concurrent import ExecutorFactory

from oso_core.warehouse.compat import parquet_writer_kwargs, to_requested_schema

# In-memory Arrow bytes per data file (~3-5 MB of zstd Parquet for event-like rows). Smaller files than
# pyiceberg's 512 MiB default let merges rewrite only the few files their keys touch. A table property
# ``write.target-file-size-bytes`` overrides it.
DEFAULT_TARGET_FILE_BYTES = 16 * 1024 * 1024
# Dictionary encoding is kept for a column when at most this share of a sample of its values is distinct.
DICTIONARY_MAX_DISTINCT_SHARE = 0.5
DICTIONARY_SAMPLE_ROWS = 8192
# A string or binary value at least this long makes its column plain and, in the files holding it, statistics-free.
LARGE_VALUE_BYTES = 1024 * 1024
_PARQUET = ParquetFormatModel()
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _FileLayout:
    """What every data file of one write shares: where files go, Parquet settings, which statistics to keep."""

    locations: LocationProvider
    parquet: dict[str, Any]
    row_group_rows: int
    statistics: dict[int, StatisticsCollector]
    column_ids: dict[str, int]

    @classmethod
    def of(cls, metadata: TableMetadata, file_schema: Schema, data: pa.Table) -> _FileLayout:
        properties = metadata.properties
        plain = mostly_distinct_columns(data, file_schema)
        parquet = parquet_writer_kwargs(properties)
        parquet["use_dictionary"] = [
            path
            for field, column in zip(file_schema.fields, data.schema, strict=True)
            if field.field_id not in plain
            for path in _leaf_paths(column.name, column.type)
        ]
        row_group_rows = int(
            properties.get(TableProperties.PARQUET_ROW_GROUP_LIMIT, TableProperties.PARQUET_ROW_GROUP_LIMIT_DEFAULT)
        )
        return cls(
            locations=load_location_provider(table_location=metadata.location, table_properties=properties),
            parquet=parquet,
            row_group_rows=row_group_rows,
            statistics=compute_statistics_plan(file_schema, properties),
            column_ids=parquet_path_to_id_mapping(file_schema),
        )


class DataFileWriter:
    """Writes Arrow tables as data files of one table (partitioned by its current spec), numbering them uniquely."""

    def __init__(self, metadata: TableMetadata, io: FileIO):
        self.metadata = metadata
        self.io = io
        self.write_uuid = uuid.uuid4()
        self.counter = itertools.count(0)
        self.target_bytes = int(metadata.properties.get("write.target-file-size-bytes", DEFAULT_TARGET_FILE_BYTES))

    def write(self, data: pa.Table) -> list[DataFile]:
        if data.num_rows == 0:
            return []
        metadata = self.metadata
        data_schema = pyarrow_to_schema(
            data.schema, name_mapping=metadata.schema().name_mapping, format_version=metadata.format_version
        )
        file_schema = sanitize_column_names(metadata.schema())
        # Once per call, not per file: field ids and the table's types (a narrower batch is widened here).
        data = pa.Table.from_batches(
            [
                to_requested_schema(
                    requested_schema=file_schema,
                    file_schema=data_schema,
                    batch=batch,
                    include_field_ids=True,
                    format_model=_PARQUET,
                )
                for batch in data.to_batches()
            ]
        )
        layout = _FileLayout.of(metadata, file_schema, data)
        rows_per_file = max(1, int(self.target_bytes / max(1.0, data.nbytes / data.num_rows)))
        parts = [
            (next(self.counter), key, part.slice(offset, rows_per_file))
            for key, part in self._partitions(data, file_schema)
            for offset in range(0, part.num_rows, rows_per_file)
        ]
        executor = ExecutorFactory.get_or_create()
        futures = [executor.submit(self._write_file, layout, *part) for part in parts]
        written, failure = [], None
        for future in futures:
            try:
                written.append(future.result())
            except BaseException as error:  # noqa: BLE001 - re-raised below, after every file has finished
                failure = failure or error
        if failure is not None:
            delete_quietly(self.io, [f.file_path for f in written])  # the caller only learns of whole writes
            raise failure
        return written

    def _write_file(self, layout: _FileLayout, number: int, key: PartitionKey | None, rows: pa.Table) -> DataFile:
        """One Parquet data file, as pyiceberg's ``write_file`` writes it (statistics from the footer)."""
        file_path = layout.locations.new_data_location(
            data_file_name=f"00000-{number}-{self.write_uuid}.parquet", partition_key=key
        )
        output = self.io.new_output(file_path)
        try:
            with output.create(overwrite=True) as stream:
                parquet, statistics_plan = layout.parquet, layout.statistics
                if large := large_value_columns(rows):
                    parquet = {**parquet, "write_statistics": _paths_but(rows.schema, large)}
                    statistics_plan = _without_metrics(statistics_plan, {layout.column_ids[name] for name in large})
                with pq.ParquetWriter(stream, schema=rows.schema, store_decimal_as_integer=True, **parquet) as writer:
                    writer.write(rows, row_group_size=layout.row_group_rows)
                size = stream.tell()  # the bytes written: no request to the store to ask them back (``len(output)``)
        except BaseException:
            delete_quietly(self.io, [file_path])  # e.g. a full disk: no half-written file stays behind
            raise
        statistics = data_file_statistics_from_parquet_metadata(
            parquet_metadata=writer.writer.metadata,
            stats_columns=statistics_plan,
            parquet_column_mapping=layout.column_ids,
        )
        data_file = DataFile.from_args(
            content=DataFileContent.DATA,
            file_path=file_path,
            file_format=FileFormat.PARQUET,
            partition=key.partition if key else Record(),
            file_size_in_bytes=size,
            sort_order_id=None,
            spec_id=self.metadata.default_spec_id,
            equality_ids=None,
            key_metadata=None,
            **statistics.to_serialized_dict(),
        )
        data_file.spec_id = self.metadata.default_spec_id  # from_args does not keep it; reads need it
        return data_file

    def _partitions(self, data: pa.Table, file_schema: Schema) -> Iterable[tuple[PartitionKey | None, pa.Table]]:
        """The rows of each partition of the table's spec (``data`` has ``file_schema``'s column names)."""
        spec = self.metadata.spec()
        if spec.is_unpartitioned():
            yield None, data
            return
        schema = self.metadata.schema()
        transformed = {}
        for i, field in enumerate(spec.fields):
            source = schema.find_field(field.source_id)
            column = data.column(file_schema.find_column_name(field.source_id))
            transformed[f"p{i}"] = field.transform.pyarrow_transform(source.field_type)(column)
        keys = pa.table(transformed)
        changes = _key_changes(keys)
        if (pc.sum(changes).as_py() or 0) + 1 > keys.group_by(keys.column_names).aggregate([]).num_rows:
            # Rows of a partition are scattered: order them by partition once so each partition is one slice.
            order = pc.sort_indices(keys, sort_keys=[(name, "ascending") for name in keys.column_names])
            data, keys = data.take(order), keys.take(order)
            changes = _key_changes(keys)
        starts = [0, *pc.add(pc.indices_nonzero(changes), 1).to_pylist()]
        for first, end in zip(starts, [*starts[1:], keys.num_rows], strict=True):
            values = keys.slice(first, 1).to_pylist()[0]
            key = PartitionKey(
                field_values=[PartitionFieldValue(field, values[f"p{i}"]) for i, field in enumerate(spec.fields)],
                partition_spec=spec,
                schema=schema,
            )
            yield key, data.slice(first, end - first)


def _key_changes(keys: pa.Table) -> pa.BooleanArray:
    """For each row but the first: does its partition key differ from the previous row's (null equals null)?"""
    changes = []
    for column in keys.columns:
        column = column.combine_chunks()
        before, after = column.slice(0, max(0, len(column) - 1)), column.slice(1)
        changes.append(pc.fill_null(pc.not_equal(before, after), pc.xor(pc.is_null(before), pc.is_null(after))))
    return functools.reduce(pc.or_, changes)


def large_value_columns(data: pa.Table) -> frozenset[str]:
    """Top-level string and binary columns of ``data`` holding a value of ``LARGE_VALUE_BYTES`` or more."""
    large = set()
    for field, column in zip(data.schema, data.columns, strict=True):
        if not (pa.types.is_string(field.type) or pa.types.is_large_string(field.type)) and not (
            pa.types.is_binary(field.type) or pa.types.is_large_binary(field.type)
        ):
            continue
        longest = pc.max(pc.binary_length(column)).as_py()  # the lengths only: no value is copied
        if longest is not None and longest >= LARGE_VALUE_BYTES:
            large.add(field.name)
    return frozenset(large)


def _without_metrics(plan: dict[int, StatisticsCollector], field_ids: set[int]) -> dict[int, StatisticsCollector]:
    """``plan`` with metrics mode ``none`` for ``field_ids`` (columns written without Parquet statistics)."""
    none = MetricsMode(MetricModeTypes.NONE)
    return {fid: dataclasses.replace(c, mode=none) if fid in field_ids else c for fid, c in plan.items()}


def _paths_but(schema: pa.Schema, names: frozenset[str]) -> list[str]:
    """Parquet leaf paths of every column of ``schema`` but the top-level ``names``."""
    return [path for field in schema if field.name not in names for path in _leaf_paths(field.name, field.type)]


def mostly_distinct_columns(data: pa.Table, schema: Schema) -> frozenset[int]:
    """Field ids of primitive columns whose values are mostly distinct in a sample of ``data``'s rows, or that
    hold a large value (no dictionary page could hold it)."""
    rows = data.num_rows
    large = large_value_columns(data)
    step = max(1, rows // DICTIONARY_SAMPLE_ROWS)
    every = pl.int_range(0, rows, step, eager=True).to_arrow() if step > 1 else None
    plain = set()
    for field, column in zip(data.schema, data.columns, strict=True):
        if _is_nested(field.type):
            continue
        if field.name in large:
            plain.add(schema.find_field(field.name).field_id)
            continue
        # Column by column (Table.take over many chunks is ~10x slower); every row: the column itself, no copy.
        sample = column.take(every) if every is not None else column
        if pc.count_distinct(sample).as_py() > DICTIONARY_MAX_DISTINCT_SHARE * max(1, len(sample)):
            plain.add(schema.find_field(field.name).field_id)
    return frozenset(plain)


def _is_nested(arrow_type: pa.DataType) -> bool:
    return pa.types.is_struct(arrow_type) or pa.types.is_map(arrow_type) or _is_list(arrow_type)


def _is_list(arrow_type: pa.DataType) -> bool:
    return pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type) or pa.types.is_fixed_size_list(arrow_type)


def _leaf_paths(path: str, arrow_type: pa.DataType) -> list[str]:
    """Parquet's dotted leaf column paths under ``path`` (lists as ``list.element``, maps as ``key_value``)."""
    if pa.types.is_struct(arrow_type):
        return [p for f in arrow_type for p in _leaf_paths(f"{path}.{f.name}", f.type)]
    if pa.types.is_map(arrow_type):
        return _leaf_paths(f"{path}.key_value.key", arrow_type.key_type) + _leaf_paths(
            f"{path}.key_value.value", arrow_type.item_type
        )
    if _is_list(arrow_type):
        return _leaf_paths(f"{path}.list.element", arrow_type.value_type)
    return [path]


def delete_quietly(io: FileIO, paths: Iterable[str]) -> None:
    """Delete files no snapshot references (best effort: such files are never visible to readers anyway)."""
    for path in paths:
        try:
            io.delete(path)
        except Exception:  # noqa: BLE001
            logger.debug("could not delete unreferenced file %s", path)


def read_data_files(metadata: TableMetadata, io: FileIO, tasks: list[FileScanTask]) -> pa.Table:
    """Rows of the given files in the table's current schema (older files are projected, deletes applied)."""
    return ArrowScan(
        table_metadata=metadata, io=io, projected_schema=metadata.schema(), row_filter=AlwaysTrue()
    ).to_table(tasks)
