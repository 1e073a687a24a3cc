"""Column statistics of data files, compared with batch values, so writes read only the files they touch.

Iceberg keeps each data file's per-column lower/upper bounds in the manifests. Merges and partition overwrites
compare those bounds with the batch's keys or windows and skip every file that cannot hold a matching row. Values
are compared in Iceberg's physical form (days for dates, microseconds for timestamps), which is what
``pyiceberg.conversions.from_bytes`` returns for the bounds.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from pyiceberg.conversions import from_bytes
from pyiceberg.manifest import DataFile
from pyiceberg.types import (
    BooleanType,
    DateType,
    DoubleType,
    FloatType,
    IntegerType,
    LongType,
    StringType,
    TimestampType,
    TimestamptzType,
)

_COMPARABLE = (
    IntegerType,
    LongType,
    StringType,
    DateType,
    TimestampType,
    TimestamptzType,
    BooleanType,
    FloatType,
    DoubleType,
)
# pyiceberg truncates string bounds to 16 characters (metrics mode truncate(16)): shorter bounds are exact values.
_STRING_TRUNCATION = 16


def column_bounds(data_file: DataFile, field_id: int, field_type: Any) -> tuple[Any, Any, bool] | None:
    """``(lower, upper, exact)`` of a column in a file, or None when there are no usable statistics.

    ``exact`` is False when a string bound may be truncated; the range is still a valid (wider) bound.
    """
    if not isinstance(field_type, _COMPARABLE):
        return None
    lower = (data_file.lower_bounds or {}).get(field_id)
    upper = (data_file.upper_bounds or {}).get(field_id)
    if lower is None or upper is None:
        return None
    lo, hi = from_bytes(field_type, lower), from_bytes(field_type, upper)
    exact = True
    if isinstance(field_type, StringType):
        exact = len(lo) < _STRING_TRUNCATION and len(hi) < _STRING_TRUNCATION
    return lo, hi, exact


def comparable_values(series: pl.Series) -> list[Any] | None:
    """Sorted non-null values of ``series`` in Iceberg's physical form, or None if the type has no usable order."""
    series = series.drop_nulls()
    dtype = series.dtype
    if isinstance(dtype, pl.Datetime):
        series = series.dt.cast_time_unit("us").dt.epoch("us")
    elif isinstance(dtype, pl.Date):
        series = series.cast(pl.Int32)
    elif not (dtype.is_integer() or dtype.is_float() or dtype in (pl.String, pl.Boolean)):
        return None
    return series.sort().to_list()
