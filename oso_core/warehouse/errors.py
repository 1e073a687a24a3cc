"""The errors of the lake: ``WarehouseError`` and its kinds, so flows can catch lake problems apart from source ones.

Each names what to fix: the setting, the table, the file. The kinds with more than a message survive pickling
(Prefect pickles a failed run's exception) through ``oso_core.errors.restore_exception``.
"""

from __future__ import annotations

from typing import Any

from oso_core.errors import OsoError, restore_exception


class WarehouseError(OsoError):
    """A write was refused or failed (the table is still at its previous snapshot), or the lake cannot be opened
    as configured."""


class CatalogUnreachableError(WarehouseError):
    """The catalog database did not answer; ``setting`` is the variable to check, ``where`` its host:port (or file)."""

    def __init__(self, message: str, *, setting: str, where: str):
        self.setting, self.where = setting, where
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (restore_exception, (type(self), self.args, dict(self.__dict__)))


class BrokenTableError(WarehouseError):
    """A table's current metadata file cannot be read or is not Iceberg table metadata (overwritten, truncated,
    deleted); ``table``, ``file`` and ``problem`` say which and how. Its data files may be intact: restoring the file
    (or pointing the catalog at an earlier ``*.metadata.json``) brings the table back."""

    def __init__(self, table: str, file: str, problem: str):
        self.table, self.file, self.problem = table, file, problem
        super().__init__(f"table {table} cannot be read: its metadata file {file} {problem}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (restore_exception, (type(self), self.args, dict(self.__dict__)))
