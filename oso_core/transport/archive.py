"""Reading bulk files in bounded batches: archive members (tar.gz, zip), CSV, JSONL and parquet.

OSO's ``archive2bq`` unpacked the whole archive to disk and let BigQuery load each file. Here members are read
straight out of the archive as streams (a tar.gz is read sequentially, never unpacked) and parsed into Polars
frames of a bounded size, so memory stays at one batch whatever the file size. Anything malformed raises
``BadFileError`` naming the source, the file, the member, the record (and line) and the field.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import json
import re
import tarfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from oso_core.errors import BadFileError

CSV_BLOCK_BYTES = 1 << 20
JSONL_BATCH_ROWS = 20_000
# Frames handed to the writer are coalesced to about this many in-memory bytes: the writer makes at least one data
# file per frame, so ~1 MB parse batches would scatter a large table over thousands of tiny files.
WRITE_BATCH_BYTES = 8 << 20
_ARROW_ROW = re.compile(r"Row #(\d+): Expected (\d+) columns, got (\d+)")
_LFS_POINTER = b"version https://git-lfs.github.com/spec/"
# What reading a member of a damaged archive raises (from gzip, zlib, tarfile or zipfile) mid-stream.
READ_ERRORS: tuple[type[BaseException], ...] = (EOFError, zlib.error, OSError, zipfile.BadZipFile, tarfile.TarError)


@dataclass
class ArchiveMember:
    """One file inside an archive, open for reading; the stream is valid until the next member is taken."""

    name: str
    size: int
    stream: IO[bytes]

    @property
    def stem(self) -> str:
        """Table name of a member as archive2bq named it: the base name without its extension."""
        return PurePosixPath(self.name).name.split(".", 1)[0]


def archive_kind(path: Path) -> str:
    """``zip`` or ``tar`` (plain or gz/bz2/xz compressed), by content rather than by name."""
    with path.open("rb") as handle:
        head = handle.read(4)
    if head.startswith(b"PK"):
        return "zip"
    return "tar"


def member_selected(name: str, pattern: str, max_depth: int) -> bool:
    """archive2bq's filter: base name matches ``pattern`` and the file is at most ``max_depth`` folders deep."""
    parts = PurePosixPath(name).parts
    return fnmatch.fnmatch(parts[-1], pattern) and len(parts) - 1 <= max_depth


def iter_members(source: str, path: Path, *, pattern: str = "*", max_depth: int = 3) -> Iterator[ArchiveMember]:
    """Yield the regular files of the archive at ``path`` whose names match, in archive order, as streams.

    A tar.gz is read in stream mode (``r|*``): no seeking, no unpacking, one member at a time. A zip needs its
    central directory at the end of the file, which is why downloads go to disk first.
    """
    if archive_kind(path) == "zip":
        yield from _zip_members(source, path, pattern, max_depth)
    else:
        yield from _tar_members(source, path, pattern, max_depth)


def _tar_members(source: str, path: Path, pattern: str, max_depth: int) -> Iterator[ArchiveMember]:
    try:
        with tarfile.open(path, mode="r|*") as archive:
            for info in archive:
                if not info.isfile() or not member_selected(info.name, pattern, max_depth):
                    continue
                stream = archive.extractfile(info)
                if stream is None:
                    continue
                yield ArchiveMember(info.name, info.size, stream)
    except READ_ERRORS as exc:
        raise BadFileError(
            source, path.name, f"archive is truncated or corrupt ({type(exc).__name__}: {exc})"
        ) from None


def _zip_members(source: str, path: Path, pattern: str, max_depth: int) -> Iterator[ArchiveMember]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BadFileError(source, path.name, f"archive is truncated or corrupt ({exc})") from None
    with archive:
        for info in archive.infolist():
            if info.is_dir() or not member_selected(info.filename, pattern, max_depth):
                continue
            with archive.open(info) as stream:
                yield ArchiveMember(info.filename, info.file_size, stream)


def _read_problem(exc: BaseException) -> str:
    return f"archive data is truncated or corrupt ({type(exc).__name__}: {exc})"


# --- CSV -------------------------------------------------------------------------------------------------------


def csv_batches(
    source: str,
    file: str,
    stream: IO[bytes],
    *,
    member: str | None = None,
    column_types: Mapping[str, pl.DataType] | None = None,
    block_bytes: int = CSV_BLOCK_BYTES,
) -> Iterator[pl.DataFrame]:
    """Parse a CSV with a header into frames of about ``block_bytes`` of input each.

    Every column is a string (what archive2bq's schema override gives every column it doesn't name) except those
    in ``column_types``, which are cast strictly. Quoted values may span lines (BigQuery's
    ``allow_quoted_newlines``). NULL follows PostgreSQL ``COPY ... CSV``: an empty unquoted field is null, ``""``
    is the empty string. A file with only a header yields one empty frame, so the table still gets its columns.

    The input is cut into record-aligned pieces here and each piece parsed by Arrow on its own: Arrow's streaming
    CSV reader reads ahead of its consumer without bound (RSS grew by ~the file size in measurements), so the
    reading pace is kept in our hands. Pieces are small (1 MiB) because transient allocations scale with them;
    ``coalesce`` joins the frames for the writer.
    """
    overrides = dict(column_types or {})

    def bad(problem: str, **where: Any) -> BadFileError:
        return BadFileError(source, file, problem, member=member, **where)

    pieces = _record_pieces(stream, block_bytes)
    try:
        first = next(pieces, b"")
    except READ_ERRORS as exc:
        raise bad(_read_problem(exc)) from None
    header_end = _record_end(first)
    header = _csv_header(first[:header_end])
    if header is None:
        raise bad("empty file: no CSV header", line=1)
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates or "" in header:
        raise bad(f"header has duplicate or empty column names {duplicates or ['']}", line=1)
    unknown = set(overrides) - set(header)
    if unknown:
        raise bad(f"expected column(s) missing from the header {header}", line=1, field=sorted(unknown)[0])
    read_options = pacsv.ReadOptions(use_threads=False, column_names=header, block_size=max(block_bytes, 1 << 20))
    parse_options = pacsv.ParseOptions(newlines_in_values=True)
    convert_options = pacsv.ConvertOptions(
        column_types={name: pa.string() for name in header},
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
        null_values=[""],
    )
    records, line, produced = 0, 2, False
    piece = first[header_end:]
    while True:
        if piece:
            try:
                table = pacsv.read_csv(
                    pa.BufferReader(pa.py_buffer(piece)),  # zero copy of the piece
                    read_options=read_options,
                    parse_options=parse_options,
                    convert_options=convert_options,
                )
            except pa.ArrowInvalid as exc:
                problem, where = _csv_problem(exc, header, records)
                raise bad(problem, **where) from None
            frame = pl.from_arrow(table)
            assert isinstance(frame, pl.DataFrame)
            frame = _cast_columns(frame, overrides, records, line, bad)
            records += frame.height
            line += piece.count(b"\n")
            produced = True
            yield frame
        try:
            piece = next(pieces)
        except StopIteration:
            break
        except READ_ERRORS as exc:
            raise bad(_read_problem(exc), record=records + 1, line=line) from None
    if not produced:
        yield pl.DataFrame(schema={name: overrides.get(name, pl.String()) for name in header})


def _record_end(data: bytes, start: int = 0) -> int:
    """Index just past the first newline that is outside quotes (every quote before it paired), or 0 if none.

    In CSV a doubled quote escapes a quote, so quotes inside a value still come in pairs: a newline ends a record
    exactly when the count of quotes before it is even.
    """
    position = data.find(b"\n", start)
    while position != -1:
        if data.count(b'"', 0, position) % 2 == 0:
            return position + 1
        position = data.find(b"\n", position + 1)
    return 0


def _last_record_end(data: bytes) -> int:
    """Index just past the last newline outside quotes, or 0 if there is none (one pass over ``data``)."""
    quotes_before = data.count(b'"')
    scanned_to = len(data)
    position = data.rfind(b"\n")
    while position != -1:
        quotes_before -= data.count(b'"', position, scanned_to)
        scanned_to = position
        if quotes_before % 2 == 0:
            return position + 1
        position = data.rfind(b"\n", 0, position)
    return 0


def _record_pieces(stream: IO[bytes], size: int) -> Iterator[bytes]:
    """Chunks of about ``size`` bytes that each end at a record boundary (a record longer than that grows one)."""
    carry = b""
    while True:
        chunk = stream.read(size)
        if not chunk:
            if carry:
                yield carry
            return
        data = carry + chunk if carry else chunk
        cut = _last_record_end(data)
        if cut == 0:
            carry = data
            continue
        carry = data[cut:]
        yield data[:cut]


def _csv_header(head: bytes) -> list[str] | None:
    if not head:
        return None
    text = head.decode("utf-8", "replace")
    row = next(csv.reader(io.StringIO(text)), None)
    return [name.strip() for name in row] if row else None


def _csv_problem(exc: pa.ArrowInvalid, header: list[str], before: int = 0) -> tuple[str, dict[str, Any]]:
    """Turn Arrow's ``Row #N: Expected A columns, got B`` into a record number and the first missing field."""
    message = str(exc).replace("CSV parse error: ", "")
    found = _ARROW_ROW.search(message)
    if not found:
        return f"malformed CSV ({message[:300]})", {}
    row, expected, got = (int(g) for g in found.groups())
    text = message.split(": ", 2)[-1][:120]
    field = header[got] if got < expected else f"(extra field {got})"
    problem = f"expected {expected} fields, got {got} (unbalanced quote or stray delimiter?): {text!r}"
    return problem, {"record": before + row, "field": field}


def _embedded_newlines(frame: pl.DataFrame) -> int:
    """Newlines inside quoted values, so error messages can name the physical line a record starts on."""
    strings = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    if not strings or frame.is_empty():
        return 0
    counts = frame.select(pl.sum_horizontal(pl.col(strings).str.count_matches("\n", literal=True).fill_null(0)).sum())
    return int(counts.item() or 0)


def _cast_columns(
    frame: pl.DataFrame, overrides: Mapping[str, pl.DataType], records: int, line: int, bad
) -> pl.DataFrame:
    if not overrides:
        return frame
    casts = [pl.col(name).cast(dtype, strict=False) for name, dtype in overrides.items()]
    cast = frame.with_columns(casts)
    for name in overrides:
        failed = frame[name].is_not_null() & cast[name].is_null()
        if failed.any():
            index = int(failed.arg_true()[0])
            before = frame.head(index)
            at_line = line + index + _embedded_newlines(before)
            value = frame[name][index]
            raise bad(
                f"{value!r} is not a valid {overrides[name]}", record=records + index + 1, line=at_line, field=name
            )
    return cast


# --- JSONL -----------------------------------------------------------------------------------------------------


_JSON_TYPES: dict[type[pl.DataType], tuple[type, ...]] = {
    pl.String: (str,),
    pl.Int64: (int,),
    pl.Int32: (int,),
    pl.Float64: (int, float),
    pl.Boolean: (bool,),
}


def _json_type_ok(value: Any, dtype: pl.DataType) -> bool:
    if value is None:
        return True
    if isinstance(dtype, pl.List):
        return isinstance(value, list) and all(_json_type_ok(v, dtype.inner) for v in value)
    if isinstance(dtype, pl.Struct):
        return isinstance(value, dict) and all(_json_type_ok(value.get(f.name), f.dtype) for f in dtype.fields)
    allowed = _JSON_TYPES.get(type(dtype))
    if allowed is None:
        return True
    if isinstance(value, bool) and bool not in allowed:
        return False
    return isinstance(value, allowed)


def jsonl_batches(
    source: str,
    file: str,
    stream: IO[bytes],
    *,
    schema: Mapping[str, pl.DataType],
    member: str | None = None,
    required: tuple[str, ...] = (),
    batch_rows: int = JSONL_BATCH_ROWS,
    extra_fields: set[str] | None = None,
) -> Iterator[pl.DataFrame]:
    """Parse newline-delimited JSON objects into frames of ``batch_rows`` rows with the declared ``schema``.

    Each line must be a JSON object whose fields have the declared types; ``required`` fields must be present
    and non-null. Fields the schema does not declare are left out and collected in ``extra_fields`` so the run
    summary can say that upstream grew a field. A Git LFS pointer in place of the data is named as such.
    """
    polars_schema = pl.Schema(dict(schema))
    rows: list[dict[str, Any]] = []
    number = 0

    def bad(problem: str, **where: Any) -> BadFileError:
        return BadFileError(source, file, problem, member=member, **where)

    try:
        for raw in stream:
            number += 1
            if number == 1 and raw.startswith(_LFS_POINTER):
                raise bad("is a Git LFS pointer, not the data (the archive was built without LFS objects)", line=1)
            text = raw.strip()
            if not text:
                continue
            try:
                record = json.loads(text)
            except ValueError as exc:
                raise bad(f"malformed JSON ({exc})", line=number) from None
            if not isinstance(record, dict):
                raise bad(f"expected a JSON object, got {type(record).__name__}", line=number)
            for name in required:
                if record.get(name) is None:
                    raise bad("required field is missing or null", line=number, field=name)
            for name, dtype in schema.items():
                if not _json_type_ok(record.get(name), dtype):
                    raise bad(f"{record.get(name)!r} is not a {dtype}", line=number, field=name)
            if extra_fields is not None and len(record) > len(schema):
                extra_fields.update(set(record) - set(schema))
            rows.append(record)
            if len(rows) >= batch_rows:
                yield pl.DataFrame(rows, schema=polars_schema)
                rows = []
    except READ_ERRORS as exc:
        raise bad(_read_problem(exc), line=number + 1) from None
    if rows or number == 0:
        yield pl.DataFrame(rows, schema=polars_schema)


# --- Parquet ---------------------------------------------------------------------------------------------------


def parquet_batches(
    source: str,
    path: Path,
    *,
    file: str | None = None,
    required: tuple[str, ...] = (),
    target_bytes: int = WRITE_BATCH_BYTES,
) -> Iterator[pl.DataFrame]:
    """Read a parquet file row group by row group into frames of about ``target_bytes`` (in memory).

    Small row groups are read whole and joined (in Arrow, zero copy into Polars) up to the target; a row group
    larger than twice the target is read in slices of about the target. Measured: reading whole row groups stays
    flat, while ``iter_batches`` over the whole file buffered ~the file. Columns keep their parquet types
    (BigQuery's parquet load does the same); ``required`` columns must exist. An empty file yields one empty frame.
    """
    name = file or path.name
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise BadFileError(source, name, f"not a readable parquet file ({exc})") from None
    with parquet:
        columns = parquet.schema_arrow.names
        for column in required:
            if column not in columns:
                raise BadFileError(source, name, f"required column is missing (columns: {columns})", field=column)
        pending: list[pa.Table] = []
        size, produced = 0, False
        for group in range(parquet.num_row_groups):
            meta = parquet.metadata.row_group(group)
            try:
                if meta.total_byte_size <= 2 * target_bytes:
                    parts: Iterable[pa.Table] = [parquet.read_row_group(group)]
                else:
                    rows = max(1, int(meta.num_rows * target_bytes / meta.total_byte_size))
                    parts = (
                        pa.Table.from_batches([batch])
                        for batch in parquet.iter_batches(batch_size=rows, row_groups=[group])
                    )
                for part in parts:
                    pending.append(part)
                    size += part.nbytes
                    if size >= target_bytes:
                        produced = True
                        frame = _polars(pending)
                        pending, size = [], 0  # before yielding, so the parts are not held twice
                        yield frame
                        del frame
            except (pa.ArrowException, OSError) as exc:
                raise BadFileError(source, name, f"row group {group} is unreadable ({exc})") from None
        if pending or not produced:
            yield _polars(pending or [parquet.schema_arrow.empty_table()])


def _polars(tables: list[pa.Table]) -> pl.DataFrame:
    frame = pl.from_arrow(pa.concat_tables(tables) if len(tables) > 1 else tables[0], rechunk=False)
    assert isinstance(frame, pl.DataFrame)
    return frame


# --- Batching for the writer -----------------------------------------------------------------------------------


def coalesce(frames: Iterable[pl.DataFrame], target_bytes: int = WRITE_BATCH_BYTES) -> Iterator[pl.DataFrame]:
    """Join consecutive small frames into frames of about ``target_bytes`` (memory stays under twice that)."""
    pending: list[pl.DataFrame] = []
    size = 0
    for frame in frames:
        pending.append(frame)
        size += frame.estimated_size()
        if size >= target_bytes:
            frame = pl.concat(pending, how="vertical", rechunk=False) if len(pending) > 1 else pending[0]
            pending, size = [], 0  # before yielding, so the parts are not held twice
            yield frame
            del frame
    if pending:
        yield pl.concat(pending, how="vertical", rechunk=False) if len(pending) > 1 else pending[0]
