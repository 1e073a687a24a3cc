"""``prefect.yaml`` and ``prefect deploy --all`` against the session's real Prefect server, plus a real worker.

The committed ``prefect.yaml`` must equal what ``python -m blocks.deployments`` generates from the declarations
(nothing listed twice). The server-side tests deploy a file generated for the test-only sources
(``tests.support.weekly_sources``) on their own process work pool, so they do not depend on other sources.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import yaml
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import DeploymentFilter, FlowRunFilter

from blocks import setup as alert_setup
from blocks.deployments import project_config, render, source_deployment
from oso_core.model.sources import discover_sources
from oso_core.ops import alerts
from oso_dev.replay import ReplayServer, Route
from tests.support.alerting import fields, let_triggers_load, mentions, remove_alerting, use_webhook
from tests.support.discord_proxy import DiscordProxy

ROOT = Path(__file__).resolve().parent.parent
PKG = "tests.support.weekly_sources"
PREFECT = str(Path(sys.executable).with_name("prefect"))
BERLIN = ZoneInfo("Europe/Berlin")


def _prefect(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PREFECT, *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_committed_prefect_yaml_is_generated_from_the_declarations() -> None:
    committed = (ROOT / "prefect.yaml").read_text()
    assert committed == render(timezone="UTC"), (
        "stale prefect.yaml: run python -m blocks.deployments --write prefect.yaml"
    )
    config = yaml.safe_load(committed)
    by_name = {d["name"]: d for d in config["deployments"]}
    sources = discover_sources(["flows"])
    assert set(sources) <= set(by_name)
    weekly = by_name["weekly"]
    assert weekly["entrypoint"] == "flows/weekly.py:weekly_flow"
    assert weekly["schedules"] == [{"cron": "0 0 * * 0", "timezone": "UTC", "day_or": True, "active": True}]
    maintenance = by_name["maintenance"]
    assert maintenance["entrypoint"] == "flows/maintenance.py:maintenance_flow"
    assert maintenance["schedules"] == [{"cron": "0 0 * * 3", "timezone": "UTC", "day_or": True, "active": True}]
    assert maintenance["parameters"] == {} and maintenance["concurrency_limit"]["limit"] == 1
    assert "maintenance" not in sources  # a pipeline flow, not a source: flows/maintenance.py declares no SOURCE
    freshness = by_name["freshness"]
    assert freshness["entrypoint"] == "flows/freshness.py:freshness_flow" and "freshness" not in sources
    assert freshness["schedules"] == [{"cron": "0 6 * * *", "timezone": "UTC", "day_or": True, "active": True}]
    assert weekly["tags"] == ["oso", "weekly", "alerts"] and "alerts" in freshness["tags"]
    transform = by_name["transform"]
    assert transform["entrypoint"] == "flows/transform.py:transform_flow" and "transform" not in sources
    assert transform["schedules"] == [{"cron": "0 5 * * *", "timezone": "UTC", "day_or": True, "active": True}]
    assert transform["tags"] == ["oso", "transform", "alerts"] and transform["concurrency_limit"]["limit"] == 1
    for name, source in sources.items():
        # a weekly source runs in the weekly run; any other cadence is its own deployment's active schedule
        own = [] if source.in_weekly_run else [{"cron": source.cron, "timezone": "UTC", "day_or": True, "active": True}]
        assert by_name[name]["entrypoint"] == source.entrypoint and by_name[name]["schedules"] == own
        assert ("alerts" in by_name[name]["tags"]) == (not source.in_weekly_run)
        assert by_name[name]["work_pool"]["name"] == "oso-process"
        assert by_name[name]["concurrency_limit"]["limit"] == 1
        assert (f"{name}-windows" in by_name) == (source.windows is not None)
    for name in ("ossd", "op_atlas", "gitcoin"):
        assert by_name[name]["schedules"] == [{"cron": "0 0 * * *", "timezone": "UTC", "day_or": True, "active": True}]


def test_windowed_sources_get_a_weekly_window_schedule() -> None:
    config = project_config(discover_sources([PKG]), "Europe/Berlin", "pool", PKG)
    by_name = {d["name"]: d for d in config["deployments"]}
    assert sorted(by_name) == [
        "alpha", "beta", "beta-windows", "broken", "freshness", "maintenance", "transform", "weekly"
    ]  # fmt: skip
    assert by_name["maintenance"]["schedules"][0] == {
        "cron": "0 0 * * 3",
        "timezone": "Europe/Berlin",
        "day_or": True,
        "active": True,
    }
    windows = by_name["beta-windows"]
    assert windows["entrypoint"] == "tests/support/weekly_sources/beta.py:beta_flow"
    assert windows["schedules"][0]["cron"] == "0 0 * * 0" and windows["schedules"][0]["active"] is False
    assert by_name["weekly"]["parameters"] == {"concurrency": 4}
    assert by_name["weekly"]["work_pool"]["job_variables"] == {"env": {"OSO_SOURCE_PACKAGES": PKG}}


def test_the_transform_deployment_takes_its_cron_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGSTER__TRANSFORM__CRON", "30 6 * * 1")
    by_name = {
        d["name"]: d for d in project_config(discover_sources([PKG]), "Europe/Berlin", "pool", PKG)["deployments"]
    }
    assert by_name["transform"]["schedules"] == [
        {"cron": "30 6 * * 1", "timezone": "Europe/Berlin", "day_or": True, "active": True}
    ]
    assert by_name["transform"]["work_pool"]["name"] == "pool"
    monkeypatch.setenv("DAGSTER__TRANSFORM__CRON", "every morning")
    with pytest.raises(ValueError, match="DAGSTER__TRANSFORM__CRON"):
        project_config(discover_sources([PKG]), "UTC", "pool", PKG)


def test_a_cron_cadence_gets_its_own_active_schedule_and_an_api_tag() -> None:
    """ossd_sbom runs on OSO's SBOM cadence (Tuesdays and Fridays); weekly-cadence sources stay unscheduled."""
    from dataclasses import replace

    alpha = discover_sources([PKG])["alpha"]
    assert source_deployment(alpha, "pool", "Europe/Berlin")["schedules"] == []
    sbom_like = source_deployment(replace(alpha, cadence="0 0 * * 2,5", api="github"), "pool", "Europe/Berlin")
    assert sbom_like["schedules"] == [
        {"cron": "0 0 * * 2,5", "timezone": "Europe/Berlin", "day_or": True, "active": True}
    ]
    assert "api:github" in sbom_like["tags"]
    real = {d["name"]: d for d in project_config(discover_sources(["flows"]))["deployments"]}
    assert real["ossd_sbom"]["schedules"][0]["cron"] == real["ossd_funding"]["schedules"][0]["cron"] == "0 0 * * 2,5"
    assert real["ossd_github"]["schedules"] == []


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The test sources deployed with ``prefect deploy --all`` on a fresh process pool, weekly in Europe/Berlin."""
    pool = f"oso-test-{uuid.uuid4().hex[:8]}"
    created = _prefect("work-pool", "create", pool, "--type", "process")
    assert created.returncode == 0, created.stderr
    prefect_file = tmp_path_factory.mktemp("deploy") / "prefect.yaml"
    prefect_file.write_text(render(timezone="Europe/Berlin", work_pool=pool, package=PKG))
    result = _prefect("deploy", "--all", "--no-prompt", "--prefect-file", str(prefect_file))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return {"pool": pool, "output": result.stdout}


def test_deploy_all_registers_every_deployment(deployed: dict) -> None:
    with get_client(sync_client=True) as client:
        weekly = client.read_deployment_by_name("oso-weekly/weekly")
        sources = {name: client.read_deployment_by_name(f"{name}/{name}") for name in ("alpha", "beta", "broken")}
        windows = client.read_deployment_by_name("beta/beta-windows")
        maintenance = client.read_deployment_by_name("oso-table-maintenance/maintenance")
    assert weekly.work_pool_name == deployed["pool"] and weekly.tags == ["oso", "weekly", "alerts"]
    assert weekly.parameters == {"concurrency": 4}
    assert weekly.job_variables == {"env": {"OSO_SOURCE_PACKAGES": PKG}}
    assert weekly.global_concurrency_limit.limit == 1
    (schedule,) = weekly.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone, schedule.active) == ("0 0 * * 0", "Europe/Berlin", True)
    for name, deployment in sources.items():
        assert deployment.schedules == [] and f"source:{name}" in deployment.tags
        assert deployment.work_pool_name == deployed["pool"]
    assert windows.schedules[0].active is False
    assert maintenance.work_pool_name == deployed["pool"] and maintenance.tags == ["oso", "maintenance", "alerts"]
    assert maintenance.global_concurrency_limit.limit == 1
    (schedule,) = maintenance.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone, schedule.active) == ("0 0 * * 3", "Europe/Berlin", True)


def test_weekly_runs_fall_on_sundays_at_midnight_across_daylight_saving(deployed: dict) -> None:
    with get_client(sync_client=True) as client:
        weekly = client.read_deployment_by_name("oso-weekly/weekly")
    api = os.environ["PREFECT_API_URL"]
    # the server itself schedules the runs around the 2027-03-28 change from CET (+1) to CEST (+2)
    start, end = datetime(2027, 3, 10, tzinfo=UTC), datetime(2027, 4, 12, tzinfo=UTC)
    response = httpx.post(
        f"{api}/deployments/{weekly.id}/schedule",
        json={"start_time": start.isoformat(), "end_time": end.isoformat(), "min_runs": 5, "max_runs": 10},
    )
    response.raise_for_status()
    # what the scheduler service does every loop: the next runs from now (3 by default)
    httpx.post(f"{api}/deployments/{weekly.id}/schedule", json={}).raise_for_status()
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id={"any_": [weekly.id]}),
            flow_run_filter=FlowRunFilter(
                expected_start_time={"after_": start - timedelta(days=1), "before_": end + timedelta(days=1)}
            ),
        )
        upcoming = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id={"any_": [weekly.id]}),
            flow_run_filter=FlowRunFilter(
                expected_start_time={"after_": datetime.now(UTC), "before_": datetime.now(UTC) + timedelta(days=60)}
            ),
        )
    local = sorted(run.expected_start_time.astimezone(BERLIN) for run in runs)
    assert [t.date().isoformat() for t in local] == [
        "2027-03-14",
        "2027-03-21",
        "2027-03-28",
        "2027-04-04",
        "2027-04-11",
    ]
    assert all(t.weekday() == 6 and (t.hour, t.minute) == (0, 0) for t in local)
    assert sorted({t.utcoffset() for t in local}) == [timedelta(hours=1), timedelta(hours=2)]
    # and the scheduler's own upcoming runs are Sunday midnights in Berlin as well
    assert len(upcoming) >= 3, "the server scheduled no upcoming runs"
    for run in upcoming:
        when = run.expected_start_time.astimezone(BERLIN)
        assert when.weekday() == 6 and (when.hour, when.minute) == (0, 0)


def _run_deployment_with_worker(name: str, pool: str, env: dict[str, str], parameters: dict | None = None):
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(name)
        flow_run = client.create_flow_run_from_deployment(deployment.id, parameters=parameters or {})
    worker = _prefect("worker", "start", "--pool", pool, "--run-once", env=env, timeout=180)
    assert worker.returncode == 0, worker.stderr[-3000:]  # --run-once exits 0 even when the run failed
    with get_client(sync_client=True) as client:
        return client.read_flow_run(flow_run.id)


def test_worker_runs_a_failing_deployment_and_the_alerts_follow(
    deployed: dict, oso_home: Path, monkeypatch: pytest.MonkeyPatch, discord_proxy: DiscordProxy
) -> None:
    monkeypatch.setenv("WEEKLY_TEST_SLEEP", "0")
    path = use_webhook(monkeypatch)
    remove_alerting()
    alert_setup.setup_alerts()
    let_triggers_load()
    env = {"OSO_HOME": str(oso_home), "WEEKLY_TEST_SLEEP": "0"}
    try:
        failed = _run_deployment_with_worker("broken/broken", deployed["pool"], env)
        assert failed.state.type.value == "FAILED"
        (message,) = discord_proxy.wait_for(lambda r: r["path"] == path and mentions(r, str(failed.id)))
        (embed,) = message["json"]["embeds"]
        assert embed["title"] == "OSO Failed: broken / broken" and fields(embed)["Run"] == failed.name
        assert fields(embed)["First error"] == "ValueError: broken: record 3 of /things has no field 'id'"
        assert embed["url"].endswith(f"/runs/flow-run/{failed.id}") and message["problems"] == []
        assert message["status"] == 204

        # recovery: the alpha deployment fails while its API answers 404, then completes once it is back
        items = ROOT / "tests" / "support" / "weekly_sources" / "fixtures" / "alpha"
        down_server = ReplayServer([Route(path="/elsewhere")])
        with down_server as down, ReplayServer.for_source("alpha", root=items.parent) as up:
            assert items.is_dir()
            first = _run_deployment_with_worker("alpha/alpha", deployed["pool"], env, {"base_url": down.url})
            assert first.state.type.value == "FAILED"
            second = _run_deployment_with_worker("alpha/alpha", deployed["pool"], env, {"base_url": up.url})
            assert second.state.type.value == "COMPLETED"
        (recovered,) = discord_proxy.wait_for(lambda r: r["path"] == path and mentions(r, '"OSO recovered'))
        assert recovered["json"] == alerts.recovery_message(
            "alpha", second.name, f"{os.environ['PREFECT_UI_URL']}/runs/flow-run/{second.id}", "alpha"
        )
        (embed,) = recovered["json"]["embeds"]
        assert embed["title"] == "OSO recovered: alpha / alpha" and fields(embed)["Run"] == second.name
        assert embed["description"] == "Completed again after a failed run." and embed["color"] == 0x2ECC71
    finally:
        remove_alerting()


@pytest.mark.timeout(600)  # one CLI process deploying ~25 flows: 75 s on a quiet CI machine, over 120 s on a busy one
def test_committed_prefect_yaml_deploys(tmp_path: Path) -> None:
    """``prefect deploy --all`` with the project's own file: every declared source becomes a deployment."""
    _prefect("work-pool", "create", "oso-process", "--type", "process", "--overwrite")
    result = _prefect("deploy", "--all", "--no-prompt", timeout=480)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with get_client(sync_client=True) as client:
        deployments = client.read_deployments()
    names = {d.name for d in deployments if d.work_pool_name == "oso-process"}
    assert {"weekly", "maintenance", "freshness", *discover_sources(["flows"])} <= names
    # the daily sources are scheduled on the server: midnight every day, active, tagged for alerts
    with get_client(sync_client=True) as client:
        for name in ("ossd", "op_atlas", "gitcoin"):
            deployment = client.read_deployment_by_name(f"{name}/{name}")
            (schedule,) = deployment.schedules
            assert (schedule.schedule.cron, schedule.schedule.timezone, schedule.active) == ("0 0 * * *", "UTC", True)
            assert "alerts" in deployment.tags
        freshness = client.read_deployment_by_name("oso-freshness/freshness")
        assert freshness.schedules[0].schedule.cron == "0 6 * * *" and freshness.schedules[0].active
        npm = client.read_deployment_by_name("npm/npm")
        assert npm.schedules == []  # weekly: carried by the weekly run
