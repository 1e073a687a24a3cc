"""Dynamic sources: YAML files in ``OSO_DYNAMIC_SOURCES_DIR`` become sources with deployments, validated first.

One described file (offset pages, a bearer secret, a child resource reshaped by a transform in the same
directory) is loaded through the weekly pipeline from a local replay server and read back; bad files fail
discovery with one line naming file, field and problem; the generated ``prefect.yaml`` holds the source's
deployment, which ``prefect deploy`` registers on the session server and a real worker runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl
import pytest
import yaml
from prefect.client.orchestration import get_client

from blocks.deployments import render, source_deployment
from flows.weekly import weekly_flow
from oso_core.kinds.rest_model import DescriptionError
from oso_core.model.sources import discover_sources
from oso_core.ops.pipeline import local_parameters
from oso_dev.replay import ReplayServer, Route

ROOT = Path(__file__).resolve().parent.parent
PREFECT = str(Path(sys.executable).with_name("prefect"))
TOKEN = "weather-token-0123456789abcdef"

WEATHER = """\
name: weather
description: Weather stations and their daily readings
client:
  base_url: https://weather.example/v2
  auth: {type: bearer, secret: weather.token}
  max_workers: 2
resources:
  - name: stations
    description: one row per station
    endpoint:
      path: /stations
      data_selector: data.stations
      paginator: {type: offset, limit: 2, offset_param: skip, limit_param: take}
    fields: {code: text, name: text, elevation_m: double}
    required: [code]
    primary_key: code
  - name: readings
    description: daily readings per station
    endpoint:
      path: /stations/{station}/readings
      params: {station: {type: resolve, resource: stations, field: code}, days: 2}
    transform: shape:readings
    fields: {station: text, day: date, celsius: double}
    primary_key: [station, day]
    write_disposition: merge
"""

SHAPE = '''
def readings(payload, call):
    """{"days": [...], "celsius": [...]}: two parallel lists, one record per day."""
    days = call.where.field(payload, "days", list)
    return [{"day": day, "celsius": value} for day, value in zip(days, payload["celsius"], strict=True)]
'''

ROUTES = [
    Route("/v2/stations", query={"skip": "0", "take": "2"},
          json={"data": {"stations": [{"code": "ber", "name": "Berlin", "elevation_m": 34},
                                      {"code": "zug", "name": "Zugspitze", "elevation_m": 2962}]}}),
    Route("/v2/stations", query={"skip": "2", "take": "2"},
          json={"data": {"stations": [{"code": "syl", "name": "Sylt", "elevation_m": None}]}}),
    Route("/v2/stations/ber/readings", query={"days": "2"},
          json={"days": ["2025-01-01", "2025-01-02"], "celsius": [3.5, 4]}),
    Route("/v2/stations/zug/readings", json={"days": ["2025-01-01"], "celsius": [-12.25]}),
    Route("/v2/stations/syl/readings", json={"days": [], "celsius": []}),
]  # fmt: skip


@pytest.fixture
def dynamic_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, oso_home: Path) -> Path:
    directory = tmp_path / "dynamic"
    directory.mkdir()
    monkeypatch.setenv("OSO_DYNAMIC_SOURCES_DIR", str(directory))
    monkeypatch.setenv("DAGSTER__WEATHER__TOKEN", TOKEN)
    return directory


def write_weather(directory: Path) -> None:
    (directory / "weather.yaml").write_text(WEATHER)
    (directory / "shape.py").write_text(SHAPE)


def test_a_dynamic_source_loads_end_to_end_through_the_weekly_pipeline(dynamic_dir: Path, warehouse) -> None:
    write_weather(dynamic_dir)
    source = discover_sources()["weather"]
    assert (source.module, source.entrypoint) == ("flows.dynamic", "flows/dynamic.py:weather_flow")
    assert [t.name for t in source.tables] == ["stations", "readings"] and source.table("readings").mode == "merge"

    with ReplayServer(ROUTES) as server:

        @contextmanager
        def to_replay(_source) -> Iterator[dict]:
            yield {"base_url": server.url + "/v2"}

        with local_parameters(to_replay):
            state = weekly_flow(only=["weather"], return_state=True)
    assert state.is_completed(), state.message
    assert {r.headers.get("Authorization") for r in server.requests} == {f"Bearer {TOKEN}"}

    stations = warehouse.sql("SELECT * FROM weather.stations ORDER BY code")
    assert stations.rows() == [("ber", "Berlin", 34.0), ("syl", "Sylt", None), ("zug", "Zugspitze", 2962.0)]
    readings = warehouse.read("weather.readings").sort("station", "day")
    assert readings.schema == pl.Schema({"station": pl.String, "day": pl.Date, "celsius": pl.Float64})
    assert readings.with_columns(pl.col("day").cast(pl.String)).rows() == [
        ("ber", "2025-01-01", 3.5), ("ber", "2025-01-02", 4.0), ("zug", "2025-01-01", -12.25)]  # fmt: skip


BAD_FILES = {
    "missing field": (
        "name: bad\nresources: [{name: t, endpoint: /t, fields: {c: text}}]\n",
        "client: missing (required)",
    ),
    "wrong type": (
        "name: bad\nclient: {base_url: 'https://x.example', max_workers: many}\n"
        "resources: [{name: t, endpoint: /t, fields: {c: text}}]\n",
        "client.max_workers: Input should be a valid integer, unable to parse string as an integer",
    ),
    "unknown pagination": (
        "name: bad\nclient: {base_url: 'https://x.example'}\n"
        "resources: [{name: t, endpoint: {path: /t, paginator: {type: scroll}}, fields: {c: text}}]\n",
        "resources[0].endpoint.paginator.type: Input should be 'single_page', 'page_number', 'offset', 'json_link', "
        "'header_link' or 'cursor', got 'scroll'",
    ),
    "bad path template": (
        "name: bad\nclient: {base_url: 'https://x.example'}\n"
        "resources: [{name: t, endpoint: '/t/{id', fields: {c: text}}]\n",
        "resources[0].endpoint: path '/t/{id' is not a valid template: expected '}' before end of string",
    ),
    "placeholder without a resolve param": (
        "name: bad\nclient: {base_url: 'https://x.example'}\n"
        "resources: [{name: t, endpoint: '/t/{id}', fields: {c: text}}]\n",
        "resources[0].endpoint: path '/t/{id}': placeholder {id} has no `type: resolve` param",
    ),
    "not YAML": ("name: bad\nclient: [\n", None),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_file_fails_discovery_naming_file_field_and_problem(dynamic_dir: Path, case: str) -> None:
    write_weather(dynamic_dir)  # a good file beside the bad one: only the bad one is named
    text, problem = BAD_FILES[case]
    bad = dynamic_dir / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(DescriptionError) as caught:
        discover_sources()
    message = str(caught.value)
    assert "\n" not in message and "weather" not in message
    if problem is None:
        assert message.startswith(f"{bad}: not valid YAML: ")
    else:
        assert message == f"{bad}: {problem}"


def _prefect(*args: str, env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess:
    full = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    return subprocess.run([PREFECT, *args], cwd=ROOT, env=full, capture_output=True, text=True, timeout=timeout)


def test_the_deployment_is_generated_deployed_and_run_by_a_worker(dynamic_dir: Path, oso_home: Path, warehouse) -> None:
    write_weather(dynamic_dir)
    generated = {d["name"]: d for d in yaml.safe_load(render(timezone="UTC"))["deployments"]}
    env = {"OSO_DYNAMIC_SOURCES_DIR": str(dynamic_dir)}
    assert generated["weather"]["entrypoint"] == "flows/dynamic.py:weather_flow"
    assert generated["weather"]["work_pool"]["job_variables"] == {"env": env}
    assert generated["weekly"]["work_pool"]["job_variables"] == {"env": env}
    assert generated["chainlist"]["work_pool"]["job_variables"] == {}

    pool = f"oso-dyn-{uuid.uuid4().hex[:8]}"
    prefect_file = dynamic_dir.parent / "prefect.yaml"
    config = {"name": "oso-prefect", "build": None, "push": None,
              "deployments": [source_deployment(discover_sources()["weather"], pool)]}  # fmt: skip
    prefect_file.write_text(yaml.safe_dump(config, sort_keys=False))
    worker_env = {**env, "OSO_HOME": str(oso_home), "OSO_ENV_FILE": os.environ["OSO_ENV_FILE"],
                  "DAGSTER__WEATHER__TOKEN": TOKEN}  # fmt: skip
    assert _prefect("work-pool", "create", pool, "--type", "process", env=worker_env).returncode == 0
    deployed = _prefect("deploy", "--all", "--no-prompt", "--prefect-file", str(prefect_file), env=worker_env)
    assert deployed.returncode == 0, deployed.stdout[-3000:] + deployed.stderr[-3000:]

    with ReplayServer(ROUTES) as server:
        with get_client(sync_client=True) as client:
            deployment = client.read_deployment_by_name("weather/weather")
            assert deployment.entrypoint == "flows/dynamic.py:weather_flow"
            assert deployment.job_variables == {"env": env}
            run = client.create_flow_run_from_deployment(deployment.id, parameters={"base_url": server.url + "/v2"})
        worker = _prefect("worker", "start", "--pool", pool, "--run-once", env=worker_env)
        assert worker.returncode == 0, worker.stderr[-3000:]
    with get_client(sync_client=True) as client:
        finished = client.read_flow_run(run.id)
    assert finished.state.type.value == "COMPLETED", finished.state.message
    assert warehouse.sql("SELECT count(*) AS n FROM weather.readings")["n"][0] == 3
