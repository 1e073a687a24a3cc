"""npm's payloads → frames: the lake's packages, manifests normalised as OSO did, and each weekly window's downloads."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import polars as pl

from oso_core import (
    PROJECTS_TABLE,
    HttpClient,
    LoadSummary,
    Where,
    Window,
    fan_out,
    json_text,
    project_urls,
    records_to_frame,
    snake_case,
)

REGISTRY_URL = "https://registry.npmjs.org"
HEADERS = {  # OSO identified itself to npm this way
    "X-URL": "https://github.com/opensource-observer/oso",
    "X-Purpose": "Indexing npm packages for open source impact metrics. If you have any questions, please contact us.",
}
_PACKAGE_URL = re.compile(r"npmjs\.(?:com|org)/package/((?:@[^/?#\s]+/)?[^/?#\s]+)", re.IGNORECASE)

# OSO's NPMPackageManifest: strings stay strings, everything else is JSON text.
STRING_FIELDS = ("name", "version", "description", "homepage", "main")
JSON_FIELDS = (
    "keywords",
    "bugs",
    "license",
    "author",
    "contributors",
    "funding",
    "files",
    "exports",
    "browser",
    "bin",
    "man",
    "directories",
    "repository",
    "scripts",
    "config",
    "dependencies",
    "devDependencies",
    "peerDependencies",
    "peerDependenciesMeta",
    "bundleDependencies",
    "optionalDependencies",
    "overrides",
    "engines",
    "os",
    "cpu",
    "devEngines",
    "publishConfig",
    "workspaces",
)
MANIFEST_SCHEMA: dict[str, pl.DataType] = {
    **{name: pl.String() for name in STRING_FIELDS},
    **{snake_case(name): pl.String() for name in JSON_FIELDS},
    "private": pl.Boolean(),
}
# OSO's TRANSFORMATIONS: the string shorthand of a field becomes its object form.
NORMALISE = {
    "bugs": lambda v: {"url": v} if isinstance(v, str) else v,
    "license": lambda v: {"type": v} if isinstance(v, str) else v,
    "author": lambda v: {"author": v} if isinstance(v, str) else v,
    "funding": lambda v: [{"type": "url", "url": v}] if isinstance(v, str) else [v] if isinstance(v, dict) else v,
    "exports": lambda v: {".": v} if isinstance(v, str) else v,
    "bin": lambda v: {"path": v} if isinstance(v, str) else v,
    "man": lambda v: [v] if isinstance(v, str) else v,
    "browser": lambda v: {"browser": v} if isinstance(v, (str, bool)) else v,
    "repository": lambda v: {"url": v} if isinstance(v, str) else v,
}
DOWNLOADS_SCHEMA = {"date": pl.Date(), "artifact_name": pl.String(), "downloads": pl.Int64()}


def package_of(url: str) -> str | None:
    """``https://www.npmjs.com/package/@scope/name`` → ``@scope/name``; ``None`` for other URLs."""
    match = _PACKAGE_URL.search(url)
    return match.group(1) if match else None


def lake_packages(summary: LoadSummary, warehouse: Any) -> list[str] | None:
    """The npm packages of ``ossd.projects``, or None (with a note saying why) when there is nothing to load.

    A missing table (ossd not run yet) or one without any npm package is not an error of npm's: the run ends
    Completed with the note, loads nothing and marks no window, so the windows load once the packages exist.
    Marking them loaded with zero rows would hide those weeks from every later run.
    """
    urls = project_urls(warehouse, "npm")
    if urls is None:
        summary.notes.append(f"{PROJECTS_TABLE} is not in the lake yet: no npm packages, nothing loaded")
        return None
    packages = sorted({p for p in map(package_of, urls) if p})
    if unparsed := [url for url in urls if package_of(url) is None]:
        summary.notes.append(f"{len(unparsed)} npm URL(s) name no package: {', '.join(unparsed[:10])}")
    if not packages:
        summary.notes.append(f"{PROJECTS_TABLE} lists no npm package: nothing loaded")
        return None
    summary.notes.append(f"{PROJECTS_TABLE}: {len(packages)} npm package(s)")
    return packages


def manifest_row(source: str, package: str, payload: Any) -> dict[str, Any]:
    where = Where(source, f"/{package}/latest")
    where.field(payload, "name", str)
    where.field(payload, "version", str)
    row: dict[str, Any] = {name: payload.get(name) for name in (*STRING_FIELDS, "private")}
    for name in JSON_FIELDS:
        value = payload.get(name)
        row[snake_case(name)] = json_text(NORMALISE[name](value) if name in NORMALISE and value is not None else value)
    return row


def manifests_frame(source: str, rows: list[dict[str, Any]]) -> pl.DataFrame:
    where = Where(source, "/{package}/latest")
    return records_to_frame(rows, MANIFEST_SCHEMA, where=where, required=("name", "version"), record_id="name")


def manifests(http: HttpClient, packages: list[str], max_workers: int, summary: LoadSummary) -> pl.DataFrame:
    """Every package's latest manifest; a 404 package is skipped (listed), any other failure fails the run."""
    fetched = fan_out(
        packages,
        lambda p: manifest_row(http.source, p, http.get_json(f"/{p}/latest", on_status={404: "skip"})),
        max_workers=max_workers,
    )
    fetched.raise_for_errors(http.source, "/{package}/latest")
    summary.skipped.extend(f"manifests: {label}" for label in fetched.skipped_labels())
    return manifests_frame(http.source, fetched.values())


def window_downloads(http: HttpClient, package: str, window: Window) -> dict[str, Any] | None:
    """OSO's ``get_npm_package_downloads``: the window's total, after checking every day is there once."""
    first, last = window.start.date(), window.end.date() - timedelta(days=1)
    path = f"/downloads/range/{first.isoformat()}:{last.isoformat()}/{package}"
    where = Where(http.source, path)
    payload = http.get_json(path, on_status={404: "skip"})
    if (answered := where.field(payload, "package", str)) != package:
        raise where.error("package", f"answered for {answered!r}, asked for {package!r}")
    expected = {(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)}
    total = 0
    for index, day in enumerate(where.field(payload, "downloads", list)):
        at = where.at(f"downloads[{index}]")
        name = at.field(day, "day", str)
        if name not in expected:
            raise at.error("day", f"{name} is not in {first}..{last} or is repeated")
        expected.discard(name)
        total += at.field(day, "downloads", int)
    if expected:
        raise where.error("downloads", f"missing day(s) {', '.join(sorted(expected))} of {first}..{last}")
    return {"date": first, "artifact_name": package, "downloads": total} if total > 0 else None


def downloads_in_window(
    http: HttpClient, packages: list[str], window: Window, max_workers: int, summary: LoadSummary
) -> pl.DataFrame:
    """Every package's total for one window; a 404 package is skipped (listed), any other failure fails it."""
    fetched = fan_out(packages, lambda p: window_downloads(http, p, window), max_workers=max_workers)
    fetched.raise_for_errors(http.source, f"/downloads/range/{window}/{{package}}")
    summary.skipped.extend(f"downloads {window.key}: {label}" for label in fetched.skipped_labels())
    rows = [row for row in fetched.values() if row is not None]
    return records_to_frame(rows, DOWNLOADS_SCHEMA, where=Where(http.source, f"/downloads/range/{window}"))
