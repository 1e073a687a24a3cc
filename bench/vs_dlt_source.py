"""The source ``bench/vs_dlt.py`` loads with our toolkit: declared and written with the engine, like ``flows/*``.

Open Collective-like transactions from the bench's local server: ``run.http`` → ``paginate_offset_frames``
(offset pages of 1000, ``totalCount``; pages fetched a few at a time and each decoded from its raw bytes into a
frame of ``FIELDS`` in native code, falling back to ``records_to_frame``'s value-by-value checks and errors for a
page that does not fit) → frames grouped into chunks of ``CHUNK`` records → nested objects flattened to
``parent__field`` columns named as dlt names them → ``Warehouse.write`` (streamed: each chunk becomes data files as
it arrives, one commit at the end).
"""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl

from oso_core.engine import SourceRun, source_flow
from oso_core.naming import snake_case
from oso_core.pagination import paginate_offset_frames
from oso_core.records import group_frames
from oso_core.sources import Source, TableSpec

PAGE = 1000
CHUNK = 100_000
INITIAL_PATH = "/transactions"

_MONEY = pl.Struct({"value": pl.Float64, "currency": pl.String, "valueInCents": pl.Int64})
_ACCOUNT = pl.Struct({"id": pl.String, "slug": pl.String, "name": pl.String, "type": pl.String})
FIELDS: dict[str, pl.DataType] = {
    "id": pl.String(),
    "legacyId": pl.Int64(),
    "group": pl.String(),
    "type": pl.String(),
    "kind": pl.String(),
    "description": pl.String(),
    "amount": _MONEY,
    "netAmount": _MONEY,
    "fromAccount": _ACCOUNT,
    "toAccount": _ACCOUNT,
    "paymentMethod": pl.Struct({"service": pl.String, "type": pl.String}),
    "createdAt": pl.Datetime("us", "UTC"),
    "updatedAt": pl.Datetime("us", "UTC"),
    "isRefunded": pl.Boolean(),
    "tags": pl.List(pl.String),
}

SOURCE = Source(
    name="bench_dlt",
    description="Open Collective-like transactions from the local server of bench/vs_dlt.py",
    base_url="http://127.0.0.1",
    tables=(TableSpec("transactions", mode="merge", key=("id",), description="one row per transaction"),),
    flow="transactions_flow",
)


def flatten(frame: pl.DataFrame) -> pl.DataFrame:
    """Nested objects as ``parent__field`` columns, snake_case, as dlt names them (lists stay list columns)."""
    columns = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Struct):
            columns += [
                pl.col(name).struct.field(f.name).alias(f"{snake_case(name)}__{snake_case(f.name)}")
                for f in dtype.fields
            ]
        else:
            columns.append(pl.col(name).alias(snake_case(name)))
    return frame.select(columns)


def transaction_frames(pages: Iterator[pl.DataFrame], chunk: int = CHUNK) -> Iterator[pl.DataFrame]:
    """Flattened frames of about ``chunk`` records each, as the pages arrive."""
    for frame in group_frames(pages, chunk):
        yield flatten(frame)


@source_flow(SOURCE)
def transactions_flow(run: SourceRun, base_url: str | None = None, path: str = INITIAL_PATH) -> None:
    """Every transaction of ``path`` into bench_dlt.transactions: the initial load appends, a re-load merges on id."""
    spec = SOURCE.table("transactions")
    mode = "append" if path == INITIAL_PATH else spec.mode  # as dlt's side: append first, then merge
    with run.http(base_url) as http:
        pages = paginate_offset_frames(
            http,
            path,
            limit=PAGE,
            schema=FIELDS,
            records="nodes",
            total="totalCount",
            required=("id", "createdAt"),
            record_id="id",
        )
        frames = transaction_frames(pages)
        result = run.warehouse.write(SOURCE.qualified("transactions"), frames, mode=mode, key=spec.key)
    run.summary.results.append(result)
