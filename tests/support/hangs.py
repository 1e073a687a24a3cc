"""A hung test fails within its deadline and says where every process involved was.

pytest-timeout gives each test its deadline (``timeout`` in pyproject.toml, or ``@pytest.mark.timeout(N)``) and, on
expiry, fails it with the stacks of the test process's threads. That is not enough when the hang is in a child
(a Prefect flow-run subprocess, a worker, a Dask or Ray process, a server a fixture started), so this plugin adds:

* a few seconds before the deadline, every descendant process is listed and each Python one (they all load
  ``tests/support/child_stacks/sitecustomize.py``) is sent SIGUSR1, on which its faulthandler appends all its
  threads' stacks to a file; those stacks go to the real stderr at once and into the failed test's report
  (section "stacks of child processes");
* a last resort for a test process stuck in C code holding the GIL, where pytest-timeout's SIGALRM handler never
  runs: faulthandler's own C thread dumps the test process's stacks and exits the session
  ``LAST_RESORT_S`` after the deadline, so CI ends with the stacks instead of running into its own limit.
"""

from __future__ import annotations

import faulthandler
import os
import signal
import tempfile
import threading
import time
from pathlib import Path

import psutil
import pytest

CHILD_STACKS = Path(__file__).parent / "child_stacks"
LAST_RESORT_S = 60
_SECTION = "stacks of child processes"
# the terminal's stderr, taken before pytest's capture redirects fd 2 (this plugin is imported with -p, earlier)
_REAL_STDERR = os.dup(2)


def pytest_configure(config: pytest.Config) -> None:
    """Make every Python process the session starts register the SIGUSR1 stack dump (its environment is ours)."""
    folder = tempfile.mkdtemp(prefix="oso-test-stacks-")
    os.environ["OSO_TEST_STACKS_DIR"] = folder
    path = os.environ.get("PYTHONPATH", "")
    if str(CHILD_STACKS) not in path.split(os.pathsep):
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(CHILD_STACKS), path) if p)


def child_stacks(wait_s: float = 2.0) -> str:
    """Every descendant of this process (pid and command line) and, for each Python one, all its threads' stacks."""
    folder = Path(os.environ.get("OSO_TEST_STACKS_DIR", "/nonexistent"))
    try:
        children = psutil.Process().children(recursive=True)
    except psutil.Error as error:
        return f"could not list the child processes: {error}"
    if not children:
        return "no child processes"
    asked: dict[int, int] = {}  # pid -> size of its stack file before the signal
    for child in children:
        stacks = folder / f"{child.pid}.stacks"
        if stacks.exists():
            try:
                asked[child.pid] = stacks.stat().st_size
                os.kill(child.pid, signal.SIGUSR1)
            except OSError:
                asked.pop(child.pid, None)
    deadline = time.monotonic() + wait_s
    while asked and time.monotonic() < deadline:
        if all((folder / f"{pid}.stacks").stat().st_size > size for pid, size in asked.items()):
            break
        time.sleep(0.1)
    parts = []
    for child in children:
        try:
            command = " ".join(child.cmdline())[:300] or child.name()
            status = child.status()
        except psutil.Error:
            command, status = "?", "gone"
        parts.append(f"--- pid {child.pid} (parent {_ppid(child)}, {status}): {command}")
        if child.pid in asked:
            with open(folder / f"{child.pid}.stacks", "rb") as stream:
                stream.seek(asked[child.pid])
                parts.append(stream.read().decode(errors="replace").rstrip() or "(no stack arrived in time)")
        else:
            parts.append("(not a Python process of the tests: no stack)")
    return "\n".join(parts)


def _ppid(process: psutil.Process) -> int | str:
    try:
        return process.ppid()
    except psutil.Error:
        return "?"


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_set_timer(item: pytest.Item, settings) -> None:
    """Arm the child dump shortly before pytest-timeout's deadline, and the last resort after it."""
    timeout = settings.timeout
    if not timeout or timeout <= 0:
        return
    margin = min(5.0, timeout / 4)

    def dump() -> None:
        text = child_stacks()
        item.stash[_dump_key] = text
        banner = f"\n{'+' * 20} {item.nodeid}: {_SECTION}, {margin:.0f} s before its {timeout:.0f} s deadline\n"
        os.write(_REAL_STDERR, (banner + text + "\n").encode(errors="replace"))

    timer = threading.Timer(timeout - margin, dump)
    timer.name = f"child stacks {item.nodeid}"
    timer.daemon = True
    timer.start()
    item.stash[_timer_key] = timer
    faulthandler.dump_traceback_later(timeout + LAST_RESORT_S, exit=True, file=_REAL_STDERR)


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_cancel_timer(item: pytest.Item) -> None:
    timer = item.stash.get(_timer_key, None)
    if timer is not None:
        timer.cancel()
        del item.stash[_timer_key]
    faulthandler.cancel_dump_traceback_later()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Put the children's stacks into the report of the phase that timed out."""
    report = yield
    text = item.stash.get(_dump_key, None)
    if text is not None and report.failed:
        report.sections.append((_SECTION, text))
        del item.stash[_dump_key]
    return report


_timer_key = pytest.StashKey[threading.Timer]()
_dump_key = pytest.StashKey[str]()
