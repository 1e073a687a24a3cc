"""Time-partitioned tables: partition spec evolution in place, merges that read and rewrite only the partitions of
their change set, and merges whose keys no statistic can prune (hash-like ids), checked against pyiceberg's own
read of the table and against the expected rows computed in memory."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from oso_core.model.sources import TableSpec
from oso_core.warehouse import Warehouse, WarehouseError, merge
from oso_core.warehouse.partitioning import PartitionBy

T0 = datetime(2024, 1, 1, tzinfo=UTC)
TABLE = "oc.tx"
MONTH = "month(created_at)"


def hashed(i: int) -> str:
    return hashlib.sha1(str(i).encode()).hexdigest()[:20]  # hash-like ids: no order relates them to time


def transactions(ids: range | list[int], value: int = 0, hours: int = 12) -> pl.DataFrame:
    """Rows whose ``created_at`` is fixed by the id (every ``hours`` hours from T0): the key determines the month."""
    ids = list(ids)
    return pl.DataFrame(
        {
            "id": [hashed(i) for i in ids],
            "n": ids,
            "value": [value] * len(ids),
            "created_at": [T0 + timedelta(hours=hours * i) for i in ids],
        },
        schema={"id": pl.String, "n": pl.Int64, "value": pl.Int64, "created_at": pl.Datetime("us", "UTC")},
    )


def merged(expected: pl.DataFrame, batch: pl.DataFrame) -> pl.DataFrame:
    return pl.concat([expected.join(batch.select("id"), on="id", how="anti"), batch])


def pyiceberg_rows(warehouse: Warehouse, table: str = TABLE) -> pl.DataFrame:
    """The table as pyiceberg itself reads it (not our reader): rows sorted by ``n``."""
    frame = pl.from_arrow(warehouse.catalog.load_table(table).scan().to_arrow())
    assert isinstance(frame, pl.DataFrame)
    return frame.sort("n")


def assert_rows(warehouse: Warehouse, expected: pl.DataFrame, table: str = TABLE) -> None:
    got = pyiceberg_rows(warehouse, table).select(expected.columns)
    assert got.height == expected.height
    assert got["id"].n_unique() == got.height
    assert got.equals(expected.sort("n").cast(dict(got.schema)))
    duck = warehouse.sql(f"SELECT count(*) AS n, count(DISTINCT id) AS u, sum(value) AS s FROM {table}")
    assert duck.row(0) == (expected.height, expected.height, expected["value"].sum())


def data_files(warehouse: Warehouse, table: str = TABLE) -> dict[str, tuple[int, tuple]]:
    """Current data files: path → (spec id, partition tuple)."""
    tbl = warehouse.catalog.load_table(table)
    return {t.file.file_path: (t.file.spec_id, tuple(t.file.partition)) for t in tbl.scan().plan_files()}


def summary(warehouse: Warehouse, table: str = TABLE) -> dict[str, str]:
    snapshot = warehouse.catalog.load_table(table).current_snapshot()
    assert snapshot is not None
    return dict(snapshot.summary.additional_properties)


def month_of(months_since_1970: int) -> str:
    return f"{1970 + months_since_1970 // 12}-{months_since_1970 % 12 + 1:02d}"


def write(warehouse: Warehouse, frame: pl.DataFrame, *, partition_by: str | None = MONTH, prune: bool = True):
    return warehouse.write(
        TABLE, frame, mode="merge", key=["id"], partition_by=partition_by, key_determines_partition=prune
    )


def six_months(warehouse: Warehouse, partition_by: str | None = MONTH) -> pl.DataFrame:
    """~6 months of rows (every 12 h), loaded in weekly windows as the windowed sources do: many files."""
    expected = transactions([])
    for week in range(26):
        batch = transactions(range(week * 14, week * 14 + 14))
        write(warehouse, batch, partition_by=partition_by)
        expected = merged(expected, batch)
    return expected


# -- partition spec evolution ---------------------------------------------------------------------------------------
def test_existing_table_evolves_its_partition_spec_in_place(warehouse: Warehouse):
    expected = six_months(warehouse, partition_by=None)
    before = data_files(warehouse)
    assert {spec for spec, _ in before.values()} == {0}
    assert warehouse.catalog.load_table(TABLE).spec().is_unpartitioned()

    # The first write that declares a partitioning evolves the table, in that write's commit.
    batch = pl.concat([transactions(range(360, 380), value=1), transactions([3, 200], value=2)])
    write(warehouse, batch)
    expected = merged(expected, batch)
    table = warehouse.catalog.load_table(TABLE)
    assert [(f.name, str(f.transform)) for f in table.spec().fields] == [("created_at_month", "month")]
    assert table.spec().spec_id == 1 and sorted(table.metadata.specs()) == [0, 1]
    after = data_files(warehouse)
    new = {path: part for path, part in after.items() if path not in before}
    assert new and {spec for spec, _ in new.values()} == {1}  # new files use the new spec…
    assert all(len(partition) == 1 for _, partition in new.values())
    kept = {path for path in before if path in after}
    assert kept and all(after[path][0] == 0 for path in kept)  # …old files keep theirs and are still read
    assert_rows(warehouse, expected)

    # Old-spec files are still found by later merges (rows 5 and 100 live in old, unpartitioned files).
    batch = transactions([5, 100, 361], value=3)
    write(warehouse, batch)
    expected = merged(expected, batch)
    assert_rows(warehouse, expected)
    assert warehouse.catalog.load_table(TABLE).spec().spec_id == 1  # no further evolution

    # A different declaration evolves again: month -> day (the month field is removed, the day field added).
    batch = transactions([364], value=4)
    write(warehouse, batch, partition_by="day(created_at)")
    expected = merged(expected, batch)
    spec = warehouse.catalog.load_table(TABLE).spec()
    assert [str(f.transform) for f in spec.fields] == ["day"] and spec.spec_id == 2
    assert_rows(warehouse, expected)


def test_spec_evolution_survives_a_concurrent_commit(warehouse: Warehouse):
    """Another writer commits while this write is staging: the retry re-stages the spec change on the new table."""
    warehouse.write(TABLE, transactions(range(0, 50)), mode="append")

    def frames() -> Iterator[pl.DataFrame]:
        yield transactions(range(0, 10), value=1)
        Warehouse().write(TABLE, transactions(range(50, 60)), mode="append")  # lands first
        yield transactions(range(100, 110), value=1)

    write(warehouse, frames())
    expected = merged(
        transactions(range(0, 60)), pl.concat([transactions(range(0, 10), 1), transactions(range(100, 110), 1)])
    )
    assert [str(f.transform) for f in warehouse.catalog.load_table(TABLE).spec().fields] == ["month"]
    assert_rows(warehouse, expected)


def test_replace_evolves_and_writes_every_file_under_the_new_spec(warehouse: Warehouse):
    warehouse.write(TABLE, transactions(range(100)), mode="replace")
    warehouse.write(TABLE, transactions(range(100), value=5), mode="replace", partition_by="year(created_at)")
    assert {spec for spec, _ in data_files(warehouse).values()} == {1}
    assert_rows(warehouse, transactions(range(100), value=5))


# -- merges that prune by partition ---------------------------------------------------------------------------------
def test_merge_rewrites_only_the_partitions_of_its_rows(warehouse: Warehouse):
    expected = six_months(warehouse)
    before = data_files(warehouse)
    months = {partition for _, partition in before.values()}
    assert len(months) >= 6

    # A re-loaded window in March: updates and new rows, all in one month.
    march = [i for i in range(364) if (T0 + timedelta(hours=12 * i)).month == 3]
    batch = pl.concat([transactions(march[5:20], value=7), transactions(range(400, 405), value=7, hours=0)])
    batch = batch.with_columns(
        created_at=pl.when(pl.col("n") >= 400).then(T0.replace(month=3, day=20)).otherwise("created_at")
    )
    # A file of another month is moved away: a merge that read it would fail.
    elsewhere = next(path for path, (_, part) in before.items() if month_of(part[0]) == "2024-01")
    local = Path(elsewhere.removeprefix("file://"))
    hidden = local.with_suffix(".hidden")
    shutil.move(local, hidden)
    try:
        result = write(warehouse, batch)
    finally:
        shutil.move(hidden, local)
    expected = merged(expected, batch)

    after = data_files(warehouse)
    removed = {path: before[path] for path in before if path not in after}
    added = {path: after[path] for path in after if path not in before}
    stats = summary(warehouse)
    assert int(stats["deleted-data-files"]) == len(removed) == result.files_removed > 0
    assert int(stats["added-data-files"]) == len(added) == result.files_added
    assert {month_of(part[0]) for _, part in removed.values()} == {"2024-03"}
    assert {month_of(part[0]) for _, part in added.values()} == {"2024-03"}
    march_files = [path for path, (_, part) in before.items() if month_of(part[0]) == "2024-03"]
    assert len(removed) <= len(march_files) < len(before)
    assert stats["oso.rows_updated"] == "15" and stats["oso.rows_inserted"] == "5"
    assert_rows(warehouse, expected)


def test_without_the_declaration_a_moved_key_is_still_found(warehouse: Warehouse):
    """Pruning is opt-in: a table whose rows may change partition merges by key statistics only."""
    expected = six_months(warehouse)
    moved = transactions([10, 300], value=9).with_columns(created_at=pl.lit(T0 + timedelta(days=200)))
    write(warehouse, moved, prune=False)
    expected = merged(expected, moved)
    assert_rows(warehouse, expected)


def test_partition_column_in_the_key_prunes_without_a_declaration(warehouse: Warehouse):
    """npm.downloads' shape: the key holds the partition column, so the key determines the partition."""
    weeks = [T0.date() + timedelta(days=7 * w) for w in range(30)]
    base = pl.DataFrame(
        {"artifact_name": [f"pkg{p}" for w in weeks for p in range(20)], "date": [w for w in weeks for _ in range(20)]}
    ).with_columns(downloads=pl.lit(1, pl.Int64))
    for w in range(0, 30, 5):  # several commits: several files per month
        chunk = base.filter(pl.col("date").is_in(weeks[w : w + 5]))
        warehouse.write("npm.d", chunk, mode="merge", key=["artifact_name", "date"], partition_by="month(date)")
    before = data_files(warehouse, "npm.d")
    batch = base.filter(pl.col("date") == weeks[-1]).with_columns(downloads=pl.lit(5, pl.Int64))
    warehouse.write("npm.d", batch, mode="merge", key=["artifact_name", "date"], partition_by="month(date)")
    after = data_files(warehouse, "npm.d")
    removed = [before[path] for path in before if path not in after]
    assert {part for _, part in removed} == {before[next(iter(p for p in before if p not in after))][1]}
    got = pyiceberg_rows_by(warehouse, "npm.d")
    assert got.height == base.height
    assert got.filter(pl.col("downloads") == 5).height == 20
    assert got.filter(pl.col("date") == weeks[-1])["downloads"].to_list() == [5] * 20


def pyiceberg_rows_by(warehouse: Warehouse, table: str) -> pl.DataFrame:
    frame = pl.from_arrow(warehouse.catalog.load_table(table).scan().to_arrow())
    assert isinstance(frame, pl.DataFrame)
    return frame


def test_truncate_partitions_of_unix_seconds(warehouse: Warehouse):
    """eas_optimism's shape: an integer time column (unix seconds) in 30-day buckets, hash-like ids."""
    bucket = 30 * 86_400
    start = int(T0.timestamp())

    def attestations(ns: list[int], value: int) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "id": [hashed(n) for n in ns],
                "n": ns,
                "value": [value] * len(ns),
                "time": [start + n * 43_200 for n in ns],
            }
        )

    for week in range(20):
        warehouse.write(
            "eas.a", attestations(list(range(week * 14, week * 14 + 14)), 0), mode="merge", key=["id"],
            partition_by="truncate(time, 2592000)", key_determines_partition=True,
        )  # fmt: skip
    table = warehouse.catalog.load_table("eas.a")
    assert [str(f.transform) for f in table.spec().fields] == [f"truncate[{bucket}]"]
    before = data_files(warehouse, "eas.a")
    batch = attestations([200, 201, 202, 500], 1)
    batch = batch.with_columns(time=pl.when(pl.col("n") == 500).then(start + 201 * 43_200).otherwise("time"))
    warehouse.write(
        "eas.a", batch, mode="merge", key=["id"], partition_by="truncate(time, 2592000)", key_determines_partition=True
    )
    after = data_files(warehouse, "eas.a")
    removed = {before[path][1] for path in before if path not in after}
    assert removed == {((start + 200 * 43_200) // bucket * bucket,)}
    got = pyiceberg_rows_by(warehouse, "eas.a")
    assert got.height == 281 and got["id"].n_unique() == 281
    assert sorted(got.filter(pl.col("value") == 1)["n"].to_list()) == [200, 201, 202, 500]
    # overwrite_partitions understands the same buckets
    window = attestations([0, 1], 3)
    warehouse.write("eas.a", window, mode="overwrite_partitions", partition_by="truncate(time, 2592000)")
    got = pyiceberg_rows_by(warehouse, "eas.a")
    assert sorted(got.filter(pl.col("time") < start + bucket - start % bucket)["n"].to_list()) == [0, 1]


# -- merges no statistic can prune ------------------------------------------------------------------------------------
@pytest.mark.parametrize("partition_by", [None, MONTH])
def test_hash_like_keys_spread_over_every_file(warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch, partition_by):
    """Updates spread over the whole history touch every file; the rewrite goes group by group (small groups
    here, so several) and the result is exact."""
    monkeypatch.setattr(merge, "REWRITE_GROUP_ROWS", 40)
    expected = six_months(warehouse, partition_by=partition_by)
    updated = list(range(0, 364, 7))
    holding = [
        path
        for path in data_files(warehouse)
        if set(pq.read_table(path.removeprefix("file://"), columns=["n"])["n"].to_pylist()) & set(updated)
    ]
    batch = pl.concat([transactions(updated, value=8), transactions(range(364, 380), value=8)])
    result = write(warehouse, batch, partition_by=partition_by, prune=partition_by is not None)
    expected = merged(expected, batch)
    assert len(holding) > 10 and result.files_removed == len(holding)  # exactly the files holding an updated key
    assert summary(warehouse)["oso.rows_updated"] == "52"
    assert_rows(warehouse, expected)


def test_multi_column_keys_are_merged_group_by_group(warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(merge, "REWRITE_GROUP_ROWS", 25)
    base = pl.DataFrame({"a": [i % 7 for i in range(200)], "b": [hashed(i) for i in range(200)], "v": [0] * 200})
    for part in range(0, 200, 40):
        warehouse.write("t.m", base.slice(part, 40), mode="merge", key=["a", "b"])
    batch = pl.DataFrame({"a": [3 % 7, 150 % 7, 1], "b": [hashed(3), hashed(150), "new"], "v": [1, 1, 1]})
    warehouse.write("t.m", batch, mode="merge", key=["a", "b"])
    got = pyiceberg_rows_by(warehouse, "t.m")
    assert got.height == 201 and got.select("a", "b").n_unique() == 201
    assert sorted(got.filter(pl.col("v") == 1)["b"].to_list()) == sorted([hashed(3), hashed(150), "new"])


# -- declarations -----------------------------------------------------------------------------------------------------
def test_table_spec_declaration_is_checked():
    with pytest.raises(ValueError, match="key_determines_partition needs partition_by"):
        TableSpec("t", mode="merge", key=("id",), key_determines_partition=True)
    assert PartitionBy.parse("truncate(time, 2592000)") == PartitionBy("time", "truncate", 2592000)
    assert PartitionBy.parse("year(time)").field_name == "time_year"
    with pytest.raises(ValueError, match="not understood"):
        PartitionBy.parse("truncate(time, 0)")


def test_windowed_sources_declare_time_partitions():
    from flows.defillama.source import SOURCE as DEFILLAMA
    from flows.eas_optimism.source import SOURCE as EAS
    from flows.npm.source import SOURCE as NPM
    from flows.open_collective.source import SOURCE as OC

    declared = {
        f"{s.name}.{t.name}": (
            t.partition_by,
            t.key_determines_partition or PartitionBy.parse(t.partition_by).column in t.key,
        )
        for s in (NPM, OC, EAS, DEFILLAMA)
        for t in s.tables
        if t.partition_by
    }  # fmt: skip
    assert declared == {
        "npm.downloads": ("month(date)", True),
        "open_collective.expenses": ("month(created_at)", True),
        "open_collective.deposits": ("month(created_at)", True),
        "eas_optimism.attestations": ("truncate(time, 2592000)", True),
        "defillama.tvl_events": ("year(time)", True),
        "defillama.trading_volume_events": ("year(time)", True),
        "defillama.lp_fee_events": ("year(time)", True),
        "defillama.historical_chain_tvl": ("year(time)", True),
    }


def test_a_frame_without_the_partition_column_turns_pruning_off(warehouse: Warehouse):
    expected = six_months(warehouse)
    batch = transactions([3, 250], value=6).drop("created_at")
    write(warehouse, batch)
    got = pyiceberg_rows(warehouse)
    assert got.height == expected.height and got["id"].n_unique() == got.height
    assert sorted(got.filter(pl.col("value") == 6)["n"].to_list()) == [3, 250]
    assert got.filter(pl.col("value") == 6)["created_at"].null_count() == 2
    with pytest.raises(WarehouseError, match="partition column 'other' is not in the table"):
        write(warehouse, transactions([1]), partition_by="month(other)")
