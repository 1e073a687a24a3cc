"""Running the weekly flow over replayed fixtures in the tests, as ``flows/weekly.py --replay`` does."""

from __future__ import annotations

from typing import Any

from oso_dev.replay import replaying


def replayed(weekly: Any, **parameters: Any) -> Any:
    """``weekly(**parameters)`` with every source pointed at its recorded fixtures (a process setting)."""
    with replaying():
        return weekly(**parameters)
