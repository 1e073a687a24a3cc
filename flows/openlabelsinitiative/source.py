"""openlabelsinitiative: the OLI label pool's decoded export into ``labels_decoded``.

As OSO's archive2bq asset ``openlabelsinitiative/labels_decoded``: growthepie's ``labels_decoded.parquet``,
not an archive (``skip_uncompression``), loaded as is with its parquet column types, table replaced. The file is
streamed to disk and read row group by row group (bounded batches) straight into the writer.
"""

from __future__ import annotations

from oso_core import Source, SourceRun, TableSpec, downloaded, parquet_batches, source_flow

EXPORT_PATH = "/v1/oli/labels_decoded.parquet"
# The columns a label is made of (OLI data model: a tag_id with a value on an address and chain); others pass through.
REQUIRED = ("id", "chain_id", "address", "tag_id", "tag_value")

SOURCE = Source(
    name="openlabelsinitiative",
    description="Open Labels Initiative label pool (growthepie's decoded parquet export)",
    base_url="https://api.growthepie.xyz",
    tables=(TableSpec("labels_decoded", mode="replace"),),
    flow="openlabelsinitiative_flow",
    tags=("archive",),
)


@source_flow(SOURCE)
def openlabelsinitiative_flow(run: SourceRun, base_url: str | None = None) -> None:
    """Load the OLI decoded labels parquet export into one table (replaced)."""
    with downloaded(SOURCE.name, run.base_url(base_url) + EXPORT_PATH) as export:
        run.summary.notes.extend(export.notes)
        run.write({"labels_decoded": parquet_batches(SOURCE.name, export.path, required=REQUIRED)})
