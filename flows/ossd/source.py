"""oss-directory: OSO's registry of projects and collections, from its git repository into the lake."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from flows.ossd import payload as ossd
from oso_core import CallFunction, NotNull, Source, SourceRun, TableSpec, Unique, checkout, source_flow

DEFAULT_REPO_URL = "https://github.com/opensource-observer/oss-directory"

SOURCE = Source(
    name="ossd",
    description="OSO's oss-directory: projects, collections and the GitHub URLs each project lists",
    tables=(
        TableSpec(
            "projects",
            mode="replace",
            key=("name",),
            description="one row per project YAML",
            checks=(Unique("name"), NotNull("name")),
        ),
        TableSpec(
            "collections",
            mode="replace",
            key=("name",),
            description="one row per collection YAML",
            checks=(Unique("name"), NotNull("name")),
        ),
        TableSpec(
            "project_repositories",
            mode="replace",
            key=("project_name", "url"),
            description="project × GitHub URL",
            checks=(Unique("project_name", "url"), NotNull("project_name", "url")),
        ),
    ),
    flow="ossd_flow",
    tags=("stable",),
    cadence="daily",  # OSO ran it in its daily stable/unstable jobs
    migrations=(CallFunction("flows.ossd.migration:migrate_table_names"),),
)


@source_flow(SOURCE)
def ossd_flow(
    run: SourceRun,
    repo_url: Annotated[
        str, "git URL or local path (a git checkout, or a plain directory holding data/projects and data/collections)"
    ] = DEFAULT_REPO_URL,
    ref: Annotated[str | None, "branch, tag or commit to load (default: the default branch)"] = None,
    skip_invalid: Annotated[
        bool, "load the valid files and list the invalid ones in the summary instead of failing the load"
    ] = False,
) -> dict[str, object]:
    """Load oss-directory's projects, collections and repository list, each table replaced in one commit."""
    if Path(repo_url).exists():
        repo_url = str(Path(repo_url).resolve())
    with checkout(repo_url, ref) as (root, revision):
        directory = ossd.read_directory(root, revision, skip_invalid=skip_invalid)
    run.summary.skipped = [f"{p.path} ({p.field}: {p.problem})" for p in directory.skipped]
    if directory.ignored:
        run.summary.notes.append(f"not regular files, not read: {', '.join(directory.ignored)}")
    run.summary.notes.append(f"commit {revision.sha or '(plain directory, no commit)'}")
    return {
        "projects": ossd.projects_frame(directory),
        "collections": ossd.collections_frame(directory),
        "project_repositories": ossd.project_repositories_frame(directory),
    }
