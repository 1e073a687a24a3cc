"""Polars → Arrow types that Iceberg accepts, so no source has to know pyiceberg's type pitfalls.

Timestamps become microseconds in UTC (Iceberg rejects ns and non-UTC zones), unsigned ints widen to the
next signed type (uint32 ≥ 2³¹ fails at write otherwise), all-null columns become strings (v2 rejects the
null type), categoricals and enums become strings.
"""

from __future__ import annotations

import polars as pl
import pyarrow as pa

_UNSIGNED = {pl.UInt8: pl.Int16, pl.UInt16: pl.Int32, pl.UInt32: pl.Int64, pl.UInt64: pl.Int64}


def normalize_dtype(dtype: pl.DataType) -> pl.DataType:
    if isinstance(dtype, pl.Datetime):
        return pl.Datetime("us", "UTC")
    if isinstance(dtype, pl.Duration):
        return pl.Int64()
    if dtype in _UNSIGNED:
        return _UNSIGNED[dtype]()
    if isinstance(dtype, (pl.Categorical, pl.Enum, pl.Null, pl.Object)):
        return pl.String()
    if isinstance(dtype, pl.List):
        return pl.List(normalize_dtype(dtype.inner))
    if isinstance(dtype, pl.Array):
        return pl.List(normalize_dtype(dtype.inner))
    if isinstance(dtype, pl.Struct):
        return pl.Struct([pl.Field(f.name, normalize_dtype(f.dtype)) for f in dtype.fields])
    return dtype


def normalize_frame(df: pl.DataFrame) -> pl.DataFrame:
    """Cast every column to its Iceberg-safe type (naive datetimes are taken as UTC)."""
    casts = {}
    for name, dtype in df.schema.items():
        target = normalize_dtype(dtype)
        if target != dtype:
            casts[name] = target
    if not casts:
        return df
    exprs = []
    for name, target in casts.items():
        dtype = df.schema[name]
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is None:
            exprs.append(pl.col(name).dt.replace_time_zone("UTC").dt.cast_time_unit("us").alias(name))
        elif isinstance(dtype, pl.Datetime):
            exprs.append(pl.col(name).dt.convert_time_zone("UTC").dt.cast_time_unit("us").alias(name))
        elif isinstance(dtype, pl.Duration):
            exprs.append(pl.col(name).dt.total_microseconds().alias(name))
        else:
            exprs.append(pl.col(name).cast(target).alias(name))
    return df.with_columns(exprs)


def to_arrow(df: pl.DataFrame) -> pa.Table:
    """Arrow hand-off to pyiceberg with plain (not view) string types."""
    table = normalize_frame(df).to_arrow(compat_level=pl.CompatLevel.oldest())
    return table
