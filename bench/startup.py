"""Start-up benchmark: how long a command line takes before it does any work.

    .venv/bin/python bench/startup.py               # both figures, 5 runs of each command (after one warm-up)
    .venv/bin/python bench/startup.py --runs 3 --only help_vs_prefect_import

Prints one ``name: value`` line per comparison (medians over the runs; the commands alternate A B A B ..., so a
drift of the machine's speed hits both):

``flow_start_with_server_vs_ephemeral``
    time from process start to the source's first log line (``python -m flows ossd --repo-url <sample>``, the
    line ``Flow run '...' - Beginning flow run``) with a persistent Prefect server answering on the project port
    (what ``./dev server`` runs; the bench starts its own on a free port with a temporary ``PREFECT_HOME``, not
    counted) ÷ the same with nothing there, so Prefect starts its temporary server. Target ≤ 0.3.
``help_vs_prefect_import``
    ``python -m flows ossd --help`` ÷ ``python -c "import prefect"``, whole-process wall time. Target ≤ 0.5.

The machine's load average is printed before and after: other processes on a shared machine stretch every time.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SAMPLE = ROOT / "flows" / "ossd" / "fixtures" / "sample"
FIRST_LINE = "Beginning flow run"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_env(work: Path, **extra: str) -> dict[str, str]:
    """An environment with no Prefect API configured (not even by a profile) and a throw-away lake."""
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(
        PYTHONPATH=str(ROOT),
        OSO_HOME=str(work / "oso"),
        PREFECT_HOME=str(work / "client-home"),
        PREFECT_PROFILES_PATH=str(work / "no-profiles.toml"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120",  # a loaded machine needs more than the default 20
    )
    env.update(extra)
    return env


def wall(argv: list[str], env: dict[str, str]) -> float:
    """Whole-process wall time of ``argv`` (its output thrown away); fails loudly on a non-zero exit."""
    started = time.perf_counter()
    run = subprocess.run(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    if run.returncode != 0:
        raise RuntimeError(f"{argv} exited {run.returncode}: {run.stderr.decode()[-2000:]}")
    return elapsed


def to_first_log_line(env: dict[str, str]) -> float:
    """Seconds from starting ``python -m flows ossd`` to its first flow-run log line; the run is then finished."""
    argv = [sys.executable, "-m", "flows", "ossd", "--repo-url", str(SAMPLE)]
    started = time.perf_counter()
    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen, output = None, []
    assert process.stdout is not None
    for line in process.stdout:
        output.append(line)
        if seen is None and FIRST_LINE in line:
            seen = time.perf_counter() - started
    if process.wait() != 0 or seen is None:
        raise RuntimeError(f"ossd run failed or logged no '{FIRST_LINE}':\n{''.join(output)[-3000:]}")
    return seen


def alternate(a: Callable[[], float], b: Callable[[], float], runs: int, warmup: int) -> tuple[list[float], ...]:
    """``a`` and ``b`` in turn, ``warmup`` uncounted pairs first; returns both lists of times."""
    times_a, times_b = [], []
    for i in range(warmup + runs):
        ta, tb = a(), b()
        if i >= warmup:
            times_a.append(ta)
            times_b.append(tb)
    return times_a, times_b


def report(name: str, times_a: list[float], times_b: list[float], label_a: str, label_b: str) -> None:
    ma, mb = statistics.median(times_a), statistics.median(times_b)
    print(f"  {label_a}: median {ma:.2f} s (min {min(times_a):.2f}, max {max(times_a):.2f})")
    print(f"  {label_b}: median {mb:.2f} s (min {min(times_b):.2f}, max {max(times_b):.2f})")
    print(f"{name}: {ma / mb:.3f}", flush=True)


class LocalServer:
    """A persistent Prefect server, as ``./dev server`` runs it, on a free port with its own PREFECT_HOME."""

    def __init__(self, work: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/api"
        home = work / "server-home"
        home.mkdir()
        env = base_env(work, PREFECT_HOME=str(home), PREFECT_SERVER_API_PORT=str(self.port))
        script = Path(sys.executable).parent / "prefect"  # this environment's, not whichever is first on PATH
        prefect = [str(script)] if script.exists() else [sys.executable, "-m", "prefect.cli"]
        self.log = open(home / "server.log", "wb")  # noqa: SIM115 - open for the server's lifetime
        self.process = subprocess.Popen(
            [*prefect, "server", "start", "--host", "127.0.0.1", "--port", str(self.port)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 180
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the Prefect server did not start; see {home / 'server.log'}")
            time.sleep(0.25)

    def answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()


def bench_flow_start(runs: int, warmup: int) -> None:
    with tempfile.TemporaryDirectory(prefix="oso-bench-startup-") as tmp:
        work = Path(tmp)
        server = LocalServer(work)
        try:
            with_server = base_env(work, OSO_PREFECT_PORT=str(server.port))
            ephemeral = base_env(work, OSO_PREFECT_PORT=str(free_port()))  # nothing listens there
            server_run, ephemeral_run = (lambda: to_first_log_line(with_server)), (lambda: to_first_log_line(ephemeral))
            times = alternate(server_run, ephemeral_run, runs, warmup)
        finally:
            server.stop()
    report("flow_start_with_server_vs_ephemeral", *times, "with the local server", "with Prefect's temporary server")


def bench_help(runs: int, warmup: int) -> None:
    with tempfile.TemporaryDirectory(prefix="oso-bench-startup-") as tmp:
        env = base_env(Path(tmp))
        help_argv = [sys.executable, "-m", "flows", "ossd", "--help"]
        import_argv = [sys.executable, "-c", "import prefect"]
        times = alternate(lambda: wall(help_argv, env), lambda: wall(import_argv, env), runs, warmup)
    report("help_vs_prefect_import", *times, "python -m flows ossd --help", 'python -c "import prefect"')


CASES = {"flow_start_with_server_vs_ephemeral": bench_flow_start, "help_vs_prefect_import": bench_help}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="counted runs of each command (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="uncounted runs first (default 1)")
    parser.add_argument("--only", default=",".join(CASES), help="comma-separated cases")
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    for name in args.only.split(","):
        CASES[name.strip()](args.runs, args.warmup)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
