"""ossd against hostile directory entries: YAML alias bombs, huge invalid values, FIFOs and other non-files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flows.ossd import payload as ossd
from flows.ossd.replay import SAMPLE_DIR
from flows.ossd.source import ossd_flow

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    copy = tmp_path / "oss-directory"
    shutil.copytree(SAMPLE_DIR, copy)
    return copy


def alias_bomb(levels: int = 9) -> str:
    """A "billion laughs" project: 9 strings, each level nine aliases of the one before (9**levels strings)."""
    names = "abcdefghijklmnop"[:levels]
    lines = ["version: 7", "name: bomb", "display_name: Bomb", f"{names[0]}: &{names[0]} [{','.join(['lol'] * 9)}]"]
    for previous, name in zip(names, names[1:], strict=False):
        lines.append(f"{name}: &{name} [{','.join([f'*{previous}'] * 9)}]")
    lines.append(f"description: *{names[-1]}")
    lines.append(f"github: [*{names[-1]}]")
    return "\n".join(lines) + "\n"


CHILD = """
import json, resource, sys, time
from pathlib import Path
limit = 2 << 30  # the old loader needs ~9 GiB for this file; the child stops at 2 GiB instead of the machine
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from flows.ossd import payload as ossd
ossd.schema_checks()  # compiling the validators is not the load's cost
started = time.perf_counter()
try:
    ossd.read_directory(Path(sys.argv[1]), ossd.Revision(None, None), workers=1)
    outcome = "loaded"
except ossd.InvalidDirectoryError as exc:
    outcome = str(exc)
except MemoryError:
    outcome = "MemoryError"
print(json.dumps({
    "outcome": outcome,
    "seconds": time.perf_counter() - started,
    # VmHWM: this process's peak RSS (getrusage's ru_maxrss would carry the forking parent's peak across exec)
    "max_rss_mib": next(
        int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")
    ) / 1024,
}))
"""


def test_yaml_alias_bomb_fails_fast_with_bounded_memory_naming_the_file(sample: Path) -> None:
    import json

    bomb = alias_bomb()
    assert len(bomb.encode()) < 600  # the file was 563 bytes
    (sample / "data/projects/b").mkdir()
    (sample / "data/projects/b/bomb.yaml").write_text(bomb)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(sample)], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["seconds"] < 5.0, result  # ~0.01 s measured; before: MemoryError after 29 s at 1.3 GiB
    assert result["max_rss_mib"] < 400, result
    outcome = result["outcome"]
    assert "data/projects/b/bomb.yaml: (document): refused YAML: more than 16 YAML aliases" in outcome
    assert len(outcome) < 1000  # the file is named; the expanded value is not repeated


def test_aliases_within_the_budget_still_load_and_a_self_containing_one_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_bytes(
        b"version: 7\nname: few\ndisplay_name: &n Few\ndescription: *n\n"
        b"github: [&g {url: 'https://github.com/a/b'}, *g]\n"
    )
    record, problems = ossd.parse_file(str(path), "project", str(tmp_path))
    assert problems == []
    assert record["description"] == "Few" and record["github"] == [{"url": "https://github.com/a/b"}] * 2

    path.write_bytes(b"version: 7\nname: loop\ndisplay_name: Loop\ncomments: &c [x, *c]\n")
    record, problems = ossd.parse_file(str(path), "project", str(tmp_path))
    assert record is None
    assert [(p.path, p.field) for p in problems] == [("p.yaml", "(document)")]
    assert "refused YAML: a YAML alias refers to a value that contains it (line 4" in problems[0].problem

    many = b",".join([b"*x"] * 17)
    path.write_bytes(b"version: 7\nname: many\ndisplay_name: Many\nx: &x a\ncomments: [" + many + b"]\n")
    assert "more than 16 YAML aliases" in ossd.parse_file(str(path), "project", str(tmp_path))[1][0].problem


def test_error_texts_and_counts_are_capped_for_huge_invalid_values(sample: Path) -> None:
    """jsonschema puts the whole offending value in its message; a report line keeps only its start."""
    huge = "[" + ",".join(f'"{"x" * 50}-{i}"' for i in range(5000)) + "]"
    (sample / "data/projects/h").mkdir()
    (sample / "data/projects/h/huge.yaml").write_text(
        f"version: 7\nname: huge\ndisplay_name: Huge\ndescription: {huge}\n"
        f"github: [{', '.join(f'{{url: {i}}}' for i in range(100))}]\n"
    )
    with pytest.raises(ossd.InvalidDirectoryError) as caught:
        ossd.read_directory(sample, ossd.Revision(None, None), workers=1)
    problems = caught.value.problems
    assert {p.path for p in problems} == {"data/projects/h/huge.yaml"}
    assert len(problems) == ossd.MAX_PROBLEMS_PER_FILE + 1
    assert problems[-1].problem == f"{101 - ossd.MAX_PROBLEMS_PER_FILE} more problem(s)"
    description = next(p for p in problems if p.field == "description")
    assert description.problem.startswith("['" + "x" * 50)
    assert description.problem.endswith(" characters)") and len(description.problem) < 400
    assert len(str(caught.value)) < 20_000


def _within(seconds: float, call: Callable[[], Any], fifo: Path) -> Any:
    """``call()`` in a thread; if it is still blocked after ``seconds`` (reading the FIFO), unblock it and fail."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # a writer arrives: the blocked open returns
        os.close(writer)
        thread.join(10)
        pytest.fail(f"still blocked on {fifo.name} after {seconds} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def test_fifo_and_other_non_files_named_yaml_are_not_read_and_are_noted(warehouse, sample: Path) -> None:
    fifo = sample / "data/projects/f/fifo.yaml"
    os.mkfifo(fifo)
    (sample / "data/projects/d.yaml").mkdir()  # a directory named like a project file
    os.symlink(fifo, sample / "data/collections/link-to-fifo.yaml")

    directory = _within(20, lambda: ossd.read_directory(sample, ossd.Revision(None, None), workers=1), fifo)
    assert len(directory.projects) == 12 and len(directory.collections) == 4
    assert directory.skipped == []
    assert directory.ignored == [
        "data/projects/d.yaml (directory)",
        "data/projects/f/fifo.yaml (FIFO)",
        "data/collections/link-to-fifo.yaml (FIFO)",
    ]

    # a file that becomes a FIFO after the listing is a bad file, never a hang
    record, problems = _within(20, lambda: ossd.parse_file(str(fifo), "project", str(sample)), fifo)
    assert record is None
    assert [str(p) for p in problems] == ["data/projects/f/fifo.yaml: (file): not a regular file (FIFO)"]

    summary = ossd_flow(repo_url=str(sample))
    assert summary.rows == {"ossd.projects": 12, "ossd.collections": 4, "ossd.repositories": 14}
    assert summary.skipped == []
    assert (
        "not regular files, not read: data/projects/d.yaml (directory), data/projects/f/fifo.yaml (FIFO), "
        "data/collections/link-to-fifo.yaml (FIFO)"
    ) in summary.notes
