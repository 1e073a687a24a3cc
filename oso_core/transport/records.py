"""JSON payloads → validated Polars frames, with errors that name the source, endpoint, record and field.

A source's payloads are checked where they are read: ``Where(source, endpoint).field(obj, "chainTvls", dict)``
digs one field out and says exactly what was missing or mistyped; ``records_to_frame(rows, schema, where=...)``
checks every value of every row against the declared Polars schema before building the frame, so bad input
fails the load (nothing is committed) with a message such as::

    defillama: /protocol/aave-v3: record aave-v3 #12: field 'tvl': expected a number, got str 'n/a'

Nested values that OSO loads with ``max_table_nesting=0`` are kept as JSON text (``json_text``), and
camelCase API names become snake_case column names the way dlt's naming convention does (``snake_case``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any, Literal

import polars as pl

from oso_core.errors import OsoError, RecordError
from oso_core.transport.json_codec import dumps_compact

_MISSING = object()


@dataclass(frozen=True)
class Where:
    """Where a value came from, so every error can say so: the source, the endpoint and (optionally) the record."""

    source: str
    endpoint: str
    record: str | None = None

    def at(self, record: object) -> Where:
        """The same place, one record further in (``chainTvls.Ethereum.tvl`` then ``#3``)."""
        return replace(self, record=f"{self.record} {record}" if self.record else str(record))

    def error(self, field: str | None, problem: str) -> RecordError:
        return RecordError(self.source, self.endpoint, problem, record=self.record, field=field)

    def field(
        self,
        obj: Any,
        name: str,
        kind: type | tuple[type, ...] | None = None,
        *,
        required: bool = True,
        default: Any = None,
    ) -> Any:
        """``obj[name]`` checked to be a ``kind``; a missing or null field is an error unless not ``required``."""
        if not isinstance(obj, Mapping):
            raise self.error(None, f"expected an object with field {name!r}, got {_describe(obj)}")
        value = obj.get(name, _MISSING)
        if value is _MISSING or value is None:
            if required:
                raise self.error(name, "missing" if value is _MISSING else "is null")
            return default
        if kind is not None and (not isinstance(value, kind) or (isinstance(value, bool) and bool not in _kinds(kind))):
            raise self.error(name, f"expected {_kind_name(kind)}, got {_describe(value)}")
        return value

    def expect(self, value: Any, kind: type | tuple[type, ...], what: str = "response") -> Any:
        """``value`` checked to be a ``kind`` (e.g. the whole payload is a list)."""
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _kinds(kind)):
            raise self.error(None, f"{what}: expected {_kind_name(kind)}, got {_describe(value)}")
        return value


def records_to_frame(
    rows: Iterable[Mapping[str, Any]],
    schema: Mapping[str, pl.DataType],
    *,
    where: Where,
    required: Iterable[str] = (),
    record_id: str | Callable[[Mapping[str, Any]], object] | None = None,
    extra: Literal["drop", "keep", "error"] = "drop",
    start: int = 0,
) -> pl.DataFrame:
    """A frame with exactly ``schema``'s columns (plus, with ``extra="keep"``, any other fields the rows carry).

    Every value is checked against its column's type; ``required`` columns must be present and non-null.
    Dates and datetimes may come as ISO strings. Errors name the record by ``record_id`` (a field or a
    function) and its position, counted from ``start`` (a page's offset, so ``#1012`` is the endpoint's 1013th).
    """
    required = set(required)
    unknown = required - set(schema)
    if unknown:
        raise ValueError(f"required columns {sorted(unknown)} are not in the schema")
    rows = list(rows)
    columns: dict[str, list[Any]] = {name: [] for name in schema}
    extras: dict[str, list[Any]] = {}
    if extra == "drop" and all(row.__class__ is dict for row in rows):
        # the common case, column by column: one comprehension per column instead of a Python loop per value
        columns = {name: [row.get(name) for row in rows] for name in schema}
        rows_left: list[Any] = []
    else:
        rows_left = rows
    for index, row in enumerate(rows_left):
        if not isinstance(row, Mapping):
            raise where.at(f"#{start + index}").error(None, f"expected an object, got {_describe(row)}")
        for name, values in columns.items():
            values.append(row.get(name))
        if extra != "drop":
            for name in row.keys() - schema.keys():
                if extra == "error":
                    raise where.at(_label(row, start + index, record_id)).error(name, "is not an expected field")
                extras.setdefault(name, [None] * index)
            for name, values in extras.items():
                value = row.get(name)
                values.append(json_text(value) if isinstance(value, (dict, list)) else value)
    series = []
    for name, values in columns.items():
        column = _fast_series(name, values, schema[name])
        if column is None:
            column = _checked_series(name, values, schema[name], rows, where, record_id, start)
        if name in required and column.null_count():
            index = column.is_null().arg_true()[0]
            problem = "missing" if name not in rows[index] else "is null"
            raise where.at(_label(rows[index], start + index, record_id)).error(name, problem)
        series.append(column)
    for name, values in extras.items():
        try:
            series.append(pl.Series(name, values, strict=False))
        except (TypeError, pl.exceptions.PolarsError):
            series.append(pl.Series(name, [None if v is None else str(v) for v in values], dtype=pl.String))
    return pl.DataFrame(series)


def _fast_series(name: str, values: list[Any], dtype: pl.DataType) -> pl.Series | None:
    """The column built by Polars in one go when every value already fits; ``None`` sends it the slow way.

    Polars builds only columns of scalars from Python values here (inside lists and structs it would cast:
    ``"a"`` → ``["a"]``, ``"18"`` → 18). Lists and structs are taken apart instead: their leaves go through this
    same check and the column is reassembled from them, so a nested column costs a few list comprehensions, not
    a Python call per value (``_checked_series``). Any misfit, anywhere, sends the whole column the slow way,
    which converts what it may and names the first value that does not fit.
    """
    if isinstance(dtype, pl.Struct):
        return _fast_struct(name, values, dtype)
    if isinstance(dtype, pl.List):
        return _fast_list(name, values, dtype)
    if dtype.is_nested():
        return None
    if dtype.is_numeric() and any(value.__class__ is bool for value in values):
        return None  # Polars would take True as 1: let the value check refuse it
    try:
        return pl.Series(name, values, dtype=dtype, strict=True)
    except (TypeError, ValueError, OverflowError, pl.exceptions.PolarsError):
        if isinstance(dtype, pl.Datetime):
            return _iso_datetimes(name, values, dtype)
        return None


def _fast_struct(name: str, values: list[Any], dtype: pl.Struct) -> pl.Series | None:
    if not values or not dtype.fields or any(v is not None and v.__class__ is not dict for v in values):
        return None  # other mappings, non-objects (named by the slow path) and empty columns go the slow way
    fields = []
    for struct_field in dtype.fields:
        key = struct_field.name
        column = _fast_series(key, [None if v is None else v.get(key) for v in values], struct_field.dtype)
        if column is None:
            return None
        fields.append(column)
    struct = pl.DataFrame(fields).select(pl.struct(pl.all()).alias(name)).to_series()
    present = pl.Series([v is not None for v in values], dtype=pl.Boolean)
    if not present.all():
        struct = pl.select(pl.when(present).then(struct).alias(name)).to_series()
    return struct if struct.dtype == dtype else None


def _fast_list(name: str, values: list[Any], dtype: pl.List) -> pl.Series | None:
    import pyarrow as pa

    if not values or any(v is not None and v.__class__ is not list for v in values):
        return None
    inner = _fast_series("item", [item for v in values if v is not None for item in v], dtype.inner)
    if inner is None:
        return None
    offsets, end = [0], 0
    for v in values:
        end += 0 if v is None else len(v)
        offsets.append(end)
    mask = pa.array([v is None for v in values], type=pa.bool_())
    arrow = pa.LargeListArray.from_arrays(pa.array(offsets, type=pa.int64()), inner.to_arrow(), mask=mask)
    column = pl.Series(name, arrow)
    return column if column.dtype == dtype else None


# ``datetime.fromisoformat`` accepts more than this; anything else (dates alone, spaces, hours only) goes the slow way
_ISO_TIMESTAMP = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})?$"


def _iso_datetimes(name: str, values: list[Any], dtype: pl.Datetime) -> pl.Series | None:
    """ISO 8601 timestamp strings parsed by Polars, exactly as ``_coerce`` parses them (no offset = UTC)."""
    if dtype.time_zone is None or any(v is not None and v.__class__ is not str for v in values):
        return None
    return iso_datetimes(pl.Series(name, values, dtype=pl.String), dtype)


def iso_datetimes(text: pl.Series, dtype: pl.Datetime) -> pl.Series | None:
    """A String column of ISO 8601 timestamps parsed as ``_coerce`` parses them, or ``None`` if any value is not
    of the one shape parsed here (the value-by-value path then converts or names it)."""
    name = text.name
    if dtype.time_zone is None:
        return None
    try:
        if not text.str.contains(_ISO_TIMESTAMP).fill_null(True).all():
            return None
        text = text.str.replace(r"Z$", "+00:00")
        text = pl.select(
            pl.when(text.str.contains(r"[+-]\d{2}:\d{2}$")).then(text).otherwise(text + "+00:00").alias(name)
        ).to_series()
        parsed = text.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%:z", time_unit=dtype.time_unit, strict=True)
        return parsed.dt.convert_time_zone(dtype.time_zone)
    except (TypeError, ValueError, pl.exceptions.PolarsError):
        return None


def _checked_series(
    name: str,
    values: list[Any],
    dtype: pl.DataType,
    rows: list[Mapping[str, Any]],
    where: Where,
    record_id: str | Callable[[Mapping[str, Any]], object] | None,
    start: int = 0,
) -> pl.Series:
    """Value by value: converts what may be converted (ISO dates, whole floats) and names the first misfit."""
    converted = []
    for index, value in enumerate(values):
        try:
            converted.append(None if value is None else _coerce(value, dtype))
        except _Mismatch as exc:
            raise where.at(_label(rows[index], start + index, record_id)).error(name, str(exc)) from None
    return pl.Series(name, converted, dtype=dtype, strict=True)


def concat_frames(frames: Iterable[pl.DataFrame], schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """Frames of one schema stacked; with no frames at all, an empty frame that still has the schema's columns."""
    return pl.concat([pl.DataFrame(schema=dict(schema)), *frames], how="vertical")


def group_frames(frames: Iterable[pl.DataFrame], rows: int) -> Iterator[pl.DataFrame]:
    """Frames of one schema stacked into frames of at least ``rows`` rows (the last may be shorter), as they come.

    Pages are small (hundreds of records) and a warehouse write makes data files per frame: grouped, a load
    writes files of a useful size while holding only about ``rows`` rows at a time.
    """
    held: list[pl.DataFrame] = []
    count = 0
    for frame in frames:
        held.append(frame)
        count += frame.height
        if count >= rows:
            yield pl.concat(held, how="vertical", rechunk=True)
            held, count = [], 0
    if held:
        yield pl.concat(held, how="vertical", rechunk=True)


def json_text(value: Any) -> str | None:
    """A nested value as compact, key-sorted JSON text (how OSO's ``max_table_nesting=0`` columns hold it)."""
    if value is None:
        return None
    return dumps_compact(value)


def from_unix(seconds: Any) -> datetime:
    """A UTC datetime from a Unix timestamp in seconds (an int, a float or a numeric string)."""
    return datetime.fromtimestamp(float(seconds), tz=UTC)


class _Mismatch(OsoError):
    pass


def _coerce(value: Any, dtype: pl.DataType) -> Any:
    """``value`` if it fits ``dtype`` (ISO strings become dates), else ``_Mismatch`` saying what was expected."""
    if dtype == pl.String:
        if isinstance(value, str):
            return value
        raise _Mismatch(f"expected a string, got {_describe(value)}")
    if dtype.is_integer():
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, float) and value.is_integer():
            number = int(value)
        else:
            raise _Mismatch(f"expected an integer, got {_describe(value)}")
        low, high = _integer_range(dtype)
        if not low <= number <= high:
            raise _Mismatch(f"expected an integer that fits {dtype}, got {_describe(value)}")
        return number
    if dtype.is_float():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise _Mismatch(f"expected a number, got {_describe(value)}")
    if dtype == pl.Boolean:
        if isinstance(value, bool):
            return value
        raise _Mismatch(f"expected true/false, got {_describe(value)}")
    if isinstance(dtype, pl.Datetime):
        if isinstance(value, datetime):
            return value
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise _Mismatch(f"expected an ISO timestamp, got {_describe(value)}") from None
            if dtype.time_zone and parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            return parsed
        raise _Mismatch(f"expected a timestamp, got {_describe(value)}")
    if dtype == pl.Date:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value[:10])
            except ValueError:
                raise _Mismatch(f"expected an ISO date, got {_describe(value)}") from None
        raise _Mismatch(f"expected a date, got {_describe(value)}")
    if isinstance(dtype, pl.List):
        if not isinstance(value, list):
            raise _Mismatch(f"expected a list, got {_describe(value)}")
        inner = dtype.inner
        out = []
        for position, item in enumerate(value):
            if item is None:
                out.append(None)
                continue
            try:
                out.append(_coerce(item, inner))
            except _Mismatch as exc:
                raise _Mismatch(f"item {position}: {exc}") from None
        return out
    if isinstance(dtype, pl.Struct):
        if not isinstance(value, Mapping):
            raise _Mismatch(f"expected an object, got {_describe(value)}")
        out_struct = {}
        for struct_field in dtype.fields:
            item = value.get(struct_field.name)
            try:
                out_struct[struct_field.name] = None if item is None else _coerce(item, struct_field.dtype)
            except _Mismatch as exc:
                raise _Mismatch(f"{struct_field.name}: {exc}") from None
        return out_struct
    return value


def _integer_range(dtype: pl.DataType) -> tuple[int, int]:
    """The values an integer type holds (``Int32``: -2³¹ … 2³¹-1), so an overflow is named, not a Polars error."""
    name = type(dtype).__name__ if not isinstance(dtype, type) else dtype.__name__
    bits = int(name.lstrip("UInt"))
    return (0, 2**bits - 1) if name.startswith("U") else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)


def _label(row: Mapping[str, Any], index: int, record_id: str | Callable[[Mapping[str, Any]], object] | None) -> str:
    if record_id is None:
        return f"#{index}"
    ident = record_id(row) if callable(record_id) else row.get(record_id)
    return f"{ident} #{index}" if ident is not None else f"#{index}"


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


_KIND_NAMES = {
    dict: "an object",
    list: "a list",
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true/false",
}


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = _kinds(kind)
    if float in kinds:  # "an integer or a number" says less than "a number"
        kinds = tuple(k for k in kinds if k is not int)
    return " or ".join(_KIND_NAMES.get(k, k.__name__) for k in kinds)


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"
