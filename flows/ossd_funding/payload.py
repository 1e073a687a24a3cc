"""oss-funding's ``data/funding_data.csv`` → ``ossd.funding`` with the file's columns.

The columns are the file's header (to_project_name, amount, funding_date, from_funder_name, grant_pool_name,
metadata, file_path), all text as OSO loads them (its ``stg_ossd__funding`` model COALESCEs ``funding_date``
with ``''``) except ``amount``, a float; an empty field is null, as a CSV reader loads it. Every record must have
one field per header column and a numeric (or empty) amount; the first one that does not fails the load with its
line number and field, so nothing is half-loaded.
"""

from __future__ import annotations

import csv
import io
import math
from typing import Any

import polars as pl

EXPECTED_COLUMNS = (
    "to_project_name",
    "amount",
    "funding_date",
    "from_funder_name",
    "grant_pool_name",
    "metadata",
    "file_path",
)
FLOAT_COLUMNS = {"amount"}


class FundingCsvError(ValueError):
    """The CSV cannot be loaded as it is; names the file, the line and the field."""


def _amount(text: str, path: str, line: int, column: str) -> float | None:
    if text.strip() == "":
        return None
    try:
        value = float(text)
    except ValueError:
        raise FundingCsvError(f"{path}: line {line}: field {column!r}: expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise FundingCsvError(f"{path}: line {line}: field {column!r}: expected a finite number, got {text!r}")
    return value


def funding_frame(text: str, path: str) -> pl.DataFrame:
    """Parse the CSV strictly (quoted fields may span lines; line numbers are those of the file)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise FundingCsvError(f"{path}: empty file, expected the header {','.join(EXPECTED_COLUMNS)}") from None
    except csv.Error as exc:
        raise FundingCsvError(f"{path}: line {reader.line_num}: {exc}") from None
    missing = [c for c in EXPECTED_COLUMNS if c not in header]
    if missing or len(set(header)) != len(header):
        problem = f"missing column(s) {missing}" if missing else "repeated column names"
        raise FundingCsvError(f"{path}: line 1: header {header}: {problem}")
    columns: dict[str, list[Any]] = {name: [] for name in header}
    start = reader.line_num + 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise FundingCsvError(f"{path}: line {reader.line_num}: {exc}") from None
        line = start
        start = reader.line_num + 1
        if not record:
            continue  # a blank line
        if len(record) != len(header):
            field = header[len(record)] if len(record) < len(header) else f"(extra field {len(record)})"
            raise FundingCsvError(
                f"{path}: line {line}: field {field!r}: expected {len(header)} fields, got {len(record)}"
            )
        for name, value in zip(header, record, strict=True):
            columns[name].append(_amount(value, path, line, name) if name in FLOAT_COLUMNS else value or None)
    schema = {name: pl.Float64() if name in FLOAT_COLUMNS else pl.String() for name in header}
    return pl.DataFrame(columns, schema=schema)
