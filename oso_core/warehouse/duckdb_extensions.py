"""DuckDB's extensions, loaded from their PyPI wheels' files: never downloaded, never copied into a folder.

Why a module of its own: the reader loads iceberg and avro into every connection, the object-store attachment
loads httpfs, the transform's gateway installs them for sqlmesh. Kept apart from the reader, the storage module can
load httpfs without importing the reader, which imports the storage module.
"""

from __future__ import annotations

import functools
import glob
import sysconfig

import duckdb


@functools.cache
def extension_file(name: str) -> str:
    """The installed ``<name>.duckdb_extension`` of the ``duckdb-extension-<name>`` wheel, for ``LOAD '<path>'``."""
    purelib = sysconfig.get_paths()["purelib"]
    matches = glob.glob(f"{purelib}/duckdb_extension_{name}/extensions/v{duckdb.__version__}/{name}.duckdb_extension")
    if not matches:
        raise RuntimeError(
            f"DuckDB extension {name!r} for DuckDB {duckdb.__version__} is not installed "
            f"(pip install duckdb-extension-{name}=={duckdb.__version__})"
        )
    return matches[0]


def load_extension(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Load an extension from its wheel's file: no copy into an extension folder, no download."""
    con.execute(f"LOAD '{extension_file(name)}'")
