"""oso_core.transport.graphql_frames: fixed schemas, snake_case names, JSON for nested values, clear validation
errors."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from oso_core.base.naming import snake_case
from oso_core.errors import MalformedResponse
from oso_core.transport.graphql_frames import JSON, NodeSchema, frame_from_pages

SCHEMA = NodeSchema(
    {"id": pl.String, "legacyId": pl.Int64, "createdAt": "datetime", "amount": JSON, "refUID": pl.String},
    extra={"source_qf_round_id": pl.Int64},
)


def node(i: str, **kw) -> dict:
    return {
        "id": i,
        "legacyId": 1,
        "createdAt": "2024-01-08T12:00:00.000Z",
        "amount": {"value": 1.5},
        "refUID": None,
    } | kw


def test_snake_case_like_dlt() -> None:
    assert [snake_case(n) for n in ("decodedDataJson", "refUID", "transactionID", "isOffchain", "id")] == [
        "decoded_data_json",
        "ref_uid",
        "transaction_id",
        "is_offchain",
        "id",
    ]


def test_frame_types_names_and_dedupe_keep_last() -> None:
    pages = [[node("a"), node("b")], [node("a", legacyId=2)]]
    frame = frame_from_pages(SCHEMA, pages, source="s", endpoint="e", what="t", extra={"source_qf_round_id": 7})
    assert frame.columns == ["id", "legacy_id", "created_at", "amount", "ref_uid", "source_qf_round_id"]
    assert frame.schema["created_at"] == pl.Datetime("us", "UTC")
    assert frame.height == 2
    assert frame.filter(pl.col("id") == "a")["legacy_id"].item() == 2
    assert frame["amount"][0] == '{"value": 1.5}'
    assert frame["created_at"][0] == datetime(2024, 1, 8, 12, tzinfo=UTC)
    empty = frame_from_pages(SCHEMA, [], source="s", endpoint="e", what="t")
    assert empty.height == 0 and empty.schema == frame.schema


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        ({"legacyId": "x"}, "field 'legacyId' is not Int64"),
        ({"id": None}, "null required field 'id'"),
        ({"createdAt": "yesterday"}, "field 'createdAt'"),
    ],
)
def test_bad_values_name_the_field(bad: dict, expected: str) -> None:
    with pytest.raises(MalformedResponse, match=expected) as caught:
        SCHEMA.frame([node("a"), node("b", **bad)], source="open_collective", endpoint="/graphql/v2", what="expenses")
    assert str(caught.value).startswith("open_collective: /graphql/v2: expenses: ")


def test_missing_field_names_node_and_field() -> None:
    broken = node("b")
    del broken["amount"]
    with pytest.raises(MalformedResponse, match=r"node 1 \(id='b'\) has no field 'amount'"):
        SCHEMA.frame([node("a"), broken], source="s", endpoint="e", what="t")


def test_graphql_names_keep_the_field_names_for_columns_and_the_dedupe_key() -> None:
    schema = NodeSchema({"id": pl.String, "expiryDate": pl.String, "subdomainCount": pl.Int64}, graphql_names=True)
    pages = [
        [{"id": "a", "expiryDate": "1", "subdomainCount": 1}],
        [{"id": "a", "expiryDate": "2", "subdomainCount": 2}],
    ]
    frame = frame_from_pages(schema, pages, source="s", endpoint="e", what="w")
    assert frame.columns == ["id", "expiryDate", "subdomainCount"] == list(schema.empty().columns)
    assert frame.rows() == [("a", "2", 2)]
