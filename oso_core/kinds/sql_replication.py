"""Copy tables of a Postgres database into the lake: incrementally on a cursor column, or fully replaced.

OSO's ``sql_assets`` factory ran one dlt ``sql_database`` pipeline per table, with ``incremental("updatedAt")``
where the table has one and dlt's snake_case naming (``ProjectContract.updatedAt`` lands as
``project_contract.updated_at``). This module does the same job with columnar reads instead of dlt's row
iteration: Polars + ConnectorX fetch Arrow batches of ``batch_rows`` rows, keyset-paged on
``(cursor, primary key)`` (or on the primary key for full copies), so no batch is re-read or skipped however
large the table.

Incremental tables read ``cursor >= last committed cursor`` (``>=`` so rows written in the same millisecond as
the last load, but committed after it, are not lost), drop the boundary rows the last load already saw unchanged
(``Cursor.seen``: row fingerprints, as dlt keeps hashes of its boundary rows), and merge on the primary key. The
cursor lives in the lake (``oso_core.warehouse.load_state``) and is recorded only after the data commits succeeded; a
failed run leaves both the tables and the cursors where they were. A table whose lake copy is missing is read in
full again, whatever its cursor says. Deletions at the source are invisible to an incremental load (as in OSO);
``full_refresh`` re-reads and replaces.

The connection string is a secret: it never reaches a log line, an error or a flow parameter; every error names
the source, the table and a masked URL (``postgresql://user:***@host/db``).
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import polars as pl

from oso_core.base.masking import excerpt, mask_secrets
from oso_core.base.naming import snake_case
from oso_core.config.secrets import SecretReference, SecretResolver, default_resolver
from oso_core.engine.summary import LoadSummary
from oso_core.errors import SourceError
from oso_core.model.sources import Source, TableSpec
from oso_core.warehouse import Warehouse
from oso_core.warehouse.load_state import LOADED, LoadState

# Without an index on the cursor column every batch re-sorts what is left: 1M rows took 8.5 s in 50k batches,
# 4.2 s in 250k ones (local PostgreSQL, 2 cores). Prisma's tables are small, so most are one batch.
DEFAULT_BATCH_ROWS = 200_000

# The longest driver message an error quotes (after masking): ConnectorX errors can echo whole statements.
ERROR_LIMIT = 500

# information_schema.columns.data_type values ConnectorX reads natively; anything else (enums, inet, interval,
# money, xml, ...) is cast to text in the SELECT so one odd column does not fail the table.
_NATIVE_TYPES = frozenset(
    {
        "smallint",
        "integer",
        "bigint",
        "real",
        "double precision",
        "numeric",
        "boolean",
        "text",
        "character varying",
        "character",
        "uuid",
        "bytea",
        "date",
        "time without time zone",
        "timestamp without time zone",
        "timestamp with time zone",
        "json",
        "jsonb",
    }
)
# Element types (pg ``udt_name`` of an ARRAY column) ConnectorX reads as lists.
_NATIVE_ARRAYS = frozenset({"_bool", "_int2", "_int4", "_int8", "_float4", "_float8", "_numeric", "_text", "_varchar"})


# --- naming -------------------------------------------------------------------------------------------------


def quote_ident(name: str) -> str:
    """A Postgres identifier, quoted so Prisma's CamelCase names (``"ProjectContract"``) keep their case."""
    if "\x00" in name:
        raise ValueError(f"identifier {name!r} contains a NUL byte")
    return '"' + name.replace('"', '""') + '"'


def sql_literal(value: Any) -> str:
    """A value as SQL text for keyset predicates (ConnectorX takes no bind parameters).

    Strings are ``E''`` literals with backslashes and quotes escaped, which is safe whatever
    ``standard_conforming_strings`` says; dates and times are ISO strings that Postgres coerces to the column's
    type in the comparison.
    """
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (float, decimal.Decimal)):
        return f"'{value}'"
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return f"'{value.isoformat()}'"
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("string value contains a NUL byte")
        return "E'" + value.replace("\\", "\\\\").replace("'", "''") + "'"
    raise TypeError(f"cannot use a {type(value).__name__} value in a keyset predicate")


# --- connection strings -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatabaseUrl:
    """A Postgres connection string, normalised for ConnectorX, that knows how to hide its password."""

    raw: str

    @property
    def parts(self):
        return urlsplit(self.raw.strip())

    @property
    def password(self) -> str | None:
        return self.parts.password

    @property
    def for_connectorx(self) -> str:
        """``postgresql://…`` (SQLAlchemy's ``postgresql+psycopg2://`` and ``postgres://`` are accepted)."""
        parts = self.parts
        scheme = parts.scheme.split("+", 1)[0].lower()
        if scheme not in ("postgresql", "postgres"):
            raise ValueError(f"{self.masked}: only PostgreSQL connection strings are supported")
        if not parts.hostname or not parts.path.strip("/"):
            raise ValueError(f"{self.masked}: the connection string needs a host and a database name")
        return urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, parts.fragment))

    @property
    def masked(self) -> str:
        parts = self.parts
        if parts.password is None:
            return urlunsplit(parts._replace(query=""))
        host = parts.hostname or ""
        netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc, query=""))

    def mask(self, text: str) -> str:
        """``text`` with the full URL shown masked and the password replaced in every form (raw, URL-decoded)."""
        return mask_secrets(text.replace(self.raw, self.masked), (self.password,))


def resolve_database_url(
    ref: SecretReference, override: str | None = None, resolver: SecretResolver | None = None
) -> str:
    """The connection string: the secret ``ref``, resolved now, unless a password-less ``override`` is given.

    The override exists for replay and local copies; it is a flow parameter, which Prefect stores and shows, so
    the source flow (``oso_core.engine.flow_guard``) refuses one carrying a password before the run is created. This
    refusal stays for callers that reach here without a flow (scripts, tests).
    """
    if override:
        if DatabaseUrl(override).password:
            raise ValueError(f"database_url must not carry a password (it is stored with the run); set secret {ref}")
        return override
    return (resolver or default_resolver()).resolve_as_str(ref)


# --- declarations -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SqlTable:
    """One database table to copy: incrementally when it names a ``cursor`` column, else replaced whole.

    ``key`` (database column names) overrides the primary key read from the database's catalog; incremental
    tables need one of the two, since their rows are merged on it. A table with no key at all is read in one
    query, or, when ``partition_on`` names an integer column, in ``partitions`` ranges of it (plus its NULLs).
    """

    name: str
    cursor: str | None = None
    key: tuple[str, ...] = ()
    schema: str = "public"
    target: str | None = None
    partition_on: str | None = None
    partitions: int = 8

    @property
    def lake_name(self) -> str:
        return self.target or snake_case(self.name)

    @property
    def qualified_name(self) -> str:
        return f"{quote_ident(self.schema)}.{quote_ident(self.name)}"

    @property
    def incremental(self) -> bool:
        return self.cursor is not None

    @property
    def state_unit(self) -> str:
        return f"cursor:{self.cursor}"

    def spec(self) -> TableSpec:
        """The lake table declaration (merge on the snake_cased key, or replace)."""
        if self.incremental:
            key = tuple(snake_case(k) for k in self.key) or ("id",)
            return TableSpec(
                self.lake_name, mode="merge", key=key, description=f"{self.name}, incremental on {self.cursor}"
            )
        return TableSpec(
            self.lake_name,
            mode="replace",
            key=tuple(snake_case(k) for k in self.key),
            description=f"{self.name}, replaced",
        )


def table_specs(tables: Sequence[SqlTable]) -> tuple[TableSpec, ...]:
    return tuple(t.spec() for t in tables)


# --- reading ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str
    udt_name: str
    nullable: bool

    def select_expr(self) -> str:
        """The column in the SELECT list, cast to text when ConnectorX cannot read its type."""
        quoted = quote_ident(self.name)
        if self.data_type in _NATIVE_TYPES:
            return quoted
        if self.data_type == "ARRAY":
            return quoted if self.udt_name in _NATIVE_ARRAYS else f"{quoted}::text[] AS {quoted}"
        return f"{quoted}::text AS {quoted}"


class PostgresReader:
    """Columnar reads from one database through ConnectorX; every error is a masked ``SourceError``."""

    def __init__(self, source: str, url: str | DatabaseUrl, batch_rows: int = DEFAULT_BATCH_ROWS):
        if batch_rows < 1:
            raise ValueError("batch_rows must be at least 1")
        self.source = source
        self.url = url if isinstance(url, DatabaseUrl) else DatabaseUrl(url)
        self.batch_rows = batch_rows
        try:
            self._uri = self.url.for_connectorx
        except ValueError as exc:
            raise SourceError(source, self.url.masked, self.url.mask(str(exc))) from None

    def error(self, table: str, problem: str) -> SourceError:
        """A ``SourceError`` whose problem is masked whole, then cut (a cut password would escape the mask)."""
        masked = excerpt(self.url.mask(problem), ERROR_LIMIT)
        return SourceError(self.source, f"{self.url.masked} table {table}", masked)

    def query(self, sql: str, table: str) -> pl.DataFrame:
        try:
            return pl.read_database_uri(sql, self._uri, engine="connectorx")
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # noqa: BLE001 - ConnectorX raises RuntimeErrors and Rust panics (BaseException)
            text = self.url.mask(str(exc)).strip()  # masked before the first line is taken: mask, then cut
            problem = text.splitlines()[0] if text else type(exc).__name__
            raise self.error(table, f"{type(exc).__name__}: {problem}") from None

    def columns(self, table: SqlTable) -> list[Column]:
        found = self.query(
            "SELECT column_name, data_type, udt_name, is_nullable FROM information_schema.columns "
            f"WHERE table_schema = {sql_literal(table.schema)} AND table_name = {sql_literal(table.name)} "
            "ORDER BY ordinal_position",
            table.name,
        )
        if found.is_empty():
            raise self.error(table.name, f"no table {table.schema}.{table.name} (or no columns visible to this user)")
        return [Column(r[0], r[1], r[2], r[3] == "YES") for r in found.iter_rows()]

    def primary_key(self, table: SqlTable) -> tuple[str, ...]:
        found = self.query(
            "SELECT k.column_name FROM information_schema.table_constraints c "
            "JOIN information_schema.key_column_usage k ON k.constraint_name = c.constraint_name "
            "AND k.constraint_schema = c.constraint_schema AND k.table_name = c.table_name "
            f"WHERE c.constraint_type = 'PRIMARY KEY' AND c.table_schema = {sql_literal(table.schema)} "
            f"AND c.table_name = {sql_literal(table.name)} ORDER BY k.ordinal_position",
            table.name,
        )
        return tuple(found.get_column("column_name").to_list()) if not found.is_empty() else ()

    def batches(
        self,
        table: SqlTable,
        columns: list[Column],
        order_by: tuple[str, ...],
        since: str | None = None,
    ) -> Iterator[pl.DataFrame]:
        """Keyset-paged batches ordered by ``order_by``; from ``order_by[0] >= since`` when given.

        Without ``order_by`` (a table with no key) the table is read in one query.
        """
        select = f"SELECT {', '.join(c.select_expr() for c in columns)} FROM {table.qualified_name}"
        if not order_by:
            yield from self.range_batches(table, columns, select)
            return
        order = ", ".join(quote_ident(c) for c in order_by)
        where = f" WHERE {quote_ident(order_by[0])} >= {sql_literal(since)}" if since is not None else ""
        while True:
            batch = self.query(f"{select}{where} ORDER BY {order} LIMIT {self.batch_rows}", table.name)
            yield batch
            if batch.height < self.batch_rows:
                return
            last = batch.row(batch.height - 1, named=True)
            values = ", ".join(sql_literal(last[c]) for c in order_by)
            where = f" WHERE ({order}) > ({values})"

    def range_batches(self, table: SqlTable, columns: list[Column], select: str) -> Iterator[pl.DataFrame]:
        """A key-less table: ranges of its integer ``partition_on`` column and then its NULLs, else one query.

        ConnectorX's own ``partition_on`` silently drops rows whose partition value is NULL, hence this loop.
        """
        column = next((c for c in columns if c.name == table.partition_on), None)
        if column is None or column.data_type not in ("smallint", "integer", "bigint"):
            yield self.query(select, table.name)
            return
        col = quote_ident(column.name)
        bounds = self.query(f"SELECT min({col}) AS lo, max({col}) AS hi FROM {table.qualified_name}", table.name)
        lo, hi = bounds.row(0)
        if lo is not None:
            step = max(1, -(-(hi - lo + 1) // max(1, table.partitions)))
            for start in range(lo, hi + 1, step):
                yield self.query(f"{select} WHERE {col} >= {start} AND {col} < {start + step}", table.name)
        yield self.query(f"{select} WHERE {col} IS NULL", table.name)


# --- extraction ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """Where an incremental table's last committed load stopped: the highest cursor value it read, and a
    fingerprint of each row it read *at* that value.

    The next load reads ``cursor >= value`` (so a row written in the same millisecond but committed after the
    last read is not lost) and drops the boundary rows it has already seen unchanged, so an idle table reads
    nothing new and commits nothing. Stored as JSON in the load state's ``cursor`` column.
    """

    value: str
    seen: tuple[str, ...] = ()

    def dump(self) -> str:
        return json.dumps({"value": self.value, "seen": list(self.seen)})

    @classmethod
    def load(cls, text: str) -> Cursor:
        try:
            raw = json.loads(text)
        except ValueError:
            return cls(text)  # a bare value, as written by hand or by an older version
        if isinstance(raw, dict) and "value" in raw:
            return cls(str(raw["value"]), tuple(raw.get("seen") or ()))
        return cls(text)


@dataclass
class TableExtract:
    """What was read for one table, ready to commit: lake-named rows, key, and the cursor to record after."""

    table: SqlTable
    frame: pl.DataFrame
    key: tuple[str, ...]
    since: Cursor | None
    cursor: Cursor | None
    batches: int = 0
    read_rows: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.frame.height

    @property
    def advanced(self) -> bool:
        return self.cursor is not None and self.cursor != self.since


def _cursor_text(value: Any) -> str:
    return value.isoformat() if isinstance(value, (dt.datetime, dt.date)) else str(value)


def _fingerprint(row: tuple[Any, ...]) -> str:
    """A stable digest of one row's values (unlike ``hash_rows``, the same across Polars versions)."""
    return hashlib.sha256(json.dumps(row, default=str).encode()).hexdigest()[:20]


def _boundary(frame: pl.DataFrame, column: str, value: Any) -> pl.DataFrame:
    return frame.filter(pl.col(column) == value)


def _advance(frame: pl.DataFrame, column: str, since: Cursor | None) -> tuple[pl.DataFrame, Cursor | None]:
    """Drop the rows ``since`` already saw unchanged at its value; fingerprint the rows at the new highest value."""
    if frame.is_empty():
        return frame, since
    if since is not None:
        first = frame.get_column(column)[0]
        if _cursor_text(first) == since.value and since.seen:
            seen = set(since.seen)
            indexed = frame.with_row_index("__row")
            dropped = [row[0] for row in _boundary(indexed, column, first).iter_rows() if _fingerprint(row[1:]) in seen]
            frame = indexed.filter(~pl.col("__row").is_in(dropped)).drop("__row")
    top = frame.get_column(column).max() if not frame.is_empty() else None
    if top is None:
        return frame, since
    at_top = [_fingerprint(row) for row in _boundary(frame, column, top).iter_rows()]
    if since is not None and _cursor_text(top) == since.value:
        at_top = sorted(set(at_top) | set(since.seen))
    return frame, Cursor(_cursor_text(top), tuple(sorted(at_top)))


def extract_table(reader: PostgresReader, table: SqlTable, since: Cursor | None) -> TableExtract:
    """Read ``table`` (for incremental tables: the rows changed since ``since``) in keyset batches."""
    columns = reader.columns(table)
    names = [c.name for c in columns]
    key = table.key or reader.primary_key(table)
    missing = [k for k in key if k not in names]
    if missing:
        raise reader.error(table.name, f"key column(s) {missing} not in the table's columns {names}")
    if table.incremental:
        cursor_col = next((c for c in columns if c.name == table.cursor), None)
        if cursor_col is None:
            raise reader.error(table.name, f"cursor column {table.cursor!r} not in the table's columns {names}")
        if cursor_col.nullable:
            raise reader.error(table.name, f"cursor column {table.cursor!r} is nullable; rows with NULL would be lost")
        if not key:
            raise reader.error(
                table.name,
                "incremental tables are merged on their primary key, and it has none; "
                "declare key=(...) on the SqlTable",
            )
        order_by = (table.cursor, *[k for k in key if k != table.cursor])
    else:
        order_by = tuple(key)
        since = None
    lake_names = {n: snake_case(n) for n in names}
    clashes = {v for v in lake_names.values() if list(lake_names.values()).count(v) > 1}
    if clashes:
        raise reader.error(
            table.name,
            f"columns {sorted(n for n, v in lake_names.items() if v in clashes)} map to the same lake column name",
        )
    frames = list(reader.batches(table, columns, order_by, since.value if since else None))
    frame = pl.concat(frames, how="vertical_relaxed") if len(frames) > 1 else frames[0]
    read_rows = frame.height
    cursor = None
    if table.incremental:
        frame, cursor = _advance(frame, table.cursor, since)
    extract = TableExtract(
        table=table,
        frame=frame.rename(lake_names),
        key=tuple(lake_names[k] for k in key),
        since=since,
        cursor=cursor,
        batches=len(frames),
        read_rows=read_rows,
    )
    if since is not None and frame.height:
        extract.notes.append(f"{table.name}: {frame.height} changed row(s) with {table.cursor} >= {since.value}")
    return extract


# --- the load -----------------------------------------------------------------------------------------------


def committed_cursor(warehouse: Warehouse, state: LoadState, source: Source, table: SqlTable) -> Cursor | None:
    """The cursor of the last committed load, or None when the lake copy is missing (so it is re-read whole)."""
    if not table.incremental or not warehouse.exists(f"{source.lake_namespace}.{table.lake_name}"):
        return None
    unit = state.latest(source.name, table.lake_name).get(table.state_unit)
    if unit is None or unit.status != LOADED or not unit.cursor:
        return None
    return Cursor.load(unit.cursor)


def replicate(
    source: Source,
    tables: Sequence[SqlTable],
    database_url: str,
    *,
    warehouse: Warehouse | None = None,
    only: Sequence[str] | None = None,
    full_refresh: bool = False,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    summary: LoadSummary | None = None,
) -> LoadSummary:
    """Copy ``tables`` from the database into ``<namespace>.<lake table>``; one Iceberg commit per table.

    Every table is read before the first commit, so a database error commits nothing. Incremental tables merge
    the changed rows; their new cursors are recorded together after the last data commit (a cursor that lags
    its data only re-reads rows, which the merge absorbs). ``full_refresh`` re-reads incremental tables whole
    and replaces them: the way to pick up rows deleted at the source, which an incremental load cannot see.
    """
    warehouse = warehouse or Warehouse()
    state = LoadState(warehouse)
    summary = summary or LoadSummary(source.name)
    selected = _select(source, tables, only)
    reader = PostgresReader(source.name, database_url, batch_rows=batch_rows)

    extracts: list[TableExtract] = []
    for table in selected:
        since = None if full_refresh else committed_cursor(warehouse, state, source, table)
        extracts.append(extract_table(reader, table, since))

    advanced: list[tuple[str, str, str, str | None, str | None]] = []
    for extract in extracts:
        table = extract.table
        summary.notes.extend(extract.notes)
        if extract.since is not None and extract.rows == 0:
            summary.notes.append(f"{table.name}: no changes")
            continue
        mode = "merge" if extract.since is not None else "replace"
        properties = {"oso.cursor": extract.cursor.value} if extract.cursor else {}
        result = warehouse.write(
            f"{source.lake_namespace}.{table.lake_name}",
            extract.frame,
            mode=mode,
            key=extract.key if mode == "merge" else None,
            source=source.name,
            properties=properties,
        )
        summary.add(result)
        if extract.advanced:
            advanced.append((table.lake_name, table.state_unit, LOADED, extract.cursor.dump(), None))
    state.record_tables(source.name, advanced)
    return summary


def _select(source: Source, tables: Sequence[SqlTable], only: Sequence[str] | None) -> list[SqlTable]:
    if not only:
        return list(tables)
    wanted = {name.lower() for name in only}
    chosen = [t for t in tables if t.name.lower() in wanted or t.lake_name in wanted]
    unknown = wanted - {t.name.lower() for t in chosen} - {t.lake_name for t in chosen}
    if unknown:
        known = ", ".join(t.name for t in tables)
        raise ValueError(f"{source.name}: unknown table(s) {sorted(unknown)}; known: {known}")
    return chosen
