"""Archive members and CSV / JSONL readers on real archives built here: boundaries, nulls, damage."""

from __future__ import annotations

import csv
import io
import random
import zipfile
from pathlib import Path

import polars as pl
import pytest

from flows.crates.fixtures.make_fixture import build_tar_gz
from oso_core.errors import BadFileError
from oso_core.transport.archive import coalesce, csv_batches, iter_members, jsonl_batches, member_selected


def tricky_csv(rows: int, seed: int = 7) -> tuple[bytes, list[list[str]]]:
    """CSV text whose values hold quotes, commas, and newlines (written by Python's csv module, like COPY)."""
    rng = random.Random(seed)
    pieces = ["plain", 'say "hi"', "a,b", "line one\nline two", "\n", '""', "tail\n\nend", "ünïcode"]
    records = [[str(i), rng.choice(pieces) + rng.choice(pieces), rng.choice(pieces)] for i in range(rows)]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "text", "more"])
    writer.writerows(records)
    return out.getvalue().encode(), records


@pytest.mark.parametrize("block", [64, 1000, 1 << 20])
def test_csv_pieces_never_split_a_quoted_value(block):
    data, records = tricky_csv(3000)
    frames = list(csv_batches("crates", "f.csv", io.BytesIO(data), block_bytes=block, column_types={"id": pl.Int64()}))
    table = pl.concat(frames)
    assert table["id"].to_list() == list(range(3000))
    assert table.select("text", "more").rows() == [(r[1], r[2]) for r in records]
    if block == 64:
        assert len(frames) > 100


def test_a_record_longer_than_a_piece_is_kept_whole():
    readme = "x" * 5000 + "\n" + '"' * 4 + "\n" * 3
    data = ('id,readme\n1,"' + readme.replace('"', '""') + '"\n2,short\n').encode()
    table = pl.concat(csv_batches("crates", "f.csv", io.BytesIO(data), block_bytes=256))
    assert table["readme"].to_list() == [readme, "short"]


def test_nulls_follow_postgres_copy_and_crlf_is_accepted():
    data = b'a,b,c\r\n,"",x\r\n"",,"y\r\nz"\r\n'
    table = pl.concat(csv_batches("crates", "f.csv", io.BytesIO(data)))
    assert table.rows() == [(None, "", "x"), ("", None, "y\r\nz")]


def test_csv_errors_name_record_line_and_field():
    data, _ = tricky_csv(500)
    bad = data + b"500,only-two\n"
    with pytest.raises(BadFileError) as caught:
        list(csv_batches("crates", "dump.tar.gz", io.BytesIO(bad), member="d/data/x.csv", block_bytes=300))
    error = caught.value
    assert (error.source, error.file, error.member, error.record, error.field) == (
        "crates",
        "dump.tar.gz",
        "d/data/x.csv",
        501,
        "more",
    )
    with pytest.raises(BadFileError, match="empty file"):
        list(csv_batches("crates", "f.csv", io.BytesIO(b"")))
    with pytest.raises(BadFileError, match="duplicate") as dup:
        list(csv_batches("crates", "f.csv", io.BytesIO(b"id,id\n1,2\n")))
    assert dup.value.line == 1
    with pytest.raises(BadFileError) as missing:
        list(csv_batches("crates", "f.csv", io.BytesIO(b"name\nx\n"), column_types={"id": pl.Int64()}))
    assert missing.value.field == "id"


def test_header_only_csv_gives_an_empty_frame_with_columns():
    (frame,) = csv_batches(
        "crates", "f.csv", io.BytesIO(b"crate_id,version_id\n"), column_types={"crate_id": pl.Int64()}
    )
    assert frame.schema == pl.Schema({"crate_id": pl.Int64(), "version_id": pl.String()})


def test_members_filtered_by_pattern_and_depth(tmp_path):
    files = {
        "top/data/a.csv": b"x\n1\n",
        "top/b.csv": b"x\n2\n",
        "top/README.md": b"# hi\n",
        "top/1/2/3/too-deep.csv": b"x\n3\n",
    }
    archive = tmp_path / "d.tar.gz"
    archive.write_bytes(build_tar_gz(files))
    names = [m.name for m in iter_members("crates", archive, pattern="*.csv", max_depth=3)]
    assert names == ["top/data/a.csv", "top/b.csv"]
    assert member_selected("a/b/c/x.csv", "*.csv", 3) and not member_selected("a/b/c/d/x.csv", "*.csv", 3)


def test_damaged_tar_member_and_zip_crc_are_named(tmp_path):
    data, _ = tricky_csv(20000)
    whole = build_tar_gz({"top/data/big.csv": data})
    archive = tmp_path / "d.tar.gz"
    archive.write_bytes(whole[: len(whole) * 2 // 3])
    with pytest.raises(BadFileError, match="truncated or corrupt") as caught:
        for member in iter_members("crates", archive, pattern="*.csv"):
            list(csv_batches("crates", archive.name, member.stream, member=member.name, block_bytes=4096))
    assert caught.value.member == "top/data/big.csv" and caught.value.record is not None

    zipped = tmp_path / "r.zip"
    with zipfile.ZipFile(zipped, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr("repo-master/x.jsonl", '{"a": "bbbbbbbbbbbbbbbbbbbbbbbb"}\n' * 50)
    raw = bytearray(zipped.read_bytes())
    raw[raw.index(b"bbbb") + 2] ^= 0x01  # flip a bit inside the stored data: CRC check fails on read
    zipped.write_bytes(bytes(raw))
    with pytest.raises(BadFileError, match="truncated or corrupt") as crc:
        for member in iter_members("ce", zipped, pattern="*.jsonl"):
            list(jsonl_batches("ce", zipped.name, member.stream, member=member.name, schema={"a": pl.String()}))
    assert crc.value.member == "repo-master/x.jsonl"


def test_jsonl_batches_blank_lines_and_batch_size():
    lines = b"\n".join(b'{"a": "%d", "n": [%d]}' % (i, i) for i in range(25)) + b"\n\n   \n"
    schema = {"a": pl.String(), "n": pl.List(pl.Int64())}
    frames = list(jsonl_batches("ce", "z", io.BytesIO(lines), schema=schema, batch_rows=10))
    assert [f.height for f in frames] == [10, 10, 5]
    assert pl.concat(frames)["n"].to_list()[-1] == [24]
    with pytest.raises(BadFileError) as caught:
        list(jsonl_batches("ce", "z", io.BytesIO(b'{"a": "1", "n": [true]}\n'), schema=schema))
    assert caught.value.field == "n" and caught.value.line == 1
    (empty,) = jsonl_batches("ce", "z", io.BytesIO(b""), schema=schema)
    assert empty.is_empty() and empty.schema == pl.Schema(schema)


def test_coalesce_joins_small_frames_up_to_the_target():
    frames = [pl.DataFrame({"x": list(range(i * 100, (i + 1) * 100))}) for i in range(10)]
    joined = list(coalesce(frames, target_bytes=frames[0].estimated_size() * 3))
    assert [f.height for f in joined] == [300, 300, 300, 100]
    assert pl.concat(joined)["x"].to_list() == list(range(1000))


def test_fixture_scripts_are_kept(tmp_path: Path):
    for source in ("crates", "crypto_ecosystems", "openlabelsinitiative"):
        root = Path(__file__).parents[1] / "flows" / source / "fixtures"
        assert (root / "make_fixture.py").is_file() and (root / "routes.json").is_file()


ODD_MEMBERS = {
    "dump/data/.csv": "its name gives an empty table name",
    "dump/data/._crates.csv": "its name gives an empty table name",  # a Mac's resource fork
    "dump/data/Crate Owners.csv": "'Crate Owners' is not a snake_case table name",
    "dump/data/crate-owners.csv": "'crate-owners' is not a snake_case table name",
    "dump/data/__.csv": "'__' is not a snake_case table name",
}


def test_members_that_make_no_table_name_are_skipped_and_named_in_the_notes(tmp_path: Path):
    from oso_core.transport.archive_staging import stage_archive_csvs

    files = {"dump/data/crates.csv": b"id,name\n1,serde\n", **{name: b"a,b\n1,2\n" for name in ODD_MEMBERS}}
    archive = tmp_path / "dump.tar.gz"
    archive.write_bytes(build_tar_gz(files))
    notes: list[str] = []
    staged = stage_archive_csvs("crates", archive, tmp_path / "stage", notes=notes)
    assert [(t.name, t.member, t.rows) for t in staged] == [("crates", "dump/data/crates.csv", 1)]
    assert sorted(p.name for p in (tmp_path / "stage").iterdir()) == ["crates.parquet"]
    listed = ", ".join(f"{name} ({problem})" for name, problem in ODD_MEMBERS.items())
    assert notes == [f"archive member(s) skipped, no table name: {listed}"]

    only_odd = tmp_path / "odd.tar.gz"
    only_odd.write_bytes(build_tar_gz({"dump/data/.csv": b"a\n1\n"}))
    with pytest.raises(BadFileError, match=r"no files matching '\*.csv' within 3 folders \(skipped: dump/data/.csv"):
        stage_archive_csvs("crates", only_odd, tmp_path / "stage2")


def test_crates_dump_with_a_member_named_dot_csv_loads_the_rest_and_creates_no_nameless_table(warehouse, tmp_path):
    from flows.crates.fixtures.make_fixture import dump_files
    from flows.crates.source import crates_flow
    from oso_core.warehouse.query import list_tables
    from oso_dev.replay import ReplayServer, Route

    files = dump_files()
    top = next(iter(files)).split("/")[0]
    files[f"{top}/data/.csv"] = b"id,x\n1,2\n"
    (tmp_path / "db-dump.tar.gz").write_bytes(build_tar_gz(files))
    with ReplayServer([Route(path="/db-dump.tar.gz", file="db-dump.tar.gz")], root=tmp_path) as server:
        summary = crates_flow(base_url=server.url)
    assert "crates." not in summary.rows and "crates.crates" in summary.rows
    assert f"archive member(s) skipped, no table name: {top}/data/.csv (its name gives an empty table name)" in (
        summary.notes
    )
    tables = list_tables(warehouse)
    assert "crates.crates" in tables["table"].to_list()
    assert all(not name.endswith(".") for name in tables["table"].to_list())
