"""Table maintenance: compact small files, expire old snapshots, delete orphan files, per table.

Every merge or replace adds a snapshot and small files, and a killed load leaves staged Parquet files that no
snapshot references. Without maintenance a table's folder only grows and its scans slow down. ``maintain_table``
runs three steps, in this order so that one run reclaims what the compaction replaced once history is past
retention:

1. **Compaction**: per partition, data files under ``small_file_bytes`` are read and rewritten into files near
   ``target_file_bytes`` (on disk), in ONE overwrite commit of exactly those files (``commit.replace_files``
   under ``commit.commit_with_retry``, the writer's optimistic-concurrency path). A writer that commits
   meanwhile wins: the compaction reloads and keeps only the groups whose input files are all still live, or
   aborts cleanly (its new files deleted, the table untouched). Rows are unchanged; only their files differ.
2. **Snapshot expiry** with pyiceberg's ``table.maintenance.expire_snapshots().by_ids(...)``: snapshots older than
   ``retention``, except the last ``keep_last`` of the current snapshot's history, branch and tag heads (pyiceberg
   protects those), and any snapshot a load-state row points at. pyiceberg removes snapshots from the metadata
   only; the files reachable from the expired snapshots and from no retained one (manifest lists, manifests,
   data files) are then deleted, as Iceberg's own expiry does. They were committed once, so no load in flight
   can be writing them; a load that planned from an expired snapshot and reads them meets a commit conflict and
   re-plans on the table as it is now (``commit.expired_plan``).
3. **Orphan files**: pyiceberg 0.12 has no orphan-file API, so the table's location is listed through its
   FileIO's filesystem (first, before the metadata is read) and every file that no live metadata references
   (data and delete files, manifests and manifest lists of retained snapshots, the current and logged
   metadata.json files, statistics files) and that is older than ``orphan_min_age`` is deleted. The age keeps
   the files of a load in flight (staged, not yet committed) safe: until its commit they are referenced by
   nothing, so their age is all that tells them from a killed load's. An age below the floor (setting
   ``maintenance.orphan_age_floor_hours``, longer than any load takes) is therefore refused before anything
   runs, by ``maintain_table`` and ``delete_orphans`` themselves, so every caller is covered. Should staged
   files still vanish, the writer's commit fails rather than land without them (``oso_core.warehouse.staged``).

``dry_run`` plans all three and changes nothing. A table with ``gc.enabled=false`` keeps every file. Load state
(``oso_core.warehouse.load_state``) records windows by key, status and cursor, not by snapshot; should a cursor ever
hold a snapshot id of the table, that snapshot is kept.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pyiceberg.catalog import Catalog
from pyiceberg.io import FileIO
from pyiceberg.manifest import DataFile, ManifestFile
from pyiceberg.table import FileScanTask, Table
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.snapshots import ancestors_of
from pyiceberg.utils.concurrent import ExecutorFactory

from oso_core.base.run_context import flow_run_id
from oso_core.config import settings
from oso_core.warehouse.commit import commit_with_retry, replace_files
from oso_core.warehouse.compat import memoized
from oso_core.warehouse.errors import WarehouseError
from oso_core.warehouse.files import DataFileWriter, delete_quietly, read_data_files

logger = logging.getLogger(__name__)

MIB = 1024 * 1024
DEFAULT_RETENTION_DAYS = 30
DEFAULT_KEEP_LAST = 10
DEFAULT_ORPHAN_AGE_HOURS = 24
DEFAULT_TARGET_FILE_MIB = 128
# A file below this share of the target size is "small" (Iceberg's rewrite_data_files uses 75% as well).
SMALL_FILE_SHARE = 0.75
STATE_TABLE = "_oso.load_state"  # oso_core.warehouse.load_state.STATE_TABLE (that module imports the Warehouse)


@dataclass(frozen=True)
class MaintenancePolicy:
    """What maintenance keeps and how big compacted files get."""

    retention: timedelta = timedelta(days=DEFAULT_RETENTION_DAYS)
    keep_last: int = DEFAULT_KEEP_LAST
    orphan_min_age: timedelta = timedelta(hours=DEFAULT_ORPHAN_AGE_HOURS)
    target_file_bytes: int = DEFAULT_TARGET_FILE_MIB * MIB
    small_file_bytes: int | None = None  # default: SMALL_FILE_SHARE of the target
    dry_run: bool = False
    compact: bool = True
    expire: bool = True
    delete_orphans: bool = True

    def __post_init__(self) -> None:
        if self.keep_last < 1:
            raise ValueError("keep_last must be at least 1 (the current snapshot is always kept)")
        if self.retention < timedelta(0) or self.orphan_min_age < timedelta(0):
            raise ValueError("retention and orphan_min_age must not be negative")
        if self.target_file_bytes < 1:
            raise ValueError("target_file_bytes must be positive")

    @property
    def small_bytes(self) -> int:
        if self.small_file_bytes is not None:
            return self.small_file_bytes
        return int(self.target_file_bytes * SMALL_FILE_SHARE)


@dataclass
class TableReport:
    """What maintenance did (or, with ``dry_run``, would do) to one table. ``*_after`` of a dry run are estimates."""

    table: str
    dry_run: bool = False
    data_files_before: int = 0
    data_bytes_before: int = 0
    data_files_after: int = 0
    data_bytes_after: int = 0
    stored_files_before: int = 0  # every file under the table's location: data, metadata, orphans
    stored_bytes_before: int = 0
    stored_files_after: int = 0
    stored_bytes_after: int = 0
    partitions: int = 0
    snapshots_before: int = 0
    snapshots_after: int = 0
    files_compacted: int = 0
    files_written: int = 0
    partitions_compacted: int = 0
    compaction_snapshot_id: int | None = None
    compaction_attempts: int = 0
    snapshots_expired: int = 0
    expired_files_deleted: int = 0
    expired_bytes_deleted: int = 0
    orphans_deleted: int = 0
    orphan_bytes_deleted: int = 0
    orphans_too_young: int = 0
    duration_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def reclaimed_bytes(self) -> int:
        return self.stored_bytes_before - self.stored_bytes_after

    def as_row(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "dry_run": self.dry_run,
            "data_files": f"{self.data_files_before} → {self.data_files_after}",
            "data_mib": f"{self.data_bytes_before / MIB:.1f} → {self.data_bytes_after / MIB:.1f}",
            "stored_files": f"{self.stored_files_before} → {self.stored_files_after}",
            "stored_mib": f"{self.stored_bytes_before / MIB:.1f} → {self.stored_bytes_after / MIB:.1f}",
            "reclaimed_mib": round(self.reclaimed_bytes / MIB, 1),
            "snapshots": f"{self.snapshots_before} → {self.snapshots_after}",
            "compacted": f"{self.files_compacted} → {self.files_written} in {self.partitions_compacted} partition(s)",
            "expired": f"{self.snapshots_expired} snapshot(s), {self.expired_files_deleted} file(s)",
            "orphans": f"{self.orphans_deleted} ({self.orphan_bytes_deleted / MIB:.1f} MiB), "
            f"{self.orphans_too_young} too young",
            "seconds": round(self.duration_s, 2),
            "error": self.error or "",
        }

    def render(self) -> str:
        verb = "would reclaim" if self.dry_run else "reclaimed"
        line = (
            f"  {self.table}: data files {self.data_files_before} → {self.data_files_after}, "
            f"stored {self.stored_files_before} files / {self.stored_bytes_before / MIB:.1f} MiB → "
            f"{self.stored_files_after} / {self.stored_bytes_after / MIB:.1f} MiB ({verb} "
            f"{self.reclaimed_bytes / MIB:.1f} MiB); snapshots {self.snapshots_before} → {self.snapshots_after}; "
            f"compacted {self.files_compacted} → {self.files_written}; orphans {self.orphans_deleted} "
            f"(+{self.orphans_too_young} too young)"
        )
        if self.error:
            line += f"\n    FAILED: {self.error}"
        return "\n".join([line, *(f"    note: {n}" for n in self.notes)])


# -- files of a table --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StoredFile:
    """A file found under a table's location."""

    key: str  # the path as the table's filesystem names it (scheme-less), see ``_key``
    uri: str
    size: int
    mtime: datetime


def _key(io: FileIO, uri: str) -> str:
    """A location without its scheme, as listings name files: ``/abs/path`` for local, ``bucket/path`` for gs."""
    parse = getattr(io, "parse_location", None)
    if parse is None:
        return uri.split("://", 1)[-1]
    return parse(uri)[2]


def list_files(io: FileIO, location: str) -> list[StoredFile]:
    """Every file under ``location``, through the FileIO's own (pyarrow) filesystem and credentials."""
    from pyarrow.fs import FileSelector, FileType

    if not hasattr(io, "fs_by_scheme"):
        raise WarehouseError(f"cannot list {location}: the table's FileIO ({type(io).__name__}) has no filesystem")
    scheme, netloc, path = io.parse_location(location)  # type: ignore[attr-defined]
    fs = io.fs_by_scheme(scheme, netloc)  # type: ignore[attr-defined]
    infos = fs.get_file_info(FileSelector(path.rstrip("/"), recursive=True, allow_not_found=True))
    files = []
    for info in infos:
        if info.type != FileType.File:
            continue
        mtime = info.mtime or datetime.fromtimestamp(0, UTC)
        if mtime.tzinfo is None:
            mtime = mtime.replace(tzinfo=UTC)
        uri = f"{scheme}://{info.path}" if scheme != "file" else f"file://{info.path}"
        files.append(StoredFile(key=info.path, uri=uri, size=info.size or 0, mtime=mtime))
    return files


class _Reachability:
    """Which files snapshots reach (manifest lists, manifests, live data/delete files), manifests read once."""

    def __init__(self, io: FileIO):
        self.io = io
        self._manifest_files: dict[str, list[tuple[str, int]]] = {}

    def _entries(self, manifests: list[ManifestFile]) -> None:
        missing = [m for m in manifests if m.manifest_path not in self._manifest_files]

        def read(manifest: ManifestFile) -> tuple[str, list[tuple[str, int]]]:
            entries = manifest.fetch_manifest_entry(self.io, discard_deleted=True)
            return manifest.manifest_path, [(e.data_file.file_path, e.data_file.file_size_in_bytes) for e in entries]

        for path, files in ExecutorFactory.get_or_create().map(read, missing):
            self._manifest_files[path] = files

    def files(self, metadata: TableMetadata, snapshot_ids: Iterable[int]) -> dict[str, int]:
        """``key -> size`` (size 0 where unknown) of every file the given snapshots reach."""
        reached: dict[str, int] = {}
        for snapshot_id in snapshot_ids:
            snapshot = metadata.snapshot_by_id(snapshot_id)
            if snapshot is None:
                continue
            reached.setdefault(_key(self.io, snapshot.manifest_list), 0)
            manifests = snapshot.manifests(self.io)
            self._entries(manifests)
            for manifest in manifests:
                reached[_key(self.io, manifest.manifest_path)] = manifest.manifest_length
                for path, size in self._manifest_files[manifest.manifest_path]:
                    reached[_key(self.io, path)] = size
        return reached

    def referenced(self, table: Table) -> set[str]:
        """Every file the table's live metadata references (all snapshots, metadata log, statistics)."""
        metadata = table.metadata
        keys = set(self.files(metadata, [s.snapshot_id for s in metadata.snapshots]))
        keys.add(_key(self.io, table.metadata_location))
        keys.update(_key(self.io, entry.metadata_file) for entry in metadata.metadata_log)
        keys.update(_key(self.io, s.statistics_path) for s in metadata.statistics)
        keys.update(_key(self.io, s.statistics_path) for s in metadata.partition_statistics)
        return keys


def _live_data(table: Table) -> list[FileScanTask]:
    snapshot = table.current_snapshot()
    return list(table.scan().plan_files()) if snapshot is not None else []


def _gc_enabled(table: Table) -> bool:
    return str(table.properties.get("gc.enabled", "true")).lower() != "false"


# -- 1. compaction -----------------------------------------------------------------------------------------------------
@dataclass
class _Group:
    """Small files of one partition rewritten together into files near the target size."""

    tasks: list[FileScanTask]
    written: list[DataFile] = field(default_factory=list)

    @property
    def bytes(self) -> int:
        return sum(t.file.file_size_in_bytes for t in self.tasks)


def plan_compaction(table: Table, policy: MaintenancePolicy) -> list[_Group]:
    """Groups of small files, per partition of the table's current spec, each near ``target_file_bytes``."""
    spec_id = table.metadata.default_spec_id
    by_partition: dict[Any, list[FileScanTask]] = {}
    for task in _live_data(table):
        data_file = task.file
        if task.delete_files or data_file.spec_id != spec_id or data_file.file_size_in_bytes >= policy.small_bytes:
            continue  # files with deletes or of an older spec are left as they are
        by_partition.setdefault(data_file.partition, []).append(task)
    groups = []
    for tasks in by_partition.values():
        if len(tasks) < 2:
            continue
        tasks.sort(key=lambda t: t.file.file_path)  # a stable order: the rewritten rows keep the files' order
        bins: list[list[FileScanTask]] = [[]]
        size = 0
        for task in tasks:
            if bins[-1] and size + task.file.file_size_in_bytes > policy.target_file_bytes:
                bins.append([])
                size = 0
            bins[-1].append(task)
            size += task.file.file_size_in_bytes
        if len(bins) > 1 and len(bins[-1]) == 1:
            bins[-2].extend(bins.pop())  # one file left over: rewriting it alone gains nothing
        groups.extend(_Group(b) for b in bins if len(b) > 1)
    return groups


def _rewrite(table: Table, group: _Group, policy: MaintenancePolicy) -> list[DataFile]:
    """The group's rows (in the table's current schema) as new data files near the target size on disk."""
    rows = read_data_files(table.metadata, table.io, group.tasks)
    expected = sum(t.file.record_count for t in group.tasks)
    if rows.num_rows != expected:
        raise WarehouseError(f"compaction read {rows.num_rows} rows from files whose manifests count {expected}")
    writer = DataFileWriter(table.metadata, table.io)
    # DataFileWriter sizes files by in-memory Arrow bytes; scale the on-disk target by these files' compression.
    writer.target_bytes = max(1, int(policy.target_file_bytes * rows.nbytes / max(1, group.bytes)))
    written = writer.write(rows)
    if sum(f.record_count for f in written) != expected:
        delete_quietly(table.io, [f.file_path for f in written])
        raise WarehouseError("compaction wrote a different number of rows than it read")
    return written


def compact(
    catalog: Catalog, identifier: str, policy: MaintenancePolicy, report: TableReport, before_commit=None
) -> None:
    """Rewrite small files per partition in one commit; a concurrent writer wins (see the module docstring).

    ``before_commit`` (tests) is called once the new files are written, before the first commit attempt.
    """
    table = catalog.load_table(identifier)
    groups = plan_compaction(table, policy)
    if not groups:
        return
    inputs = sum(len(g.tasks) for g in groups)
    if policy.dry_run:
        report.files_compacted = inputs
        report.files_written = sum(max(1, math.ceil(g.bytes / policy.target_file_bytes)) for g in groups)
        report.partitions_compacted = len({g.tasks[0].file.partition for g in groups})
        return
    try:
        for group in groups:
            group.written = _rewrite(table, group, policy)
    except BaseException:
        delete_quietly(table.io, [f.file_path for g in groups for f in g.written])
        raise
    if before_commit is not None:
        before_commit()
    attempts = 0
    committed: list[_Group] = []

    def load() -> Table:
        nonlocal attempts
        attempts += 1
        return table if attempts == 1 else catalog.load_table(identifier)

    def attempt(current: Table) -> int | None:
        live = {t.file.file_path for t in _live_data(current)}
        still = [g for g in groups if all(t.file.file_path in live for t in g.tasks)]
        committed[:] = still
        if not still:
            return None
        props = {
            "oso.maintenance": "compaction",
            "oso.files_rewritten": str(sum(len(g.tasks) for g in still)),
            "oso.flow_run_id": flow_run_id() or "",
        }
        removed = [t.file for g in still for t in g.tasks]
        added = [f for g in still for f in g.written]
        snapshot = replace_files(memoized(current.transaction()), removed, added, props).current_snapshot()
        return snapshot.snapshot_id if snapshot else None

    try:
        snapshot_id = commit_with_retry(identifier, load, attempt)
    except WarehouseError as gave_up:
        delete_quietly(table.io, [f.file_path for g in groups for f in g.written])
        report.notes.append(f"compaction aborted, nothing changed: {gave_up}")
        report.compaction_attempts = attempts
        return
    report.compaction_attempts = attempts
    kept = {id(g) for g in committed}
    dropped = [g for g in groups if id(g) not in kept]
    delete_quietly(table.io, [f.file_path for g in dropped for f in g.written])  # their inputs changed meanwhile
    if dropped:
        report.notes.append(
            f"{len(dropped)} of {len(groups)} compaction group(s) skipped: a concurrent write replaced their files"
        )
    if snapshot_id is None:
        return
    report.compaction_snapshot_id = snapshot_id
    report.files_compacted = sum(len(g.tasks) for g in committed)
    report.files_written = sum(len(g.written) for g in committed)
    report.partitions_compacted = len({g.tasks[0].file.partition for g in committed})


# -- 2. snapshot expiry ------------------------------------------------------------------------------------------------
def state_snapshot_ids(catalog: Catalog, table: Table) -> set[int]:
    """Snapshots of ``table`` that a load-state row points at (a cursor holding one of its snapshot ids)."""
    ids = {s.snapshot_id for s in table.metadata.snapshots}
    if not ids or not catalog.table_exists(STATE_TABLE):
        return set()
    import polars as pl

    from oso_core.warehouse.reader import read_table

    cursors = read_table(catalog, STATE_TABLE).get_column("cursor").drop_nulls().unique()
    numeric = cursors.filter(cursors.str.contains(r"^-?\d{1,20}$")).cast(pl.Int64, strict=False).drop_nulls()
    return ids & set(numeric.to_list())


def expirable(metadata: TableMetadata, policy: MaintenancePolicy, now: datetime, protected: set[int]) -> list[int]:
    """Snapshots older than the retention, minus the last ``keep_last`` of the current history and ``protected``."""
    cutoff_ms = int((now - policy.retention).timestamp() * 1000)
    history = ancestors_of(metadata.current_snapshot(), metadata)
    kept = {s.snapshot_id for _, s in zip(range(policy.keep_last), history, strict=False)}
    heads = {ref.snapshot_id for ref in metadata.refs.values()}  # branch and tag heads: pyiceberg refuses them
    return sorted(
        s.snapshot_id
        for s in metadata.snapshots
        if s.timestamp_ms < cutoff_ms and s.snapshot_id not in kept | heads | protected
    )


def expire(catalog: Catalog, identifier: str, policy: MaintenancePolicy, report: TableReport, now: datetime) -> None:
    """Expire snapshots with pyiceberg, then delete the files only the expired snapshots reached."""
    table = catalog.load_table(identifier)
    protected = state_snapshot_ids(catalog, table)
    if protected:
        report.notes.append(f"kept {len(protected)} snapshot(s) load state points at")
    reach = _Reachability(table.io)
    expired: list[int] = []
    before: TableMetadata = table.metadata

    def attempt(current: Table) -> Table:
        nonlocal expired, before
        before = current.metadata
        expired = expirable(before, policy, now, protected)
        if expired and not policy.dry_run:
            current.maintenance.expire_snapshots().by_ids(expired).commit()  # updates current.metadata
        return current

    attempts = 0

    def load() -> Table:
        nonlocal attempts
        attempts += 1
        return table if attempts == 1 else catalog.load_table(identifier)

    after = commit_with_retry(identifier, load, attempt)
    report.snapshots_expired = len(expired)
    if not expired:
        return
    retained_ids = [s.snapshot_id for s in after.metadata.snapshots if s.snapshot_id not in expired]
    gone = reach.files(before, expired)
    for key in reach.files(after.metadata if not policy.dry_run else before, retained_ids):
        gone.pop(key, None)
    report.expired_files_deleted = len(gone)
    report.expired_bytes_deleted = sum(gone.values())
    if policy.dry_run or not _gc_enabled(after):
        return
    scheme = after.metadata.location.split("://", 1)[0] if "://" in after.metadata.location else "file"
    delete_quietly(after.io, [f"{scheme}://{key}" for key in gone])


# -- 3. orphan files ---------------------------------------------------------------------------------------------------
def orphan_age_floor() -> timedelta:
    """The youngest an unreferenced file may be for the sweep to delete it (``maintenance.orphan_age_floor_hours``)."""
    return timedelta(hours=settings.maintenance().orphan_age_floor_hours)


def orphan_floor_setting() -> str:
    """The floor's variable, ``DAGSTER__MAINTENANCE__ORPHAN_AGE_FLOOR_HOURS`` under the default prefix."""
    return settings.env_name(settings.group_prefix(settings.MaintenanceSettings.group), "orphan_age_floor_hours")


def check_orphan_age(orphan_min_age: timedelta) -> None:
    """Refuse an orphan age below the floor: younger unreferenced files may be a running load's staged data.

    A load's data files are written before its commit and referenced by no snapshot until then; the sweep cannot
    tell them from a killed load's except by age. Deleting them made a merge commit a snapshot whose files were
    gone (issue 22), so the floor is a setting an operator lowers on purpose, not a flag typed in passing.
    """
    floor = orphan_age_floor()
    if orphan_min_age < floor:
        name = orphan_floor_setting()
        raise WarehouseError(
            f"orphan age {_hours(orphan_min_age)} h is below the floor of {_hours(floor)} h ({name}): younger "
            f"unreferenced files may be the staged data of a load still running; use at least {_hours(floor)} h, "
            f"or lower {name} while no load runs"
        )


def _hours(age: timedelta) -> str:
    return f"{age.total_seconds() / 3600:g}"


def delete_orphans(catalog: Catalog, identifier: str, policy: MaintenancePolicy, report: TableReport, now: datetime):
    """Delete files under the table's location that no live metadata references and that are old enough."""
    check_orphan_age(policy.orphan_min_age)
    table = catalog.load_table(identifier)
    listed = list_files(table.io, table.metadata.location)  # listed BEFORE the metadata is read: see docstring
    table = catalog.load_table(identifier)
    referenced = _Reachability(table.io).referenced(table)
    cutoff = now - policy.orphan_min_age
    orphans = [f for f in listed if f.key not in referenced]
    old = [f for f in orphans if f.mtime < cutoff]
    report.orphans_too_young = len(orphans) - len(old)
    report.orphans_deleted = len(old)
    report.orphan_bytes_deleted = sum(f.size for f in old)
    if policy.dry_run or not old:
        return
    if not _gc_enabled(table):
        report.notes.append("gc.enabled=false: orphan files kept")
        report.orphans_deleted = report.orphan_bytes_deleted = 0
        return
    delete_quietly(table.io, [f.uri for f in old])


# -- the whole run -----------------------------------------------------------------------------------------------------
def maintain_table(
    catalog: Catalog, identifier: str, policy: MaintenancePolicy | None = None, *, now: datetime | None = None
) -> TableReport:
    """Compact, expire and delete orphans of one table (or plan it, with ``policy.dry_run``)."""
    policy = policy or MaintenancePolicy()
    if policy.delete_orphans:
        check_orphan_age(policy.orphan_min_age)  # before any step: a refused run changes nothing
    now = now or datetime.now(UTC)
    started = time.perf_counter()
    report = TableReport(identifier, dry_run=policy.dry_run)
    table = catalog.load_table(identifier)
    _measure(table, report, before=True)
    if not _gc_enabled(table) and (policy.expire or policy.delete_orphans):
        report.notes.append("gc.enabled=false: snapshots expire but no file is deleted")
    if policy.compact:
        compact(catalog, identifier, policy, report)
    if policy.expire:
        expire(catalog, identifier, policy, report, now)
    if policy.delete_orphans:
        delete_orphans(catalog, identifier, policy, report, now)
    if policy.dry_run:
        report.data_files_after = report.data_files_before - report.files_compacted + report.files_written
        report.data_bytes_after = report.data_bytes_before
        report.snapshots_after = report.snapshots_before - report.snapshots_expired
        deleted = report.expired_files_deleted + report.orphans_deleted
        report.stored_files_after = report.stored_files_before - deleted
        report.stored_bytes_after = (
            report.stored_bytes_before - report.expired_bytes_deleted - report.orphan_bytes_deleted
        )
    else:
        _measure(catalog.load_table(identifier), report, before=False)
    report.duration_s = time.perf_counter() - started
    return report


def _measure(table: Table, report: TableReport, *, before: bool) -> None:
    live = _live_data(table)
    stored = list_files(table.io, table.metadata.location)
    values = {
        "data_files": len(live),
        "data_bytes": sum(t.file.file_size_in_bytes for t in live),
        "stored_files": len(stored),
        "stored_bytes": sum(f.size for f in stored),
        "snapshots": len(table.metadata.snapshots),
    }
    for name, value in values.items():
        setattr(report, f"{name}_{'before' if before else 'after'}", value)
    if before:
        report.partitions = len({t.file.partition for t in live})


def all_tables(catalog: Catalog) -> list[str]:
    """Every table of the catalog, ``namespace.name``, sorted."""
    names = []
    for namespace in catalog.list_namespaces():
        names.extend(".".join(ident) for ident in catalog.list_tables(namespace))
    return sorted(names)
