"""The Prefect run this code runs in, if any: one answer for the engine, the warehouse, windows and the pipeline.

Why here: the warehouse stamps each snapshot with the flow run that wrote it, the engine and windowed loads record
steps as task runs only inside a flow run, and the weekly pipeline names itself the parent of the runs it starts.
They asked the same question four ways (one raised outside a run, one imported Prefect to learn there was no run);
this module asks it once, and never imports Prefect when nothing has: outside a flow run Prefect may not even be
loaded, and importing it would cost seconds for nothing.
"""

from __future__ import annotations

import sys
from typing import Any


def in_flow_run() -> bool:
    """Whether this code runs inside a Prefect flow run (only then are steps recorded as task runs)."""
    if "prefect" not in sys.modules:
        return False
    from prefect.context import FlowRunContext

    return FlowRunContext.get() is not None


def flow_run_id() -> str | None:
    """The id of the Prefect flow run this code runs in, or None outside one."""
    if "prefect" not in sys.modules:
        return None
    try:
        from prefect.runtime import flow_run

        run_id = flow_run.id
    except Exception:  # noqa: BLE001 - outside a flow run there is no id
        return None
    return str(run_id) if run_id else None


def task_value(state: Any) -> Any:
    """The value of a task run that returned ``Completed(message=..., data=value)``: ``value`` (raises if failed)."""
    from prefect.states import State

    if not isinstance(state, State):
        return state
    value = state.result()
    return value.result() if isinstance(value, State) else value
