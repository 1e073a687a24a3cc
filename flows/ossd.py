"""oss-directory: OSO's registry of projects and collections, from its git repository into the lake."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prefect import flow

from oso_core import ossd
from oso_core.cli import run_source_cli
from oso_core.git_checkout import checkout
from oso_core.settings import PROJECT_ROOT
from oso_core.sources import Source, TableSpec
from oso_core.summary import LoadSummary
from oso_core.warehouse import Warehouse

DEFAULT_REPO_URL = "https://github.com/opensource-observer/oss-directory"
SAMPLE_DIR = PROJECT_ROOT / "tests" / "fixtures" / "ossd" / "sample"

SOURCE = Source(
    name="ossd",
    description="OSO's oss-directory: projects, collections and the GitHub repositories they list",
    tables=(
        TableSpec("projects", mode="replace", key=("name",), description="one row per project YAML"),
        TableSpec("collections", mode="replace", key=("name",), description="one row per collection YAML"),
        TableSpec("repositories", mode="replace", key=("project_name", "url"), description="project × GitHub URL"),
    ),
    flow="ossd_flow",
    tags=("stable",),
)


@flow(name="ossd", log_prints=True)
def ossd_flow(repo_url: str = DEFAULT_REPO_URL, ref: str | None = None, skip_invalid: bool = False) -> LoadSummary:
    """Load oss-directory's projects, collections and repository list, each table replaced in one commit."""
    summary = LoadSummary(SOURCE.name)
    with checkout(repo_url, ref) as (root, revision):
        directory = ossd.read_directory(root, revision, skip_invalid=skip_invalid)
    tables = {
        "projects": ossd.projects_frame(directory),
        "collections": ossd.collections_frame(directory),
        "repositories": ossd.repositories_frame(directory),
    }
    summary.results.extend(Warehouse().write_tables(SOURCE, tables))
    summary.skipped = [f"{p.path} ({p.field}: {p.problem})" for p in directory.skipped]
    if directory.ignored:
        summary.notes.append(f"not regular files, not read: {', '.join(directory.ignored)}")
    summary.notes.append(f"commit {revision.sha or '(plain directory, no commit)'}")
    summary.publish()
    return summary


@contextmanager
def replay_parameters() -> Iterator[dict[str, str]]:
    """Offline, ossd loads the sample directory shipped in the repository instead of cloning GitHub."""
    yield {"repo_url": str(SAMPLE_DIR)}


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--repo-url",
        default=DEFAULT_REPO_URL,
        help="git URL or local path (a git checkout, or a plain directory holding data/projects and "
        f"data/collections); default {DEFAULT_REPO_URL}",
    )
    parser.add_argument("--ref", default=None, help="branch, tag or commit to load (default: the default branch)")
    parser.add_argument(
        "--skip-invalid",
        action="store_true",
        help="load the valid files and list the invalid ones in the summary instead of failing the load",
    )


def _parameters(args: argparse.Namespace) -> dict[str, object]:
    return {
        "repo_url": str(Path(args.repo_url)) if Path(args.repo_url).exists() else args.repo_url,
        "ref": args.ref,
        "skip_invalid": args.skip_invalid,
    }


if __name__ == "__main__":
    raise SystemExit(run_source_cli(SOURCE, ossd_flow, add_arguments=_add_arguments, to_parameters=_parameters))
