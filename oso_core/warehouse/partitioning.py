"""Partition expressions (``"day(created_at)"``, ``"month(ts)"``, ``"truncate(time, 2592000)"``, ``"col"``...)
and their windows.

A source declares how its table is partitioned as a short string; this module turns it into the Iceberg partition
field the table is created with (or evolved to, see :func:`evolve_spec`) and into the *windows* a batch covers:
the whole days, weeks, months, years, integer buckets (or identity values) its rows fall in. ``overwrite_partitions``
replaces those windows; a ``merge`` into a table whose key determines the partition reads only files in them.

``truncate(col, width)`` buckets an integer column (unix seconds, block numbers) into ``[v - v mod width,
+ width)``, Iceberg's ``truncate[width]`` transform: the time transforms need a date or timestamp column.

Iceberg has no week transform. ``week(ts)`` tables are partitioned by ``day(ts)`` and overwritten in whole ISO weeks
(Monday 00:00 UTC to the next Monday): a batch holding any row of a week replaces that entire week, which is what a
source loading week-sized windows needs, while day partitions keep the pruning fine-grained.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl
from pyiceberg.manifest import DataFile
from pyiceberg.partitioning import PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import Transaction
from pyiceberg.transforms import (
    DayTransform,
    IdentityTransform,
    MonthTransform,
    Transform,
    TruncateTransform,
    YearTransform,
)

from oso_core.warehouse.stats import column_bounds, comparable_values

Transform_ = Literal["identity", "day", "week", "month", "year", "truncate"]
_EXPR = re.compile(
    r"^\s*(?:(identity|day|week|month|year)\s*\(\s*([A-Za-z_][\w]*)\s*\)"
    r"|truncate\s*\(\s*([A-Za-z_][\w]*)\s*,\s*([1-9][0-9]*)\s*\)"
    r"|([A-Za-z_][\w]*))\s*$"
)
_TRUNCATE = {"day": "1d", "week": "1w", "month": "1mo", "year": "1y"}

# How a data file relates to a batch's windows.
COVERED, DISJOINT, STRADDLES = "covered", "disjoint", "straddles"


@dataclass(frozen=True)
class PartitionBy:
    """One partition expression: a column and how it is bucketed."""

    column: str
    transform: Transform_
    width: int = 0  # truncate(col, width) only

    @classmethod
    def parse(cls, text: str) -> PartitionBy:
        match = _EXPR.match(text or "")
        if not match:
            raise ValueError(
                f"partition_by {text!r} is not understood; use 'day(col)', 'week(col)', 'month(col)', "
                "'year(col)', 'truncate(col, width)' or 'col'"
            )
        if match.group(5):
            return cls(match.group(5), "identity")
        if match.group(3):
            return cls(match.group(3), "truncate", int(match.group(4)))
        return cls(match.group(2), match.group(1))  # type: ignore[arg-type]

    def iceberg_transform(self) -> Transform[Any, Any]:
        """The table's partition transform (weeks are stored as days, see the module docstring)."""
        if self.transform == "identity":
            return IdentityTransform()
        if self.transform == "month":
            return MonthTransform()
        if self.transform == "year":
            return YearTransform()
        if self.transform == "truncate":
            return TruncateTransform(self.width)
        return DayTransform()

    @property
    def field_name(self) -> str:
        suffix = {"week": "day", "truncate": "trunc"}.get(self.transform, self.transform)
        return self.column if self.transform == "identity" else f"{self.column}_{suffix}"

    def matches(self, spec: PartitionSpec, schema: Schema) -> bool:
        """Whether ``spec`` is exactly this partitioning (one field: this column, this transform)."""
        if len(spec.fields) != 1:
            return False
        only = spec.fields[0]
        try:
            source = schema.find_field(self.column)
        except ValueError:
            return False
        return only.source_id == source.field_id and str(only.transform) == str(self.iceberg_transform())

    def windows(self, frame: pl.DataFrame) -> Windows:
        """The windows the rows of ``frame`` fall in."""
        if self.column not in frame.columns:
            raise ValueError(f"partition column {self.column!r} is not in the data (columns: {frame.columns})")
        series = frame.get_column(self.column)
        has_null = series.null_count() > 0
        if self.transform == "identity":
            values = series.drop_nulls().unique()
            return Windows(self, values=values, has_null=has_null)
        if self.transform == "truncate":
            if not series.dtype.is_integer():
                raise ValueError(f"partition column {self.column!r} must be an integer for truncate()")
            values = series.drop_nulls()
            return Windows(self, values=(values - values % self.width).unique(), has_null=has_null)
        if not isinstance(series.dtype, (pl.Datetime, pl.Date)):
            raise ValueError(f"partition column {self.column!r} must be a date or timestamp for {self.transform}()")
        starts = series.drop_nulls().dt.truncate(_TRUNCATE[self.transform]).unique()
        return Windows(self, values=starts, has_null=has_null)


@dataclass
class Windows:
    """The set of partition windows a batch covers: window starts (or identity values) plus whether nulls occur."""

    partition: PartitionBy
    values: pl.Series
    has_null: bool

    def union(self, other: Windows) -> Windows:
        values = pl.concat([self.values, other.values.cast(self.values.dtype)]).unique()
        return Windows(self.partition, values=values, has_null=self.has_null or other.has_null)

    def describe(self) -> str:
        shown = sorted(str(v) for v in self.values.to_list())
        text = ", ".join(shown[:5]) + (f" … ({len(shown)} in all)" if len(shown) > 5 else "")
        return f"{self.partition.transform}({self.partition.column}) ∈ [{text}]" + (" + null" if self.has_null else "")

    def mask(self) -> pl.Expr:
        """True for rows that fall in one of the windows (these are the rows a partition overwrite replaces)."""
        col = pl.col(self.partition.column)
        if self.partition.transform == "identity":
            inside = col.is_in(self.values.implode())
        elif self.partition.transform == "truncate":
            inside = (col - col % self.partition.width).is_in(self.values.implode())
        else:
            inside = col.dt.truncate(_TRUNCATE[self.partition.transform]).is_in(self.values.implode())
        inside = inside.fill_null(False)
        return inside | col.is_null() if self.has_null else inside

    @functools.cached_property
    def _ranges(self) -> tuple[list[Any], list[Any]] | None:
        """Window [start, end) in the physical unit Iceberg's column statistics use (computed once per batch)."""
        if self.values.is_empty():
            return [], []
        starts = self.values.sort()
        if self.partition.transform == "identity":
            physical = comparable_values(starts)
            return (physical, physical) if physical is not None else None
        if self.partition.transform == "truncate":
            ends = starts + self.partition.width
        else:
            ends = starts.dt.offset_by(_TRUNCATE[self.partition.transform])
        lo, hi = comparable_values(starts), comparable_values(ends)
        return (lo, hi) if lo is not None and hi is not None else None

    def classify(self, data_file: DataFile, field_id: int, field_type: Any) -> str:
        """Whether a file lies wholly inside the windows, wholly outside, or needs a rewrite (from its statistics)."""
        ranges = self._ranges
        if ranges is None:
            return STRADDLES
        starts, ends = ranges
        nulls = (data_file.null_value_counts or {}).get(field_id)
        bounds = column_bounds(data_file, field_id, field_type)
        if nulls is None:
            return STRADDLES
        all_null = nulls == data_file.record_count
        if bounds is None and not all_null:
            return STRADDLES
        null_part = (COVERED if self.has_null else DISJOINT) if nulls else None
        value_part = None
        if not all_null:
            lo, hi, exact = bounds
            if self.partition.transform == "identity":
                i = bisect.bisect_left(starts, lo)
                overlaps = i < len(starts) and starts[i] <= hi
                inside = exact and lo == hi and overlaps
            else:
                i = bisect.bisect_right(starts, lo) - 1  # the window starting at or before lo
                inside = i >= 0 and hi < ends[i]
                j = bisect.bisect_right(starts, hi) - 1  # the last window starting at or before hi
                overlaps = j >= 0 and ends[j] > lo
            value_part = COVERED if inside else (DISJOINT if not overlaps else STRADDLES)
        parts = {p for p in (null_part, value_part) if p is not None}
        return parts.pop() if len(parts) == 1 else STRADDLES


def evolve_spec(txn: Transaction, partition: PartitionBy) -> bool:
    """Stage, in ``txn``, the change of the table's partition spec to ``partition`` (False: it already is).

    Iceberg evolves partitioning in place: files already written keep the spec they were written with (each data
    file records its spec id) and are read as before; files written from now on use the new spec. A field of the
    old spec that is not the declared one is removed, the declared field is added.
    """
    metadata = txn.table_metadata
    schema = metadata.schema()
    if partition.matches(metadata.spec(), schema):
        return False
    try:
        schema.find_field(partition.column)
    except ValueError:
        raise ValueError(f"partition column {partition.column!r} is not in the table") from None
    with txn.update_spec() as update:
        for old in metadata.spec().fields:
            update.remove_field(old.name)
        update.add_field(partition.column, partition.iceberg_transform(), partition.field_name)
    return True
