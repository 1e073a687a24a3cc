"""oss-directory: read, validate and shape the YAML files of OSO's project directory.

The ``oss-directory`` package's own loader parses with PyYAML's pure-Python loader, builds a fresh validator
per file and prints-and-skips files it cannot parse, which silently loses projects. We keep its schema (the
JSON Schemas it ships) and replace the behaviour: libyaml's C loader, one compiled validator per schema, and
every bad file reported with its path, field and problem before anything is committed.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fastjsonschema
import polars as pl
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from yaml.nodes import MappingNode, Node, SequenceNode

from oso_core import Revision, parse_github_url

try:  # libyaml is ~8x faster; fall back only where PyYAML was built without it
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

PROJECTS_DIR = "data/projects"
COLLECTIONS_DIR = "data/collections"
URL_LIST_FIELDS = ("websites", "github", "npm", "crates", "pypi", "go", "open_collective", "defillama")
SOCIAL_FIELDS = ("farcaster", "medium", "mirror", "telegram", "twitter")
# The real directory (~7,100 files) parses in ~1.3 s on one core; below a few thousand files, starting
# worker processes costs more than it saves.
PARALLEL_THRESHOLD = 2000
MAX_WORKERS = 4
# oss-directory's files use no YAML anchors or aliases. A few are allowed; beyond that a file is refused before
# its values are built, because nested aliases expand exponentially (a 563-byte "billion laughs" file took 1 GiB
# in 16 s and then MemoryError, in the schema check and in the error texts that repeat the expanded value).
MAX_YAML_ALIASES = 16
# Bounds on what one bad file adds to the error report and the run summary.
MAX_PROBLEM_CHARS = 300
MAX_PROBLEMS_PER_FILE = 20

_URL = pl.List(pl.Struct({"url": pl.String}))
PROJECT_SCHEMA: dict[str, pl.DataType] = {
    "version": pl.Int64(),
    "name": pl.String(),
    "display_name": pl.String(),
    "description": pl.String(),
    **{name: _URL for name in URL_LIST_FIELDS[:1]},
    "social": pl.Struct({name: _URL for name in SOCIAL_FIELDS}),
    **{name: _URL for name in URL_LIST_FIELDS[1:]},
    "blockchain": pl.List(
        pl.Struct({"address": pl.String, "tags": pl.List(pl.String), "networks": pl.List(pl.String), "name": pl.String})
    ),
    "comments": pl.List(pl.String),
}
COLLECTION_SCHEMA: dict[str, pl.DataType] = {
    "version": pl.Int64(),
    "name": pl.String(),
    "display_name": pl.String(),
    "description": pl.String(),
    "projects": pl.List(pl.String),
    "comments": pl.List(pl.String),
}
SOURCE_COLUMNS: dict[str, pl.DataType] = {"sha": pl.Binary(), "committed_time": pl.Datetime("us", "UTC")}
PROJECT_REPOSITORY_SCHEMA: dict[str, pl.DataType] = {
    "project_name": pl.String(),
    "url": pl.String(),
    "owner": pl.String(),
    "repo_name": pl.String(),
}


class YamlAliasError(yaml.YAMLError):
    """A YAML file uses more aliases than allowed, or an alias that contains itself."""


def _children(node: Node) -> Iterator[Node]:
    if isinstance(node, SequenceNode):
        yield from node.value
    elif isinstance(node, MappingNode):
        for key, value in node.value:
            yield key
            yield value


def check_aliases(root: Node, budget: int = MAX_YAML_ALIASES) -> None:
    """Raise ``YamlAliasError`` when the composed document reuses nodes (aliases) more than ``budget`` times
    or contains itself. The composer shares one node per anchor, so this walks each node once: linear in the
    file's size, however large the aliases would expand."""
    done: set[int] = set()
    on_path = {id(root)}
    stack = [(root, _children(root))]
    uses = 0
    while stack:
        node, children = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            on_path.discard(id(node))
            done.add(id(node))
            continue
        key = id(child)
        if key in on_path:
            raise YamlAliasError(f"a YAML alias refers to a value that contains it ({_mark(child)})")
        if key in done:
            uses += 1
            if uses > budget:
                raise YamlAliasError(
                    f"more than {budget} YAML aliases ({_mark(child)}); oss-directory files use none "
                    "(nested aliases can expand a small file without bound)"
                )
            continue
        on_path.add(key)
        stack.append((child, _children(child)))


def _mark(node: Node) -> str:
    mark = node.start_mark
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark else "alias"


class BoundedLoader(_Loader):  # type: ignore[misc, valid-type]
    """libyaml's safe loader that checks the alias budget between composing the document and building it."""

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        check_aliases(node)
        return self.construct_document(node)


def load_yaml(data: bytes) -> Any:
    """One YAML document; aliases are checked only when the text has a ``*`` (an alias cannot be written
    without one), so the ~98% of oss-directory files without one parse at libyaml's full speed."""
    return yaml.load(data, Loader=BoundedLoader if b"*" in data else _Loader)  # noqa: S506 - safe C loaders


def _capped(text: str, limit: int = MAX_PROBLEM_CHARS) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


@dataclass(frozen=True)
class FileProblem:
    """One bad file: where, which field, what is wrong. Never loses the file silently."""

    path: str
    field: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.field}: {self.problem}"


class InvalidDirectoryError(Exception):
    """The directory has bad files; nothing was written. One line per bad file."""

    def __init__(self, problems: list[FileProblem]):
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"oss-directory has {len(problems)} invalid file(s); nothing was loaded:\n{lines}")


@dataclass
class Directory:
    """Parsed and validated records, the files that were skipped with ``skip_invalid``, and the entries named
    ``*.yaml`` that are not regular files (``ignored``, each with its kind)."""

    projects: list[dict[str, Any]]
    collections: list[dict[str, Any]]
    revision: Revision
    skipped: list[FileProblem] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SchemaCheck:
    """One schema, two validators: a compiled fast path for the common valid file, and jsonschema's full
    error list for the rare bad one, so errors stay exact while 7,000 valid files cost ~10x less."""

    fast: Any
    full: Draft202012Validator

    def errors(self, record: Any) -> list[Any]:
        try:
            self.fast(record)
            return []
        except fastjsonschema.JsonSchemaException:
            return sorted(self.full.iter_errors(record), key=lambda e: list(map(str, e.absolute_path)))


def _schema_checks() -> dict[str, SchemaCheck]:
    from resources import get_schema_files  # the schema files shipped by the oss-directory package

    schemas = dict(get_schema_files())
    registry = Registry().with_resources(
        (name, Resource(contents=body, specification=DRAFT202012)) for name, body in schemas.items()
    )
    # the package's schemas use draft-07 features only; formats are annotations there, as in jsonschema
    handlers = {"": lambda uri: schemas[uri.rsplit("/", 1)[-1].split("#")[0]]}
    return {
        kind: SchemaCheck(
            fast=fastjsonschema.compile(schemas[f"{kind}.json"], handlers=handlers, use_formats=False),
            full=Draft202012Validator(schemas[f"{kind}.json"], registry=registry),
        )
        for kind in ("project", "collection")
    }


_CHECKS: dict[str, SchemaCheck] | None = None


def schema_checks() -> dict[str, SchemaCheck]:
    global _CHECKS
    if _CHECKS is None:
        _CHECKS = _schema_checks()
    return _CHECKS


def _field_path(error: Any) -> str:
    parts = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        missing = re.search(r"'([^']+)' is a required property", error.message)
        if missing:
            parts.append(missing.group(1))
    return ".".join(parts) or "(document)"


class NotRegularFileError(OSError):
    """A directory entry named like a data file that is a FIFO, socket, device or directory."""


def file_type(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"), (stat.S_ISDIR, "directory")):
        if test(mode):
            return name
    return "device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file"


def read_regular_file(path: str) -> bytes:
    """The bytes of ``path`` if it is a regular file (after symlinks); raise ``NotRegularFileError`` otherwise.

    Opened non-blocking and checked on the open descriptor: opening a FIFO for reading would otherwise wait
    for a writer forever, and checking the name before opening would race with the file being replaced.
    """
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFileError(f"not a regular file ({file_type(mode)})")
        os.set_blocking(descriptor, True)
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            return handle.read()
    finally:
        os.close(descriptor)


def parse_file(path: str, kind: str, relative_to: str) -> tuple[dict[str, Any] | None, list[FileProblem]]:
    """Parse and validate one YAML file; returns the record or the problems that make it unusable."""
    rel = os.path.relpath(path, relative_to)
    try:
        record = load_yaml(read_regular_file(path))
    except YamlAliasError as exc:
        return None, [FileProblem(rel, "(document)", f"refused YAML: {exc}")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(document)"
        problem = _capped(f"unparsable YAML: {getattr(exc, 'problem', None) or exc}")
        return None, [FileProblem(rel, where, problem)]
    except NotRegularFileError as exc:
        return None, [FileProblem(rel, "(file)", str(exc))]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [FileProblem(rel, "(file)", _capped(f"unreadable: {exc}"))]
    if not isinstance(record, dict):
        return None, [FileProblem(rel, "(document)", f"expected a mapping, got {type(record).__name__}")]
    errors = schema_checks()[kind].errors(record)
    if errors:
        problems = [FileProblem(rel, _capped(_field_path(e), 120), _capped(e.message)) for e in errors]
        if len(problems) > MAX_PROBLEMS_PER_FILE:
            more = len(problems) - MAX_PROBLEMS_PER_FILE
            problems = [*problems[:MAX_PROBLEMS_PER_FILE], FileProblem(rel, "(document)", f"{more} more problem(s)")]
        return None, problems
    version = record.get("version")
    if isinstance(version, float) and not version.is_integer():
        return None, [FileProblem(rel, "version", f"{version} is not a whole number")]
    return record, []


def yaml_files(root: Path, subdir: str, ignored: list[str] | None = None) -> list[str]:
    """The ``*.yaml`` regular files under ``root/subdir``, sorted.

    Entries named ``*.yaml`` that are not regular files (a FIFO, socket, device or directory; git cannot even
    store the first three) are not data: they are left out and described in ``ignored`` for the run summary.
    Reading a FIFO would wait for a writer forever. A name whose target cannot be examined (a broken symlink)
    is kept, so reading it reports the file as a bad one.
    """
    base = root / subdir
    if not base.is_dir():
        raise FileNotFoundError(f"{root} is not an oss-directory checkout: {subdir}/ is missing")
    files = []
    for path in sorted(base.rglob("*.yaml")):
        try:
            mode = path.stat().st_mode
        except OSError:
            mode = stat.S_IFREG
        if stat.S_ISREG(mode):
            files.append(str(path))
        elif ignored is not None:
            ignored.append(f"{path.relative_to(root)} ({file_type(mode)})")
    return files


def _parse_chunk(args: tuple[list[str], str, str]) -> list[tuple[dict[str, Any] | None, list[FileProblem]]]:
    paths, kind, root = args
    return [parse_file(p, kind, root) for p in paths]


def default_workers(files: int) -> int:
    """Processes worth starting: parsing is CPU-bound Python, so a large directory splits over the cores."""
    return min(os.cpu_count() or 1, MAX_WORKERS) if files >= PARALLEL_THRESHOLD else 1


def parse_all(
    paths: list[str], kind: str, root: Path, workers: int | None = None
) -> list[tuple[dict[str, Any] | None, list[FileProblem]]]:
    """Parse and validate files in order; large directories are split over worker processes.

    The workers are spawned, never forked: this runs inside a flow run, whose process has threads (Prefect's
    heartbeat, event and log workers) and Prefect's SIGTERM handler. A forked child inherits every lock another
    thread held at the fork and that handler, and CI saw one such child never exit, hanging the run. A spawned
    worker is a fresh interpreter (it compiles its own validators, ~0.1 s) and ends when its queue closes.
    """
    workers = default_workers(len(paths)) if workers is None else workers
    if workers <= 1:
        return _parse_chunk((paths, kind, str(root)))
    chunks = [paths[i::workers] for i in range(workers)]
    pool = multiprocessing.get_context("spawn").Pool(workers)
    try:
        parts = pool.map(_parse_chunk, [(chunk, kind, str(root)) for chunk in chunks])
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.close()
        pool.join()
    ordered: list[tuple[dict[str, Any] | None, list[FileProblem]]] = [(None, [])] * len(paths)
    for offset, part in enumerate(parts):
        ordered[offset::workers] = part
    return ordered


def read_directory(
    root: Path, revision: Revision, *, skip_invalid: bool = False, workers: int | None = None
) -> Directory:
    """Every project and collection under ``root``; raise on any bad file unless ``skip_invalid``."""
    parsed: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    problems: list[FileProblem] = []
    ignored: list[str] = []
    for kind, subdir in (("project", PROJECTS_DIR), ("collection", COLLECTIONS_DIR)):
        paths = yaml_files(root, subdir, ignored)
        good = []
        for path, (record, errs) in zip(paths, parse_all(paths, kind, root, workers), strict=True):
            if errs:
                problems.extend(errs)
            else:
                good.append((os.path.relpath(path, root), record))
        problems.extend(_duplicate_names(good, kind))
        parsed[kind] = good
    if problems and not skip_invalid:
        raise InvalidDirectoryError(problems)
    bad = {p.path for p in problems}
    return Directory(
        projects=[r for path, r in parsed["project"] if path not in bad],
        collections=[r for path, r in parsed["collection"] if path not in bad],
        revision=revision,
        skipped=problems,
        ignored=ignored,
    )


def _duplicate_names(records: list[tuple[str, dict[str, Any]]], kind: str) -> list[FileProblem]:
    """Two files with one name would make two rows for one project: report every file involved."""
    by_name: dict[str, list[str]] = {}
    for path, record in records:
        by_name.setdefault(record["name"], []).append(path)
    return [
        FileProblem(
            path, "name", f"{kind} name {name!r} is also declared by {', '.join(p for p in paths if p != path)}"
        )
        for name, paths in by_name.items()
        if len(paths) > 1
        for path in paths
    ]


def _with_revision(frame: pl.DataFrame, revision: Revision) -> pl.DataFrame:
    sha = bytes.fromhex(revision.sha) if revision.sha else None
    return frame.with_columns(
        pl.lit(sha, dtype=pl.Binary).alias("sha"),
        pl.lit(revision.committed_time, dtype=pl.Datetime("us", "UTC")).alias("committed_time"),
    )


def _frame(records: Iterable[dict[str, Any]], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    rows = [{k: record.get(k) for k in schema} for record in records]
    return pl.DataFrame(rows, schema=schema, orient="row" if not rows else None, strict=False)


def projects_frame(directory: Directory) -> pl.DataFrame:
    return _with_revision(_frame(directory.projects, PROJECT_SCHEMA), directory.revision)


def collections_frame(directory: Directory) -> pl.DataFrame:
    return _with_revision(_frame(directory.collections, COLLECTION_SCHEMA), directory.revision)


def project_repositories_frame(directory: Directory) -> pl.DataFrame:
    """``ossd.project_repositories``: one row per project × GitHub URL (the input of ``ossd_github``)."""
    rows = []
    for project in directory.projects:
        for entry in project.get("github") or []:
            parsed = parse_github_url(entry["url"])
            rows.append(
                {
                    "project_name": project["name"],
                    "url": entry["url"],
                    "owner": parsed.owner if parsed else None,
                    "repo_name": parsed.repository if parsed else None,
                }
            )
    frame = pl.DataFrame(rows, schema=PROJECT_REPOSITORY_SCHEMA)
    return _with_revision(
        frame.unique(subset=["project_name", "url"], keep="first", maintain_order=True), directory.revision
    )
