"""ossd_funding against a local server standing in for GitHub's contents API (the oss-funding CSV)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.ossd_funding.payload import EXPECTED_COLUMNS, FundingCsvError, funding_frame
from flows.ossd_funding.source import SOURCE, ossd_funding_flow
from oso_dev.replay import ReplayServer, Route
from tests.support.oso_contract import assert_matches_contract

FIXTURES = Path(__file__).parent / "fixtures"
CSV = (FIXTURES / "funding_data.csv").read_text()
TOKEN = "ghp_testtoken0123456789"
TABLE = "ossd.funding"
PATH = "/repos/opensource-observer/oss-funding/contents/data/funding_data.csv"


@pytest.fixture
def token(oso_home, monkeypatch):
    monkeypatch.setenv("DAGSTER__OSSD__GITHUB_TOKEN", TOKEN)


def serve(text: str = CSV) -> ReplayServer:
    return ReplayServer([Route(PATH, text=text, headers={"Content-Type": "text/plain; charset=utf-8"})])


def test_declaration():
    assert SOURCE.qualified("funding") == TABLE
    assert SOURCE.table("funding").mode == "replace"
    assert (SOURCE.api, SOURCE.cadence) == ("github", "0 0 * * 2,5")


def test_loads_the_csv_with_its_columns_and_replaces_on_rerun(token, warehouse):
    with serve() as server:
        summary = ossd_funding_flow(base_url=server.url)
    rows = warehouse.sql(f"SELECT * FROM {TABLE}")
    assert rows.columns == list(EXPECTED_COLUMNS)
    assert summary.rows == {TABLE: 13}
    assert [str(t) for t in rows.dtypes] == ["String", "Float64", "String", "String", "String", "String", "String"]
    giveth = rows.filter(rows["to_project_name"] == "giveth").row(0, named=True)
    assert (giveth["amount"], giveth["funding_date"], giveth["from_funder_name"]) == (
        18186.0,
        "2023-03-29",
        "dao-drops-dorgtech",
    )
    assert '"token_unit": "DAI"' in giveth["metadata"]
    assert giveth["file_path"] == "data/funders/dao-drops-dorgtech/uploads/round_1.csv"
    assert rows["to_project_name"].null_count() == 2  # applications without a project: empty field, null
    (request,) = server.requests
    assert request.headers["Accept"] == "application/vnd.github.raw+json"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"

    fewer = "\n".join(CSV.splitlines()[:4]) + "\n"
    with serve(fewer) as server:  # 13 → 3 rows: accepted past the default row_drop gate
        ossd_funding_flow(base_url=server.url, accept=[f"{TABLE}:row_drop"])
    assert warehouse.sql(f"SELECT count(*) FROM {TABLE}").item() == 3
    assert_matches_contract(warehouse, "ossd.funding")


def test_malformed_row_names_line_and_field_and_leaves_the_table(token, warehouse):
    with serve() as server:
        ossd_funding_flow(base_url=server.url)
    snapshot = warehouse.snapshot_id(TABLE)
    lines = CSV.splitlines()
    lines[5] = "rotki,10863.0,2023-03-29,dao-drops-dorgtech"  # line 6: four of seven fields
    with serve("\n".join(lines) + "\n") as server, pytest.raises(FundingCsvError) as info:
        ossd_funding_flow(base_url=server.url)
    message = str(info.value)
    assert "data/funding_data.csv: line 6: field 'grant_pool_name': expected 7 fields, got 4" in message
    assert "ossd.funding left unchanged" in message and TOKEN not in message
    assert warehouse.snapshot_id(TABLE) == snapshot
    assert warehouse.sql(f"SELECT count(*) FROM {TABLE}").item() == 13


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("to_project_name,amount\n", "line 1: header ['to_project_name', 'amount']: missing column(s)"),
        ("", "empty file"),
        (
            CSV.splitlines()[0] + "\nx,12k,2024-01-01,f,p,{},a.csv\n",
            "line 2: field 'amount': expected a number, got '12k'",
        ),
        (
            CSV.splitlines()[0] + '\nx,1,2024-01-01,f,p,"{""a"":\n 1}",a.csv\ny,2,2024-01-02,f,p,{},a.csv,extra\n',
            "line 4: field '(extra field 8)': expected 7 fields, got 8",
        ),
        (CSV.splitlines()[0] + '\nx,1,2024-01-01,f,p,"{unterminated,a.csv\n', "line 2: unexpected end of data"),
    ],
)
def test_csv_problems_are_named(text: str, expected: str):
    with pytest.raises(FundingCsvError, match="funding_data.csv: ") as info:
        funding_frame(text, "funding_data.csv")
    assert expected in str(info.value)
