"""The end-of-run summary every source prints and publishes as a Prefect table artifact."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the writer imports pyiceberg's Arrow I/O and Polars; a summary only holds its results
    from oso_core.warehouse.quality import QualityGateError
    from oso_core.warehouse.writer import WriteResult


@dataclass
class LoadSummary:
    """What a source run did: one row per table written (with its data-quality check results), one per write a
    quality gate refused, plus what it skipped or noticed."""

    source: str
    results: list[WriteResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    refused: list[QualityGateError] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    duration_s: float | None = None

    def add(self, result: WriteResult) -> WriteResult:
        self.results.append(result)
        return result

    def refuse(self, error: QualityGateError) -> None:
        """A write its quality gate refused (nothing committed): a row with the checks, and the message as a note."""
        if error not in self.refused:
            self.refused.append(error)
            self.notes.append(f"refused: {error}")

    def finish(self) -> LoadSummary:
        self.duration_s = time.perf_counter() - self.started
        return self

    @property
    def rows(self) -> dict[str, int]:
        """Rows written per table, summed over the run's commits (a windowed load commits once per window)."""
        totals: dict[str, int] = {}
        for r in self.results:
            totals[r.table] = totals.get(r.table, 0) + r.rows_written
        return totals

    def table_rows(self) -> list[dict[str, Any]]:
        from oso_core.warehouse.quality import describe

        refused = [
            {
                "table": e.table,
                "mode": f"{e.mode} (refused)",
                "rows": e.rows,
                "snapshot_id": "",
                "seconds": 0.0,
                "checks": describe(e.results),
            }
            for e in self.refused
        ]
        return [r.as_row() for r in self.results] + refused

    def render(self) -> str:
        if self.duration_s is None:
            self.finish()
        from oso_core.warehouse.quality import describe

        lines = [f"{self.source}: {len(self.rows)} table(s), {len(self.results)} commit(s) in {self.duration_s:.2f}s"]
        width = max((len(r.table) for r in self.results), default=5)
        for r in self.results:
            lines.append(f"  {r.table:<{width}}  {r.mode:<20} {r.rows_written:>10,} rows  snapshot {r.snapshot_id}")
            failed = [c for c in r.checks if not c.passed]
            if failed:
                lines.append(f"  {'':<{width}}  checks: {describe(failed)}")
        if self.skipped:
            lines.append(f"  skipped {len(self.skipped)}: {', '.join(self.skipped)}")
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)

    def publish(self) -> None:
        """Print the summary and, inside a Prefect flow run, attach it to the run as a table artifact."""
        text = self.render()
        print(text)
        try:
            from prefect.context import FlowRunContext

            if FlowRunContext.get() is None:
                return
            from prefect.artifacts import create_table_artifact

            description = text.splitlines()[0]
            if self.skipped:
                description += f" — skipped {len(self.skipped)}: {', '.join(self.skipped)[:500]}"
            create_table_artifact(
                key=f"{self.source.replace('_', '-')}-load-summary",
                table=self.table_rows() or [{"table": "", "rows": 0}],
                description=description,
            )
        except ImportError:
            return
