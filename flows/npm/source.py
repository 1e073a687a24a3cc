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

from datetime import UTC, date, datetime
from typing import cast

from pydantic import Field

from flows.npm.payload import HEADERS, REGISTRY_URL, downloads_in_window, lake_packages, manifests
from oso_core import (
    DEFAULT_MAX_WINDOWS,
    NotNull,
    Source,
    SourceRun,
    SourceSettings,
    TableSpec,
    Unique,
    Window,
    WindowGrid,
    source_flow,
)


class NpmSettings(SourceSettings):
    """npm's settings: the common ones plus its second host, ``DAGSTER__NPM__REGISTRY_URL``."""

    registry_url: str | None = Field(
        default=None, description=f"Host of the package manifests (default {REGISTRY_URL}; downloads use BASE_URL)"
    )


SOURCE = Source(
    name="npm",
    description="npm package manifests and weekly downloads",
    base_url="https://api.npmjs.org",
    tables=(
        TableSpec(
            "manifests",
            mode="replace",
            key=("name",),
            description="latest package.json of each package",
            checks=(Unique("name"), NotNull("name")),
        ),
        # Partitioned by month of the window start: a weekly merge reads one month, not the whole history. The key
        # holds ``date``, so a key's partition can never change.
        TableSpec(
            "downloads",
            mode="merge",
            key=("artifact_name", "date"),
            partition_by="month(date)",
            description="downloads per package and weekly window (date = window start)",
        ),
    ),
    flow="npm_flow",
    depends_on=("ossd",),  # reads their tables for its list of packages
    # npm counts downloads from 2015-01-10; OSO's weekly partitions from that date begin on Sunday 2015-01-11,
    # the first whole week with data (a window from Sunday 2015-01-04 would always miss days).
    windows=WindowGrid(start=date(2015, 1, 11), days=7),
    settings_model=NpmSettings,
)


@source_flow(SOURCE)
def npm_flow(
    run: SourceRun,
    base_url: str | None = None,
    registry_url: str | None = None,
    start: str | None = None,
    end: str | None = None,
    max_windows: int = DEFAULT_MAX_WINDOWS,
    tables: list[str] | None = None,
    max_workers: int = 4,
) -> None:
    """Load npm manifests (replaced) and weekly downloads (merged per window) for the lake's npm packages.

    Without ``start``/``end`` the ended windows not yet loaded are loaded (faulty ones first), at most
    ``max_windows``; with them, every window overlapping ``[start, end)`` is reloaded.
    """
    chosen = tables or [t.name for t in SOURCE.tables]
    packages = lake_packages(run.summary, run.warehouse)
    registry = registry_url or cast(NpmSettings, SOURCE.settings).registry_url or REGISTRY_URL
    if packages is not None and "manifests" in chosen:
        with run.http(url=registry, headers=HEADERS) as http:
            frame = manifests(http, packages, max_workers, run.summary)
        run.write({"manifests": frame})
    if packages is not None and "downloads" in chosen:

        def ended(windows: list[Window]) -> list[Window]:
            today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            if still_open := [w for w in windows if w.end > today]:
                run.summary.notes.append(f"downloads: window(s) {', '.join(map(str, still_open))} not over yet")
            return [w for w in windows if w.end <= today]

        with run.http(base_url, headers=HEADERS) as api:
            run.load_windows(
                "downloads",
                lambda window: downloads_in_window(api, packages, window, max_workers, run.summary),
                start=start,
                end=end,
                max_windows=max_windows,
                ready=ended,
            )
