"""Committing with retries: concurrent writers to one table retry on the catalog's conflict, re-planning each time.

The catalog accepts a commit only if the table is still at the metadata the writer started from (optimistic
concurrency). On a conflict the writer reloads the table, re-plans against the new state (which files a merge or
partition overwrite must replace) and commits again, after a jittered exponential backoff so writers that collided
do not collide again in lockstep. Data files already written are reused; only the plan is redone.

A file of the table state an attempt planned from that is gone is the same conflict found earlier: another
writer (a compaction) committed, then snapshot expiry deleted the manifests and data files only the older
snapshots reached, while this attempt was still reading them. :func:`expired_plan` turns that
``FileNotFoundError`` into :class:`PlanExpired`, a ``CommitFailedException``, so it is retried the same way.

A catalog that is busy is retried the same way: SQLite answers ``database is locked`` when another process holds
its lock longer than the busy timeout (5 s), Postgres a lock timeout, deadlock or serialization failure. None of
these changed the catalog, so waiting and trying again is safe; the other catalog calls of a write (loading the
table, creating its namespace and the table itself) go through :func:`with_retry` for the same reason.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from pyiceberg.exceptions import CommitFailedException, TableAlreadyExistsError, ValidationException
from pyiceberg.manifest import DataFile, ManifestContent
from pyiceberg.table import Table, Transaction
from sqlalchemy.exc import DBAPIError

from oso_core.errors import OsoError
from oso_core.warehouse.compat import filter_carried_manifests
from oso_core.warehouse.errors import WarehouseError

T = TypeVar("T")
logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
BASE_DELAY_S = 0.05
MAX_DELAY_S = 5.0
MAX_TOTAL_S = 300.0


class PlanExpired(OsoError, CommitFailedException):
    """A file of the table state this attempt planned from was deleted meanwhile (a commit, then snapshot expiry).

    Nothing was committed; reloading the table and planning again reads only files of live snapshots.
    """


CONFLICTS = (CommitFailedException, ValidationException, TableAlreadyExistsError)
# Texts of the catalog's "busy, nothing done" answers: SQLite's SQLITE_BUSY/SQLITE_LOCKED and Postgres'
# lock_not_available (55P03), deadlock_detected (40P01) and serialization_failure (40001).
_LOCK_TEXTS = (
    "database is locked",
    "database table is locked",
    "lock timeout",
    "could not obtain lock",
    "deadlock detected",
    "could not serialize access",
)


@dataclass(frozen=True)
class RetryPolicy:
    """How long a write keeps retrying conflicts and a locked catalog before it gives up (bounded, jittered)."""

    max_attempts: int = MAX_ATTEMPTS
    base_delay_s: float = BASE_DELAY_S
    max_delay_s: float = MAX_DELAY_S
    max_total_s: float = MAX_TOTAL_S

    def delay(self, attempt: int) -> float:
        return random.uniform(0, min(self.max_delay_s, self.base_delay_s * 2**attempt))  # full jitter


def is_lock_timeout(error: BaseException) -> bool:
    """The catalog database was busy (locked by another process) and did nothing."""
    if not isinstance(error, DBAPIError):
        return False
    text = str(error.orig if error.orig is not None else error).lower()
    return any(part in text for part in _LOCK_TEXTS)


def _retry_kind(error: BaseException) -> str | None:
    if isinstance(error, CONFLICTS):
        return "conflicting commits"
    if is_lock_timeout(error):
        return "attempts while the catalog was locked"
    return None


def _brief(error: BaseException) -> str:
    """The error without SQLAlchemy's appended SQL statement and parameters."""
    orig = getattr(error, "orig", None)
    return str(orig if orig is not None else error).splitlines()[0][:300]


def expired_plan(
    error: BaseException, identifier: str, location: str, own: Iterable[str], moved: Callable[[], bool]
) -> PlanExpired | None:
    """``error`` as a :class:`PlanExpired` conflict if it is a missing file of an older state of the table.

    Only a ``FileNotFoundError`` naming a file under the table's ``location`` that is not one of ``own`` (the
    files this attempt wrote: a write whose own staged files vanished must fail, ``oso_core.warehouse.staged``),
    and only if ``moved()`` says the table has a newer metadata file than the attempt started from: a file missing
    from the current state is damage that no retry repairs, and stays the error it is.
    """
    if not isinstance(error, FileNotFoundError):
        return None
    text = " ".join(str(part) for part in (error, error.filename) if part)
    if _bare(location).rstrip("/") + "/" not in text or any(_bare(path) in text for path in own):
        return None
    if not moved():
        return None
    return PlanExpired(
        f"{identifier}: a file of the snapshot this attempt planned from was deleted meanwhile (snapshot expiry "
        f"after another commit): {_brief(error)}"
    )


def _bare(location: str) -> str:
    """A location without its scheme, as file errors name it (``/abs/path``, ``bucket/path``)."""
    return location.split("://", 1)[-1]


def with_retry(
    identifier: str, call: Callable[[], T], policy: RetryPolicy | None = None, *, what: str = "the table is unchanged"
) -> T:
    """Run ``call()``; on a commit conflict or a locked catalog back off and run it again (bounded).

    The final error is a WarehouseError naming the table, how often and how long it tried, and why.
    """
    policy = policy or RetryPolicy()
    started = time.monotonic()
    for number in range(1, policy.max_attempts + 1):
        try:
            return call()
        except Exception as error:
            kind = _retry_kind(error)
            if kind is None:
                raise
            waited = time.monotonic() - started
            if number == policy.max_attempts or waited >= policy.max_total_s:
                raise WarehouseError(
                    f"{identifier}: gave up after {number} {kind} in {waited:.1f} s ({_brief(error)}); {what}"
                ) from error
            delay = policy.delay(number)
            logger.info("%s: %s (%s), retry %d in %.2f s", identifier, kind, _brief(error), number, delay)
            time.sleep(delay)
    raise AssertionError("unreachable")


def commit_with_retry(
    identifier: str,
    load: Callable[[], Table | None],
    attempt: Callable[[Table | None], T],
    *,
    policy: RetryPolicy | None = None,
    max_attempts: int | None = None,
    base_delay_s: float | None = None,
    max_delay_s: float | None = None,
    max_total_s: float | None = None,
) -> T:
    """Run ``attempt(load())`` until it commits; on a conflict or a locked catalog back off, reload and rerun it.

    Explicit keyword limits override the policy's.
    """
    overrides = {
        "max_attempts": max_attempts,
        "base_delay_s": base_delay_s,
        "max_delay_s": max_delay_s,
        "max_total_s": max_total_s,
    }
    policy = dataclasses.replace(policy or RetryPolicy(), **{k: v for k, v in overrides.items() if v is not None})
    return with_retry(identifier, lambda: attempt(load()), policy)


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
        filter_carried_manifests(
            overwrite, lambda m: m.content != ManifestContent.DATA or m.has_added_files() or m.has_existing_files()
        )
        for data_file in removed:
            overwrite.delete_data_file(data_file)
        for data_file in added:
            overwrite.append_data_file(data_file)
    return txn.commit_transaction()
