"""Partition expressions (``"day(created_at)"``, ``"week(ts)"``, ``"month(ts)"``, ``"col"``) and their windows.

A source declares how its table is partitioned as a short string; this module turns it into the Iceberg partition
field the table is created with and, for ``overwrite_partitions``, into the *windows* a batch covers: the whole
days, weeks or months (or identity values) whose rows the batch replaces.

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
from pyiceberg.transforms import DayTransform, IdentityTransform, MonthTransform, Transform

from oso_core.warehouse.stats import column_bounds, comparable_values

Transform_ = Literal["identity", "day", "week", "month"]
_EXPR = re.compile(r"^\s*(?:(identity|day|week|month)\s*\(\s*([A-Za-z_][\w]*)\s*\)|([A-Za-z_][\w]*))\s*$")
_TRUNCATE = {"day": "1d", "week": "1w", "month": "1mo"}

# How a data file relates to a batch's windows.
COVERED, DISJOINT, STRADDLES = "covered", "disjoint", "straddles"


@dataclass(frozen=True)
class PartitionBy:
    """One partition expression: a column and how it is bucketed."""

    column: str
    transform: Transform_

    @classmethod
    def parse(cls, text: str) -> PartitionBy:
        match = _EXPR.match(text or "")
        if not match:
            raise ValueError(
                f"partition_by {text!r} is not understood; use 'day(col)', 'week(col)', 'month(col)' or 'col'"
            )
        if match.group(3):
            return cls(match.group(3), "identity")
        return cls(match.group(2), match.group(1))  # type: ignore[arg-type]

    def iceberg_transform(self) -> Transform[Any, Any]:
        """The table's partition transform (weeks are stored as days, see the module docstring)."""
        if self.transform == "identity":
            return IdentityTransform()
        if self.transform == "month":
            return MonthTransform()
        return DayTransform()

    @property
    def field_name(self) -> str:
        suffix = "day" if self.transform == "week" else self.transform
        return self.column if self.transform == "identity" else f"{self.column}_{suffix}"

    def windows(self, frame: pl.DataFrame) -> Windows:
        """The windows the rows of ``frame`` fall in."""
        if self.column not in frame.columns:
            raise ValueError(f"partition column {self.column!r} is not in the data (columns: {frame.columns})")
        series = frame.get_column(self.column)
        has_null = series.null_count() > 0
        if self.transform == "identity":
            values = series.drop_nulls().unique()
            return Windows(self, values=values, has_null=has_null)
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
