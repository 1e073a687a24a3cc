"""A test whose child process hangs fails within its deadline, and the failure says where the child was.

The hung test runs in its own pytest process (pytester), with this project's deadline plugin and a 6 s deadline; its
child sleeps in a function whose name must appear in the output, as must the test process's own stack.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytest_plugins = ["pytester"]

HUNG_TEST = '''
import subprocess
import sys

import pytest

CHILD = """
import time

def child_waits_forever_here():
    while True:
        time.sleep(0.05)

print("ready", flush=True)
child_waits_forever_here()
"""


@pytest.mark.timeout(6)
def test_waits_on_a_hung_child():
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline() == "ready\\n"
    try:
        child.wait()  # the unbounded wait under test: the deadline must end it
    finally:
        child.kill()
        child.wait(timeout=10)
'''


def test_a_hung_child_fails_its_test_in_time_with_the_childs_stack(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    pytester.makepyfile(test_hung=HUNG_TEST)
    started = time.monotonic()
    result = pytester.runpytest_subprocess("-p", "tests.support.hangs", "-p", "no:cacheprovider", timeout=120)
    took = time.monotonic() - started
    output = result.stdout.str() + result.stderr.str()
    result.assert_outcomes(failed=1)
    assert "Timeout (>6.0s) from pytest-timeout" in output
    assert "stacks of child processes" in output
    assert "child_waits_forever_here" in output, output  # the child's own stack, from its faulthandler
    assert "test_waits_on_a_hung_child" in output  # the test process's stack, from pytest-timeout
    assert took < 60, f"the hung test took {took:.0f} s"
