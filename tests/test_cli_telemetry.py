"""A project command line run with Prefect's temporary server sends no telemetry and logs no error about it."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parent.parent

# Each command line that can start Prefect's temporary server, with a line its successful run prints. The lake is
# empty for the two lake-wide flows: maintenance has no table to maintain, freshness finds every table missing.
COMMANDS = {
    "source": (["-m", "flows", "chainlist", "--replay"], "chainlist.chains"),
    "maintenance": (["flows/maintenance.py"], "table maintenance: 0 table(s)"),
    "freshness": (["flows/freshness.py", "--source", "chainlist"], "missing"),
}


@pytest.mark.parametrize("command", COMMANDS)
def test_a_local_flow_run_logs_no_telemetry_error(tmp_path: Path, command: str) -> None:
    # A user's shell: no Prefect server configured and none on the project port (so the run starts a temporary
    # one), no opt-outs set (the test session sets them in its own environment: removed here). Outside traffic goes
    # to a closed local port, so a telemetry attempt fails here whether or not the machine is online.
    unset = ("PREFECT_API_URL", "PREFECT_UI_URL", "PREFECT_SERVER_ANALYTICS_ENABLED", "DO_NOT_TRACK")
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in unset and not name.startswith(("OSO_", "DAGSTER__"))
    }
    env.update(
        PYTHONPATH=str(ROOT),
        PREFECT_HOME=str(tmp_path / "prefect"),
        PREFECT_PROFILES_PATH=str(tmp_path / "no-profiles.toml"),
        OSO_HOME=str(tmp_path / "oso"),
        OSO_ENV_FILE=str(tmp_path / "no.env"),
        OSO_PREFECT_PORT=str(free_port()),
        HTTPS_PROXY="http://127.0.0.1:9",
        HTTP_PROXY="http://127.0.0.1:9",
        NO_PROXY="127.0.0.1,localhost",
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120",  # a busy 2-core machine can take over 20 s
    )
    argv, printed = COMMANDS[command]
    done = subprocess.run([sys.executable, *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert printed in output and "Finished in state Completed" in output, output[-3000:]
    # Before the fix every such run logged an ERROR from the server's telemetry service: "Failed to send
    # telemetry", or (on a busy machine) a "database is locked" traceback from send_telemetry_heartbeat.
    assert "Failed to send telemetry" not in output
    assert "telemetry" not in output.lower()
    # the server's telemetry service records its session before its first POST; disabled, it never ran
    with sqlite3.connect(tmp_path / "prefect" / "prefect.db") as db:
        keys = [row[0] for row in db.execute("SELECT key FROM configuration")]
    assert "TELEMETRY_SESSION" not in keys
