"""A lake written before OSO's names: the first ossd load renames its tables in the catalog, keeping their data."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from flows.ossd.migration import migrate_table_names
from flows.ossd.replay import SAMPLE_DIR
from flows.ossd.source import ossd_flow
from oso_core import repositories_frame, repository_row

URL_LIST = pl.DataFrame(
    {"project_name": ["wevm"], "url": ["https://github.com/wevm/viem"], "owner": ["wevm"], "repo_name": ["viem"]}
)
REPO = {
    "id": 1, "node_id": "R_1", "owner": {"login": "wevm"}, "full_name": "wevm/viem", "html_url": "https://github.com/wevm/viem",
    "name": "viem", "fork": False, "stargazers_count": 2500,
}  # fmt: skip


def legacy_lake(warehouse) -> int:
    warehouse.write("ossd.repositories", URL_LIST, mode="replace")
    metadata = repositories_frame([repository_row("ossd_github", "/repos/wevm/viem", REPO, datetime.now(UTC))])
    warehouse.write("ossd.github_repositories", metadata, mode="merge", key=["id"])
    return warehouse.snapshot_id("ossd.github_repositories")


def test_first_ossd_load_renames_the_old_tables(oso_home, warehouse):
    metadata_snapshot = legacy_lake(warehouse)
    summary = ossd_flow(repo_url=str(SAMPLE_DIR))

    assert not warehouse.exists("ossd.github_repositories")
    assert warehouse.snapshot_id("ossd.repositories") == metadata_snapshot  # moved, not rewritten
    assert warehouse.sql("SELECT name_with_owner, star_count FROM ossd.repositories").rows() == [("wevm/viem", 2500)]
    assert warehouse.sql("SELECT count(*) FROM ossd.project_repositories").item() == 14  # ossd's fresh list
    assert summary.notes[:2] == [
        "renamed ossd.repositories to ossd.project_repositories (OSO's table names)",
        "renamed ossd.github_repositories to ossd.repositories (OSO's table names)",
    ]
    assert migrate_table_names(warehouse.catalog) == []  # once only


def test_url_list_already_rewritten_is_dropped(oso_home, warehouse):
    legacy_lake(warehouse)
    warehouse.write("ossd.project_repositories", URL_LIST, mode="replace")
    notes = migrate_table_names(warehouse.catalog)
    assert notes[0] == "dropped the old URL list ossd.repositories (ossd.project_repositories replaces it)"
    assert warehouse.read("ossd.repositories").columns[:3] == ["ingestion_time", "id", "node_id"]
    assert warehouse.read("ossd.project_repositories").equals(URL_LIST)
