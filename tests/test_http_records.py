"""records: payload fields and rows validated into Polars frames, errors naming source/endpoint/record/field."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from oso_core.base.naming import snake_case
from oso_core.errors import RecordError
from oso_core.transport.records import Where, from_unix, json_text, records_to_frame

WHERE = Where("demo", "/things")
SCHEMA = {
    "id": pl.Int64(),
    "name": pl.String(),
    "score": pl.Float64(),
    "day": pl.Date(),
    "at": pl.Datetime("us", "UTC"),
    "tags": pl.List(pl.String),
    "ok": pl.Boolean(),
}


def test_rows_become_a_typed_frame() -> None:
    rows = [
        {
            "id": 1,
            "name": "a",
            "score": 2,
            "day": "2024-01-07",
            "at": "2024-01-07T10:00:00Z",
            "tags": ["x"],
            "ok": True,
        },
        {"id": 2.0, "name": "b", "score": 1.5, "day": None, "tags": [], "ok": False, "ignored": {"x": 1}},
    ]
    frame = records_to_frame(rows, SCHEMA, where=WHERE, required=("id",))
    assert frame.schema == pl.Schema(SCHEMA)
    assert frame.row(0) == (1, "a", 2.0, date(2024, 1, 7), datetime(2024, 1, 7, 10, tzinfo=UTC), ["x"], True)
    assert frame.row(1) == (2, "b", 1.5, None, None, [], False)


def test_empty_input_gives_the_declared_columns() -> None:
    frame = records_to_frame([], SCHEMA, where=WHERE)
    assert frame.height == 0 and frame.schema == pl.Schema(SCHEMA)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"name": "x"}, "demo: /things: record #1: field 'id': missing"),
        ({"id": None}, "demo: /things: record #1: field 'id': is null"),
        ({"id": "7"}, "demo: /things: record 7 #1: field 'id': expected an integer, got str '7'"),
        ({"id": 7, "score": "n/a"}, "demo: /things: record 7 #1: field 'score': expected a number, got str 'n/a'"),
        ({"id": 7, "ok": 1}, "field 'ok': expected true/false, got int 1"),
        ({"id": 7, "day": "yesterday"}, "field 'day': expected an ISO date, got str 'yesterday'"),
        ({"id": 7, "tags": ["a", 3]}, "field 'tags': item 1: expected a string, got int 3"),
        ({"id": 7, "tags": "a"}, "field 'tags': expected a list, got str 'a'"),
        ({"id": True}, "field 'id': expected an integer, got bool True"),
    ],
)
def test_bad_values_name_record_and_field(row: dict, message: str) -> None:
    good = {"id": 1}
    with pytest.raises(RecordError) as caught:
        records_to_frame([good, row], SCHEMA, where=WHERE, required=("id",), record_id="id")
    assert message in str(caught.value)
    assert caught.value.source == "demo" and caught.value.endpoint == "/things"


def test_extra_fields_kept_or_refused() -> None:
    rows = [{"id": 1, "origin": "x"}, {"id": 2, "value": 1}, {"id": 3, "value": 2.5, "meta": {"b": 1, "a": [1]}}]
    frame = records_to_frame(rows, {"id": pl.Int64()}, where=WHERE, extra="keep")
    assert frame.columns[0] == "id" and set(frame.columns) == {"id", "origin", "value", "meta"}
    assert frame["value"].to_list() == [None, 1.0, 2.5]
    assert frame["meta"].to_list() == [None, None, '{"a":[1],"b":1}']
    with pytest.raises(RecordError, match="record #0: field 'origin': is not an expected field"):
        records_to_frame(rows, {"id": pl.Int64()}, where=WHERE, extra="error")


def test_where_field_digs_and_checks() -> None:
    where = WHERE.at("aave")
    payload = {"chainTvls": {"Ethereum": {}}, "name": "Aave", "n": True, "parent": None}
    assert where.field(payload, "chainTvls", dict) == {"Ethereum": {}}
    assert where.field(payload, "parent", str, required=False, default="") == ""
    with pytest.raises(RecordError, match="demo: /things: record aave: field 'tvl': missing"):
        where.field(payload, "tvl", list)
    with pytest.raises(RecordError, match="field 'name': expected a list, got str 'Aave'"):
        where.field(payload, "name", list)
    with pytest.raises(RecordError, match="field 'n': expected an integer, got bool True"):
        where.field(payload, "n", int)
    with pytest.raises(RecordError, match="expected an object with field 'x', got list"):
        where.field([], "x")
    with pytest.raises(RecordError, match="response: expected a list, got dict"):
        WHERE.expect({}, list)


def test_naming_and_helpers() -> None:
    assert [snake_case(n) for n in ("hostChain", "infoURL", "uopsCount", "isUnderReview", "devDependencies", "id")] == [
        "host_chain",
        "info_url",
        "uops_count",
        "is_under_review",
        "dev_dependencies",
        "id",
    ]
    assert json_text({"b": 1, "a": "é"}) == '{"a":"é","b":1}'
    assert json_text(None) is None
    assert from_unix(1704585600) == datetime(2024, 1, 7, tzinfo=UTC)


NESTED = {
    "amount": pl.Struct({"value": pl.Float64, "currency": pl.String, "cents": pl.Int64}),
    "tags": pl.List(pl.String),
    "links": pl.List(pl.Struct({"url": pl.String, "at": pl.Datetime("us", "UTC")})),
    "matrix": pl.List(pl.List(pl.Int64)),
    "at": pl.Datetime("us", "UTC"),
}
NESTED_ROWS = [
    {
        "amount": {"value": 1.5, "currency": "USD", "cents": 150, "extra": "dropped"},
        "tags": ["a", None, "b"],
        "links": [{"url": "u", "at": "2024-01-07T10:00:00Z"}, None, {"url": None}],
        "matrix": [[1, 2], [], None],
        "at": "2024-01-07T10:00:00.5+02:00",
    },
    {"amount": None, "tags": [], "links": None, "matrix": [], "at": "2024-01-07T10:00:00"},
    {"amount": {"value": 2, "currency": None}, "tags": None, "links": [], "matrix": [[3]], "at": None},
    {},
]


def test_nested_columns_are_built_from_their_leaves() -> None:
    # The fast path (leaves checked by Polars, lists and structs reassembled) gives exactly what the
    # value-by-value conversion gives: outer nulls, null items, missing and extra struct fields, offsets.
    frame = records_to_frame(NESTED_ROWS, NESTED, where=WHERE)
    assert frame.schema == pl.Schema(NESTED)
    assert frame.row(0) == (
        {"value": 1.5, "currency": "USD", "cents": 150},
        ["a", None, "b"],
        [{"url": "u", "at": datetime(2024, 1, 7, 10, tzinfo=UTC)}, None, {"url": None, "at": None}],
        [[1, 2], [], None],
        datetime(2024, 1, 7, 8, 0, 0, 500000, tzinfo=UTC),
    )
    assert frame.row(1) == (None, [], None, [], datetime(2024, 1, 7, 10, tzinfo=UTC))
    assert frame.row(2) == ({"value": 2.0, "currency": None, "cents": None}, None, [], [[3]], None)
    assert frame.row(3) == (None, None, None, None, None)
    assert frame["amount"].null_count() == 2 and frame["links"].null_count() == 2
    # a row the fast path cannot take (a Mapping that is not a dict, a ragged timestamp) gives the same frame
    from types import MappingProxyType

    slow_rows = [dict(r) for r in NESTED_ROWS]
    slow_rows[0]["amount"] = MappingProxyType(NESTED_ROWS[0]["amount"])
    slow_rows[1]["at"] = "2024-01-07 10:00:00"  # a space: fromisoformat only
    assert records_to_frame(slow_rows, NESTED, where=WHERE).equals(frame)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"amount": {"value": "1"}}, "field 'amount': value: expected a number, got str '1'"),
        ({"amount": {"value": True}}, "field 'amount': value: expected a number, got bool True"),
        ({"amount": ["USD"]}, "field 'amount': expected an object, got list"),
        ({"links": [{"url": 3}]}, "field 'links': item 0: url: expected a string, got int 3"),
        ({"links": [{"at": "soon"}]}, "field 'links': item 0: at: expected an ISO timestamp, got str 'soon'"),
        ({"matrix": [[1], 2]}, "field 'matrix': item 1: expected a list, got int 2"),
        ({"at": "2024-13-45T10:00:00Z"}, "field 'at': expected an ISO timestamp, got str '2024-13-45T10:00:00Z'"),
        ({"at": 1700000000}, "field 'at': expected a timestamp, got int 1700000000"),
    ],
)
def test_nested_misfits_still_name_record_and_field(row: dict, message: str) -> None:
    with pytest.raises(RecordError) as caught:
        records_to_frame([NESTED_ROWS[0], row], NESTED, where=WHERE)
    assert "record #1" in str(caught.value) and message in str(caught.value)
