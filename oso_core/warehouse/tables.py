"""Loading one table of the catalog, so that a corrupt table is an error naming it and its file.

``catalog.load_table`` parses the table's current metadata JSON; a file overwritten with junk or cut short raises
pyiceberg's ``ValidationError`` with pydantic's text, naming neither the table nor the file, and a deleted one a bare
``FileNotFoundError``. :func:`load_table` turns those into :class:`BrokenTableError` (table, file, the first
problem in a few words), which the readers raise and the listing shows next to the healthy tables.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyiceberg.exceptions import ValidationError

from oso_core.warehouse.errors import BrokenTableError

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table

UNKNOWN_FILE = "(location unknown)"


def load_table(catalog: Catalog, identifier: str) -> Table:
    """``catalog.load_table(identifier)``; unreadable metadata is a ``BrokenTableError`` naming table and file."""
    try:
        return catalog.load_table(identifier)
    except (ValidationError, OSError) as error:
        problem = describe_problem(error)
    raise BrokenTableError(identifier, metadata_location(catalog, identifier) or UNKNOWN_FILE, problem)


def metadata_location(catalog: Catalog, identifier: str) -> str | None:
    """The metadata file the catalog points ``identifier`` at, read from the catalog without parsing the file.

    Only a SQL catalog stores it where we can read it (its ``iceberg_tables`` row); a REST catalog's server parses
    the file itself and answers with its own error, so None there.
    """
    from pyiceberg.catalog import Catalog as BaseCatalog
    from pyiceberg.catalog.sql import IcebergTables, SqlCatalog
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    if not isinstance(catalog, SqlCatalog):
        return None
    namespace = BaseCatalog.namespace_to_string(BaseCatalog.namespace_from(identifier))
    name = BaseCatalog.table_name_from(identifier)
    statement = select(IcebergTables.metadata_location).where(
        IcebergTables.catalog_name == catalog.name,
        IcebergTables.table_namespace == namespace,
        IcebergTables.table_name == name,
    )
    with Session(catalog.engine) as session:
        location = session.scalar(statement)
    return location.removeprefix("file://") if location else None


def describe_problem(error: Exception) -> str:
    """What is wrong with the file, in a few words: pydantic's first complaint (without the file's content it
    quotes), or the OS error."""
    if isinstance(error, FileNotFoundError):
        return "does not exist"
    if isinstance(error, OSError):
        return f"cannot be read ({error.strerror or type(error).__name__})"
    cause = error.__cause__
    errors = cause.errors(include_input=False, include_url=False) if hasattr(cause, "errors") else []
    if not errors:
        return "is not Iceberg table metadata"
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ()) if not str(part).startswith("function-"))
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    message = str(first.get("msg", ""))
    if first.get("type") == "json_invalid":
        return f"is not valid JSON: {message.removeprefix('Invalid JSON: ')}{more}"
    if first.get("type") in ("union_tag_not_found", "union_tag_invalid"):  # the version picks the metadata model
        message = "no valid 'format-version' field (1, 2 or 3)"
    return f"is not Iceberg table metadata: {f'{where}: ' if where else ''}{message}{more}"
