"""Real Prefect workers for the multi-worker tests and ``bench/topology.py``: each in its own copy of the project.

A copy is the checkout without ``.venv`` / ``.git`` / lakes (the shared venv interpreter runs it), so a worker
imports its own files, as a worker on another machine would; the deployments' pull step sends each run to the
directory in the worker's ``OSO_PROJECT_DIR``. ``kill()`` takes the worker *and* the flow runs it started down at
once, like a node that dies.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).with_name("prefect"))
_IGNORED = shutil.ignore_patterns(".venv", ".git", ".oso", "__pycache__", ".pytest_cache", ".ruff_cache", "*.pyc")


def project_copy(destination: Path) -> Path:
    """A copy of this checkout at ``destination`` (what a worker elsewhere would have cloned)."""
    shutil.copytree(ROOT, destination, ignore=_IGNORED)
    return destination


def worker_env(project: Path, extra: dict[str, str]) -> dict[str, str]:
    """The environment of a worker (and of the flow runs it starts): its own copy, its own OSO_HOME."""
    return {
        **os.environ,
        "PYTHONPATH": str(project),
        "OSO_PROJECT_DIR": str(project),
        "OSO_HOME": str(project / ".oso"),
        "OSO_ENV_FILE": str(project / "no.env"),
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_WORKER_PREFETCH_SECONDS": "1",
        "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "30",
        **extra,
    }


@dataclass
class Worker:
    name: str
    project: Path
    process: subprocess.Popen
    log_path: Path
    killed: bool = field(default=False)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the worker and every process it started (the node is gone). Prefect starts each flow run in a
        session of its own, so the process group is not enough: the whole tree goes."""
        import psutil

        tree = [psutil.Process(self.process.pid)]
        tree += tree[0].children(recursive=True)
        for process in tree:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        psutil.wait_procs(tree[1:], timeout=10)
        self.killed = True

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def start_worker(name: str, pool: str, project: Path, env: dict[str, str], limit: int | None = None) -> Worker:
    """``prefect worker start`` in ``project``; ``limit`` caps the flow runs it runs at once (a node's capacity)."""
    log_path = project / f"worker-{name}.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [
            PREFECT,
            "worker",
            "start",
            "--pool",
            pool,
            "--type",
            "process",
            "--name",
            name,
            *(["--limit", str(limit)] if limit else []),
        ],  # fmt: skip
        cwd=project,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    worker = Worker(name, project, process, log_path)
    deadline = time.monotonic() + 60
    while "started!" not in worker.log() and "polling" not in worker.log().lower():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"worker {name} did not start:\n{worker.log()[-3000:]}")
        time.sleep(0.2)
    return worker


def create_pool(name: str) -> None:
    subprocess.run([PREFECT, "work-pool", "create", name, "--type", "process", "--overwrite"],
                   check=True, capture_output=True, text=True, timeout=120)  # fmt: skip


def deploy(project: Path, config: dict, env: dict[str, str]) -> None:
    """Write ``config`` as the copy's ``prefect.yaml`` and ``prefect deploy --all`` it from there."""
    (project / "prefect.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    # unset, ``{{ $OSO_PROJECT_DIR }}`` of the pull step stays a placeholder for each worker to fill in; set, the
    # deploy would resolve it to this copy and send every run here
    env = {key: value for key, value in env.items() if key != "OSO_PROJECT_DIR"}
    done = subprocess.run([PREFECT, "--no-prompt", "deploy", "--all"], cwd=project, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"prefect deploy failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
