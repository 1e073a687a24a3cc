"""The weekly pipeline on the session's real Prefect server, over a test-only package of tiny sources.

``tests.support.weekly_sources`` holds ``alpha`` (HTTP, replayed by ``oso_dev.replay``), ``beta`` (its own replay
hook) and ``broken`` (a task fails on bad input). The real sources in ``flows/`` are not used here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, FlowRunFilter
from prefect.task_runners import ThreadPoolTaskRunner
from prefect_dask import DaskTaskRunner

from flows.weekly import weekly_flow
from oso_core.ops.pipeline import build_task_runner, select_sources
from oso_dev.replay import replaying
from tests.support.weekly import max_overlap, replayed

PKG = "tests.support.weekly_sources"
ROOT = Path(__file__).resolve().parent.parent
REPLAY_DIR = ROOT / "tests" / "support" / "weekly_sources" / "fixtures"


@pytest.fixture
def weekly_env(oso_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OSO_REPLAY_DIR", str(REPLAY_DIR))
    monkeypatch.setenv("OSO_SOURCE_PACKAGES", PKG)
    monkeypatch.setenv("WEEKLY_TEST_SLEEP", "1")
    monkeypatch.delenv("DAGSTER__DISCORD__WEBHOOK_URL", raising=False)
    return oso_home


def test_weekly_isolates_a_failing_source_and_summarises_every_source(weekly_env: Path, warehouse) -> None:
    state = replayed(weekly_flow, concurrency=2, return_state=True)

    # the weekly run fails because one source failed, and says how many and why, in one line
    assert state.is_failed()
    assert state.message == (
        "1 failed task runs; failed: broken; "
        "first error: broken: ValueError: broken: record 3 of /things has no field 'id'"
    )
    # the other sources loaded anyway; read back independently through DuckDB
    assert warehouse.sql("select count(*) as n from alpha.items")["n"][0] == 3
    assert warehouse.sql("select distinct origin from beta.things")["origin"].to_list() == ["sample"]

    flow_run_id = state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key={"any_": ["weekly-summary"]}),
            flow_run_filter=FlowRunFilter(id={"any_": [flow_run_id]}),
        )
        task_runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id={"any_": [flow_run_id]}))
    assert len(artifacts) == 1
    rows = artifacts[0].data if isinstance(artifacts[0].data, list) else json.loads(artifacts[0].data)
    by_source = {row["source"]: row for row in rows}
    assert set(by_source) == {"alpha", "beta", "broken"}
    assert by_source["alpha"]["state"] == "Completed" and by_source["alpha"]["rows"] == "alpha.items: 3"
    assert by_source["beta"]["rows"] == "beta.things: 2" and by_source["beta"]["first_error"] == ""
    assert by_source["broken"]["state"] == "Failed"
    assert by_source["broken"]["first_error"] == "ValueError: broken: record 3 of /things has no field 'id'"
    assert all(row["seconds"] >= 1 for row in rows)  # each source sleeps 1 s: durations are the sources'
    assert artifacts[0].description == "2 of 3 sources completed"

    # one task per source; at most two ran at once, and two did run at once
    loads = {t.name: t for t in task_runs if t.name.startswith("load-")}
    assert {name: t.state.type.value for name, t in loads.items()} == {
        "load-alpha": "COMPLETED",
        "load-beta": "COMPLETED",
        "load-broken": "FAILED",
    }
    intervals = [(t.start_time.timestamp(), t.end_time.timestamp()) for t in loads.values()]
    assert max_overlap(intervals) == 2


def test_concurrency_one_runs_sources_one_after_another(weekly_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEEKLY_TEST_SLEEP", "0.3")
    state = replayed(weekly_flow, only=["alpha", "beta"], concurrency=1, return_state=True)
    assert state.is_completed()
    assert state.message == "2 sources completed"
    with get_client(sync_client=True) as client:
        task_runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id={"any_": [state.state_details.flow_run_id]}))
    intervals = [(t.start_time.timestamp(), t.end_time.timestamp()) for t in task_runs if t.name.startswith("load-")]
    assert len(intervals) == 2 and max_overlap(intervals) == 1


def test_weekly_on_a_local_dask_cluster(weekly_env: Path, warehouse) -> None:
    runner = build_task_runner("dask", 2, processes=False)
    assert isinstance(runner, DaskTaskRunner)
    state = replayed(
        weekly_flow.with_options(task_runner=runner), only=["alpha", "broken"], concurrency=2, return_state=True
    )
    assert state.is_failed() and state.message.startswith("1 failed task runs; failed: broken; first error: broken:")
    assert warehouse.read("alpha.items").height == 3


def test_weekly_on_a_local_dask_cluster_of_processes(weekly_env: Path, warehouse) -> None:
    """Worker processes, not threads: each source's replay parameters travel with its task."""
    runner = build_task_runner("dask", 2, processes=True)
    state = replayed(weekly_flow.with_options(task_runner=runner), concurrency=2, return_state=True)
    assert state.is_failed() and state.message.startswith("1 failed task runs; failed: broken; first error: broken:")
    assert warehouse.read("alpha.items").height == 3
    assert warehouse.sql("select distinct origin from beta.things")["origin"].to_list() == ["sample"]


ON_A_TEMPORARY_SERVER = """
import json
from dataclasses import replace

import os

from prefect import flow, task
from prefect.client.orchestration import get_client

from oso_core.ops.pipeline import build_task_runner, run_sources, select_sources
from oso_dev.replay import replaying


@task
def what_the_worker_sees() -> tuple[int, str, bool]:
    from distributed import get_worker

    profiling = "profile" in get_worker().periodic_callbacks
    return os.getpid(), str(get_client(sync_client=True).api_url), profiling


@flow(name="weekly-on-a-temporary-server", task_runner=build_task_runner("dask", 1, processes=True))
def on_a_temporary_server() -> dict:
    (alpha,) = select_sources(only=["alpha"])
    with replaying():
        (outcome,) = run_sources([replace(alpha, depends_on=())], concurrency=1)
    worker_pid, worker_api, profiling = what_the_worker_sees.submit().result()
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(outcome.flow_run_id)
        return {"outcome": outcome.state, "recorded": run.state_name, "api": str(client.api_url),
                "worker_api": worker_api, "in_a_worker_process": worker_pid != os.getpid(),
                "worker_profiles": profiling}


print(json.dumps(on_a_temporary_server()))
"""


@pytest.mark.slow
def test_cluster_workers_report_to_the_runs_temporary_server(weekly_env: Path, tmp_path: Path) -> None:
    """With no Prefect API configured, the run's temporary server is the one its Dask worker processes use.

    Before, each worker process started a temporary server of its own: ~10 s more per worker, several servers on
    one database, and a server left running for good when a worker was killed.
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PREFECT_HOME": str(tmp_path / "prefect"), "WEEKLY_TEST_SLEEP": "0"}
    env.pop("PREFECT_API_URL", None)
    env["PREFECT_PROFILES_PATH"] = str(tmp_path / "no-profiles.toml")
    env["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "90"  # Prefect's 20 s is short on a loaded machine
    run = subprocess.run(
        [sys.executable, "-c", ON_A_TEMPORARY_SERVER], cwd=ROOT, env=env, capture_output=True, text=True, timeout=400
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["outcome"] == "Completed" and report["recorded"] == "Completed", report
    assert report["api"].startswith("http://127.0.0.1:") and report["api"] != os.environ.get("PREFECT_API_URL")
    assert report["in_a_worker_process"] and report["worker_api"] == report["api"], report
    assert report["worker_profiles"] is False  # see test_cluster_workers_do_not_sample_stacks


def test_cluster_workers_do_not_sample_stacks(weekly_env: Path) -> None:
    """Dask's worker profiler calls ``sys._current_frames()`` every 10 ms; on this CPython (< 3.11.9) that can
    deadlock the interpreter against a fan-out thread that is ending (python/cpython#106883). CI saw a worker frozen
    in it with a source's response unread. The weekly run's cluster runs without it, in-process workers too."""
    from distributed import get_worker
    from prefect import flow, task

    @task
    def profiling() -> bool:
        return "profile" in get_worker().periodic_callbacks

    @flow(name="weekly-no-profiler", task_runner=build_task_runner("dask", 1, processes=False))
    def probe() -> bool:
        return profiling.submit().result(timeout=120)

    assert probe() is False


def test_weekly_on_a_local_ray_cluster(weekly_env: Path, warehouse) -> None:
    pytest.importorskip("prefect_ray")
    runner = build_task_runner("ray", 2)
    assert type(runner).__name__ == "RayTaskRunner"
    state = replayed(weekly_flow.with_options(task_runner=runner), concurrency=2, return_state=True)
    assert state.is_failed() and state.message.startswith("1 failed task runs; failed: broken; first error: broken:")
    assert warehouse.read("alpha.items").height == 3
    assert warehouse.sql("select distinct origin from beta.things")["origin"].to_list() == ["sample"]


def test_task_runner_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DAGSTER__WEEKLY__TASK_RUNNER", raising=False)
    monkeypatch.setenv("OSO_ENV_FILE", "/nonexistent.env")
    threads = build_task_runner(max_workers=3)
    assert isinstance(threads, ThreadPoolTaskRunner) and threads._max_workers == 3
    monkeypatch.setenv("DAGSTER__WEEKLY__TASK_RUNNER", "dask")
    assert isinstance(build_task_runner(), DaskTaskRunner)
    monkeypatch.setenv("DAGSTER__WEEKLY__TASK_RUNNER", "ray")
    assert type(build_task_runner()).__name__ == "RayTaskRunner"  # the `ray` extra is installed here
    monkeypatch.setitem(sys.modules, "prefect_ray", None)  # as without the extra
    with pytest.raises(RuntimeError, match="pip install prefect-ray"):
        build_task_runner()
    with pytest.raises(ValueError, match="unknown task runner 'spark'"):
        build_task_runner("spark")


def test_sources_come_from_the_declarations_and_only_skip_narrow_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OSO_SOURCE_PACKAGES", PKG)
    assert [s.name for s in select_sources()] == ["alpha", "beta", "broken"]
    assert [s.name for s in select_sources(only=["beta"])] == ["beta"]
    assert [s.name for s in select_sources(skip=["broken"])] == ["alpha", "beta"]
    with pytest.raises(ValueError, match="unknown source.*nope; known: alpha, beta, broken"):
        select_sources(only=["nope"])


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "flows/weekly.py", *args],
        cwd=ROOT,
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_command_line_replay_help_and_bad_names(weekly_env: Path) -> None:
    env = {
        "OSO_HOME": str(weekly_env),
        "OSO_REPLAY_DIR": str(REPLAY_DIR),
        "WEEKLY_TEST_SLEEP": "0",
        "OSO_SOURCE_PACKAGES": PKG,
    }
    helped = _cli("--help", env=env)
    assert helped.returncode == 0
    for option in ("--replay", "--only", "--skip", "--concurrency", "--task-runner"):
        assert option in helped.stdout

    bad = _cli("--only", "nope", env=env)
    assert bad.returncode == 2 and "unknown source(s) nope" in bad.stderr

    ran = _cli("--replay", "--skip", "broken", "--concurrency", "2", env=env)
    assert ran.returncode == 0, ran.stderr[-3000:]
    output = ran.stdout + ran.stderr
    assert "weekly: 2 of 2 sources completed" in output
    assert "alpha.items=3" in output and "beta.things=2" in output


def test_a_source_starts_only_after_the_sources_it_reads(weekly_env: Path, warehouse) -> None:
    """defillama and npm read ossd.projects: a dependent starts after its dependency, even with room to spare."""
    from dataclasses import replace

    from prefect import flow

    from oso_core.ops.pipeline import run_sources

    alpha, beta = select_sources(only=["alpha", "beta"])
    alpha_after_beta = replace(alpha, depends_on=("beta",))

    @flow(name="weekly-ordering-test")
    def ordered() -> list:
        with replaying():
            return run_sources([alpha_after_beta, beta], concurrency=2)

    outcomes = ordered()
    assert [o.state for o in outcomes] == ["Completed", "Completed"]
    with get_client(sync_client=True) as client:
        runs = {o.source: client.read_flow_run(o.flow_run_id) for o in outcomes}
    assert runs["alpha"].start_time >= runs["beta"].end_time
    assert warehouse.sql("select count(*) as n from alpha.items")["n"][0] == 3


def test_a_dependency_cycle_is_a_clear_error(weekly_env: Path) -> None:
    from dataclasses import replace

    from prefect import flow

    from oso_core.ops.pipeline import run_sources

    alpha, beta = select_sources(only=["alpha", "beta"])

    @flow(name="weekly-cycle-test")
    def cyclic() -> list:
        return run_sources([replace(alpha, depends_on=("beta",)), replace(beta, depends_on=("alpha",))], 2)

    with pytest.raises(ValueError, match="cycle: alpha -> beta, beta -> alpha"):
        cyclic()


def test_a_source_that_overruns_the_timeout_ends_timed_out_and_the_others_still_load(
    weekly_env: Path, warehouse, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """No wait is unbounded: beta sleeps 120 s against a 20 s ``weekly.source_timeout``; the pipeline gives it up at
    its deadline (it does not wait the 120 s) and reports it, and where it was, while alpha loads. (The test then
    lets beta's thread end: a thread cannot be stopped from outside.)"""
    import time
    from dataclasses import replace

    from prefect import flow

    from oso_core.ops.pipeline import run_sources

    monkeypatch.setenv("DAGSTER__WEEKLY__SOURCE_TIMEOUT", "20")
    monkeypatch.setenv("WEEKLY_TEST_SLEEP", "0")
    monkeypatch.setenv("WEEKLY_TEST_SLEEP_BETA", "120")
    release = tmp_path / "release-beta"
    monkeypatch.setenv("WEEKLY_TEST_RELEASE_BETA", str(release))
    alpha, beta = select_sources(only=["alpha", "beta"])

    @flow(name="weekly-timeout-test", task_runner=build_task_runner("dask", 2, processes=False))
    def bounded() -> tuple[list, float]:
        with replaying():
            began = time.monotonic()
            outcomes = run_sources([beta, replace(alpha, depends_on=())], concurrency=2)
            waited = time.monotonic() - began
            release.touch()
            return outcomes, waited

    outcomes, waited = bounded()
    by_source = {o.source: o for o in outcomes}
    assert by_source["alpha"].state == "Completed"
    assert by_source["beta"].state == "TimedOut"
    assert by_source["beta"].error == ("no result after 20 s (setting weekly.source_timeout); its task was given up")
    assert 20 <= waited < 100, waited
    assert warehouse.sql("select count(*) as n from alpha.items")["n"][0] == 3
    log = capsys.readouterr().out
    where = log[log.index("beta: no result after 20 s; where its task was:") :]
    assert "weekly_sources/beta.py" in where and "in beta_flow" in where, where[:3000]


@pytest.mark.slow
@pytest.mark.parametrize("resubmits", [1, 0])
def test_a_cluster_worker_that_dies_mid_load_is_resubmitted_not_a_hung_run(
    resubmits: int, weekly_env: Path, warehouse, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """beta's Dask worker process is killed mid-load (SIGKILL, as a spot node is taken; Dask itself re-runs nothing
    here: ``allowed-failures`` 0). With a resubmit allowed beta is loaded again and completes, its lost run listed;
    with none it ends Crashed with the reason (not the running state the server last saw). alpha loads either way."""
    import dask
    from prefect import flow

    from oso_core.ops.pipeline import run_sources

    monkeypatch.setenv("WEEKLY_TEST_SLEEP", "0")
    monkeypatch.setenv("WEEKLY_TEST_KILL_BETA", str(tmp_path / "beta-died"))
    monkeypatch.setenv("DAGSTER__WEEKLY__CRASH_RESUBMITS", str(resubmits))
    alpha, beta = select_sources(only=["alpha", "beta"])

    @flow(name="weekly-worker-dies-test", task_runner=build_task_runner("dask", 2, processes=True))
    def cluster() -> list:
        with replaying():
            return run_sources([beta, alpha], concurrency=2)

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        outcomes = cluster()
    by_source = {o.source: o for o in outcomes}
    assert (tmp_path / "beta-died").exists()  # its first load did die
    assert by_source["alpha"].state == "Completed"
    assert warehouse.sql("select count(*) as n from alpha.items")["n"][0] == 3
    if resubmits:
        assert by_source["beta"].state == "Completed"
        assert len(by_source["beta"].crashed_runs) == 1
        assert warehouse.sql("select count(*) as n from beta.things")["n"][0] == 2
    else:
        assert by_source["beta"].state == "Crashed"
        assert "the task runner lost it: KilledWorker" in by_source["beta"].error
        assert not warehouse.exists("beta.things")


def test_sources_sharing_an_api_never_load_at_once(weekly_env: Path) -> None:
    """ossd_github, ossd_sbom and ossd_funding share GitHub's rate limit (``api="github"``): one at a time."""
    from dataclasses import replace

    from prefect import flow

    from oso_core.ops.pipeline import run_sources

    alpha, beta = select_sources(only=["alpha", "beta"])

    @flow(name="weekly-shared-api-test")
    def shared() -> list:
        with replaying():
            return run_sources([replace(alpha, api="github"), replace(beta, api="github")], concurrency=2)

    outcomes = shared()
    assert [o.state for o in outcomes] == ["Completed", "Completed"]
    with get_client(sync_client=True) as client:
        runs = [client.read_flow_run(o.flow_run_id) for o in outcomes]
    assert max_overlap([(r.start_time.timestamp(), r.end_time.timestamp()) for r in runs]) == 1


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["dask", "ray"])
def test_the_real_sources_weekly_replay_on_a_cluster(
    kind: str, oso_home: Path, warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's main job (every source in ``flows/``, from its fixtures) with sources on a Dask or Ray cluster
    of worker processes. Replay stand-in secrets are in the environment before the cluster starts, as real secrets
    would be on a real cluster's nodes (a replay sets them only in the orchestrating process, after it started)."""
    if kind == "ray":
        pytest.importorskip("prefect_ray")
    import contextlib

    from oso_core.model.sources import discover_sources
    from oso_dev.replay import replay_parameters

    monkeypatch.delenv("DAGSTER__DISCORD__WEBHOOK_URL", raising=False)
    monkeypatch.setenv("DAGSTER__WEEKLY__SOURCE_TIMEOUT", "240")  # a stuck source fails naming itself, not by hanging
    sources = discover_sources()
    with contextlib.ExitStack() as before_the_cluster:
        for source in sources.values():
            if source.secrets:  # sets its stand-in secrets (ethereum's: its replay RPC URL) while the cluster starts
                before_the_cluster.enter_context(replay_parameters(source))
        runner = build_task_runner(kind, 2)
        state = replayed(
            weekly_flow.with_options(task_runner=runner), concurrency=2, every_cadence=True, return_state=True
        )
    outcomes = {row["source"]: row for row in state.result(raise_on_failure=False)}
    assert set(outcomes) == set(sources)
    assert state.is_completed(), {s: r["first_error"] for s, r in outcomes.items() if r["state"] != "Completed"}
    assert all(row["total_rows"] > 0 for row in outcomes.values()), outcomes
    for source in sources.values():
        for spec in source.tables:
            assert warehouse.exists(source.qualified(spec.name)), source.qualified(spec.name)
    assert warehouse.sql("SELECT count(*) FROM ossd.sbom").item() > 0  # after ossd_github, from its repositories
