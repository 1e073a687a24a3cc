"""Creating a table's namespace when several processes may create it at the same moment.

pyiceberg's ``create_namespace_if_not_exists`` checks, then inserts: two writers that both see no namespace both
insert, and the second one's insert fails with the database's unique-key error (``UniqueViolation`` on
``iceberg_namespace_properties_pkey`` in Postgres, ``UNIQUE constraint failed`` in SQLite), not with the
``NamespaceAlreadyExistsError`` it catches. Whoever won, the namespace now exists, which is all a writer needs.
"""

from __future__ import annotations

from pyiceberg.catalog import Catalog

from oso_core.warehouse.commit import is_lock_timeout


def ensure_namespace(catalog: Catalog, namespace: str) -> None:
    """Create ``namespace`` unless it exists; losing a creation race to another writer is success."""
    try:
        catalog.create_namespace_if_not_exists(namespace)
    except Exception as error:
        if is_lock_timeout(error) or not catalog.namespace_exists(namespace):
            raise  # a busy catalog (retried by the caller) or a real failure
