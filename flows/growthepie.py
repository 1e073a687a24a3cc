"""growthepie: the eleven metric exports of api.growthepie.com, unioned into ``growthepie.fundamentals_full``.

As OSO's ``growthepie/fundamentals`` asset: one GET per metric (``/export/{metric}.json``, a JSON list of
``{metric_key, origin_key, date, value}`` rows), every export written to the one table, replaced each run.
Columns are those of the export rows (any new field upstream adds a column); ``metric`` adds the export a row
came from, and ``metric_key`` falls back to it where a row has none. All eleven exports are fetched and
validated before the table is replaced.
"""

from __future__ import annotations

import polars as pl

from oso_core.cli import run_source_cli
from oso_core.fanout import fan_out
from oso_core.flow_guard import source_flow
from oso_core.http import HttpClient, min_interval_setting
from oso_core.records import Where, records_to_frame
from oso_core.sources import Source, TableSpec
from oso_core.summary import LoadSummary
from oso_core.warehouse import Warehouse

METRICS = (
    "daa",  # daily active addresses
    "fdv",  # fully diluted valuation
    "fees",  # fees paid by users
    "market_cap",
    "profit",  # onchain profit
    "rent_paid",  # rent paid to L1
    "stables_mcap",  # stablecoin market cap
    "throughput",
    "tvl",  # total value secured
    "txcosts",  # median transaction costs
    "txcount",
)
ROW_FIELDS: dict[str, pl.DataType] = {
    "metric_key": pl.String(),
    "origin_key": pl.String(),
    "date": pl.Date(),
    "value": pl.Float64(),
}

SOURCE = Source(
    name="growthepie",
    description="growthepie L2 fundamentals: eleven metric exports",
    base_url="https://api.growthepie.com/v1",
    tables=(TableSpec("fundamentals_full", mode="replace", description="every metric export's rows, unioned"),),
    flow="growthepie_flow",
)


def export_frame(metric: str, payload: object) -> pl.DataFrame:
    """One export's rows, validated; ``metric`` is the export's name."""
    where = Where(SOURCE.name, f"/export/{metric}.json")
    rows = where.expect(payload, list)
    frame = records_to_frame(rows, ROW_FIELDS, where=where, required=("origin_key", "date"), extra="keep")
    return frame.with_columns(pl.col("metric_key").fill_null(metric), pl.lit(metric).alias("metric"))


@source_flow(SOURCE, log_prints=True)
def growthepie_flow(base_url: str | None = None, max_workers: int = 4) -> LoadSummary:
    """Load growthepie's eleven metric exports into growthepie.fundamentals_full (replaced)."""
    summary = LoadSummary(SOURCE.name)
    interval = min_interval_setting(SOURCE.name)
    with HttpClient(SOURCE.name, SOURCE.resolve_base_url(base_url), min_interval=interval) as http:
        fetched = fan_out(
            METRICS,
            lambda metric: export_frame(metric, http.get_json(f"/export/{metric}.json")),
            max_workers=max_workers,
        )
    fetched.raise_for_errors(SOURCE.name, "/export/{metric}.json")
    frames = fetched.values()
    summary.notes.append(", ".join(f"{metric}: {frame.height}" for metric, frame in fetched.results) + " rows")
    summary.add(Warehouse().write_table(SOURCE, "fundamentals_full", pl.concat(frames, how="diagonal_relaxed")))
    summary.publish()
    return summary


if __name__ == "__main__":
    raise SystemExit(run_source_cli(SOURCE, growthepie_flow))
