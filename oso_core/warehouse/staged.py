"""A commit never lands pointing at a data file that is gone: the files an attempt wrote are checked first.

A write's data files are staged long before its commit, and until then no snapshot references them: an orphan
sweep run too early (or anything else deleting under the table's folder) can remove them meanwhile. The catalog
would accept the commit anyway, and every later read, merge and maintenance run of the table would fail on the
missing file. So just before the catalog call the attempt checks that each file it is about to add exists (only
its own: the table's existing files were committed and are not deleted while they are live). A missing one fails
the write, which leaves the table at its previous snapshot; retrying would not bring the file back.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyiceberg.io import FileIO
from pyiceberg.utils.concurrent import ExecutorFactory

from oso_core.warehouse.errors import WarehouseError


class StagedFilesMissing(WarehouseError):
    """Data files this write staged were deleted before its commit; nothing was committed."""


def require_staged_files(identifier: str, io: FileIO, paths: Sequence[str]) -> None:
    """Raise ``StagedFilesMissing`` naming the table and the files if any of ``paths`` no longer exists.

    One existence check per file, in parallel (a request each on an object store, a ``stat`` locally).
    """
    exists = ExecutorFactory.get_or_create().map(lambda path: io.new_input(path).exists(), paths)
    missing = [path for path, present in zip(paths, exists, strict=True) if not present]
    if missing:
        from oso_core.warehouse.maintenance import orphan_floor_setting  # only now: maintenance is the heavier module

        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise StagedFilesMissing(
            f"{identifier}: {len(missing)} of the {len(paths)} data file(s) this write staged are missing before "
            f"its commit ({shown}); nothing was committed, the table is at its previous snapshot. Something deleted "
            f"them under the table's folder, e.g. an orphan-file sweep with an age below the load's duration "
            f"({orphan_floor_setting()}); rerun the load"
        )
