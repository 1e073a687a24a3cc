"""GitHub's dependency-graph SBOM (SPDX 2.3 JSON) → OSO's ``ossd.sbom`` rows.

As OSO's ``GithubRepositoryResolver.get_sbom_for_repo``: every SPDX package whose name is ``<ecosystem>:<name>``
(``npm:viem``, ``pip:rich``, ``actions:actions/checkout``) becomes one row; the repository's own package
(``com.github.<owner>/<repo>``, no colon) is not a dependency and is left out. ``package_source`` is the
ecosystem upper-cased, ``package_version`` the SPDX ``versionInfo`` (null when absent or empty) and
``snapshot_at`` the document's ``creationInfo.created``. A lock file may hold one package in several versions;
the table is keyed on (repository, package), so the first version listed is kept and the others counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from oso_core import Where

SBOM_SCHEMA: dict[str, pl.DataType] = {
    "artifact_namespace": pl.String(),
    "artifact_name": pl.String(),
    "artifact_source": pl.String(),
    "package": pl.String(),
    "package_source": pl.String(),
    "package_version": pl.String(),
    "snapshot_at": pl.Datetime("us", "UTC"),
}
KEY = ("artifact_namespace", "artifact_name", "package_source", "package")


@dataclass
class RepositorySbom:
    """One repository's rows, and how many repeated (package, other version) entries were folded into them."""

    rows: list[dict[str, Any]]
    repeated: int = 0


def _created(where: Where, info: Any) -> datetime:
    value = where.field(info, "created", str)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise where.error("creationInfo.created", f"expected an ISO 8601 timestamp, got {value!r}") from None
    if parsed.tzinfo is None:
        raise where.error("creationInfo.created", f"timestamp {value!r} has no time zone")
    return parsed.astimezone(UTC)


def sbom_rows(source: str, endpoint: str, owner: str, name: str, payload: Any) -> RepositorySbom:
    """The rows of one ``GET /repos/{owner}/{repo}/dependency-graph/sbom`` answer; errors name the field."""
    where = Where(source, endpoint)
    sbom = where.field(where.expect(payload, dict), "sbom", dict)
    snapshot_at = _created(where, where.field(sbom, "creationInfo", dict))
    rows: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    repeated = 0
    for index, package in enumerate(where.field(sbom, "packages", list)):
        at = where.at(f"packages[{index}]")
        full_name = at.field(package, "name", str, required=False) or "unknown"
        ecosystem, colon, package_name = full_name.partition(":")
        if not colon:
            continue
        version = at.field(package, "versionInfo", str, required=False) or None
        key = (ecosystem.upper(), package_name)
        if key in seen:
            repeated += 1
            continue
        seen.add(key)
        rows.append(
            {
                "artifact_namespace": owner,
                "artifact_name": name,
                "artifact_source": "GITHUB",
                "package": package_name,
                "package_source": ecosystem.upper(),
                "package_version": version,
                "snapshot_at": snapshot_at,
            }
        )
    return RepositorySbom(rows, repeated)


def sbom_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Rows in OSO's column order and types."""
    if not rows:
        return pl.DataFrame(schema=SBOM_SCHEMA)
    return pl.DataFrame(rows, schema=SBOM_SCHEMA, orient="row")


def repositories_due(
    repositories: pl.DataFrame, sbom: pl.DataFrame | None, max_age_days: int, now: datetime
) -> list[tuple[str, str]]:
    """(owner, name) of the GitHub repositories whose SBOM is missing or older than ``max_age_days``.

    OSO's query: ``ossd.repositories`` whose url is on github.com, left-joined with the latest ``snapshot_at``
    per repository in ``ossd.sbom``; ``max_age_days`` 0 takes every repository.
    """
    repos = (
        repositories.filter(pl.col("url").str.to_lowercase().str.contains("github.com", literal=True))
        .select(pl.col("owner"), pl.col("name"))
        .drop_nulls()
        .unique()
    )
    if sbom is not None and max_age_days > 0 and sbom.height:
        cutoff = now - timedelta(days=max_age_days)
        fresh = (
            sbom.group_by("artifact_namespace", "artifact_name")
            .agg(pl.col("snapshot_at").max().alias("latest"))
            .filter(pl.col("latest") >= cutoff)
            .select(pl.col("artifact_namespace").alias("owner"), pl.col("artifact_name").alias("name"))
        )
        repos = repos.join(fresh, on=["owner", "name"], how="anti")
    return sorted(repos.iter_rows())
