"""Start-up: which Prefect API a command line uses, and what ``--help`` and the query listing import.

A command line without ``PREFECT_API_URL`` uses the project's ``./dev server`` when it answers on its port, else
falls back to Prefect's temporary server with one line saying how to avoid the wait; a configured API always wins.
``python -m flows SOURCE --help`` and ``python -m oso_core.warehouse.query`` answer without Prefect, pyiceberg's Arrow
I/O or Polars, because the help is read from the source's text: that reading must give the same help as the real flow.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from uuid import uuid4

import pytest

from oso_core.engine import prefect_api
from oso_core.engine.cli import source_parser
from oso_core.engine.declarations import StaticReadError, declared_sources, find_source, read_source
from oso_core.model.sources import discover_sources
from oso_dev.replay import SHUTDOWN_POLL_S
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("prefect", "prefect.server", "pyiceberg.io.pyarrow", "polars", "polars.lazyframe", "duckdb")

# runs a module as `python -m` would, then reports which heavy modules it imported
PROBE = textwrap.dedent(
    """
    import json, runpy, sys
    sys.argv = sys.argv[1:]
    try:
        runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
    print(json.dumps({"code": code, "loaded": [m for m in HEAVY if m in sys.modules]}), file=sys.stderr)
    """
).replace("HEAVY", repr(HEAVY))


def _env(**changes: str | None) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def _probe(*argv: str, env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str], dict]:
    run = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], cwd=ROOT, env=env or _env(), capture_output=True, text=True, timeout=120
    )
    report = json.loads(run.stderr.strip().splitlines()[-1])
    return run, report


# --- nothing heavy before it is needed --------------------------------------------------------------------------


def test_source_help_imports_neither_prefect_nor_the_writer_nor_polars() -> None:
    run, report = _probe("flows", "ossd", "--help")
    assert report == {"code": 0, "loaded": []}, report
    assert "--repo-url REPO_URL" in run.stdout and "--skip-invalid" in run.stdout
    assert "Tables: ossd.projects (replace)" in run.stdout


def test_source_help_opens_no_catalog_code() -> None:
    """Nor pyiceberg's catalogs or SQLAlchemy: a source declaring quality checks (ossd) reads them from
    ``oso_core.warehouse.quality``, whose package must not open the catalog module on import."""
    probe = PROBE.replace(repr(HEAVY), repr(("pyiceberg.catalog", "sqlalchemy", "oso_core.warehouse.catalog")))
    run = subprocess.run(
        [sys.executable, "-c", probe, "flows", "ossd", "--help"],
        cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert json.loads(run.stderr.strip().splitlines()[-1]) == {"code": 0, "loaded": []}, run.stderr[-2000:]


def test_a_mistyped_option_is_refused_before_anything_heavy_is_imported() -> None:
    run, report = _probe("flows", "ossd", "--no-such-option")
    assert report == {"code": 2, "loaded": []}, report
    assert "unrecognized arguments: --no-such-option" in run.stderr


def test_query_help_and_listing_import_neither_polars_nor_the_writer(tmp_path: Path) -> None:
    env = _env(OSO_HOME=str(tmp_path / "oso"))
    run, report = _probe("oso_core.warehouse.query", "--help", env=env)
    assert report == {"code": 0, "loaded": []}, report
    assert "omit it to list the lake's tables" in run.stdout
    run, report = _probe("oso_core.warehouse.query", env=env)
    assert report == {"code": 0, "loaded": []}, report
    assert run.stdout.splitlines()[0].split() == ["table", "rows", "snapshot_id"]


def test_query_listing_names_each_table_with_its_rows(warehouse, tmp_path: Path) -> None:
    import polars as pl

    warehouse.write("ns.things", pl.DataFrame({"id": [1, 2, 3]}), mode="replace")
    env = _env(OSO_HOME=os.environ["OSO_HOME"])
    run, report = _probe("oso_core.warehouse.query", env=env)
    assert report["code"] == 0 and "polars" not in report["loaded"], report
    [row] = [line.split() for line in run.stdout.splitlines() if line.startswith("ns.")]
    assert row[:2] == ["ns.things", "3"] and row[2] == str(warehouse.snapshot_id("ns.things"))
    run, _ = _probe("oso_core.warehouse.query", "--format", "csv", env=env)
    assert run.stdout.splitlines()[1].startswith("ns.things,3,")


# --- the help read from the source's text is the real flow's --------------------------------------------------


def test_sources_read_from_their_text_are_the_imported_declarations() -> None:
    assert declared_sources() == discover_sources()


def test_help_read_from_the_text_is_the_help_of_the_imported_flow() -> None:
    read = []
    for name, source in discover_sources().items():
        try:
            static_source, stand_in = read_source(source.module)
        except StaticReadError:
            continue
        read.append(name)
        expected = source_parser(source, source.load_flow())[0].format_help()
        assert source_parser(static_source, stand_in)[0].format_help() == expected, name
    assert "ossd" in read and len(read) >= 10, read  # most sources need no import for their help


def test_find_source_reads_the_folder_and_knows_every_name() -> None:
    source, stand_in = find_source("ossd")
    assert source == discover_sources()["ossd"] and stand_in is not None
    with pytest.raises(KeyError, match="unknown source 'nope'; known: chainlist"):
        find_source("nope")


def test_a_module_with_an_unreadable_default_is_imported_instead(tmp_path: Path, monkeypatch) -> None:
    package = tmp_path / "odd_sources" / "odd"
    package.mkdir(parents=True)
    (package.parent / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "source.py").write_text(
        textwrap.dedent(
            """
            from oso_core.engine.flow import SourceRun, source_flow
            from oso_core.model.sources import Source, TableSpec

            def computed() -> int:
                return 7

            SOURCE = Source(name="odd", tables=(TableSpec("t"),), flow="odd_flow", description="odd one")

            @source_flow(SOURCE)
            def odd_flow(run: SourceRun, size: int = computed()) -> None:
                \"\"\"An odd flow.\"\"\"
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(StaticReadError, match="defaults need running the module"):
        read_source("odd_sources.odd.source")
    source, stand_in = find_source("odd", ["odd_sources"])
    assert stand_in is None and source.module == "odd_sources.odd.source"
    assert "(default 7)" in source_parser(source, source.load_flow())[0].format_help()


# --- which Prefect API -------------------------------------------------------------------------------------------


def test_a_configured_api_url_wins(prefect_server, tmp_path: Path) -> None:
    port = prefect_server.api_url.rsplit(":", 1)[1].split("/")[0]
    environ = {"PREFECT_API_URL": "http://127.0.0.1:9/api", "OSO_PREFECT_PORT": port}
    assert prefect_api.use_local_server(environ) == "http://127.0.0.1:9/api"
    assert environ["PREFECT_API_URL"] == "http://127.0.0.1:9/api"
    # a profile's setting counts as configured too (read from its file, without importing Prefect)
    (tmp_path / "profiles.toml").write_text('active = "work"\n[profiles.work]\nPREFECT_API_URL = "http://x:1/api"\n')
    environ = {"PREFECT_HOME": str(tmp_path), "OSO_PREFECT_PORT": port}
    assert prefect_api.use_local_server(environ) == "http://x:1/api"
    assert "PREFECT_API_URL" not in environ
    # and so does a setting in the files Prefect reads in the working directory
    project = tmp_path / "project"
    project.mkdir()
    environ = {"PREFECT_PROFILES_PATH": str(tmp_path / "none.toml")}
    assert prefect_api.configured_api_url(environ, project) is None
    (project / "pyproject.toml").write_text('[tool.prefect.api]\nurl = "http://p:1/api"\n')
    assert prefect_api.configured_api_url(environ, project) == "http://p:1/api"
    (project / "prefect.toml").write_text('[api]\nurl = "http://t:1/api"\n')
    assert prefect_api.configured_api_url(environ, project) == "http://t:1/api"
    (project / ".env").write_text("PREFECT_API_URL=http://e:1/api\n")
    assert prefect_api.configured_api_url(environ, project) == "http://e:1/api"


def test_the_project_server_is_used_when_it_answers(prefect_server, oso_home: Path) -> None:
    """``python -m flows`` with no API configured runs against the server on the project port: the run is there."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    from flows.ossd.replay import SAMPLE_DIR

    sample = oso_home.parent / f"sample-{uuid4().hex[:8]}"  # a path no other run has: it names this run
    shutil.copytree(SAMPLE_DIR, sample)
    env = _env(
        PREFECT_API_URL=None,
        PREFECT_PROFILES_PATH=str(oso_home.parent / "no-profiles.toml"),
        OSO_PREFECT_PORT=prefect_server.api_url.rsplit(":", 1)[1].split("/")[0],
        OSO_HOME=str(oso_home),
    )
    run = subprocess.run(
        [sys.executable, "-m", "flows", "ossd", "--repo-url", str(sample)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "temporary server" not in run.stderr + run.stdout and "./dev server" not in run.stderr
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["ossd"])))
    assert [r.state_name for r in runs if r.parameters.get("repo_url") == str(sample)] == ["Completed"]


def test_nothing_answering_falls_back_with_one_hint(tmp_path: Path) -> None:
    """No API configured and nothing on the project port: Prefect keeps its temporary server, one line says why."""
    env = _env(
        PREFECT_API_URL=None,
        PREFECT_PROFILES_PATH=str(tmp_path / "no-profiles.toml"),
        OSO_PREFECT_PORT=str(free_port()),
    )
    code = (
        "import os\n"
        "from oso_core.engine.prefect_api import use_local_server\n"
        "print(use_local_server(), use_local_server(), os.environ.get('PREFECT_API_URL'))\n"
        "from prefect.settings import get_current_settings\n"
        "settings = get_current_settings()\n"
        "print(settings.api.url, settings.server.ephemeral.startup_timeout_seconds)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    # Prefect will start its temporary server, with time to start on a busy machine
    assert run.stdout.split() == ["None", "None", "None", "None", "90"]
    hints = [line for line in run.stderr.splitlines() if "./dev server" in line]
    assert len(hints) == 1 and f"127.0.0.1:{env['OSO_PREFECT_PORT']}" in hints[0], run.stderr


def test_a_listening_process_that_is_not_prefect_does_not_count(tmp_path: Path) -> None:
    import http.server
    import threading

    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL_S}, daemon=True).start()
    try:
        assert not prefect_api.answers(f"http://127.0.0.1:{server.server_port}/api", timeout=2)
    finally:
        server.shutdown()
