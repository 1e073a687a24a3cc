"""Cadences as OSO had them: weekly (the Sunday job), daily (ossd, op_atlas, gitcoin), or a cron; the weekly run
leaves out the sources that run more often, and a weekly source reading one of them does not wait for it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from oso_core.base import cadence
from oso_core.model.sources import Source, TableSpec, discover_sources
from oso_core.ops.pipeline import _ready, select_sources


def test_cadence_gives_cron_interval_and_max_age() -> None:
    assert cadence.cron_of("weekly") == "0 0 * * 0" and cadence.cron_of("daily") == "0 0 * * *"
    assert cadence.max_age("weekly") == timedelta(days=8)
    assert cadence.max_age("daily") == timedelta(hours=36)
    # OSO's SBOM job: Tuesdays and Fridays; the longest gap is Friday → Tuesday, plus a day of grace
    assert cadence.interval("0 0 * * 2,5") == timedelta(days=4)
    assert cadence.max_age("0 0 * * 2,5") == timedelta(days=5)
    assert cadence.max_age("*/10 * * * *") == timedelta(minutes=15)
    assert [cadence.describe(d) for d in (timedelta(days=8), timedelta(hours=36), timedelta(minutes=7))] == [
        "8d",
        "36h",
        "7m",
    ]
    with pytest.raises(ValueError, match="neither 'weekly', 'daily' nor a cron"):
        cadence.cron_of("fortnightly")


def test_source_declares_cadence_and_tables_their_max_age() -> None:
    table = TableSpec("t")
    source = Source("s", (table, TableSpec("u", max_age=timedelta(hours=2))), flow="f", cadence="0 0 * * 2,5")
    assert source.cron == "0 0 * * 2,5" and not source.in_weekly_run
    assert source.max_age("t") == timedelta(days=5) and source.max_age("u") == timedelta(hours=2)
    assert Source("w", (table,), flow="f").in_weekly_run and Source("w", (table,), flow="f").max_age("t").days == 8
    with pytest.raises(ValueError, match="source bad: cadence 'hourly'"):
        Source("bad", (table,), flow="f", cadence="hourly")
    with pytest.raises(ValueError, match="max_age must be positive"):
        TableSpec("t", max_age=timedelta(0))


def test_ossd_op_atlas_and_gitcoin_run_daily_as_in_oso() -> None:
    sources = discover_sources(["flows"])
    daily = sorted(name for name, s in sources.items() if s.cadence == "daily")
    assert daily == ["gitcoin", "op_atlas", "ossd"]
    # OSO's SBOM job (Tuesdays and Fridays) carries the SBOM and funding assets; everything else is weekly
    others = {name: s.cadence for name, s in sources.items() if name not in daily and s.cadence != "weekly"}
    assert others == {"ossd_funding": "0 0 * * 2,5", "ossd_sbom": "0 0 * * 2,5"}


def test_weekly_selection_leaves_out_daily_sources_and_dependents_do_not_wait(monkeypatch) -> None:
    monkeypatch.setenv("OSO_SOURCE_PACKAGES", "flows")
    everything = {s.name for s in select_sources(every_cadence=True)}
    weekly = select_sources()
    names = {s.name for s in weekly}
    assert everything - names == {"gitcoin", "op_atlas", "ossd", "ossd_funding", "ossd_sbom"}
    assert {"npm", "defillama", "ossd_github"} <= names
    # named explicitly, a daily source still runs in a weekly-flow run
    assert [s.name for s in select_sources(only=["ossd", "npm"])] == ["npm", "ossd"]
    # npm depends on ossd; ossd is not in the weekly selection, so npm is ready at once (reads the lake as is)
    npm = next(s for s in weekly if s.name == "npm")
    assert "ossd" in npm.depends_on and _ready(npm, names, finished=set())
    # in a run that does select ossd, npm waits for it
    assert not _ready(npm, names | {"ossd"}, finished=set()) and _ready(npm, names | {"ossd"}, {"ossd"})
