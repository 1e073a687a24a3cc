"""Running the weekly flow over replayed fixtures in the tests, as ``flows/weekly.py --replay`` does, and checking
how many loads ran at once."""

from __future__ import annotations

from typing import Any

from oso_dev.replay import replaying


def replayed(weekly: Any, **parameters: Any) -> Any:
    """``weekly(**parameters)`` with every source pointed at its recorded fixtures (a process setting)."""
    with replaying():
        return weekly(**parameters)


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    """The most ``(start, end)`` intervals open at one moment (how many loads ran at once)."""
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak
