"""Slowest test files first, so two workers finish together.

``./dev test`` hands whole files to pytest-xdist's workers (``--dist loadfile``: a file's module fixtures are set up
once). xdist's default order is by number of tests per file, which puts the files of three two-minute tests (a
cluster of Prefect workers, a weekly replay on a Ray cluster) last: one worker then runs them alone while the other
has finished. Handing out the longest files first (longest-processing-time scheduling) ends both workers within a
short file of each other.

The durations are data: ``tests/durations.json``, seconds per file (setup, call and teardown of its tests) as last
recorded with ``--record-durations`` (``./dev test --record-durations`` rewrites it). A file missing from it (a new
one) counts as the median file. The order only changes which worker runs a file when; no test is skipped or split.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from pathlib import Path

import pytest

DURATIONS = Path(__file__).resolve().parents[1] / "durations.json"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--record-durations",
        action="store_true",
        help=f"rewrite {DURATIONS.relative_to(DURATIONS.parents[1])} (seconds per test file) from this run",
    )


def recorded() -> dict[str, float]:
    """Seconds per test file, keyed by its path from the project root; empty when none were recorded."""
    if not DURATIONS.exists():
        return {}
    return {str(path): float(seconds) for path, seconds in json.loads(DURATIONS.read_text()).items()}


def longest_first(paths: list[str], seconds: dict[str, float]) -> list[str]:
    """The distinct files of ``paths``, longest recorded first; unrecorded files count as the median one."""
    default = statistics.median(seconds.values()) if seconds else 0.0
    distinct = list(dict.fromkeys(paths))
    return sorted(distinct, key=lambda path: -seconds.get(path, default))  # stable: ties keep collection order


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Group the items by file, longest file first, each file's tests in their own order."""
    seconds = recorded()
    if not seconds or not items:
        return
    files = [item.nodeid.split("::", 1)[0] for item in items]
    rank = {path: index for index, path in enumerate(longest_first(files, seconds))}
    order = sorted(range(len(items)), key=lambda index: (rank[files[index]], index))
    items[:] = [items[index] for index in order]


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--record-durations") and not hasattr(config, "workerinput"):
        config.pluginmanager.register(DurationRecorder(), "oso-durations")


class DurationRecorder:
    """Adds up each file's test phases and writes them at the end, in the process that sees every report (under
    xdist, the controller: workers send it theirs)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.seconds[report.nodeid.split("::", 1)[0]] += report.duration

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.seconds:
            return
        by_file = {path: round(seconds, 1) for path, seconds in sorted(self.seconds.items())}
        DURATIONS.write_text(json.dumps(by_file, indent=1) + "\n")
        session.config.get_terminal_writer().line(f"recorded the durations of {len(by_file)} test files in {DURATIONS}")
