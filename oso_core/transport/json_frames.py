"""JSON pages → typed Polars frames in native code, with the errors of ``records_to_frame`` when a page is bad.

``records_to_frame`` checks every value in Python: right for a few thousand records, the bottleneck for a million
(half of a load's time, plus ``json.loads`` building the dicts it then reads). A :class:`FrameDecoder` reads a
page's raw bytes with Arrow's JSON reader instead, straight into columns of the declared schema, and never builds a
Python object per value. Arrow's reader is strict where it matters (a string where a number is declared, a number
where a string is, a scalar where an object or a list is, an integer that overflows, a float for an integer field,
a duplicated key: each fails the read), and what it cannot say is checked on the columns (a required field null
or missing, a record that is ``null``, timestamps in the one ISO shape ``records_to_frame`` parses in bulk).

Whenever a page fails any of that, the page goes the slow way: ``json.loads`` and ``records_to_frame``, which
converts what it may (``1.0`` for an integer, a date-only timestamp) or raises the precise error naming the
source, endpoint, record and field. So the fast path never accepts what the slow one refuses, and what it accepts
it decodes to the frame the slow path would build (same columns, types, nulls, nested structs and lists).

Only ``extra="drop"`` (fields outside the schema are ignored) and leaf types Arrow reads as JSON does (strings,
integers, floats, booleans, UTC-aware datetimes and dates from ISO strings, lists and structs of those) take the
fast path; any other schema is decoded the slow way, page by page, with the same result.

This is the REST engine's decoding (``oso_core.kinds.rest_source``): a paginator reads each response through
:meth:`FrameDecoder.read`, and the same Arrow pass reads what the paginator needs of the payload (the ``total``
and the ``text`` paths: a next link, a cursor), handed over as a stand-in payload (:class:`DecodedPage`). A caller
with its own slow path and error texts (the engine's selectors) asks :meth:`FrameDecoder.native_page` and
decodes the page itself when it answers ``None``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from oso_core.errors import OsoError, PayloadError, SourceError
from oso_core.transport.json_codec import loads
from oso_core.transport.pagination import Page, page_records, payload_total
from oso_core.transport.records import Where, iso_datetimes, records_to_frame

_WRAP = "__records"  # a payload that is itself the list of records is read as {"__records": [...]}
_ISO_DATE = r"^\d{4}-\d{2}-\d{2}"
# the timestamps Arrow's parser reads exactly as ``records.iso_datetimes`` does (a zone is required: Arrow refuses
# zone-less text for a zoned type, ``records_to_frame`` takes it as UTC)
_ISO_ZONED = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$"


@dataclass(frozen=True)
class DecodedPage:
    """One page: its records as a frame, the payload's total (``None`` without a ``total`` path or if null),
    whether the native path decoded it (``False``: the page went through ``json.loads`` and ``records_to_frame``),
    and the payload a paginator reads its total and next link from: the whole payload on the slow path, else a
    stand-in holding only the ``total`` and ``text`` paths (a null or missing text value reads as ``None``, as a
    next link or cursor that ends the pages)."""

    frame: pl.DataFrame
    total: int | None
    fast: bool
    payload: Any = None


class Unfit(OsoError):
    """The native path cannot vouch for this page; the slow path decides (and names what is wrong)."""


@dataclass(frozen=True)
class FrameDecoder:
    """Decodes pages whose records sit at dotted path ``records`` (``"$"``: the payload is the list) into frames
    of ``schema``, as ``records_to_frame(rows, schema, where=..., required=..., record_id=...)`` would.

    ``total`` is a dotted path to the payload's record count (offset pagination's end) and ``text`` dotted paths
    to text values (a next link, a cursor), all read in the same pass.
    """

    schema: Mapping[str, pl.DataType]
    where: Where
    records: str = "$"
    total: str | None = None
    required: tuple[str, ...] = ()
    record_id: str | Callable[[Mapping[str, Any]], object] | None = None
    text: tuple[str, ...] = ()
    _arrow: pa.Schema | None = field(init=False, default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        unknown = set(self.required) - set(self.schema)
        if unknown:
            raise ValueError(f"required columns {sorted(unknown)} are not in the schema")
        object.__setattr__(self, "_arrow", _payload_schema(self.schema, self.records, self.total, self.text))

    @property
    def native(self) -> bool:
        """Whether pages of this schema and shape can take the native path at all."""
        return self._arrow is not None

    def decode(self, body: bytes, *, start: int = 0, http: Any = None) -> DecodedPage:
        """The page in ``body``; records are numbered from ``start`` in errors. ``http`` (an ``HttpClient``) names
        payload-level errors (not JSON, records or total missing) as the paginators do."""
        return self.native_page(body) or self._slow(body, start, http)

    def native_page(self, body: bytes) -> DecodedPage | None:
        """The page in ``body`` decoded natively, or ``None`` when the native path cannot vouch for it (the
        caller's slow path then converts the page or names what is wrong)."""
        if self._arrow is None:
            return None
        try:
            return self._native(body)
        except Unfit:
            return None

    def read(self, http: Any, endpoint: str, response: Any, start: int) -> Page:
        """A paginator's ``read`` (``oso_core.transport.pagination.PageReader``): the response's page as a frame."""
        page = self.decode(response.content, start=start, http=http)
        return Page(page.frame, page.frame.height, page.payload)

    # -- native ------------------------------------------------------------------------------------------------------
    def _native(self, body: bytes) -> DecodedPage:
        assert self._arrow is not None
        if self.records in ("$", ""):
            body = b'{"' + _WRAP.encode() + b'":' + body + b"}"
        try:
            table = pa_json.read_json(
                io.BytesIO(body),
                read_options=pa_json.ReadOptions(use_threads=False, block_size=max(len(body) + 1, 1 << 20)),
                parse_options=pa_json.ParseOptions(
                    explicit_schema=self._arrow, unexpected_field_behavior="ignore", newlines_in_values=True
                ),
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
            raise Unfit(str(exc)) from None
        if table.num_rows != 1:
            raise Unfit("not exactly one JSON object")
        row = table.to_batches()[0].to_struct_array() if table.num_columns else None
        if row is None:
            raise Unfit("empty payload")
        records = _at(row, _WRAP if self.records in ("$", "") else self.records)
        total = None
        if self.total is not None:
            total_value = _at(row, self.total)
            if not total_value.is_valid:
                raise Unfit("total is null or missing")  # the slow path tells null (no total) from missing (error)
            total = total_value.as_py()
        if not records.is_valid:
            raise Unfit("records are null or missing")
        values = records.values
        if values.null_count:
            raise Unfit("a record is null")
        frame = _finish(values, self.schema)
        for name in self.required:
            if frame[name].null_count():
                raise Unfit(f"required field {name!r} is null or missing")
        payload: dict[str, Any] = {}
        for path, value in ((self.total, total), *((p, _at(row, p).as_py()) for p in self.text)):
            if path is not None:
                _place(payload, path, value)
        return DecodedPage(frame, total, True, payload)

    # -- slow --------------------------------------------------------------------------------------------------------
    def _slow(self, body: bytes, start: int, http: Any) -> DecodedPage:
        errors = http if http is not None else _Errors(self.where.source)
        endpoint = self.where.endpoint
        try:
            payload = loads(body)
        except ValueError as exc:
            raise errors.error(endpoint, f"malformed JSON ({exc})", PayloadError) from None
        rows = page_records(errors, endpoint, payload, self.records)
        total = payload_total(errors, endpoint, payload, self.total)
        frame = records_to_frame(
            rows, self.schema, where=self.where, required=self.required, record_id=self.record_id, start=start
        )
        return DecodedPage(frame, total, False, payload)


@dataclass(frozen=True)
class _Errors:
    """What the paginators' payload checks need of an ``HttpClient`` (its ``error``), for bytes read elsewhere."""

    source: str

    def error(self, endpoint: str, problem: str, kind: type[SourceError] = SourceError) -> SourceError:
        return kind(self.source, endpoint, problem)


def _at(row: pa.StructArray, path: str) -> Any:
    """The scalar at dotted ``path`` of the single payload row."""
    value: Any = row[0]
    for part in path.split("."):
        if not value.is_valid:
            return value
        value = value[part]
    return value


def _place(payload: dict[str, Any], path: str, value: Any) -> None:
    """``value`` at dotted ``path`` of the stand-in payload, so ``pagination.select`` finds it there."""
    *parents, leaf = path.split(".")
    node = payload
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


# -- schemas ---------------------------------------------------------------------------------------------------------


def _payload_schema(
    schema: Mapping[str, pl.DataType], records: str, total: str | None, text: tuple[str, ...] = ()
) -> pa.Schema | None:
    """The Arrow schema of a whole payload (records, total and text values at their paths), or ``None`` if not
    native-able."""
    record = _arrow_struct(schema)
    if record is None:
        return None
    tree: dict[str, Any] = {}
    paths = [(_WRAP if records in ("$", "") else records, pa.list_(record))]
    if total is not None:
        paths.append((total, pa.int64()))
    paths += [(path, pa.string()) for path in text]
    if len(paths) > 1 and records in ("$", ""):
        return None  # a payload that is the list of records has no other fields
    for path, arrow_type in paths:
        parts = path.split(".")
        if any(not p or p.isdigit() for p in parts):
            return None  # list indexes in a path: the slow path's ``select`` handles those
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                return None
        if parts[-1] in node:
            return None  # one path inside the other
        node[parts[-1]] = arrow_type
    return pa.schema([pa.field(name, _tree_type(value)) for name, value in tree.items()])


def _tree_type(node: Any) -> pa.DataType:
    if isinstance(node, dict):
        return pa.struct([pa.field(name, _tree_type(value)) for name, value in node.items()])
    return node


def _arrow_struct(schema: Mapping[str, pl.DataType]) -> pa.StructType | None:
    fields = []
    for name, dtype in schema.items():
        arrow = _arrow_type(dtype)
        if arrow is None:
            return None
        fields.append(pa.field(name, arrow))
    return pa.struct(fields) if fields else None


_SCALARS: dict[type, pa.DataType] = {
    pl.String: pa.string(),
    pl.Boolean: pa.bool_(),
    pl.Int8: pa.int8(),
    pl.Int16: pa.int16(),
    pl.Int32: pa.int32(),
    pl.Int64: pa.int64(),
    pl.UInt8: pa.uint8(),
    pl.UInt16: pa.uint16(),
    pl.UInt32: pa.uint32(),
    pl.UInt64: pa.uint64(),
    pl.Float32: pa.float64(),  # read as Python reads it (a double), narrowed after, so rounding matches
    pl.Float64: pa.float64(),
}


def _arrow_type(dtype: pl.DataType) -> pa.DataType | None:
    """How Arrow reads a value of ``dtype`` from JSON; dates and datetimes are read as text and parsed after, as
    ``records_to_frame`` parses them, and 32-bit floats as doubles. ``None``: a type only the slow path handles."""
    if isinstance(dtype, pl.Struct):
        return _arrow_struct({f.name: f.dtype for f in dtype.fields})
    if isinstance(dtype, pl.List):
        inner = _arrow_type(dtype.inner)
        return None if inner is None else pa.list_(inner)
    if isinstance(dtype, pl.Datetime):
        return pa.string() if dtype.time_zone is not None else None
    if dtype == pl.Date:
        return pa.string()
    base = dtype if isinstance(dtype, type) else type(dtype)
    return _SCALARS.get(base)


# -- finishing: text to dates, then the declared types exactly --------------------------------------------------------


def _needs_finish(dtype: pl.DataType) -> bool:
    """Whether a column holds values read as something else first (dates as text, 32-bit floats as doubles)."""
    if isinstance(dtype, pl.Struct):
        return any(_needs_finish(f.dtype) for f in dtype.fields)
    if isinstance(dtype, pl.List):
        return _needs_finish(dtype.inner)
    return isinstance(dtype, pl.Datetime) or dtype == pl.Date or dtype == pl.Float32


def _finish(records: pa.StructArray, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """The records as a frame of exactly ``schema``: date and datetime text parsed, doubles narrowed where
    declared, every other column as read."""
    columns = [_finish_array(column, dtype) for column, dtype in zip(records.flatten(), schema.values(), strict=True)]
    frame = pl.from_arrow(pa.Table.from_arrays(columns, names=list(schema)))
    assert isinstance(frame, pl.DataFrame)
    if frame.schema != pl.Schema(schema):
        raise Unfit("decoded types differ from the schema")
    return frame


def _finish_array(array: pa.Array, dtype: pl.DataType) -> pa.Array:
    if not _needs_finish(dtype):
        return array
    if dtype == pl.Float32:
        return pl.Series("float", array).cast(pl.Float32).to_arrow()  # as Polars narrows Python's floats
    if isinstance(dtype, pl.Datetime):
        return _timestamps(array, dtype)
    if dtype == pl.Date:
        return _iso_dates(pl.Series("date", array)).to_arrow()
    if isinstance(dtype, pl.Struct):
        assert isinstance(array, pa.StructArray)
        children = [_finish_array(child, f.dtype) for child, f in zip(array.flatten(), dtype.fields, strict=True)]
        names = [f.name for f in dtype.fields]
        mask = array.is_null() if array.null_count else None
        return pa.StructArray.from_arrays(children, names=names, mask=mask)
    assert isinstance(dtype, pl.List) and isinstance(array, pa.ListArray)
    inner = _finish_array(array.flatten(), dtype.inner)
    offsets = pc.subtract(array.offsets, array.offsets[0])
    return pa.ListArray.from_arrays(offsets, inner, mask=array.is_null() if array.null_count else None)


def _timestamps(text: pa.Array, dtype: pl.Datetime) -> pa.Array:
    """ISO timestamp text as ``records_to_frame`` parses it: Arrow's own parser when every value has the one shape
    and an explicit zone (where both parsers agree), else the same Polars parse ``records_to_frame`` runs."""
    if dtype.time_unit == "us" and text.null_count < len(text):
        try:
            if pc.all(pc.match_substring_regex(text, _ISO_ZONED)).as_py():
                return text.cast(pa.timestamp("us", "UTC")).cast(pa.timestamp("us", dtype.time_zone))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    parsed = iso_datetimes(pl.Series("timestamp", text), dtype)
    if parsed is None:
        raise Unfit("timestamps not in the bulk-parsed ISO shape")
    return parsed.to_arrow()


def _iso_dates(text: pl.Series) -> pl.Series:
    """``YYYY-MM-DD…`` text as dates, as ``date.fromisoformat(value[:10])`` reads it; other shapes are unfit."""
    if not text.str.contains(_ISO_DATE).fill_null(True).all():
        raise Unfit("dates not in the bulk-parsed ISO shape")
    try:
        return text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=True)
    except (pl.exceptions.PolarsError, ValueError) as exc:
        raise Unfit(str(exc)) from None
