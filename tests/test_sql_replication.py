"""SQL replication against a real PostgreSQL: keyset batches, lake-kept cursors, merges, failures, masking."""

from __future__ import annotations

import re

import polars as pl
import pytest

from oso_core.config.secrets import SecretReference
from oso_core.errors import SourceError
from oso_core.kinds.sql_replication import (
    Cursor,
    DatabaseUrl,
    PostgresReader,
    SqlTable,
    extract_table,
    replicate,
    resolve_database_url,
    snake_case,
    table_specs,
)
from oso_core.model.sources import Source
from oso_core.warehouse.load_state import LoadState

pytestmark = pytest.mark.postgres

SCHEMA = """
CREATE TABLE "ProjectContract" (
    "id" TEXT NOT NULL,
    "contractAddress" TEXT NOT NULL,
    "chainId" INTEGER NOT NULL,
    "tags" TEXT[],
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "projectId" TEXT NOT NULL,
    CONSTRAINT "ProjectContract_pkey" PRIMARY KEY ("id")
);
CREATE TABLE "FundingRound" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "startDate" TIMESTAMP(3) NOT NULL,
    CONSTRAINT "FundingRound_pkey" PRIMARY KEY ("id")
);
INSERT INTO "ProjectContract" VALUES
  ('pc-1', '0xa062ae8a', 10, ARRAY['router'], '2024-05-01 10:00:00', '2024-05-01 10:00:00.000', 'p-1'),
  ('pc-2', '0x42000000', 10, NULL, '2024-05-02 10:00:00', '2024-05-02 10:00:00.000', 'p-2'),
  ('pc-3', '0x42000000', 8453, ARRAY[]::TEXT[], '2024-05-03 10:00:00', '2024-05-03 10:00:00.000', 'p-2'),
  ('pc-4', '0x11111111', 1, NULL, '2024-05-04 10:00:00', '2024-05-04 10:00:00.000', 'p-3'),
  ('pc-5', '0x22222222', 1, NULL, '2024-05-04 10:00:00', '2024-05-04 10:00:00.000', 'p-3');
INSERT INTO "FundingRound" VALUES ('4', 'Retro Funding 4', '2024-05-23'), ('5', 'Retro Funding 5', '2024-09-01');
"""

TABLES = (SqlTable("ProjectContract", cursor="updatedAt"), SqlTable("FundingRound"))
SOURCE = Source(name="atlas_test", tables=table_specs(TABLES), flow="none")


@pytest.fixture
def db(postgres, request) -> str:
    """A fresh database named after the test, loaded with ``SCHEMA``; yields its password-less URL."""
    name = re.sub(r"\W+", "_", request.node.name.lower())[:55]
    postgres.create_database(name)
    postgres.run_sql(name, SCHEMA)
    return name


def contracts(warehouse) -> pl.DataFrame:
    return warehouse.sql("SELECT * FROM atlas_test.project_contract ORDER BY id")


def cursor_of(warehouse) -> str | None:
    unit = LoadState(warehouse).latest("atlas_test", "project_contract").get("cursor:updatedAt")
    return Cursor.load(unit.cursor).value if unit else None


def committed(warehouse) -> Cursor:
    return Cursor.load(LoadState(warehouse).latest("atlas_test", "project_contract")["cursor:updatedAt"].cursor)


def test_snake_case_matches_dlt_naming():
    assert snake_case("ProjectContract") == "project_contract"
    assert snake_case("updatedAt") == "updated_at"
    assert snake_case("projectOSOData") == "project_oso_data"
    assert snake_case("verificationChainId") == "verification_chain_id"
    assert snake_case("all_donations") == "all_donations"


def test_masked_url_hides_password_in_every_form():
    url = DatabaseUrl("postgresql+psycopg2://atlas:p%40ss%2Fw0rd@db.example:5432/atlas?sslmode=require")
    assert url.masked == "postgresql+psycopg2://atlas:***@db.example:5432/atlas"
    assert url.for_connectorx.startswith("postgresql://atlas:p%40ss%2Fw0rd@db.example:5432/atlas")
    text = url.mask(f"failed: {url.raw} (password p@ss/w0rd, raw p%40ss%2Fw0rd)")
    assert "p@ss/w0rd" not in text and "p%40ss%2Fw0rd" not in text
    with pytest.raises(ValueError, match="only PostgreSQL"):
        _ = DatabaseUrl("mysql://u:secret@h/db").for_connectorx


def test_override_url_with_password_is_refused():
    with pytest.raises(ValueError, match="must not carry a password") as info:
        resolve_database_url(SecretReference("op_atlas", "database"), "postgresql://u:hunter2@h/db")
    assert "hunter2" not in str(info.value)


def test_first_load_copies_every_table_and_records_the_cursor(postgres, db, warehouse):
    summary = replicate(SOURCE, TABLES, postgres.dsn(db), warehouse=warehouse)

    assert summary.rows == {"atlas_test.project_contract": 5, "atlas_test.funding_round": 2}
    rows = contracts(warehouse)
    assert rows.columns == ["id", "contract_address", "chain_id", "tags", "created_at", "updated_at", "project_id"]
    assert rows["chain_id"].to_list() == [10, 10, 8453, 1, 1]
    assert rows["tags"].to_list()[:3] == [["router"], None, []]
    assert warehouse.sql("SELECT name FROM atlas_test.funding_round ORDER BY id")["name"].to_list() == [
        "Retro Funding 4",
        "Retro Funding 5",
    ]
    assert cursor_of(warehouse) == "2024-05-04T10:00:00"


def test_keyset_batches_read_every_row_once_across_ties_and_awkward_keys(postgres, db):
    # Same updatedAt for several rows, and keys with quotes and backslashes at batch boundaries.
    postgres.run_sql(
        db,
        """INSERT INTO "ProjectContract" VALUES
        ('pc-4''quote', '0x33', 1, NULL, now(), '2024-05-04 10:00:00', 'p-9'),
        ('pc-4\\back', '0x34', 1, NULL, now(), '2024-05-04 10:00:00', 'p-9'),
        ('pc-4"dq', '0x35', 1, NULL, now(), '2024-05-04 10:00:00', 'p-9')""",
    )
    reader = PostgresReader("atlas_test", postgres.dsn(db), batch_rows=2)
    extract = extract_table(reader, TABLES[0], since=None)
    assert extract.rows == 8
    assert extract.frame["id"].n_unique() == 8
    assert extract.batches == 5  # 2+2+2+2, then an empty page closes the keyset walk
    assert set(extract.frame["id"]) >= {"pc-4'quote", "pc-4\\back", 'pc-4"dq'}


def test_incremental_load_merges_exactly_the_changed_rows(postgres, db, warehouse):
    url = postgres.dsn(db)
    replicate(SOURCE, TABLES, url, warehouse=warehouse)
    before = warehouse.snapshot_id("atlas_test.funding_round")

    postgres.run_sql(
        db,
        """UPDATE "ProjectContract" SET "chainId" = 34443, "updatedAt" = '2024-06-01 09:00:00.125'
          WHERE id = 'pc-2';
        INSERT INTO "ProjectContract" VALUES
          ('pc-6', '0x66666666', 10, NULL, '2024-06-02', '2024-06-02 00:00:00.000', 'p-4');""",
    )
    reader = PostgresReader("atlas_test", url)
    changed = extract_table(reader, TABLES[0], since=committed(warehouse))
    # Read >= the last cursor (pc-4 and pc-5 sit exactly on it), then the boundary rows seen unchanged are dropped.
    assert changed.read_rows == 4
    assert sorted(changed.frame["id"]) == ["pc-2", "pc-6"]

    summary = replicate(SOURCE, TABLES, url, warehouse=warehouse)

    rows = contracts(warehouse)
    assert rows.height == 6
    assert rows["id"].n_unique() == 6
    assert rows.filter(pl.col("id") == "pc-2")["chain_id"].item() == 34443
    assert rows.filter(pl.col("id") == "pc-1")["chain_id"].item() == 10
    assert cursor_of(warehouse) == "2024-06-02T00:00:00"
    assert summary.rows["atlas_test.project_contract"] == 2
    # The replaced table is rewritten every run: a new snapshot with the same rows.
    assert warehouse.snapshot_id("atlas_test.funding_round") != before
    assert warehouse.sql("SELECT count(*) AS n FROM atlas_test.funding_round")["n"].item() == 2


def test_rerun_without_changes_loads_no_duplicates(postgres, db, warehouse):
    url = postgres.dsn(db)
    replicate(SOURCE, TABLES, url, warehouse=warehouse)
    first = contracts(warehouse)
    replicate(SOURCE, TABLES, url, warehouse=warehouse)
    again = contracts(warehouse)
    assert again.height == 5
    assert again["id"].n_unique() == 5
    assert again.sort("id").equals(first.sort("id"))


def test_unchanged_incremental_table_makes_no_commit(postgres, db, warehouse):
    url = postgres.dsn(db)
    replicate(SOURCE, TABLES, url, warehouse=warehouse)
    snapshot = warehouse.snapshot_id("atlas_test.project_contract")
    summary = replicate(SOURCE, TABLES, url, warehouse=warehouse)
    assert warehouse.snapshot_id("atlas_test.project_contract") == snapshot
    assert "ProjectContract: no changes" in summary.notes
    assert "atlas_test.project_contract" not in summary.rows
    assert cursor_of(warehouse) == "2024-05-04T10:00:00"


def test_row_committed_late_with_the_boundary_timestamp_is_not_lost(postgres, db, warehouse):
    url = postgres.dsn(db)
    replicate(SOURCE, TABLES, url, warehouse=warehouse)
    assert len(committed(warehouse).seen) == 2  # pc-4 and pc-5 share the last updatedAt
    # Written in the same millisecond as the last load's newest rows, but committed after that load read them.
    postgres.run_sql(
        db,
        """INSERT INTO "ProjectContract" VALUES ('pc-0', '0x0000', 1, NULL, now(), '2024-05-04 10:00:00', 'p-3')""",
    )
    summary = replicate(SOURCE, TABLES, url, warehouse=warehouse)
    assert summary.rows["atlas_test.project_contract"] == 1
    assert contracts(warehouse)["id"].to_list() == ["pc-0", "pc-1", "pc-2", "pc-3", "pc-4", "pc-5"]
    assert len(committed(warehouse).seen) == 3
    # A boundary row changed without moving its timestamp is re-read too (its fingerprint changed).
    postgres.run_sql(db, """UPDATE "ProjectContract" SET "chainId" = 7 WHERE id = 'pc-5'""")
    summary = replicate(SOURCE, TABLES, url, warehouse=warehouse)
    assert summary.rows["atlas_test.project_contract"] == 1
    assert contracts(warehouse).filter(pl.col("id") == "pc-5")["chain_id"].item() == 7


def test_failed_read_commits_nothing_and_keeps_the_cursor(postgres, db, warehouse):
    url = postgres.dsn(db)
    replicate(SOURCE, TABLES, url, warehouse=warehouse)
    snapshots = {t: warehouse.snapshot_id(f"atlas_test.{t}") for t in ("project_contract", "funding_round")}
    before = contracts(warehouse)

    # A changed row, then a second batch that ConnectorX cannot decode (numeric beyond decimal(38,10)).
    postgres.run_sql(
        db,
        """ALTER TABLE "ProjectContract" ADD COLUMN "amount" NUMERIC;
        UPDATE "ProjectContract" SET "updatedAt" = '2024-07-01', "amount" = 1 WHERE id = 'pc-1';
        UPDATE "ProjectContract" SET "updatedAt" = '2024-07-02', "amount" = 1e40 WHERE id = 'pc-3';""",
    )
    with pytest.raises(SourceError, match=r"atlas_test: .*table ProjectContract"):
        replicate(SOURCE, TABLES, url, warehouse=warehouse, batch_rows=3)

    for table, snapshot in snapshots.items():
        assert warehouse.snapshot_id(f"atlas_test.{table}") == snapshot
    assert cursor_of(warehouse) == "2024-05-04T10:00:00"
    assert contracts(warehouse).equals(before)


def test_missing_table_fails_before_any_commit_with_a_masked_url(postgres, db, warehouse):
    url = postgres.dsn(db).replace(f"{postgres.user}@", f"{postgres.user}:Sup3rSecret@")  # trust auth ignores it
    tables = (*TABLES, SqlTable("NoSuchTable"))
    with pytest.raises(SourceError) as info:
        replicate(SOURCE, tables, url, warehouse=warehouse)
    message = str(info.value)
    assert "Sup3rSecret" not in message
    assert ":***@" in message and "NoSuchTable" in message
    assert not warehouse.exists("atlas_test.project_contract")


def test_lost_lake_copy_is_read_whole_again(postgres, db, warehouse):
    url = postgres.dsn(db)
    replicate(SOURCE, TABLES, url, warehouse=warehouse)
    warehouse.catalog.drop_table("atlas_test.project_contract")
    summary = replicate(SOURCE, TABLES, url, warehouse=warehouse)
    assert summary.rows["atlas_test.project_contract"] == 5
    assert contracts(warehouse).height == 5


def test_full_refresh_drops_rows_deleted_at_the_source(postgres, db, warehouse):
    url = postgres.dsn(db)
    replicate(SOURCE, TABLES, url, warehouse=warehouse)
    postgres.run_sql(db, """DELETE FROM "ProjectContract" WHERE id = 'pc-1'""")
    replicate(SOURCE, TABLES, url, warehouse=warehouse)
    assert "pc-1" in contracts(warehouse)["id"].to_list()  # an incremental load cannot see deletions
    replicate(SOURCE, TABLES, url, warehouse=warehouse, full_refresh=True)
    assert contracts(warehouse)["id"].to_list() == ["pc-2", "pc-3", "pc-4", "pc-5"]


def test_unusual_types_are_read_as_text_and_nullable_cursors_refused(postgres, db, warehouse):
    postgres.run_sql(
        db,
        """CREATE TYPE "KYCStatus" AS ENUM ('PENDING', 'APPROVED', 'REJECTED');
        CREATE TABLE "KYCUser" ("id" TEXT PRIMARY KEY, "status" "KYCStatus" NOT NULL, "ip" INET,
                                "grace" INTERVAL, "updatedAt" TIMESTAMP(3));
        INSERT INTO "KYCUser" VALUES
          ('k1', 'APPROVED', '10.0.0.1', '2 days', now()), ('k2', 'PENDING', NULL, NULL, NULL);""",
    )
    reader = PostgresReader("atlas_test", postgres.dsn(db))
    extract = extract_table(reader, SqlTable("KYCUser"), since=None)
    assert extract.frame.sort("id")["status"].to_list() == ["APPROVED", "PENDING"]
    assert extract.frame.sort("id")["ip"].to_list()[0].startswith("10.0.0.1")
    with pytest.raises(SourceError, match="cursor column 'updatedAt' is nullable"):
        extract_table(reader, SqlTable("KYCUser", cursor="updatedAt"), since=None)


def test_incremental_table_without_a_key_is_refused(postgres, db):
    postgres.run_sql(db, """CREATE TABLE "Log" ("msg" TEXT, "createdAt" TIMESTAMP(3) NOT NULL)""")
    reader = PostgresReader("atlas_test", postgres.dsn(db))
    with pytest.raises(SourceError, match="no(ne)?.*declare key"):
        extract_table(reader, SqlTable("Log", cursor="createdAt"), since=None)


def test_range_partitioned_read_keeps_null_partition_values(postgres, db):
    postgres.run_sql(
        db,
        """CREATE TABLE all_donations (round_num INTEGER, amount_in_usd DOUBLE PRECISION);
        INSERT INTO all_donations SELECT (g % 23), g FROM generate_series(1, 500) g;
        INSERT INTO all_donations VALUES (NULL, 1.5), (NULL, 2.5);""",
    )
    reader = PostgresReader("gitcoin", postgres.dsn(db))
    extract = extract_table(reader, SqlTable("all_donations", partition_on="round_num", partitions=4), since=None)
    assert extract.rows == 502
    assert extract.batches == 5  # 4 ranges + the NULLs
    assert extract.frame["amount_in_usd"].sum() == sum(range(1, 501)) + 4.0
