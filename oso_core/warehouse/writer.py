"""IcebergWriter: the one place that turns Polars frames into Iceberg commits.

Every call is exactly one Iceberg commit, so a load succeeds whole or leaves the previous snapshot.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.table import Table

from oso_core.sources import WRITE_MODES
from oso_core.warehouse.types import to_arrow

FrameLike = pl.DataFrame | pl.LazyFrame | Iterable[pl.DataFrame]


class WarehouseError(Exception):
    """A write was refused or failed; the table is still at its previous snapshot."""


@dataclass(frozen=True)
class WriteResult:
    """What one ``Warehouse.write`` committed: enough for the run summary and the UI artifact."""

    table: str
    mode: str
    rows_written: int
    snapshot_id: int | None
    duration_s: float
    properties: dict[str, str] = field(default_factory=dict)

    def as_row(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "mode": self.mode,
            "rows": self.rows_written,
            "snapshot_id": str(self.snapshot_id) if self.snapshot_id is not None else "",
            "seconds": round(self.duration_s, 3),
        }


def iter_frames(data: FrameLike) -> Iterator[pl.DataFrame]:
    if isinstance(data, pl.DataFrame):
        yield data
    elif isinstance(data, pl.LazyFrame):
        yield data.collect()
    else:
        for frame in data:
            if not isinstance(frame, pl.DataFrame):
                raise TypeError(f"expected polars DataFrames, got {type(frame).__name__}")
            yield frame


class IcebergWriter:
    """Writes frames to tables of one catalog with the write modes sources declare."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    def load_or_create(self, identifier: str, schema: pa.Schema) -> Table:
        namespace = identifier.rsplit(".", 1)[0]
        self.catalog.create_namespace_if_not_exists(namespace)
        try:
            return self.catalog.load_table(identifier)
        except NoSuchTableError:
            return self.catalog.create_table_if_not_exists(identifier, schema=schema)

    def write(
        self,
        identifier: str,
        data: FrameLike,
        *,
        mode: str = "append",
        key: tuple[str, ...] | list[str] | None = None,
        partition_by: str | None = None,
        dedupe: str = "error",
        properties: Mapping[str, str] | None = None,
    ) -> WriteResult:
        if mode not in WRITE_MODES:
            raise WarehouseError(f"{identifier}: unknown write mode {mode!r}; one of {', '.join(WRITE_MODES)}")
        if mode not in ("append", "replace"):
            raise WarehouseError(f"{identifier}: write mode {mode!r} is not available yet")
        started = time.perf_counter()
        frames = [to_arrow(f) for f in iter_frames(data)]
        if not frames:
            raise WarehouseError(f"{identifier}: no data given (an empty frame is fine, no frames is not)")
        arrow = pa.concat_tables(frames, promote_options="permissive")
        table = self.load_or_create(identifier, arrow.schema)
        new_columns = set(arrow.schema.names) - {f.name for f in table.schema().fields}
        snapshot_props = {k: str(v) for k, v in (properties or {}).items()}
        snapshot_props["oso.rows"] = str(arrow.num_rows)
        snapshot_props["oso.mode"] = mode
        with table.transaction() as txn:
            if new_columns:
                with txn.update_schema() as update:
                    update.union_by_name(arrow.schema)
            if mode == "replace":
                txn.overwrite(arrow, snapshot_properties=snapshot_props)
            else:
                txn.append(arrow, snapshot_properties=snapshot_props)
        table = self.catalog.load_table(identifier)
        snapshot = table.current_snapshot()
        return WriteResult(
            table=identifier,
            mode=mode,
            rows_written=arrow.num_rows,
            snapshot_id=snapshot.snapshot_id if snapshot else None,
            duration_s=time.perf_counter() - started,
            properties=snapshot_props,
        )
