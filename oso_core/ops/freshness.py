"""How old each declared table is, from Iceberg metadata alone, against the maximum age its source allows.

OSO's ``freshness_check_sensor`` reported assets not materialised for over a week. Here every table declared by a
source has a maximum age (``TableSpec.max_age``, default its source's cadence plus grace: weekly → 8 days, daily →
36 hours, see ``oso_core.base.cadence``). The last load is the commit time of the table's current snapshot, read from
the catalog and the table's metadata file: no manifest or data file is opened, so checking the whole lake costs
one metadata read per table.

A table the transform published (``oso.<model>``) is as fresh as its inputs, not as its last commit: a rerun that
finds a model's content unchanged commits nothing. It is behind from the first commit to one of its inputs after
the snapshot it was computed from (its ``oso.transform.inputs``), and stale once that lasts longer than the
transform's cadence allows (setting ``transform.cron``, daily: 36 hours); up to date, it is fresh however old.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError

from oso_core.base.cadence import describe
from oso_core.model.sources import Source

FRESH, STALE, MISSING = "fresh", "stale", "missing"


@dataclass(frozen=True)
class TableAge:
    """One table's freshness: its last load (``None`` when it has none) against its maximum age."""

    table: str
    source: str
    cadence: str
    last_load: datetime | None
    max_age: timedelta
    now: datetime
    derived: bool = False  # a transform output: its age is how long it has been behind its inputs
    behind_since: datetime | None = None  # a transform output: the first input commit it has not seen

    @property
    def age(self) -> timedelta | None:
        if self.derived:
            return None if self.behind_since is None else self.now - self.behind_since
        return None if self.last_load is None else self.now - self.last_load

    @property
    def status(self) -> str:
        if self.last_load is None:
            return MISSING
        age = self.age
        return STALE if age is not None and age > self.max_age else FRESH

    def as_row(self) -> dict[str, str]:
        """The alert's and artifact's row: table, last load, age, expected (and why)."""
        return {
            "table": self.table,
            "status": self.status,
            "last_load": self.last_load.strftime("%Y-%m-%d %H:%M UTC") if self.last_load else "never",
            "age": self._age_text(),
            "expected": describe(self.max_age),
            "source": f"{self.source} ({self.cadence})",
        }

    def _age_text(self) -> str:
        if self.age is None:
            return "up to date with its inputs" if self.derived and self.last_load is not None else "-"
        return f"{describe(self.age)} behind its inputs" if self.derived else describe(self.age)


def last_load(catalog: Catalog, identifier: str) -> datetime | None:
    """Commit time of the table's current snapshot, or ``None`` when the table or its snapshot does not exist."""
    try:
        table = catalog.load_table(identifier)
    except (NoSuchTableError, NoSuchNamespaceError):
        return None
    snapshot = table.metadata.current_snapshot()
    return None if snapshot is None else datetime.fromtimestamp(snapshot.timestamp_ms / 1000, tz=UTC)


def table_ages(catalog: Catalog, sources: Iterable[Source], now: datetime | None = None) -> list[TableAge]:
    """Every declared table of ``sources`` with its last load, in source and declaration order."""
    now = now or datetime.now(UTC)
    ages = []
    for source in sources:
        for spec in source.tables:
            identifier = source.qualified(spec.name)
            ages.append(
                TableAge(
                    identifier,
                    source.name,
                    source.cadence,
                    last_load(catalog, identifier),
                    source.max_age(spec.name),
                    now,
                )
            )
    return ages


def summary_line(ages: list[TableAge]) -> str:
    late = [a for a in ages if a.status != FRESH]
    missing = sum(1 for a in late if a.status == MISSING)
    if not late:
        return f"all {len(ages)} tables are fresh"
    return f"{len(late)} of {len(ages)} tables stale or missing ({len(late) - missing} stale, {missing} missing)"


def model_ages(catalog: Catalog, namespace: str, cadence: str, now: datetime | None = None) -> list[TableAge]:
    """Every table of ``namespace`` the transform published, by name, against its inputs' current snapshots.

    Metadata only: each published table, and each of its inputs, is loaded once (no manifest or data file read).
    An input that no longer exists counts as moved since the model's own commit.
    """
    from oso_core.base import cadence as cadences
    from oso_core.transform.provenance import inputs_of, published_model

    now = now or datetime.now(UTC)
    try:
        identifiers = sorted(".".join(ident) for ident in catalog.list_tables(namespace))
    except NoSuchNamespaceError:
        return []
    inputs_cache: dict[str, Any] = {}
    ages = []
    for identifier in identifiers:
        table = catalog.load_table(identifier)
        if published_model(table) is None:
            continue
        published_at = datetime.fromtimestamp(table.metadata.current_snapshot().timestamp_ms / 1000, tz=UTC)
        behind = [
            _first_commit_after(catalog, inputs_cache, name, snapshot_id, published_at)
            for name, snapshot_id in sorted((inputs_of(table) or {}).items())
        ]
        moved = [when for when in behind if when is not None]
        ages.append(
            TableAge(
                identifier,
                "transform",
                cadence,
                published_at,
                cadences.max_age(cadence),
                now,
                derived=True,
                behind_since=min(moved) if moved else None,
            )
        )
    return ages


def _first_commit_after(
    catalog: Catalog, cache: dict[str, Any], name: str, seen: int | None, published_at: datetime
) -> datetime | None:
    """When input ``name`` first moved past snapshot ``seen``, or ``None`` if ``seen`` is still its current one."""
    if name not in cache:
        try:
            cache[name] = catalog.load_table(name).metadata
        except (NoSuchTableError, NoSuchNamespaceError):
            cache[name] = None
    metadata = cache[name]
    if metadata is None:
        return published_at
    if metadata.current_snapshot_id == seen:
        return None
    snapshots = sorted(metadata.snapshots, key=lambda s: s.timestamp_ms)
    seen_at = next((s.timestamp_ms for s in snapshots if s.snapshot_id == seen), None)
    # the first commit after the one it read; if that one has expired, the oldest kept is the first after it
    later = [s.timestamp_ms for s in snapshots if seen_at is None or s.timestamp_ms > seen_at]
    return datetime.fromtimestamp(later[0] / 1000, tz=UTC) if later else published_at
