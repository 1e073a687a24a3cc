"""The run summary: rows add up over a windowed run's commits; skipped files are counted and named."""

from __future__ import annotations

from oso_core.engine.summary import LoadSummary
from oso_core.warehouse import WriteResult


def test_rows_sum_over_commits_and_render_names_what_was_skipped() -> None:
    summary = LoadSummary("open_collective")
    summary.add(WriteResult("open_collective.expenses", "merge", 3, 11, 0.1))
    summary.add(WriteResult("open_collective.expenses", "merge", 2, 12, 0.1))
    summary.add(WriteResult("open_collective.accounts", "merge", 5, 13, 0.1))
    summary.skipped = ["data/projects/x/broken.yaml (line 3: unparsable YAML)"]
    assert summary.rows == {"open_collective.expenses": 5, "open_collective.accounts": 5}
    text = summary.finish().render()
    assert text.splitlines()[0].startswith("open_collective: 2 table(s), 3 commit(s) in ")
    assert "skipped 1: data/projects/x/broken.yaml" in text
    assert "snapshot 12" in text
