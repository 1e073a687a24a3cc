"""How old each declared table is, from Iceberg metadata alone, against the maximum age its source allows.

OSO's ``freshness_check_sensor`` reported assets not materialised for over a week. Here every table declared by a
source has a maximum age (``TableSpec.max_age``, default its source's cadence plus grace: weekly → 8 days, daily →
36 hours, see ``oso_core.base.cadence``). The last load is the commit time of the table's current snapshot, read from
the catalog and the table's metadata file: no manifest or data file is opened, so checking the whole lake costs
one metadata read per table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

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

    @property
    def age(self) -> timedelta | None:
        return None if self.last_load is None else self.now - self.last_load

    @property
    def status(self) -> str:
        if self.last_load is None:
            return MISSING
        return STALE if self.now - self.last_load > self.max_age else FRESH

    def as_row(self) -> dict[str, str]:
        """The alert's and artifact's row: table, last load, age, expected (and why)."""
        return {
            "table": self.table,
            "status": self.status,
            "last_load": self.last_load.strftime("%Y-%m-%d %H:%M UTC") if self.last_load else "never",
            "age": describe(self.age) if self.age is not None else "-",
            "expected": describe(self.max_age),
            "source": f"{self.source} ({self.cadence})",
        }


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
