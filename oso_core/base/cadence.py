"""How often a source loads, as OSO's Dagster jobs had it: ``weekly`` (the Sunday job), ``daily`` (the stable and
unstable jobs), or any cron (the SBOM job's ``0 0 * * 2,5``).

One declaration gives three things, so they never disagree:

* the schedule (``cron``): the weekly run carries every ``weekly`` source; every other cadence is a schedule of
  the source's own deployment;
* the longest gap between two scheduled runs (``interval``): for a cron firing on Tuesdays and Fridays that is
  4 days (Friday → Tuesday), not the average;
* the maximum age of a table and the ``within`` of the "no run completed" automation: ``interval + grace``,
  where grace is half the interval capped at one day (weekly → 8 days, daily → 36 hours).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache

WEEKLY = "weekly"
DAILY = "daily"
WEEKLY_CRON = "0 0 * * 0"  # OSO's materialize_core_assets_job: Sundays at midnight
DAILY_CRON = "0 0 * * *"  # OSO's stable/unstable jobs
NAMED = {WEEKLY: WEEKLY_CRON, DAILY: DAILY_CRON}
MAX_GRACE = timedelta(days=1)
_SAMPLE_FROM = datetime(2025, 1, 1, tzinfo=UTC)  # a fixed origin: the same cadence always gives the same interval
_SAMPLE_SPAN = timedelta(days=400)


def cron_of(cadence: str) -> str:
    """The cron expression of a cadence: ``weekly``/``daily`` by name, else the cadence itself (validated)."""
    cron = NAMED.get(cadence.strip().lower(), cadence.strip())
    interval(cron)  # raises ValueError for anything that is not a cron
    return cron


@lru_cache(maxsize=256)
def interval(cadence: str) -> timedelta:
    """The longest gap between two consecutive runs of the cadence (sampled over a year from a fixed date)."""
    from cronsim import CronSim, CronSimError

    cron = NAMED.get(cadence.strip().lower(), cadence.strip())
    try:
        fires = CronSim(cron, _SAMPLE_FROM.replace(tzinfo=None))
    except CronSimError as exc:
        raise ValueError(f"cadence {cadence!r} is neither 'weekly', 'daily' nor a cron expression: {exc}") from exc
    previous = next(fires)
    longest = timedelta(0)
    end = previous + _SAMPLE_SPAN
    for count, when in enumerate(fires):
        longest = max(longest, when - previous)
        previous = when
        if when > end or count > 5000:  # a minutely cron needs no year of samples
            break
    if longest <= timedelta(0):
        raise ValueError(f"cadence {cadence!r} fires too rarely to have an interval")
    return longest


def grace(cadence: str) -> timedelta:
    """Slack after the interval before a table counts as stale: half the interval, at most one day."""
    return min(interval(cadence) / 2, MAX_GRACE)


def max_age(cadence: str) -> timedelta:
    """How old a table of this cadence may get: ``interval + grace`` (weekly 8 days, daily 36 hours)."""
    return interval(cadence) + grace(cadence)


def describe(age: timedelta) -> str:
    """``8d``, ``36h``, ``4d 12h``, ``45m``: short and exact enough for an alert (hours below 3 days)."""
    seconds = int(age.total_seconds())
    if seconds < 0:
        return "-" + describe(-age)
    if seconds >= 3 * 86400:
        days, hours = seconds // 86400, seconds % 86400 // 3600
        return f"{days}d {hours}h" if hours else f"{days}d"
    if seconds >= 3600:
        hours, minutes = seconds // 3600, seconds % 3600 // 60
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    return f"{seconds // 60}m" if seconds >= 60 else f"{seconds}s"
