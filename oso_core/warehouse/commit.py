"""Committing with retries: concurrent writers to one table retry on the catalog's conflict, re-planning each time.

The catalog accepts a commit only if the table is still at the metadata the writer started from (optimistic
concurrency). On a conflict the writer reloads the table, re-plans against the new state (which files a merge or
partition overwrite must replace) and commits again, after a jittered exponential backoff so writers that collided
do not collide again in lockstep. Data files already written are reused; only the plan is redone.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from pyiceberg.exceptions import CommitFailedException, TableAlreadyExistsError, ValidationException
from pyiceberg.manifest import DataFile, ManifestContent
from pyiceberg.table import Table, Transaction

from oso_core.warehouse.errors import WarehouseError

T = TypeVar("T")
logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
BASE_DELAY_S = 0.05
MAX_DELAY_S = 5.0
MAX_TOTAL_S = 300.0


def commit_with_retry(
    identifier: str,
    load: Callable[[], Table | None],
    attempt: Callable[[Table | None], T],
    *,
    max_attempts: int = MAX_ATTEMPTS,
    base_delay_s: float = BASE_DELAY_S,
    max_delay_s: float = MAX_DELAY_S,
    max_total_s: float = MAX_TOTAL_S,
) -> T:
    """Run ``attempt(table)`` until it commits; on a conflict back off, reload and run it again (bounded)."""
    started = time.monotonic()
    table = load()
    for number in range(1, max_attempts + 1):
        try:
            return attempt(table)
        except (CommitFailedException, ValidationException, TableAlreadyExistsError) as conflict:
            waited = time.monotonic() - started
            if number == max_attempts or waited >= max_total_s:
                raise WarehouseError(
                    f"{identifier}: gave up after {number} conflicting commits in {waited:.1f} s ({conflict}); "
                    "the table is unchanged"
                ) from conflict
            delay = random.uniform(0, min(max_delay_s, base_delay_s * 2**number))  # full jitter
            logger.info("%s: commit conflict (%s), retry %d in %.2f s", identifier, conflict, number, delay)
            time.sleep(delay)
            table = load()
    raise AssertionError("unreachable")


def replace_files(
    txn: Transaction, removed: list[DataFile], added: list[DataFile], properties: dict[str, str]
) -> Table:
    """Commit one snapshot of ``txn`` that swaps exactly ``removed`` for ``added`` (same rows, other files).

    An overwrite of those files only: the commit requires the table's branch to be at the snapshot ``txn`` started
    from, so a writer that committed meanwhile makes it fail with ``CommitFailedException`` (and
    ``commit_with_retry`` reloads and re-plans); a file already gone fails it with ``ValidationException``.

    pyiceberg 0.12's overwrite carries every parent manifest that holds only DELETED entries (tombstones of
    earlier snapshots) into the new snapshot, so each overwrite leaves one more manifest that every later scan
    plans over and that expiry can never free (iceberg-go had the same bug: apache/iceberg-go#1153, #1393). The
    Iceberg spec gives tombstones meaning only in the snapshot that wrote them, so this commit drops such
    manifests, as Iceberg Java does; this commit's own tombstones are written separately and kept.
    """
    with txn.update_snapshot(snapshot_properties=properties).overwrite() as overwrite:
        carried = overwrite._existing_manifests
        overwrite._existing_manifests = lambda: [  # type: ignore[method-assign]
            m for m in carried() if m.content != ManifestContent.DATA or m.has_added_files() or m.has_existing_files()
        ]
        for data_file in removed:
            overwrite.delete_data_file(data_file)
        for data_file in added:
            overwrite.append_data_file(data_file)
    return txn.commit_transaction()
