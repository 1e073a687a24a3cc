"""Declarative SQL-replication sources: a ``source.yaml`` naming the database secret and its tables becomes a
``Source`` and its engine flow, as ``oso_core.kinds.rest_source`` does for REST APIs.

A replicated source's folder holds ``source.yaml`` and a ``source.py`` of one line of code::

    SPEC, SOURCE, gitcoin_flow = replicated(__file__)

The description, in the vocabulary of ``oso_core.kinds.sql_replication`` (OSO's ``sql_assets`` and dlt's
``sql_database``)::

    name: gitcoin
    description: Gitcoin Grants donations (regendata.xyz database)
    cadence: daily
    database: {secret: gitcoin.regendata_xyz_database, description: PostgreSQL URL (contains the password)}
    tables:
      - {name: all_donations, partition_on: round_num}   # no key: read in ranges of round_num, replaced
      - project_lookup                                   # a bare name: replaced whole
      - {name: Project, cursor: updatedAt}               # incremental on the cursor, merged on the primary key

Each table takes ``SqlTable``'s fields (``cursor``, ``key``, ``schema``, ``target``, ``partition_on``,
``partitions``). Why data rather than a flow per source: every SQL source's flow was the same four lines (resolve
the secret or the password-less replay URL, then ``replicate``) with other tables, so a new database is one file
and no code. The flow's parameters are ``tables`` (a subset), ``batch_rows``, ``database_url`` (password-less
local databases only: the engine refuses one with a password before the run exists) and, when any table is
incremental, ``full_refresh``. Everything is checked when the file is read: ``DescriptionError`` names the file,
the field and the problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from oso_core.base import cadence as cadences
from oso_core.config.secrets import SecretReference
from oso_core.engine.flow import SourceRun, source_flow
from oso_core.kinds.rest_model import NAME, SECRET_NAME, DescriptionError, validation_problems
from oso_core.kinds.rest_source import package_of
from oso_core.kinds.sql_replication import DEFAULT_BATCH_ROWS, SqlTable, replicate, resolve_database_url, table_specs
from oso_core.model.sources import Source

if TYPE_CHECKING:
    from prefect import Flow


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Database(_Model):
    """The database's connection string: a secret ``group.key``, resolved when the flow runs."""

    secret: str
    description: str = ""

    @field_validator("secret")
    @classmethod
    def _secret_name(cls, value: str) -> str:
        if not SECRET_NAME.match(value):
            raise ValueError(f"a secret is named group.key in snake_case, got {value!r}")
        return value

    @property
    def reference(self) -> SecretReference:
        group, key = self.secret.split(".")
        return SecretReference(group, key, self.description)


class Table(_Model):
    """One database table; a bare name in the YAML is ``{name: ...}`` (replaced whole)."""

    name: str = Field(min_length=1)
    cursor: str | None = None
    key: list[str] = []
    db_schema: str = Field("public", alias="schema")
    target: str | None = Field(None, pattern=NAME)
    partition_on: str | None = None
    partitions: int = Field(8, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _bare_name(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    def sql_table(self) -> SqlTable:
        return SqlTable(
            self.name,
            cursor=self.cursor,
            key=tuple(self.key),
            schema=self.db_schema,
            target=self.target,
            partition_on=self.partition_on,
            partitions=self.partitions,
        )


class SqlDescription(_Model):
    """A whole replicated source: its name (the lake namespace), cadence, database secret and tables."""

    name: str = Field(pattern=NAME)
    description: str = ""
    cadence: str = cadences.WEEKLY
    tags: list[str] = []
    database: Database
    tables: list[Table] = Field(min_length=1)

    @field_validator("cadence")
    @classmethod
    def _cadence(cls, value: str) -> str:
        cadences.cron_of(value)  # raises ValueError naming what a cadence may be
        return value

    @model_validator(mode="after")
    def _one_table_per_lake_name(self) -> SqlDescription:
        seen: dict[str, str] = {}
        for table in self.sql_tables:
            if table.lake_name in seen:
                raise ValueError(f"{table.name} and {seen[table.lake_name]} both land in {table.lake_name}")
            seen[table.lake_name] = table.name
        return self

    @property
    def sql_tables(self) -> tuple[SqlTable, ...]:
        return tuple(t.sql_table() for t in self.tables)


def read_description(file: Path) -> SqlDescription:
    """The validated description in ``file``, or one ``DescriptionError`` naming each field and problem."""
    try:
        raw = yaml.safe_load(file.read_text())
    except yaml.YAMLError as exc:
        raise DescriptionError(file, [("", f"not valid YAML: {exc}".replace("\n", " "))]) from None
    if not isinstance(raw, dict):
        raise DescriptionError(file, [("", f"a source description is a mapping, got {type(raw).__name__}")])
    try:
        return SqlDescription.model_validate(raw)
    except ValidationError as exc:
        raise DescriptionError(file, validation_problems(exc)) from None


def build_source(description: SqlDescription, module: str = "") -> Source:
    """The ``Source`` declaration: one table per database table, the database secret, the cadence."""
    return Source(
        name=description.name,
        description=description.description,
        tables=table_specs(description.sql_tables),
        flow=f"{description.name}_flow",
        secrets=(description.database.reference,),
        cadence=description.cadence,
        tags=tuple(description.tags),
        module=module,
    )


def replicated(file: str | Path) -> tuple[SqlDescription, Source, Flow[..., Any]]:
    """For ``flows/<source>/source.py``: ``SPEC, SOURCE, <source>_flow = replicated(__file__)``."""
    folder = Path(file).resolve().parent
    package = package_of(folder)
    description = read_description(folder / "source.yaml")
    source = build_source(description, f"{package}.source" if package else "")
    return description, source, _flow(description, source)


BatchRows = Annotated[int, "rows per read batch"]
DatabaseUrlOverride = Annotated[str | None, "a password-less local database instead of the secret (replay)"]
TableNames = Annotated[list[str] | None, "only these tables (database or lake names); default all"]


def _flow(description: SqlDescription, source: Source) -> Flow[..., Any]:
    tables, database = description.sql_tables, description.database.reference

    def run_replication(
        run: SourceRun, only: list[str] | None, full_refresh: bool, batch_rows: int, database_url: str | None
    ) -> None:
        url = resolve_database_url(database, database_url)
        replicate(source, tables, url, only=only, full_refresh=full_refresh, batch_rows=batch_rows, summary=run.summary)

    if any(t.incremental for t in tables):

        def load(
            run: SourceRun,
            tables: TableNames = None,
            full_refresh: Annotated[bool, "re-read incremental tables whole and replace them"] = False,
            batch_rows: BatchRows = DEFAULT_BATCH_ROWS,
            database_url: DatabaseUrlOverride = None,
        ) -> None:
            run_replication(run, tables, full_refresh, batch_rows, database_url)

        kinds = "incremental tables merge only the rows changed since the last load; the rest are replaced"
    else:

        def load(  # type: ignore[misc]  # the same flow without full_refresh: every table is replaced anyway
            run: SourceRun,
            tables: TableNames = None,
            batch_rows: BatchRows = DEFAULT_BATCH_ROWS,
            database_url: DatabaseUrlOverride = None,
        ) -> None:
            run_replication(run, tables, False, batch_rows, database_url)

        kinds = "every table is replaced whole"
    load.__name__ = load.__qualname__ = source.flow
    load.__doc__ = (
        f"Replicate {source.name}'s database ({description.description or 'PostgreSQL'}) into "
        f"{source.lake_namespace}.*: {kinds}. The connection string is the secret {description.database.secret}."
    )
    return source_flow(source)(load)
