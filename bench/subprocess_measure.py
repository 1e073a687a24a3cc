"""One bench case in a fresh subprocess, timed, with its peak memory: shared by the benches that compare two sides.

A case runs as its own process so neither side inherits the other's imports, caches or heap. Its peak RSS is the
larger of the figure it reports itself (``own_peak_rss_mib``: the kernel's high-water mark, which catches spikes
between polls) and its process tree's polled sum (which catches children: a dlt pipeline's or a flow's workers).
Standard library only at import: a case may run under another interpreter (dlt's own venv).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import threading
import time
from pathlib import Path


def own_peak_rss_mib() -> float:
    """This process's peak resident memory in MiB (``VmHWM``), or NaN where ``/proc`` has none."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run_case(label: str, command: list[str], cwd: Path, env: dict[str, str], timeout: float | None = None) -> dict:
    """Run ``command``; its last stdout line is its JSON result (with ``seconds`` and ``own_rss_mib``), returned with
    ``process_seconds`` and ``rss_mib`` added. Past ``timeout`` the case is killed and its figures are bounds
    (``timed_out``); a failing case stops the bench with its output's tail."""
    import psutil

    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd, env=env)
    outputs: dict[str, str] = {}
    readers = [
        threading.Thread(target=lambda s=s: outputs.__setitem__(s, getattr(proc, s).read()), daemon=True)
        for s in ("stdout", "stderr")
    ]
    for reader in readers:
        reader.start()
    tree_peak, parent = 0, psutil.Process(proc.pid)
    while proc.poll() is None:
        if timeout is not None and time.perf_counter() - started > timeout:
            proc.kill()
            proc.wait()
            print(f"# {label}: stopped after {timeout:.0f} s; its ratios are bounds", flush=True)
            return {"seconds": timeout, "process_seconds": timeout, "rss_mib": tree_peak / 2**20, "timed_out": True}
        with contextlib.suppress(psutil.Error):
            tree_peak = max(tree_peak, sum(p.memory_info().rss for p in (parent, *parent.children(recursive=True))))
        time.sleep(0.05)
    process_seconds = time.perf_counter() - started
    for reader in readers:
        reader.join()
    if proc.returncode:
        raise SystemExit(f"{label} failed:\n{outputs['stdout'][-3000:]}\n{outputs['stderr'][-5000:]}")
    result = json.loads(outputs["stdout"].strip().splitlines()[-1])
    result["process_seconds"] = process_seconds
    result["rss_mib"] = max(result.pop("own_rss_mib"), tree_peak / 2**20)
    rows = result.get("rows")
    print(
        f"# {label}: load {result['seconds']:.2f} s (process {process_seconds:.2f} s), "
        f"peak RSS {result['rss_mib']:.0f} MiB, rows {f'{rows:,}' if isinstance(rows, int) else rows}",
        flush=True,
    )
    return result
