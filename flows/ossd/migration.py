"""One-time renames of the ossd tables to OSO's names, done by the first ossd load after the upgrade.

Earlier versions wrote oss-directory's project × GitHub URL list as ``ossd.repositories`` and the GitHub metadata
as ``ossd.github_repositories``. OSO's downstream models read the GitHub metadata as ``ossd.repositories``, so the
URL list is now ``ossd.project_repositories`` and the metadata ``ossd.repositories``. A rename is a catalog
operation (no data file is read or rewritten, the snapshot history moves with the table), so an existing lake is
migrated in place by whichever of ``ossd``, ``ossd_github`` or ``ossd_sbom`` runs first; afterwards this finds
nothing to do.
"""

from __future__ import annotations

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError

from oso_core import rename_table

PROJECT_REPOSITORIES = "ossd.project_repositories"
REPOSITORIES = "ossd.repositories"
LEGACY_GITHUB_REPOSITORIES = "ossd.github_repositories"
# columns only the old URL list had; OSO's repositories table has none of them
LEGACY_URL_LIST_COLUMNS = {"project_name", "repo_name"}


def _columns(catalog: Catalog, table: str) -> set[str] | None:
    try:
        return {field.name for field in catalog.load_table(table).schema().fields}
    except NoSuchTableError:
        return None


def migrate_table_names(catalog: Catalog) -> list[str]:
    """Rename the pre-OSO-names ossd tables; one note per change, for the run summary.

    1. ``ossd.repositories`` holding the URL list becomes ``ossd.project_repositories`` (dropped instead when ossd
       already wrote a newer ``ossd.project_repositories``: ossd rewrites that list whole on every run);
    2. ``ossd.github_repositories`` then becomes ``ossd.repositories``.
    """
    notes: list[str] = []
    columns = _columns(catalog, REPOSITORIES)
    if columns is not None and columns >= LEGACY_URL_LIST_COLUMNS:
        if catalog.table_exists(PROJECT_REPOSITORIES):
            catalog.drop_table(REPOSITORIES)
            notes.append(f"dropped the old URL list {REPOSITORIES} ({PROJECT_REPOSITORIES} replaces it)")
        else:
            notes += rename_table(catalog, REPOSITORIES, PROJECT_REPOSITORIES)
    notes += rename_table(catalog, LEGACY_GITHUB_REPOSITORIES, REPOSITORIES)
    return notes
