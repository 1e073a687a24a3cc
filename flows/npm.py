"""npm: the latest manifest of every npm package the lake knows about, and its downloads per weekly window.

As OSO's ``assets/npm.py``. The packages are those of ossd projects' ``npm`` URLs (OSO asked
``oso.artifacts_v1``, itself built from oss-directory). Two hosts, two base-URL settings:

* ``manifests`` ← registry ``GET /{package}/latest`` (setting ``npm.registry_url``), normalised as OSO did
  (a string ``bugs``/``license``/``author``/``repository``/... becomes the object form), OSO's model's fields
  with dlt's snake_case names; nested values are JSON text. Replaced each run; a 404 package is skipped.
* ``downloads`` ← ``GET /downloads/range/{first}:{last}/{package}`` (setting ``npm.base_url``) per weekly
  window (OSO's weekly partitions, Sundays from 2015-01-11). OSO's check holds: every day of the window must be in the
  answer, exactly once, for the package asked, else the window is faulty (recorded, retried next run). One
  row ``{date: window start, artifact_name, downloads: sum}`` per package with downloads; merged on
  ``(artifact_name, date)`` so reloading a window never duplicates. Only windows that have ended are loaded.

Packages added to ossd later get no rows for windows already loaded, as with OSO's partitions: reload a
range with ``--start/--end`` to backfill them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
from prefect import flow

from oso_core.cli import run_source_cli
from oso_core.fanout import fan_out
from oso_core.http import HttpClient, min_interval_setting
from oso_core.lake_inputs import project_urls
from oso_core.naming import snake_case
from oso_core.records import Where, json_text, records_to_frame
from oso_core.secrets import resolve_setting
from oso_core.sources import Source, TableSpec, Windows
from oso_core.summary import LoadSummary
from oso_core.windows import DEFAULT_MAX_WINDOWS, Window, WindowedLoad, window_range_arguments, window_range_parameters

SOURCE = Source(
    name="npm",
    description="npm package manifests and weekly downloads",
    base_url="https://api.npmjs.org",
    tables=(
        TableSpec("manifests", mode="replace", key=("name",), description="latest package.json of each package"),
        TableSpec(
            "downloads",
            mode="merge",
            key=("artifact_name", "date"),
            description="downloads per package and weekly window (date = window start)",
        ),
    ),
    flow="npm_flow",
    depends_on=("ossd",),  # reads their tables for its list of packages
    # npm counts downloads from 2015-01-10; OSO's weekly partitions from that date begin on Sunday 2015-01-11,
    # the first whole week with data (a window from Sunday 2015-01-04 would always miss days).
    windows=Windows(start=date(2015, 1, 11), days=7),
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
    urls = project_urls(warehouse, "npm")
    if urls is None:
        summary.notes.append("ossd.projects is not in the lake yet: no npm packages, nothing loaded")
        return None
    packages = sorted({p for p in map(package_of, urls) if p})
    if unparsed := [url for url in urls if package_of(url) is None]:
        summary.notes.append(f"{len(unparsed)} npm URL(s) name no package: {', '.join(unparsed[:10])}")
    summary.notes.append(f"ossd.projects: {len(packages)} npm package(s)")
    return packages


def manifest_row(package: str, payload: Any) -> dict[str, Any]:
    where = Where(SOURCE.name, f"/{package}/latest")
    where.field(payload, "name", str)
    where.field(payload, "version", str)
    row: dict[str, Any] = {name: payload.get(name) for name in (*STRING_FIELDS, "private")}
    for name in JSON_FIELDS:
        value = payload.get(name)
        row[snake_case(name)] = json_text(NORMALISE[name](value) if name in NORMALISE and value is not None else value)
    return row


def manifests_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    where = Where(SOURCE.name, "/{package}/latest")
    return records_to_frame(rows, MANIFEST_SCHEMA, where=where, required=("name", "version"), record_id="name")


def window_downloads(http: HttpClient, package: str, window: Window) -> dict[str, Any] | None:
    """OSO's ``get_npm_package_downloads``: the window's total, after checking every day is there once."""
    first, last = window.start.date(), window.end.date() - timedelta(days=1)
    path = f"/downloads/range/{first.isoformat()}:{last.isoformat()}/{package}"
    where = Where(SOURCE.name, path)
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
    fetched.raise_for_errors(SOURCE.name, f"/downloads/range/{window}/{{package}}")
    summary.skipped.extend(f"downloads {window.key}: {label}" for label in fetched.skipped_labels())
    rows = [row for row in fetched.values() if row is not None]
    return records_to_frame(rows, DOWNLOADS_SCHEMA, where=Where(SOURCE.name, f"/downloads/range/{window}"))


@flow(name="npm", log_prints=True)
def npm_flow(
    base_url: str | None = None,
    registry_url: str | None = None,
    start: str | None = None,
    end: str | None = None,
    max_windows: int = DEFAULT_MAX_WINDOWS,
    tables: list[str] | None = None,
    max_workers: int = 4,
) -> LoadSummary:
    """Load npm manifests (replaced) and weekly downloads (merged per window) for the lake's npm packages.

    Without ``start``/``end`` the ended windows not yet loaded are loaded (faulty ones first), at most
    ``max_windows``; with them, every window overlapping ``[start, end)`` is reloaded.
    """
    chosen = tables or [t.name for t in SOURCE.tables]
    load = WindowedLoad(SOURCE)
    packages = lake_packages(load.summary, load.warehouse)
    interval = min_interval_setting(SOURCE.name)
    registry = registry_url or resolve_setting(SOURCE.name, "registry_url", REGISTRY_URL) or REGISTRY_URL
    if packages is not None and "manifests" in chosen:
        with HttpClient(SOURCE.name, registry, headers=HEADERS, min_interval=interval) as http:
            fetched = fan_out(
                packages,
                lambda p: manifest_row(p, http.get_json(f"/{p}/latest", on_status={404: "skip"})),
                max_workers=max_workers,
            )
        fetched.raise_for_errors(SOURCE.name, "/{package}/latest")
        load.summary.skipped.extend(f"manifests: {label}" for label in fetched.skipped_labels())
        load.summary.add(load.warehouse.write_table(SOURCE, "manifests", manifests_frame(fetched.values())))
    if packages is not None and "downloads" in chosen:
        plan = load.plan("downloads", start=start, end=end, max_windows=max_windows)
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        if still_open := [w for w in plan.windows if w.end > today]:
            plan.windows = [w for w in plan.windows if w.end <= today]
            load.summary.notes.append(f"downloads: window(s) {', '.join(map(str, still_open))} not over yet")
        with HttpClient(SOURCE.name, SOURCE.resolve_base_url(base_url), headers=HEADERS, min_interval=interval) as api:
            load.load(plan, lambda window: downloads_in_window(api, packages, window, max_workers, load.summary))
    return load.finish()


@contextmanager
def replay_parameters() -> Iterator[dict[str, Any]]:
    """``--replay``: one server answers both hosts' paths; the recorded window is the week of 2024-12-29."""
    from oso_core.replay import replay_server

    with replay_server(SOURCE.name) as url:
        yield {"base_url": url, "registry_url": url, "start": "2024-12-29", "end": "2025-01-05"}


if __name__ == "__main__":
    raise SystemExit(
        run_source_cli(SOURCE, npm_flow, add_arguments=window_range_arguments, to_parameters=window_range_parameters)
    )
