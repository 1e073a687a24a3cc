"""Lists a source reads from other lake tables: ossd projects' URLs (defillama, npm), op_atlas slugs.

OSO built these lists from BigQuery (``oso.artifacts_v1``, ``op_atlas.project__defi_llama_slug``) or by fetching
oss-directory again. Here they come from the lake the other sources load, and a missing input table is not an
error: the caller gets ``None`` and says so in its run summary, because a fresh lake simply has not run ossd yet.
"""

from __future__ import annotations

import polars as pl

from oso_core.warehouse import Warehouse

PROJECTS_TABLE = "ossd.projects"


def project_urls(warehouse: Warehouse, field: str) -> list[str] | None:
    """Distinct URLs in ``ossd.projects.<field>`` (``list<struct{url}>``), sorted; ``None`` if no such table."""
    if not warehouse.exists(PROJECTS_TABLE):
        return None
    projects = warehouse.read(PROJECTS_TABLE)
    if field not in projects.columns:
        return []
    urls = (
        projects.select(pl.col(field).explode().struct.field("url").alias("url"))
        .drop_nulls()
        .unique()
        .sort("url")
        .get_column("url")
    )
    return [url for url in urls.to_list() if url.strip()]


def column_values(warehouse: Warehouse, table: str, column: str) -> list[str] | None:
    """Distinct non-empty values of ``table.column`` (a string, or a list of strings, exploded); ``None`` if absent."""
    if not warehouse.exists(table):
        return None
    frame = warehouse.read(table)
    if column not in frame.columns:
        return None
    values = frame.get_column(column)
    if isinstance(values.dtype, pl.List):
        values = values.explode()
    values = values.cast(pl.String).drop_nulls().unique().sort()
    return [value for value in values.to_list() if value.strip()]
