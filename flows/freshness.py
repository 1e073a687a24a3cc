"""The lake's freshness check: one Discord alert listing every table older than its maximum age, or missing.

    python flows/freshness.py                    # every declared table, now
    python flows/freshness.py --source ossd npm  # only these sources' tables (no transform outputs)
    python flows/freshness.py --now 2027-01-01T00:00:00Z

Deployed daily (``freshness`` in ``prefect.yaml``), like OSO's freshness sensor and its "Asset Freshness Summary":
each table's last load is its current Iceberg snapshot's commit time (metadata only, no data scan,
``oso_core.ops.freshness``); when any table is stale or missing one embed lists them (table, last load, age,
expected) and the same list is published as the ``freshness`` table artifact. The transform's published tables
(namespace ``transform.output_namespace``) are checked against their inputs: one is stale when a lake table it
reads has had a commit it has not seen for longer than the transform's cadence allows (``transform.cron``). The
run completes either way (the alert is the report; a failed run would alert a second time), and fails only when
the alert could not be sent.
This module declares no ``SOURCE``: it loads nothing.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

if __name__ == "__main__":  # a command line picks its Prefect API (analytics off) before Prefect is imported
    from oso_core import use_local_server_as_command

    use_local_server_as_command()

from prefect import flow
from prefect.states import Completed, Failed, State

from oso_core import FRESH, alerts, discover_sources, model_ages, settings, summary_line, table_ages

ARTIFACT_KEY = "freshness"


def _run_url() -> str | None:
    from prefect.runtime import flow_run
    from prefect.utilities.urls import url_for

    return url_for("flow-run", obj_id=flow_run.id) if flow_run.id else None


@flow(name="oso-freshness", on_failure=[alerts.alert_on_failure], on_crashed=[alerts.alert_on_failure], log_prints=True)
def freshness_flow(sources: list[str] | None = None, now: datetime | None = None) -> State:
    """Check every declared table's age and every published model's lag behind its inputs (``sources`` narrows it
    to those sources' tables; ``now`` defaults to the current time)."""
    from prefect.artifacts import create_table_artifact

    from oso_core import Warehouse

    declared = discover_sources()
    unknown = sorted(set(sources or []) - set(declared))
    if unknown:
        raise ValueError(f"unknown source(s) {', '.join(unknown)}; known: {', '.join(declared)}")
    chosen = [s for name, s in declared.items() if not sources or name in sources]
    catalog = Warehouse().catalog
    at = (now or datetime.now(UTC)).astimezone(UTC)
    ages = table_ages(catalog, chosen, at)
    if not sources:
        transform = settings.transform()
        ages += model_ages(catalog, transform.output_namespace, transform.cron, at)
    late = [a.as_row() for a in ages if a.status != FRESH]
    headline = summary_line(ages)
    print(headline)
    for row in late:
        print(
            f"  {row['status']:<7} {row['table']}: last load {row['last_load']}, age {row['age']}, "
            f"expected within {row['expected']}"
        )
    create_table_artifact(
        key=ARTIFACT_KEY,
        table=late or [{"table": "", "status": headline}],
        description=headline,
    )
    sent = bool(late) and alerts.send_alert(alerts.freshness_message(late, len(ages), _run_url()))
    if late and not sent and alerts.webhook_url() is not None:
        return Failed(message=f"{headline}; the Discord alert could not be sent", data=late)
    return Completed(message=headline, data=late)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python flows/freshness.py",
        description="Alert once (Discord) listing every declared table older than its maximum age, or missing.",
    )
    parser.add_argument("--source", nargs="+", action="extend", metavar="SOURCE", help="only these sources' tables")
    parser.add_argument("--now", default=None, help="check as of this time (ISO 8601; default: now)")
    args = parser.parse_args(argv)
    now = datetime.fromisoformat(args.now.replace("Z", "+00:00")) if args.now else None
    if now is not None and now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    state = freshness_flow(sources=args.source, now=now, return_state=True)
    return 0 if state.is_completed() else 1


if __name__ == "__main__":
    sys.exit(main())
