"""The production topology on this machine: a process work pool, two workers that each run their own copy of the
project, a shared catalog in PostgreSQL and no shared local lake; one worker dies mid-run.

Workers, pools and deployments start once for the module (``cluster``). The lake is production's shape: the catalog
in PostgreSQL and the warehouse on an object store (``s3://`` on the session's moto server, which checks
credentials), so the workers share nothing on local disk; each copy's ``OSO_HOME`` is its own.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, DeploymentFilter, FlowRunFilter
from prefect.deployments import run_deployment

from blocks import setup as alert_setup
from blocks.deployments import project_config, pull_steps
from oso_core.engine.api_limits import ensure_api_limits
from oso_core.model.sources import discover_sources
from oso_core.ops import alerts
from tests.support.alerting import let_triggers_load, mentions, remove_alerting, use_webhook
from tests.support.discord_proxy import DiscordProxy
from tests.support.object_stores import ObjectLake, StoreServer
from tests.support.weekly import max_overlap
from tests.support.workers import Worker, create_pool, deploy, project_copy, start_worker, worker_env

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
PKG = "tests.support.worker_sources"
# the first run of slow is always killed mid-sleep (the resubmitted one does not sleep): a sleep as short as 25 s
# let it complete before the kill when quick's run took that long on a loaded CI machine
SLOW_SECONDS = 600


@dataclass
class Cluster:
    workers: dict[str, Worker]
    pool: str
    lake_env: dict[str, str]
    lake: ObjectLake


@pytest.fixture(scope="module")
def cluster(postgres, s3_server: StoreServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    tmp = tmp_path_factory.mktemp("workers")
    lake = ObjectLake.create(s3_server, postgres, tmp)
    lake_env = {key: value for key, value in lake.env.items() if key.startswith("DAGSTER__ICEBERG__")}
    suffix = uuid.uuid4().hex[:6]
    pool, weekly_pool = f"sources-{suffix}", f"weekly-{suffix}"
    create_pool(pool)
    create_pool(weekly_pool)
    extra = {
        **lake_env,
        "OSO_SOURCE_PACKAGES": PKG,
        "WORKER_TEST_SLEEP": str(SLOW_SECONDS),
        "WORKER_TEST_SLEEP_ONCE": str(tmp / "slow-slept"),  # the run resubmitted after the crash need not wait
        # a load of limited_a or limited_b holds the API slot until a run of the other has started (it then waits
        # on the slot), so two runs are seen at once however slowly a worker spawns under load
        "WORKER_TEST_LIMITED_HANDSHAKE": "90",
        "WORKER_TEST_LIMITED_SLEEP": "2",
    }
    extra.pop("DAGSTER__DISCORD__WEBHOOK_URL", None)
    copies = {name: project_copy(tmp / name) for name in ("a", "b", "orchestrator")}
    config = project_config(
        discover_sources([PKG]), work_pool=pool, package=PKG, pull=pull_steps("OSO_PROJECT_DIR"),
        weekly_work_pool=weekly_pool,
    )  # fmt: skip
    deploy(copies["orchestrator"], config, worker_env(copies["orchestrator"], extra))
    workers: dict[str, Worker] = {}
    try:
        for name, project in copies.items():
            env = worker_env(project, extra)
            env.pop("DAGSTER__DISCORD__WEBHOOK_URL", None)
            workers[name] = start_worker(f"{name}-{suffix}", weekly_pool if name == "orchestrator" else pool,
                                         project, env)  # fmt: skip
        with pytest.MonkeyPatch.context() as patch:
            for key, value in lake_env.items():  # this process reads the same lake back
                patch.setenv(key, value)
            yield Cluster(workers, pool, lake_env, lake)
    finally:
        for worker in workers.values():
            worker.stop()


def _warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from oso_core.warehouse import Warehouse

    monkeypatch.setenv("OSO_HOME", str(tmp_path / "oso"))
    monkeypatch.setenv("OSO_ENV_FILE", str(tmp_path / "no.env"))
    return Warehouse()


def _wait_final(flow_run_id, timeout: float) -> object:
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            run = client.read_flow_run(flow_run_id)
            if run.state and run.state.is_final():
                return run
            if time.monotonic() > deadline:
                raise AssertionError(f"run {run.name} still {run.state.name if run.state else None} after {timeout}s")
            time.sleep(0.5)


def test_two_runs_sharing_an_api_on_workers_never_overlap(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """limited_a and limited_b declare api ``testapi``; with ``api:testapi`` at 1 their loads take turns, though
    each runs in its own process on whichever worker took it."""
    assert ensure_api_limits(["testapi"], limit=1)["api:testapi"] in {"created", "updated", "unchanged"}
    runs = [run_deployment(f"{name}/{name}", timeout=0) for name in ("limited_a", "limited_b", "limited_a")]
    finals = [_wait_final(run.id, 120) for run in runs]
    assert [run.state.name for run in finals] == ["Completed"] * 3
    calls = _warehouse(tmp_path, monkeypatch).sql(
        "SELECT started, ended FROM limited_a.calls UNION ALL SELECT started, ended FROM limited_b.calls"
    )
    intervals = list(zip(calls["started"].to_list(), calls["ended"].to_list(), strict=True))
    assert len(intervals) == 3
    assert max_overlap(intervals) == 1, intervals
    # the two runs of limited_a queue on its deployment's own limit; limited_b waited on the API slot instead
    with get_client(sync_client=True) as client:
        flow_runs = [client.read_flow_run(run.id) for run in runs]
    assert max_overlap([(r.start_time.timestamp(), r.end_time.timestamp()) for r in flow_runs]) >= 2


def test_a_worker_dies_mid_run_and_the_weekly_run_still_loads_everything_once(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, discord_proxy: DiscordProxy
) -> None:
    path = use_webhook(monkeypatch)
    remove_alerting()
    alert_setup.setup_alerts()
    block_id = alert_setup.ensure_block(alerts.webhook_url())[0]
    alert_setup.ensure_automation(alert_setup.weekly_part_crashed_automation(block_id))
    alert_setup.ensure_automation(alert_setup.zombie_automation(timedelta(seconds=50)))  # heartbeats every 30 s
    let_triggers_load()
    try:
        weekly = run_deployment("oso-weekly/weekly", parameters={"only": ["quick", "slow"]}, timeout=0)

        # the slow source lands on one of the two source workers: find which by its marker in that copy
        deadline = time.monotonic() + 90
        victim = None
        while victim is None:
            assert time.monotonic() < deadline, "slow never started"
            for name in ("a", "b"):
                if list(cluster.workers[name].project.glob(".running-slow-*")):
                    victim = cluster.workers[name]
            time.sleep(0.2)
        (first_marker,) = victim.project.glob(".running-slow-*")
        crashed_id = first_marker.name.removeprefix(".running-slow-")
        # only slow may be in flight when its worker dies: wait for quick's run to end (on a loaded machine, or with
        # the object store's uploads, it may still be finishing on the same worker)
        deadline = time.monotonic() + 120
        children_of_weekly = FlowRunFilter(parent_flow_run_id={"any_": [weekly.id]})
        with get_client(sync_client=True) as client:
            while True:
                children = client.read_flow_runs(flow_run_filter=children_of_weekly)
                quick_runs = [run for run in children if str(run.id) != crashed_id]
                if quick_runs and all(run.state and run.state.is_final() for run in quick_runs):
                    break
                assert time.monotonic() < deadline, [(run.name, run.state_name) for run in children]
                time.sleep(0.5)
        time.sleep(3)
        victim.kill()

        final = _wait_final(weekly.id, 300)
        assert final.state.name == "Completed", final.state.message
        with get_client(sync_client=True) as client:
            crashed = client.read_flow_run(crashed_id)
            slow_deployment = client.read_deployment_by_name("slow/slow")
            slow_runs = client.read_flow_runs(
                deployment_filter=DeploymentFilter(id={"any_": [slow_deployment.id]}),
                flow_run_filter=FlowRunFilter(parent_flow_run_id={"any_": [weekly.id]}),
            )
            artifacts = client.read_artifacts(
                artifact_filter=ArtifactFilter(key={"any_": ["weekly-summary"]}),
                flow_run_filter=FlowRunFilter(id={"any_": [weekly.id]}),
            )
        assert crashed.state.name == "Crashed"
        assert sorted(run.state.name for run in slow_runs) == ["Completed", "Crashed"]
        survivor = next(w for w in cluster.workers.values() if w is not victim and w.name[0] in "ab")
        (completed,) = [run for run in slow_runs if run.state.name == "Completed"]
        assert (survivor.project / f".running-slow-{completed.id}").exists()  # the other worker took it
        assert quick_runs  # quick ran as a run of its own deployment too

        # the summary lists every source; slow recovered after one crashed run
        (artifact,) = artifacts
        rows = {row["source"]: row for row in (artifact.data if isinstance(artifact.data, list)
                                               else json.loads(artifact.data))}  # fmt: skip
        assert set(rows) == {"quick", "slow"}
        assert rows["slow"]["state"] == "Completed" and rows["slow"]["crashed_runs"] == 1
        assert rows["slow"]["rows"] == "slow.events: 30" and rows["quick"]["rows"] == "quick.things: 3"

        # every table loaded exactly once: no duplicate, no missing window (read back with DuckDB)
        lake = _warehouse(tmp_path, monkeypatch)
        events = lake.sql("SELECT count(*) AS n, count(DISTINCT id) AS ids FROM slow.events")
        assert events.rows() == [(30, 30)]
        windows = lake.sql("SELECT window_start, count(*) AS n FROM slow.events GROUP BY 1 ORDER BY 1")
        assert windows["n"].to_list() == [10, 10, 10]
        assert lake.sql("SELECT count(*) AS n FROM quick.things")["n"][0] == 3
        # ... from the object store (listed with the store's own client): no worker wrote a local lake
        assert [name for name in cluster.lake.objects("slow") if name.endswith(".parquet")]
        assert not any(w.project.joinpath(".oso", "warehouse").exists() for w in cluster.workers.values())

        # one crash alert for the crashed run, and the recovery of the slow deployment is reported
        crash_alerts = discord_proxy.wait_for(
            lambda r: r["path"] == path and _title(r).startswith("OSO Crashed: slow"), timeout=30
        )
        recovered = discord_proxy.wait_for(
            lambda r: r["path"] == path and _title(r).startswith("OSO recovered: slow"), timeout=30
        )
        time.sleep(3)
        mine = [r for r in discord_proxy.requests() if r["path"] == path]
        assert len([r for r in mine if _title(r).startswith("OSO Crashed")]) == 1, [_title(r) for r in mine]
        assert len(crash_alerts) == 1 and mentions(crash_alerts[0], "weekly-part-slow")
        assert len(recovered) == 1
        assert not [r for r in mine if _title(r).startswith("OSO Failed") or mentions(r, "oso-weekly")], mine
    finally:
        from prefect.automations import Automation

        with get_client(sync_client=True) as client:
            for name in (alert_setup.ZOMBIE_AUTOMATION, alert_setup.WEEKLY_PART_CRASHED_AUTOMATION):
                for automation in client.read_automations_by_name(name):
                    Automation.read(id=automation.id).delete()
        remove_alerting()


def _title(request: dict) -> str:
    """The title of a recorded Discord alert (alerts are embeds, as OSO's were)."""
    return ((request.get("json") or {}).get("embeds") or [{}])[0].get("title", "")


def test_two_threads_sharing_an_api_take_turns(oso_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same guarantee in one process: two loads of ``testapi`` in threads never hold the slot together."""
    from tests.support.worker_sources.limited import limited_a_flow, limited_b_flow

    ensure_api_limits(["testapi"], limit=1)
    monkeypatch.setenv("WORKER_TEST_LIMITED_SLEEP", "1")
    for name in ("DAGSTER__ICEBERG__CATALOG_URI", "DAGSTER__ICEBERG__WAREHOUSE"):  # this test's own embedded lake
        monkeypatch.delenv(name, raising=False)
    threads = [threading.Thread(target=flow) for flow in (limited_a_flow, limited_b_flow)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    from oso_core.warehouse import Warehouse

    lake = Warehouse()
    calls = lake.sql("SELECT started, ended FROM limited_a.calls UNION ALL SELECT started, ended FROM limited_b.calls")
    intervals = list(zip(calls["started"].to_list(), calls["ended"].to_list(), strict=True))
    assert len(intervals) == 2 and max_overlap(intervals) == 1, intervals
