"""openlabelsinitiative: the OLI label pool's decoded export into ``labels_decoded``.

As OSO's archive2bq asset ``openlabelsinitiative/labels_decoded``: growthepie's ``labels_decoded.parquet``,
not an archive (``skip_uncompression``), loaded as is with its parquet column types, table replaced. The file is
streamed to disk and read row group by row group (bounded batches) straight into the writer.
"""

from __future__ import annotations

from oso_core.archive import parquet_batches
from oso_core.cli import run_source_cli
from oso_core.download import downloaded
from oso_core.flow_guard import source_flow
from oso_core.sources import Source, TableSpec
from oso_core.summary import LoadSummary
from oso_core.warehouse import Warehouse

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


@source_flow(SOURCE, log_prints=True)
def openlabelsinitiative_flow(base_url: str | None = None) -> LoadSummary:
    """Load the OLI decoded labels parquet export into one table (replaced)."""
    summary = LoadSummary(SOURCE.name)
    url = SOURCE.resolve_base_url(base_url) + EXPORT_PATH
    with downloaded(SOURCE.name, url) as export:
        summary.notes.extend(export.notes)
        frames = parquet_batches(SOURCE.name, export.path, required=REQUIRED)
        summary.add(Warehouse().write_table(SOURCE, "labels_decoded", frames))
    summary.publish()
    return summary


if __name__ == "__main__":
    raise SystemExit(run_source_cli(SOURCE, openlabelsinitiative_flow))
