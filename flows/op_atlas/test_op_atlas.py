"""op_atlas against a real PostgreSQL seeded like OP Atlas's Prisma database."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from flows.op_atlas.source import SOURCE, SPEC, op_atlas_flow
from oso_core import SecretInaccessibleError, run_source_cli
from tests.support.oso_contract import assert_matches_contract

pytestmark = pytest.mark.postgres

SEED = Path(__file__).parent / "fixtures" / "seed.sql"
SEED_ROWS = {
    "application": 2,
    "badgeholder": 3,
    "category": 2,
    "funding_reward": 2,
    "funding_round": 2,
    "github_proximity": 2,
    "impact_statement": 1,
    "impact_statement_answer": 1,
    "organization": 2,
    "organization_snapshot": 1,
    "project": 3,
    "project_contract": 2,
    "project_funding": 2,
    "project_links": 1,
    "project_organization": 1,
    "project_repository": 2,
    "project_snapshot": 2,
    "published_contract": 1,
    "reward_claim": 2,
    "user_organization": 2,
    "user_projects": 1,
}


@pytest.fixture
def atlas_db(postgres, request, monkeypatch) -> str:
    """A seeded database per test; the secret (with a password, which trust auth ignores) comes from the env."""
    name = re.sub(r"\W+", "_", request.node.name.lower())[:55]
    postgres.create_database(name)
    postgres.run_sql(name, SEED.read_text())
    url = postgres.dsn(name).replace(f"{postgres.user}@", f"{postgres.user}:atlas-pw-123@")
    monkeypatch.setenv("DAGSTER__OP_ATLAS__DATABASE", url)
    return name


def count(warehouse, table: str) -> int:
    return warehouse.sql(f"SELECT count(*) AS n FROM op_atlas.{table}")["n"].item()


def test_declares_every_oso_table():
    assert len(SPEC.tables) == 21
    assert {t.name for t in SOURCE.tables} == set(SEED_ROWS)
    assert SOURCE.table("project").mode == "merge"
    assert SOURCE.table("reward_claim").key == ("reward_id",)
    assert SOURCE.table("badgeholder").mode == "replace"


def test_loads_every_table_from_the_secret_database(atlas_db, warehouse):
    summary = op_atlas_flow()

    assert {t.split(".")[1]: n for t, n in summary.rows.items()} == SEED_ROWS
    for table, rows in SEED_ROWS.items():
        assert count(warehouse, table) == rows
    contract = warehouse.sql(
        "SELECT contract_address, chain_id, verification_chain_id, project_id FROM op_atlas.project_contract "
        "WHERE id = 'pc-2'"
    ).row(0)
    assert contract == ("0x4200000000000000000000000000000000000021", 10, None, "3f2e1d0c-aaaa-4bbb-8ccc-000000000002")
    project = warehouse.read("op_atlas.project").filter(pl.col("name") == "Velodrome").row(0, named=True)
    assert project["website"] == ["https://velodrome.finance"]
    assert project["defi_llama_slug"] == ["velodrome-v2"]
    assert project["is_submitted_to_oso"] is True
    reward = warehouse.sql("SELECT amount FROM op_atlas.funding_reward WHERE id = 'fr-2'")["amount"].item()
    assert float(reward) == 98000.5
    assert_matches_contract(
        warehouse,
        "op_atlas.application",
        "op_atlas.badgeholder",
        "op_atlas.category",
        "op_atlas.funding_reward",
        "op_atlas.funding_round",
        "op_atlas.github_proximity",
        "op_atlas.impact_statement",
        "op_atlas.impact_statement_answer",
        "op_atlas.organization",
        "op_atlas.organization_snapshot",
        "op_atlas.project",
        "op_atlas.project_contract",
        "op_atlas.project_funding",
        "op_atlas.project_links",
        "op_atlas.project_organization",
        "op_atlas.project_repository",
        "op_atlas.project_snapshot",
        "op_atlas.published_contract",
        "op_atlas.reward_claim",
        "op_atlas.user_organization",
        "op_atlas.user_projects",
    )


def test_rerun_merges_changed_rows_and_leaves_the_rest(postgres, atlas_db, warehouse):
    op_atlas_flow()
    untouched = warehouse.snapshot_id("op_atlas.organization")
    postgres.run_sql(
        atlas_db,
        """UPDATE "Project" SET "name" = 'Velodrome Finance', "updatedAt" = '2024-08-01 00:00:00.001'
             WHERE "id" = '3f2e1d0c-aaaa-4bbb-8ccc-000000000001';
           UPDATE "RewardClaim" SET "status" = 'claimed', "address" = '0x87feed', "updatedAt" = '2024-08-02'
             WHERE "rewardId" = 'fr-2';
           INSERT INTO "ProjectContract" VALUES ('pc-3', '0x5555', '0x4d28', '0x3c1e', '0x6f1d', 8453, NULL, NULL, NULL,
             '2024-08-03', '2024-08-03', '3f2e1d0c-aaaa-4bbb-8ccc-000000000003');
           INSERT INTO "Badgeholder" VALUES ('0x9999999999999999999999999999999999999999', '5');""",
    )

    summary = op_atlas_flow()

    assert count(warehouse, "project") == 3
    names = warehouse.sql("SELECT name FROM op_atlas.project ORDER BY name")["name"].to_list()
    assert names == ["EAS", "Sunnyside Labs", "Velodrome Finance"]
    claims = warehouse.sql("SELECT reward_id, status, address FROM op_atlas.reward_claim ORDER BY reward_id").rows()
    assert claims == [
        ("fr-1", "claimed", "0x4d28bf7d0f5c3e8b9a1f2e3d4c5b6a7980f1e2d3"),
        ("fr-2", "claimed", "0x87feed"),
    ]
    assert count(warehouse, "project_contract") == 3
    assert count(warehouse, "badgeholder") == 4
    assert warehouse.snapshot_id("op_atlas.organization") == untouched
    assert "Organization: no changes" in summary.notes
    assert summary.rows["op_atlas.project"] == 1  # only the changed row (nothing else sits on the old cursor)


def test_rerun_without_changes_gives_the_same_tables(atlas_db, warehouse):
    op_atlas_flow()
    first = {t: warehouse.read(f"op_atlas.{t}").sort(pl.all()) for t in ("project", "reward_claim", "badgeholder")}
    op_atlas_flow()
    for table, frame in first.items():
        assert warehouse.read(f"op_atlas.{table}").sort(pl.all()).equals(frame), table


def test_missing_secret_names_where_it_looked(oso_home, monkeypatch):
    monkeypatch.delenv("DAGSTER__OP_ATLAS__DATABASE", raising=False)
    with pytest.raises(SecretInaccessibleError, match="DAGSTER__OP_ATLAS__DATABASE"):
        op_atlas_flow()


def test_replay_loads_the_seed_from_the_command_line(oso_home, warehouse):
    assert run_source_cli(SOURCE, op_atlas_flow, ["--replay"]) == 0
    for table, rows in SEED_ROWS.items():
        assert count(warehouse, table) == rows


def test_replay_without_postgres_binaries_fails_clearly(oso_home, monkeypatch, capsys):
    monkeypatch.setattr("oso_dev.pgtemp.pg_bin", lambda name: None)
    assert run_source_cli(SOURCE, op_atlas_flow, ["--replay"]) == 1
    assert "needs a local PostgreSQL server" in capsys.readouterr().err
