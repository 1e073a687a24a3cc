"""The weekly pipeline: every declared source, isolated, a few at a time (OSO's Sunday ``materialize`` job).

``python flows/weekly.py --replay --every-cadence`` loads every source from its recorded fixtures, offline.
Deployed, it runs on the ``0 0 * * 0`` cron of ``prefect.yaml`` and loads the ``weekly`` sources; the daily and
cron ones run on their own deployments' schedules. It ends Failed when any source failed, with a state message naming
how many and the first error (the failure alert reads it), and publishes a ``weekly-summary`` table artifact.
After the loads it runs the transform (``flows/transform.py``, a subflow ``weekly-part-transform``) unless setting
``transform.in_weekly`` is false or ``--no-transform`` is given; a failed transform fails the weekly run too.
"""

from __future__ import annotations

import argparse
import contextlib
import sys

if __name__ == "__main__":  # a command line picks its Prefect API (analytics off) before Prefect is imported
    from oso_core import use_local_server_as_command

    use_local_server_as_command()

from prefect.artifacts import create_table_artifact
from prefect.states import Completed, Failed, State

from oso_core import (
    TASK_RUNNERS,
    WEEKLY_PART_PREFIX,
    alert_on_failure,
    build_task_runner,
    configured_concurrency,
    failure_state_message,
    first_error_line,
    guarded_flow,
    open_catalog,
    render_summary,
    run_sources,
    select_sources,
    settings,
)


@guarded_flow(
    "oso-weekly",
    task_runner=build_task_runner(),
    on_failure=[alert_on_failure],
    on_crashed=[alert_on_failure],
    log_prints=True,
)
def weekly_flow(
    only: list[str] | None = None,
    skip: list[str] | None = None,
    concurrency: int | None = None,
    every_cadence: bool = False,
    transform: bool | None = None,
) -> State:
    """Load every weekly source (``only`` / ``skip`` narrow it; ``every_cadence`` adds the daily and cron ones),
    ``concurrency`` at a time; then run the transform (``flows/transform.py``) unless ``transform`` is False
    (default: setting ``transform.in_weekly``)."""
    open_catalog()  # a wrong warehouse endpoint, bucket or credential fails here, naming the setting, before any source
    sources = select_sources(only, skip, every_cadence)
    outcomes = run_sources(sources, concurrency or configured_concurrency())
    print(render_summary(outcomes))
    rows = [o.as_row() for o in outcomes]
    failed = [o for o in outcomes if not o.ok]
    transformed = _transform(failed) if (settings.transform().in_weekly if transform is None else transform) else None
    create_table_artifact(
        key="weekly-summary",
        table=rows or [{"source": "", "state": "no sources"}],
        description=f"{len(outcomes) - len(failed)} of {len(outcomes)} sources completed",
    )
    if failed or (transformed is not None and not transformed.is_completed()):
        names = [o.source for o in failed]
        first = f"{failed[0].source}: {failed[0].error}" if failed else ""
        if transformed is not None and not transformed.is_completed():
            names.append("transform")
            first = first or f"transform: {first_error_line(transformed.message)}"
        return Failed(message=failure_state_message(len(names), first, names), data=rows)
    return Completed(message=f"{len(outcomes)} sources completed" + (", then the transform" if transformed else ""),
                     data=rows)  # fmt: skip


def _transform(failed: list) -> State:
    """The transform after the loads, as OSO's Sunday job ran sqlmesh after its assets. A source that failed this run
    committed nothing, so its tables are read at their last good snapshot; the run says which."""
    from flows.transform import transform_flow

    if failed:
        print(f"transform: the tables of {', '.join(o.source for o in failed)} (failed this run) are read at their "
              "last good snapshot")  # fmt: skip
    state = transform_flow.with_options(flow_run_name=f"{WEEKLY_PART_PREFIX}transform")(return_state=True)
    print(f"transform: {state.name}: {first_error_line(state.message)}")
    return state


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python flows/weekly.py",
        description="Run every declared source once, a few at a time; one failing source does not stop the others.",
    )
    parser.add_argument("--replay", action="store_true", help="load every source from its recorded fixtures")
    parser.add_argument("--only", nargs="+", metavar="SOURCE", help="run only these sources")
    parser.add_argument("--skip", nargs="+", metavar="SOURCE", help="run every source but these")
    parser.add_argument(
        "--every-cadence",
        action="store_true",
        help="also run the sources that have their own daily or cron schedule (left out of the weekly run)",
    )
    parser.add_argument(
        "--concurrency", type=int, default=None, help="sources in flight at once (default: setting weekly.concurrency)"
    )
    parser.add_argument(
        "--no-transform", action="store_true", help="skip the transform after the loads (setting transform.in_weekly)"
    )
    parser.add_argument(
        "--task-runner", choices=TASK_RUNNERS, default=None, help="where sources run (default: weekly.task_runner)"
    )
    args = parser.parse_args(argv)
    try:
        select_sources(args.only, args.skip, args.every_cadence)
    except ValueError as exc:
        parser.error(str(exc))
    concurrency = args.concurrency or configured_concurrency()
    runner = build_task_runner(args.task_runner, concurrency)
    with contextlib.ExitStack() as local:
        if args.replay:  # a process setting of this command line, never a parameter of the deployed flow
            from oso_dev.replay import replaying

            local.enter_context(replaying())
        state = weekly_flow.with_options(task_runner=runner)(
            only=args.only,
            skip=args.skip,
            concurrency=concurrency,
            every_cadence=args.every_cadence,
            transform=False if args.no_transform else None,
            return_state=True,
        )
    return 0 if state.is_completed() else 1


if __name__ == "__main__":
    sys.exit(main())
