"""Two test sources sharing the upstream API ``testapi``: each records the interval its load ran in.

``WORKER_TEST_LIMITED_HANDSHAKE`` (seconds, set by ``tests/test_workers.py``'s cluster) makes a load hold the API slot
until a deployed run of the other source has started, so that run is seen waiting on the slot however long a worker
takes to spawn its process under load (a fixed sleep was not always long enough: a CI run saw the two runs one after
the other, which shows nothing about the slot).
"""

from __future__ import annotations

import os
import time

import polars as pl

from oso_core.engine.flow import SourceRun, source_flow
from oso_core.model.sources import Source, TableSpec

SOURCES = {
    name: Source(name=name, tables=(TableSpec("calls", mode="append"),), flow=f"{name}_flow", api="testapi")
    for name in ("limited_a", "limited_b")
}
PEERS = {"limited_a": "limited_b", "limited_b": "limited_a"}


def _wait_for_peer(source: str, timeout: float) -> None:
    """Until a deployed run of the other source has entered Running (it then waits on the slot this load holds)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterDeploymentId,
        FlowRunFilterStartTime,
    )

    peer = FlowFilter(name=FlowFilterName(any_=[PEERS[source]]))
    started = FlowRunFilter(
        deployment_id=FlowRunFilterDeploymentId(is_null_=False), start_time=FlowRunFilterStartTime(is_null_=False)
    )
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while not client.read_flow_runs(flow_filter=peer, flow_run_filter=started, limit=1):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{source}: no run of {PEERS[source]} started within {timeout:.0f} s")
            time.sleep(0.5)


def _load(run: SourceRun) -> dict[str, pl.DataFrame]:
    started = time.time()
    if handshake := os.environ.get("WORKER_TEST_LIMITED_HANDSHAKE"):
        _wait_for_peer(run.source.name, float(handshake))
    time.sleep(float(os.environ.get("WORKER_TEST_LIMITED_SLEEP", "1")))
    return {"calls": pl.DataFrame({"source": [run.source.name], "started": [started], "ended": [time.time()]})}


@source_flow(SOURCES["limited_a"])
def limited_a_flow(run: SourceRun) -> dict[str, pl.DataFrame]:
    return _load(run)


@source_flow(SOURCES["limited_b"])
def limited_b_flow(run: SourceRun) -> dict[str, pl.DataFrame]:
    return _load(run)
