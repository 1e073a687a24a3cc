"""Table maintenance for the whole lake: compact small files, expire old snapshots, delete orphan files.

    python flows/maintenance.py                          # every table, with the defaults below
    python flows/maintenance.py --table npm.downloads --dry-run
    python flows/maintenance.py --retention-days 7 --keep-last 5

Deployed weekly (``maintenance`` in ``prefect.yaml``). Each table is one Prefect task (``maintain <table>``); one
failing table does not stop the others, and the run ends Failed naming it (the failure alert reads that). The
files and bytes before/after and reclaimed per table are printed and published as the ``table-maintenance``
table artifact. What each step does and why it is safe next to running loads: ``oso_core.warehouse.maintenance``.
This module declares no ``SOURCE``: it loads nothing.
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta

if __name__ == "__main__":  # a command line picks its Prefect API (analytics off) before Prefect is imported
    from oso_core import use_local_server_as_command

    use_local_server_as_command()

from prefect import flow, task
from prefect.cache_policies import NONE
from prefect.states import Completed, Failed, State

from oso_core import (
    DEFAULT_KEEP_LAST,
    DEFAULT_ORPHAN_AGE_HOURS,
    DEFAULT_RETENTION_DAYS,
    DEFAULT_TARGET_FILE_MIB,
    MIB,
    MaintenancePolicy,
    MaintenanceSettings,
    TableReport,
    Warehouse,
    WarehouseError,
    alert_on_failure,
    all_tables,
    check_orphan_age,
    failure_state_message,
    maintain_table,
)

ARTIFACT_KEY = "table-maintenance"
FLOOR_DEFAULT_HOURS = MaintenanceSettings.model_fields["orphan_age_floor_hours"].default


@task(cache_policy=NONE)
def maintain(warehouse: Warehouse, table: str, policy: MaintenancePolicy) -> TableReport:
    report = maintain_table(warehouse.catalog, table, policy)
    print(report.render())
    return report


def render(reports: list[TableReport], dry_run: bool) -> str:
    reclaimed = sum(r.reclaimed_bytes for r in reports if not r.error)
    verb = "would reclaim" if dry_run else "reclaimed"
    failed = [r for r in reports if r.error]
    kind = "table maintenance (dry run)" if dry_run else "table maintenance"
    head = f"{kind}: {len(reports)} table(s), {verb} {reclaimed / MIB:.1f} MiB"
    if failed:
        head += f", {len(failed)} failed"
    return "\n".join([head, *(r.render() for r in reports)])


def publish(reports: list[TableReport], dry_run: bool) -> str:
    """Print the summary and attach it to the flow run as a table artifact."""
    from prefect.artifacts import create_table_artifact
    from prefect.context import FlowRunContext

    text = render(reports, dry_run)
    print(text)
    if FlowRunContext.get() is not None:
        create_table_artifact(
            key=ARTIFACT_KEY,
            table=[r.as_row() for r in reports] or [{"table": "", "data_files": "no tables"}],
            description=text.splitlines()[0],
        )
    return text


@flow(name="oso-table-maintenance", on_failure=[alert_on_failure], on_crashed=[alert_on_failure], log_prints=True)
def maintenance_flow(
    tables: list[str] | None = None,
    dry_run: bool = False,
    retention_days: float = DEFAULT_RETENTION_DAYS,
    keep_last: int = DEFAULT_KEEP_LAST,
    orphan_age_hours: float = DEFAULT_ORPHAN_AGE_HOURS,
    target_file_mib: float = DEFAULT_TARGET_FILE_MIB,
) -> State:
    """Compact, expire snapshots and delete orphan files of ``tables`` (default: every table of the lake)."""
    policy = MaintenancePolicy(
        retention=timedelta(days=retention_days),
        keep_last=keep_last,
        orphan_min_age=timedelta(hours=orphan_age_hours),
        target_file_bytes=int(target_file_mib * MIB),
        dry_run=dry_run,
    )
    check_orphan_age(policy.orphan_min_age)  # the whole run is refused, not each table
    warehouse = Warehouse()
    names = tables or all_tables(warehouse.catalog)
    reports = []
    for name in names:
        try:
            reports.append(maintain.with_options(name=f"maintain {name}")(warehouse, name, policy))
        except Exception as exc:  # noqa: BLE001 - one table's failure is reported; the others still run
            reports.append(TableReport(name, dry_run=dry_run, error=f"{type(exc).__name__}: {exc}"))
    publish(reports, dry_run)
    rows = [r.as_row() for r in reports]
    failed = [r for r in reports if r.error]
    if failed:
        return Failed(message=failure_state_message(len(failed), f"{failed[0].table}: {failed[0].error}"), data=rows)
    return Completed(message=render(reports, dry_run).splitlines()[0], data=rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python flows/maintenance.py",
        description=(
            "Compact small files, expire old snapshots and delete orphan files of the lake's tables "
            "(every table unless --table is given)."
        ),
    )
    parser.add_argument("--table", nargs="+", action="extend", metavar="NS.TABLE", help="only these tables")
    parser.add_argument("--dry-run", action="store_true", help="report what would be done; change nothing")
    parser.add_argument(
        "--retention-days",
        type=float,
        default=DEFAULT_RETENTION_DAYS,
        help=f"expire snapshots older than this (default {DEFAULT_RETENTION_DAYS})",
    )
    parser.add_argument(
        "--keep-last",
        type=int,
        default=DEFAULT_KEEP_LAST,
        help=f"always keep this many latest snapshots (default {DEFAULT_KEEP_LAST})",
    )
    parser.add_argument(
        "--orphan-age-hours",
        type=float,
        default=DEFAULT_ORPHAN_AGE_HOURS,
        help=f"delete unreferenced files only when older than this (default {DEFAULT_ORPHAN_AGE_HOURS}; at least "
        f"the floor DAGSTER__MAINTENANCE__ORPHAN_AGE_FLOOR_HOURS, default {FLOOR_DEFAULT_HOURS:g})",
    )
    parser.add_argument(
        "--target-file-mib",
        type=float,
        default=DEFAULT_TARGET_FILE_MIB,
        help=f"compacted data file size (default {DEFAULT_TARGET_FILE_MIB})",
    )
    args = parser.parse_args(argv)
    if args.keep_last < 1:
        parser.error("--keep-last must be at least 1")
    try:
        check_orphan_age(timedelta(hours=args.orphan_age_hours))
    except WarehouseError as refused:
        parser.error(f"--orphan-age-hours: {refused}")
    state = maintenance_flow(
        tables=args.table,
        dry_run=args.dry_run,
        retention_days=args.retention_days,
        keep_last=args.keep_last,
        orphan_age_hours=args.orphan_age_hours,
        target_file_mib=args.target_file_mib,
        return_state=True,
    )
    return 0 if state.is_completed() else 1


if __name__ == "__main__":
    sys.exit(main())
