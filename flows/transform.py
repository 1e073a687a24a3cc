"""The transformation stage: the sqlmesh project runs over the lake, and its models land back in it as Iceberg tables.

    python flows/transform.py                                   # plan prod with auto-apply, run, publish
    python flows/transform.py --dry-run                         # print the plan; apply nothing, publish nothing
    python flows/transform.py --select oso.stg_ossd__current_projects
    python flows/transform.py --restate 'tag:entity_category=project'   # OSO's restate jobs
    python flows/transform.py --environment dev                 # a sqlmesh dev environment (not published)

OSO's Dagster ran the whole sqlmesh project as one multi-asset (plan ``prod`` with auto-apply, then run); this flow
does the same through sqlmesh's Python API (``oso_core.transform.runner``) on the embedded DuckDB gateway (or Trino,
setting ``transform.gateway``), reading every lake table at the snapshot current when it starts. Then each model is
one Prefect task (``model <name>``) that publishes it to namespace ``oso`` (``oso_core.transform.publish``) and
shows its audits; a model that failed (SQL error, failed audit) fails its task, publishes nothing, and holds back
its downstream. The run ends Failed naming the failed models and the first error (the failure alert reads it),
and attaches the ``transform-summary`` (model, kind, state, rows, audits, published snapshot) and
``transform-inputs`` (the pinned lake snapshots) table artifacts. Settings: group ``transform`` (README).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

if __name__ == "__main__" and not {"-h", "--help"} & set(sys.argv[1:]):
    from oso_core import use_local_server

    use_local_server()

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NONE
from prefect.states import Completed, Failed, State

from oso_core import alert_on_failure, failure_state_message, guarded_flow, settings

SUMMARY_KEY = "transform-summary"
INPUTS_KEY = "transform-inputs"


class ModelFailed(Exception):
    """Raised by a model's task so it shows Failed; the message names the model and its error or failed audits."""


@task(name="sqlmesh plan and run", cache_policy=NONE)
def plan_and_run(options: Any) -> Any:
    """Pin the lake, plan the environment with auto-apply, run it (``oso_core.transform.runner``)."""
    from oso_core import run_transform

    return run_transform(options)


@task(cache_policy=NONE)
def model_task(publisher: Any, outcome: Any) -> Any:
    """One model: its audits, then its publish; Failed when the model, an audit or the publish failed."""
    result = publisher.publish(outcome)
    print(f"{outcome.model}: {outcome.state}; audits: {outcome.audit_text()}; {result.state}"
          f"{f' ({result.rows:,} rows, snapshot {result.snapshot_id})' if result.snapshot_id else ''}"
          f"{f': {result.detail}' if result.detail else ''}")  # fmt: skip
    if outcome.failed:
        audits = f" (failed audits: {', '.join(outcome.failed_audits)})" if outcome.failed_audits else ""
        raise ModelFailed(f"model {outcome.model}{audits}: {outcome.error}")
    if result.state == "failed":
        raise ModelFailed(f"model {outcome.model}: publishing {result.table} failed: {result.detail}")
    return result


def summary_rows(run: Any, published: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for outcome in run.models:
        result = published.get(outcome.model)
        rows.append(
            {
                "model": outcome.model,
                "kind": outcome.kind,
                "state": outcome.state,
                "rows": result.rows if result else 0,
                "audits": outcome.audit_text(),
                "published": result.state if result else "not published",
                "table": result.table if result else "",
                "snapshot_id": str(result.snapshot_id) if result and result.snapshot_id else "",
                "error": outcome.error or (result.detail if result and result.state == "failed" else ""),
            }
        )
    return rows


def _artifacts(run: Any, rows: list[dict[str, Any]], description: str) -> None:
    create_table_artifact(key=SUMMARY_KEY, table=rows or [{"model": "", "state": "no models"}], description=description)
    pins = [
        {"table": p.table, "snapshot_id": str(p.snapshot_id or ""), "metadata": p.metadata_location}
        for p in run.pins.values()
    ]
    create_table_artifact(
        key=INPUTS_KEY,
        table=pins or [{"table": "", "snapshot_id": "no lake tables"}],
        description=f"lake snapshots the transform read ({run.gateway} gateway, state {run.state})",
    )


@guarded_flow(
    "oso-transform",
    on_failure=[alert_on_failure],
    on_crashed=[alert_on_failure],
    log_prints=True,
)
def transform_flow(
    select: list[str] | None = None,
    restate: list[str] | None = None,
    environment: str | None = None,
    dry_run: bool = False,
    accept: list[str] | None = None,
) -> State:
    """Plan ``environment`` (setting ``transform.environment``, ``prod``) with auto-apply, run it, publish each
    clean model; ``select`` / ``restate`` are sqlmesh model selections; ``accept`` lets a named lake check pass
    once (``oso.<table>:<check>``, as a source's ``--accept``)."""
    from oso_core import Publisher, TransformOptions, Warehouse, accepting

    typed = settings.transform()
    options = TransformOptions(
        environment=environment, select=tuple(select or ()), restate=tuple(restate or ()), dry_run=dry_run
    )
    run = plan_and_run(options)
    if restate:
        print(f"restated as asked (and their downstream): {', '.join(restate)}")
    moved = [model for model in run.restated if model not in (restate or ())]
    if moved:
        print(f"restated (their lake inputs moved since they were published): {', '.join(moved)}")
    if dry_run:
        print(run.plan_text)
        create_markdown_artifact(key="transform-plan", markdown=f"```\n{run.plan_text}\n```")
        return Completed(message="dry run: plan printed, nothing applied")
    from oso_core import GatewayFiles

    published: dict[str, Any] = {}
    failures: list[str] = []
    publish = run.environment == "prod" and run.gateway == "duckdb"
    if run.environment != "prod":
        print(f"environment {run.environment}: models are not published (only prod is)")
    elif not publish:  # Trino writes the models into its own Iceberg catalog, as OSO's production did
        print(f"gateway {run.gateway}: the models are the gateway catalog's own tables; nothing is copied")
    warehouse = Warehouse()
    with Publisher(warehouse, GatewayFiles.in_home().database, typed.output_namespace, run.plan_id,
                   typed.publish_tags) as publisher, accepting(accept):  # fmt: skip
        for outcome in run.models:
            if not publish:
                outcome = _unpublished(outcome)
            try:
                published[outcome.model] = model_task.with_options(name=f"model {outcome.model}")(publisher, outcome)
            except ModelFailed as error:
                failures.append(str(error))
                from oso_core import Published

                published[outcome.model] = publisher.last or Published(outcome.model, "", "not published")
    rows = summary_rows(run, published)
    done = sum(1 for r in rows if r["published"] == "published")
    same = sum(1 for r in rows if r["published"] == "unchanged")
    description = f"{len(rows)} models: {done} published, {same} unchanged, {len(failures)} failed"
    _artifacts(run, rows, description)
    print(description)
    failed_models = [r["model"] for r in rows if r["state"] in ("failed", "skipped") or r["published"] == "failed"]
    if failures or run.errors:
        first = failures[0] if failures else run.errors[0]
        return Failed(message=failure_state_message(len(failed_models) or 1, first, failed_models), data=rows)
    return Completed(message=description, data=rows)


def _unpublished(outcome: Any) -> Any:
    """The outcome as the publisher must see it outside prod or the DuckDB gateway: nothing to publish from."""
    import dataclasses

    return dataclasses.replace(outcome, table="", state=outcome.state if outcome.failed else "not published")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python flows/transform.py",
        description="Plan the sqlmesh project's environment with auto-apply, run it over the lake, and publish "
        "its models as Iceberg tables (namespace oso).",
    )
    parser.add_argument("--select", nargs="+", action="extend", metavar="MODEL", help="only these models "
                        "(sqlmesh selections: oso.stg_x, tag:x, +oso.x for upstream)")  # fmt: skip
    parser.add_argument("--restate", nargs="+", action="extend", metavar="MODEL",
                        help="recompute these and their downstream, e.g. 'tag:entity_category=project'")  # fmt: skip
    parser.add_argument("--environment", default=None, help="sqlmesh environment (default: transform.environment)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan; apply and publish nothing")
    parser.add_argument("--accept", nargs="+", action="extend", metavar="NS.TABLE:CHECK",
                        help="let this failed lake check pass once")  # fmt: skip
    args = parser.parse_args(argv)
    try:
        settings.transform()
    except ValueError as exc:
        parser.error(str(exc))
    state = transform_flow(
        select=args.select,
        restate=args.restate,
        environment=args.environment,
        dry_run=args.dry_run,
        accept=args.accept,
        return_state=True,
    )
    if not state.is_completed():
        print(state.message or "transform failed", file=sys.stderr)
    return 0 if state.is_completed() else 1


if __name__ == "__main__":
    sys.exit(main())
