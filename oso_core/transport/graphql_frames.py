"""GraphQL nodes → validated Polars frames with a fixed schema, named the way OSO's tables are.

Each source declares the fields it selects and their types once (:class:`NodeSchema`); every page and every
window then yields the same columns and types, which is what lets weekly windows merge into one table.

* Column names are the snake_case of the GraphQL field (``decodedDataJson`` → ``decoded_data_json``,
  ``refUID`` → ``ref_uid``), as dlt named OSO's BigQuery columns, unless the schema says ``graphql_names``: then
  the field names as they are (``expiryDate``), for the one table whose OSO models read GraphQL's names
  (``ens.domains``).
* Nested objects and lists are kept as JSON text (``JSON`` type), as OSO's ``max_table_nesting=0`` did, so a
  nested shape that varies between rows or windows never changes the table schema.
* Every declared field must be present in every node (GraphQL always returns what was asked, null included):
  a missing field, a null in a required field or a value of the wrong type raises ``MalformedResponse`` naming
  the source, the endpoint, the field and the node.

A page is built column by column in C where it can be: the fields of each node in one ``itemgetter`` call, each
column checked and typed by Polars (``strict``), ISO timestamps parsed in bulk, nested values encoded by
:func:`~oso_core.transport.json_codec.dumps_sorted`; only a page with a problem is walked node by node, to name the
first one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

import polars as pl

from oso_core.base.naming import snake_case
from oso_core.errors import MalformedResponse
from oso_core.transport.json_codec import dumps_sorted
from oso_core.transport.records import iso_datetimes

JSON = "json"
"""Column type marker: keep the value (object or list) as JSON text."""

DATETIME = pl.Datetime("us", "UTC")

ColumnType = pl.DataType | type[pl.DataType] | str


def _parse_datetime(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000 if value > 10**11 else value, tz=UTC)
    if not isinstance(value, str):
        raise ValueError(f"not a timestamp: {value!r}")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@dataclass(frozen=True)
class NodeSchema:
    """The fields a query selects, their types, and which must never be null."""

    columns: Mapping[str, ColumnType]
    required: tuple[str, ...] = ("id",)
    extra: Mapping[str, ColumnType] = field(default_factory=dict)
    graphql_names: bool = False  # columns keep the GraphQL field names instead of their snake_case

    def column(self, field_name: str) -> str:
        """The column a field becomes."""
        return field_name if self.graphql_names else snake_case(field_name)

    @property
    def output_schema(self) -> dict[str, pl.DataType]:
        out: dict[str, pl.DataType] = {}
        for name, kind in {**self.columns, **self.extra}.items():
            out[self.column(name)] = pl.String() if kind == JSON else (DATETIME if kind == "datetime" else kind)
        return out

    def empty(self) -> pl.DataFrame:
        return pl.DataFrame(schema=self.output_schema)

    def frame(
        self,
        nodes: Sequence[Mapping[str, Any]],
        *,
        source: str,
        endpoint: str,
        what: str,
        extra: Mapping[str, Any] | None = None,
    ) -> pl.DataFrame:
        """Validate ``nodes`` and build the frame; ``extra`` adds constant columns (e.g. ``source_qf_round_id``)."""

        def bad(problem: str) -> MalformedResponse:
            return MalformedResponse(source, endpoint, f"{what}: {problem}")

        names = tuple(self.columns)
        try:  # a node's fields in one C call each (itemgetter), turned into columns (zip)
            rows = list(map(itemgetter(*names), nodes)) if len(names) > 1 else [(n[names[0]],) for n in nodes]
        except KeyError:
            rows = None  # a field is missing: named below
        columns = dict(zip(names, map(list, zip(*rows, strict=True)), strict=True)) if rows else {n: [] for n in names}
        if rows is None or any(name not in columns or None in columns[name] for name in self.required):
            problem = self._first_problem(nodes)
            if problem is not None:
                raise bad(problem)
        data: dict[str, pl.Series] = {}
        schema = self.output_schema
        for name, kind in self.columns.items():
            column = self.column(name)
            values = columns[name]
            try:
                if kind == JSON:
                    texts = [None if v is None else dumps_sorted(v) for v in values]
                    data[column] = pl.Series(column, texts, dtype=pl.String)
                elif kind == "datetime":
                    data[column] = _datetimes(column, values)
                else:
                    data[column] = pl.Series(column, values, dtype=schema[column], strict=True)
            except (TypeError, ValueError, OverflowError, pl.exceptions.PolarsError) as exc:
                sample = next((v for v in values if v is not None), None)
                raise bad(f"field {name!r} is not {schema[column]} (e.g. {sample!r}): {exc}") from None
        for name, value in (extra or {}).items():
            column = self.column(name)
            data[column] = pl.Series(column, [value] * len(nodes), dtype=schema[column])
        return pl.DataFrame(data, schema=schema)

    def _first_problem(self, nodes: Sequence[Mapping[str, Any]]) -> str | None:
        """Node by node, field by field: the first node with a field missing or a required one null."""
        for index, node in enumerate(nodes):
            for name in self.columns:
                if name not in node:
                    return f"node {index} (id={node.get('id')!r}) has no field {name!r}"
            for name in self.required:
                if node.get(name) is None:
                    return f"node {index} (id={node.get('id')!r}) has null required field {name!r}"
        return None


def _datetimes(column: str, values: list[Any]) -> pl.Series:
    """ISO timestamps parsed in bulk when every value has the one shape ``iso_datetimes`` reads, else value by value
    (epoch seconds or milliseconds, other ISO forms), with the same result either way."""
    if all(v is None or isinstance(v, str) for v in values):
        parsed = iso_datetimes(pl.Series(column, values, dtype=pl.String), DATETIME)
        if parsed is not None:
            return parsed
    return pl.Series(column, [_parse_datetime(v) for v in values], dtype=DATETIME)


def frame_from_pages(
    schema: NodeSchema,
    pages: Sequence[Sequence[Mapping[str, Any]]] | Any,
    *,
    source: str,
    endpoint: str,
    what: str,
    key: str | None = "id",
    extra: Mapping[str, Any] | None = None,
) -> pl.DataFrame:
    """All pages as one validated frame; duplicate keys (offset pages that shifted under us) keep the last."""
    frames = [schema.frame(page, source=source, endpoint=endpoint, what=what, extra=extra) for page in pages]
    frame = pl.concat(frames, how="vertical") if frames else schema.empty()
    if key is not None and frame.height:
        frame = frame.unique(subset=[schema.column(key)], keep="last", maintain_order=True)
    return frame
