"""ossd end to end: sample directory and git checkouts into the lake, read back through DuckDB."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from flows.ossd.payload import InvalidDirectoryError
from flows.ossd.replay import SAMPLE_DIR
from flows.ossd.source import ossd_flow
from tests.support.oso_contract import assert_matches_contract

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    copy = tmp_path / "oss-directory"
    shutil.copytree(SAMPLE_DIR, copy)
    return copy


def _git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
    }
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout.strip()


def test_sample_loads_with_nested_columns(warehouse, sample: Path) -> None:
    summary = ossd_flow(repo_url=str(sample))
    assert summary.rows == {"ossd.projects": 12, "ossd.collections": 4, "ossd.project_repositories": 14}

    counts = warehouse.sql(
        "SELECT (SELECT count(*) FROM ossd.projects) p, (SELECT count(*) FROM ossd.collections) c, "
        "(SELECT count(*) FROM ossd.project_repositories) r"
    ).row(0)
    assert counts == (12, 4, 14)

    uniswap = warehouse.sql(
        "SELECT github[1].url AS gh, len(npm) AS npm, blockchain[1].networks AS nets, blockchain[1].tags AS tags, "
        "social.twitter[1].url AS tw, defillama[1].url AS llama FROM ossd.projects WHERE name = 'uniswap'"
    ).row(0, named=True)
    assert uniswap == {
        "gh": "https://github.com/uniswap",
        "npm": 2,
        "nets": ["mainnet", "optimism", "arbitrum_one", "base"],
        "tags": ["contract", "factory"],
        "tw": "https://twitter.com/Uniswap",
        "llama": "https://defillama.com/protocol/uniswap",
    }
    optimism = warehouse.sql("SELECT projects FROM ossd.collections WHERE name = 'optimism'").item()
    assert "ethereum-attestation-service" in optimism and len(optimism) == 5

    repos = warehouse.sql(
        "SELECT url, owner, repo_name FROM ossd.project_repositories WHERE project_name = 'wevm' ORDER BY url"
    ).rows()
    assert repos == [
        ("https://github.com/wevm/viem", "wevm", "viem"),
        ("https://github.com/wevm/wagmi", "wevm", "wagmi"),
    ]
    org = warehouse.sql("SELECT owner, repo_name FROM ossd.project_repositories WHERE project_name = 'gitcoin'").row(0)
    assert org == ("gitcoinco", None)
    # a plain directory has no commit
    assert warehouse.sql("SELECT count(*) FROM ossd.projects WHERE sha IS NULL").item() == 12
    assert_matches_contract(warehouse, "ossd.projects", "ossd.collections", "ossd.project_repositories")


def test_rerun_is_idempotent_and_removed_project_disappears(warehouse, sample: Path) -> None:
    ossd_flow(repo_url=str(sample))
    ossd_flow(repo_url=str(sample))
    assert warehouse.sql("SELECT count(*), count(DISTINCT name) FROM ossd.projects").row(0) == (12, 12)
    assert warehouse.sql("SELECT count(*) FROM ossd.project_repositories").item() == 14

    (sample / "data/projects/w/wevm.yaml").unlink()
    ossd_flow(repo_url=str(sample))
    assert warehouse.sql("SELECT count(*) FROM ossd.projects WHERE name = 'wevm'").item() == 0
    assert warehouse.sql("SELECT count(*) FROM ossd.project_repositories WHERE project_name = 'wevm'").item() == 0
    assert warehouse.sql("SELECT count(*) FROM ossd.projects").item() == 11


BAD_FILES = {
    "unparsable": (
        "data/projects/x/broken.yaml",
        "version: 7\nname: broken\n  display_name: [oops\n",
        "line ",
        "unparsable YAML",
    ),
    "missing field": (
        "data/projects/x/nodisplay.yaml",
        "version: 7\nname: nodisplay\n",
        "display_name",
        "'display_name' is a required property",
    ),
    "bad enum": (
        "data/projects/x/badtag.yaml",
        "version: 7\nname: badtag\ndisplay_name: Bad\nblockchain:\n  - address: '0x1'\n"
        "    networks: [mainnet]\n    tags: [treasure]\n",
        "blockchain.0.tags.0",
        "'treasure' is not one of",
    ),
    "wrong type": (
        "data/collections/badcol.yaml",
        "version: 3\nname: badcol\ndisplay_name: B\nprojects: uniswap\n",
        "projects",
        "'uniswap' is not of type 'array'",
    ),
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_bad_file_fails_with_one_clear_error_and_keeps_previous_snapshot(warehouse, sample: Path, kind: str) -> None:
    ossd_flow(repo_url=str(sample))
    before = {t: warehouse.snapshot_id(f"ossd.{t}") for t in ("projects", "collections", "project_repositories")}

    rel, body, field, problem = BAD_FILES[kind]
    (sample / rel).parent.mkdir(parents=True, exist_ok=True)
    (sample / rel).write_text(body)
    with pytest.raises(InvalidDirectoryError) as err:
        ossd_flow(repo_url=str(sample))
    [bad] = err.value.problems
    assert bad.path == rel and bad.field.startswith(field) and problem in bad.problem
    assert f"{rel}: {field}" in str(err.value)

    after = {t: warehouse.snapshot_id(f"ossd.{t}") for t in ("projects", "collections", "project_repositories")}
    assert after == before


def test_skip_invalid_loads_the_rest_and_reports_skipped(warehouse, sample: Path) -> None:
    for rel, body, _, _ in BAD_FILES.values():
        (sample / rel).parent.mkdir(parents=True, exist_ok=True)
        (sample / rel).write_text(body)
    summary = ossd_flow(repo_url=str(sample), skip_invalid=True)
    assert len(summary.skipped) == 4
    assert {s.split(" ")[0] for s in summary.skipped} == {v[0] for v in BAD_FILES.values()}
    assert "skipped 4" in summary.render()
    assert warehouse.sql("SELECT count(*) FROM ossd.projects").item() == 12
    assert warehouse.sql("SELECT count(*) FROM ossd.collections").item() == 4


def test_duplicate_project_names_are_reported_for_each_file(warehouse, sample: Path) -> None:
    shutil.copy(sample / "data/projects/u/uniswap.yaml", sample / "data/projects/u/uniswap-copy.yaml")
    with pytest.raises(InvalidDirectoryError) as err:
        ossd_flow(repo_url=str(sample))
    assert {p.path for p in err.value.problems} == {"data/projects/u/uniswap.yaml", "data/projects/u/uniswap-copy.yaml"}
    assert not warehouse.exists("ossd.projects")


def test_git_ref_picks_the_commit_asked_for(warehouse, sample: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(sample, repo)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "first")
    first = _git(repo, "rev-parse", "HEAD")
    (repo / "data/projects/a/aave.yaml").unlink()
    _git(repo, "commit", "-q", "-am", "drop aave")
    second = _git(repo, "rev-parse", "HEAD")

    ossd_flow(repo_url=str(repo))  # the checkout as it is: second commit
    assert warehouse.sql("SELECT count(*) FROM ossd.projects").item() == 11
    assert warehouse.sql("SELECT DISTINCT hex(sha) FROM ossd.projects").item().lower() == second

    ossd_flow(repo_url=str(repo), ref=first)
    assert warehouse.sql("SELECT count(*) FROM ossd.projects WHERE name = 'aave'").item() == 1
    row = warehouse.sql("SELECT DISTINCT hex(sha) AS sha, committed_time FROM ossd.projects").row(0, named=True)
    assert row["sha"].lower() == first and row["committed_time"] is not None

    ossd_flow(repo_url=f"file://{repo}", ref="main")  # a git URL, cloned
    assert warehouse.sql("SELECT count(*) FROM ossd.projects").item() == 11


def test_unknown_ref_is_a_clear_error(sample: Path, tmp_path: Path, oso_home: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(sample, repo)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "first")
    from oso_core import CheckoutError

    with pytest.raises(CheckoutError, match="no ref 'nope'"):
        ossd_flow(repo_url=str(repo), ref="nope")


def test_command_line_help_and_query(sample: Path, oso_home: Path) -> None:
    env = {**os.environ, "OSO_HOME": str(oso_home)}
    help_text = subprocess.run(
        [sys.executable, "-m", "flows", "ossd", "--help"], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    assert "--repo-url" in help_text and "--ref" in help_text and "--skip-invalid" in help_text

    run = subprocess.run(
        [sys.executable, "-m", "flows", "ossd", "--repo-url", str(sample)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    output = run.stdout + run.stderr  # log_prints sends the summary through Prefect's logger
    assert "ossd.projects" in output and "12 rows" in output

    query = subprocess.run(
        [
            sys.executable,
            "-m",
            "oso_core.warehouse.query",
            "--format",
            "csv",
            "SELECT name FROM ossd.projects WHERE name LIKE 'u%' ORDER BY name",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert query.stdout.splitlines() == ["name", "uniswap"]


def test_summary_is_published_as_a_table_artifact_of_the_run(warehouse, sample: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, FlowRunFilter

    state = ossd_flow(repo_url=str(sample), return_state=True)
    run_id = state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        [artifact] = client.read_artifacts(
            artifact_filter=ArtifactFilter(key={"any_": ["ossd-load-summary"]}),
            flow_run_filter=FlowRunFilter(id={"any_": [run_id]}),
        )
    assert artifact.type == "table"
    rows = artifact.data if isinstance(artifact.data, list) else json.loads(artifact.data)
    by_table = {row["table"]: row for row in rows}
    assert by_table["ossd.projects"]["rows"] == 12
    urls = "ossd.project_repositories"
    assert by_table[urls]["snapshot_id"] == str(warehouse.snapshot_id(urls))
    # the snapshot itself records which run wrote it
    snapshot = warehouse.catalog.load_table("ossd.projects").current_snapshot()
    assert snapshot.summary["oso.flow_run_id"] == str(run_id)
    assert snapshot.summary["oso.source"] == "ossd"


def test_parallel_parsing_gives_the_same_records_and_errors_in_the_same_order(sample: Path) -> None:
    from flows.ossd import payload as ossd

    (sample / "data/projects/x").mkdir(parents=True, exist_ok=True)
    (sample / "data/projects/x/nodisplay.yaml").write_text("version: 7\nname: nodisplay\n")
    paths = ossd.yaml_files(sample, ossd.PROJECTS_DIR)
    serial = ossd.parse_all(paths, "project", sample, workers=1)
    parallel = ossd.parse_all(paths, "project", sample, workers=3)
    assert parallel == serial
    assert [errs[0].path for _, errs in parallel if errs] == ["data/projects/x/nodisplay.yaml"]
    assert ossd.default_workers(10) == 1 and ossd.default_workers(ossd.PARALLEL_THRESHOLD) >= 1

    revision = ossd.Revision(None, None)
    one = ossd.read_directory(sample, revision, skip_invalid=True, workers=1)
    two = ossd.read_directory(sample, revision, skip_invalid=True, workers=2)
    assert ossd.projects_frame(one).equals(ossd.projects_frame(two))
    assert [p.path for p in two.skipped] == ["data/projects/x/nodisplay.yaml"]


_forks_seen: list[int] | None = None  # while a test watches: the pids that called os.fork()


def _note_fork() -> None:
    if _forks_seen is not None:
        _forks_seen.append(os.getpid())


os.register_at_fork(before=_note_fork)


def test_parallel_parsing_starts_fresh_processes_never_forks_of_the_flow_run(tmp_path: Path) -> None:
    """A flow run's process has threads that hold locks at any moment (Prefect's log, event and heartbeat workers)
    and Prefect's SIGTERM handler. A forked child inherits both: CI saw a forked parser child that never exited,
    hanging the run for ten minutes. The parser workers must be fresh interpreters: no ``os.fork()`` at all."""
    global _forks_seen
    from flows.ossd import payload as ossd

    sample = tmp_path / "sample"
    shutil.copytree(SAMPLE_DIR, sample)
    paths = ossd.yaml_files(sample, ossd.PROJECTS_DIR)
    _forks_seen = []
    try:
        parallel = ossd.parse_all(paths, "project", sample, workers=2)
        forks = list(_forks_seen)
    finally:
        _forks_seen = None
    assert forks == [], "parallel parsing forked the (threaded) calling process"
    assert parallel == ossd.parse_all(paths, "project", sample, workers=1)


def test_a_directory_large_enough_to_parse_in_parallel_loads_inside_a_flow_run(warehouse, tmp_path: Path) -> None:
    """Parser processes started inside a Prefect flow run (which has its own threads) finish and lose nothing."""
    import yaml

    from flows.ossd import payload as ossd

    root = tmp_path / "big"
    shutil.copytree(SAMPLE_DIR, root)
    for i in range(ossd.PARALLEL_THRESHOLD):
        folder = root / "data/projects/g"
        folder.mkdir(parents=True, exist_ok=True)
        body = {
            "version": 7,
            "name": f"generated-{i}",
            "display_name": f"Generated {i}",
            "github": [{"url": f"https://github.com/gen-{i}/repo"}],
        }
        (folder / f"generated-{i}.yaml").write_text(yaml.safe_dump(body))
    summary = ossd_flow(repo_url=str(root))
    assert summary.rows["ossd.projects"] == 12 + ossd.PARALLEL_THRESHOLD
    assert warehouse.sql("SELECT count(DISTINCT name) FROM ossd.projects").item() == 12 + ossd.PARALLEL_THRESHOLD
