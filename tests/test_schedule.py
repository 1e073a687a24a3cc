"""The suite's own scheduling (tests/support/schedule.py): longest recorded files first, nothing dropped."""

from __future__ import annotations

import json

import pytest

from tests.support import schedule

pytest_plugins = ["pytester"]


def test_longest_files_come_first_and_unrecorded_ones_count_as_the_median() -> None:
    seconds = {"tests/a.py": 5.0, "tests/b.py": 120.0, "tests/c.py": 1.0}
    paths = ["tests/a.py", "tests/a.py", "tests/new.py", "tests/c.py", "tests/b.py"]
    assert schedule.longest_first(paths, seconds) == ["tests/b.py", "tests/a.py", "tests/new.py", "tests/c.py"]


def test_without_recorded_durations_the_collection_order_stays() -> None:
    assert schedule.longest_first(["tests/z.py", "tests/a.py"], {}) == ["tests/z.py", "tests/a.py"]


def test_the_recorded_durations_name_files_that_exist() -> None:
    """A renamed or deleted file left in tests/durations.json would schedule nothing; rerecord instead."""
    root = schedule.DURATIONS.parent.parent
    recorded = schedule.recorded()
    assert recorded, "tests/durations.json is missing: ./dev test --record-durations"
    missing = [path for path in recorded if not (root / path).exists()]
    assert not missing, f"{missing} are in tests/durations.json but gone: ./dev test --record-durations"
    assert all(seconds >= 0 for seconds in recorded.values())


def test_a_run_with_record_durations_writes_seconds_per_file(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = pytester.path / "durations.json"
    monkeypatch.setattr(schedule, "DURATIONS", target)
    pytester.makepyfile(
        test_one="import time\n\ndef test_a():\n    time.sleep(0.2)\n\ndef test_b():\n    pass\n",
        test_two="def test_c():\n    pass\n",
    )
    result = pytester.runpytest_inprocess(
        "-p", "tests.support.schedule", "--record-durations", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=3)
    written = json.loads(target.read_text())
    assert set(written) == {"test_one.py", "test_two.py"}
    assert written["test_one.py"] >= 0.2 > written["test_two.py"]
