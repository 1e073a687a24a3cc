"""gitcoin against a real PostgreSQL seeded like the regendata.xyz database: four tables replaced whole."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from flows.gitcoin.source import SOURCE, gitcoin_flow
from oso_core import SourceError
from tests.support.oso_contract import assert_matches_contract

pytestmark = pytest.mark.postgres

SEED = Path(__file__).parent / "fixtures" / "seed.sql"


@pytest.fixture
def regen_db(postgres, request) -> str:
    name = re.sub(r"\W+", "_", request.node.name.lower())[:55]
    postgres.create_database(name)
    postgres.run_sql(name, SEED.read_text())
    return postgres.dsn(name)


def test_declares_four_replaced_tables():
    assert [(t.name, t.mode) for t in SOURCE.tables] == [
        ("all_donations", "replace"),
        ("project_groups_summary", "replace"),
        ("project_lookup", "replace"),
        ("all_matching", "replace"),
    ]


def test_loads_the_four_tables(regen_db, warehouse):
    summary = gitcoin_flow(database_url=regen_db)

    assert summary.rows == {
        "gitcoin.all_donations": 4,
        "gitcoin.project_groups_summary": 2,
        "gitcoin.project_lookup": 3,
        "gitcoin.all_matching": 2,
    }
    donations = warehouse.sql(
        "SELECT round_num, chain_id, amount_in_usd, source FROM gitcoin.all_donations ORDER BY timestamp"
    ).rows()
    assert donations[0] == (10, 1, 5.0, "CGrants")
    assert donations[-1][:2] == (19, 42161)
    total = warehouse.sql("SELECT sum(match_amount_in_usd) AS s FROM gitcoin.all_matching")["s"].item()
    assert total == pytest.approx(4412.55)
    github = warehouse.sql(
        "SELECT latest_project_github FROM gitcoin.project_groups_summary WHERE group_id = 'f00dfeedbeefcafe0042'"
    ).item()
    assert github == "opensource-observer"
    assert_matches_contract(
        warehouse,
        "gitcoin.all_donations",
        "gitcoin.project_groups_summary",
        "gitcoin.project_lookup",
        "gitcoin.all_matching",
    )


def test_rerun_replaces_with_the_source_state(postgres, regen_db, warehouse):
    gitcoin_flow(database_url=regen_db)
    database = regen_db.rsplit("/", 1)[1]
    postgres.run_sql(
        database,
        """DELETE FROM all_donations WHERE round_num = 10;
           INSERT INTO all_donations (round_num, chain_id, amount_in_usd, source)
             SELECT 20, 10, g::float, 'GrantsStack' FROM generate_series(1, 300) g;""",
    )
    gitcoin_flow(database_url=regen_db, batch_rows=100)
    counts = warehouse.sql("SELECT round_num, count(*) AS n FROM gitcoin.all_donations GROUP BY 1 ORDER BY 1").rows()
    assert counts == [(18, 1), (19, 2), (20, 300)]
    gitcoin_flow(database_url=regen_db)
    assert warehouse.sql("SELECT count(*) AS n FROM gitcoin.all_donations")["n"].item() == 303


def test_source_failure_commits_nothing(postgres, regen_db, warehouse):
    gitcoin_flow(database_url=regen_db)
    snapshots = {t.name: warehouse.snapshot_id(f"gitcoin.{t.name}") for t in SOURCE.tables}
    postgres.run_sql(regen_db.rsplit("/", 1)[1], "DROP TABLE all_matching")
    with pytest.raises(SourceError, match="gitcoin: .*table all_matching.*no table public.all_matching"):
        gitcoin_flow(database_url=regen_db)
    assert {t.name: warehouse.snapshot_id(f"gitcoin.{t.name}") for t in SOURCE.tables} == snapshots
