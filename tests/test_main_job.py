"""The README's main job: the weekly pipeline over every real source's recorded fixtures, offline.

This is what ``./dev demo`` runs; every source in ``flows/`` must load from its replay, in dependency order.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from flows.weekly import weekly_flow
from oso_core.model.sources import discover_sources
from tests.support.weekly import replayed

SOURCES = discover_sources()


def test_weekly_replay_loads_every_source(oso_home: Path, warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DAGSTER__DISCORD__WEBHOOK_URL", raising=False)
    state = replayed(weekly_flow, every_cadence=True, return_state=True)  # the demo: daily sources too
    assert state.is_completed(), state.message
    outcomes = {row["source"]: row for row in state.result()}
    assert set(outcomes) == set(SOURCES)
    assert all(row["state"] == "Completed" and row["total_rows"] > 0 for row in outcomes.values()), outcomes

    # every declared table exists and is readable by an independent reader
    for source in SOURCES.values():
        for spec in source.tables:
            name = source.qualified(spec.name)
            assert warehouse.exists(name), f"{name} was not written"
            warehouse.sql(f"SELECT count(*) FROM {name}")

    # dependents ran after ossd: they found its tables and loaded rows from them
    assert warehouse.sql("SELECT count(*) FROM ossd.repositories").item() > 0
    assert warehouse.sql("SELECT count(*) FROM ossd.sbom").item() > 0  # after ossd_github, from its repositories
    assert warehouse.sql("SELECT count(*) FROM defillama.tvl_events").item() > 0
    assert warehouse.sql("SELECT count(*) FROM npm.manifests").item() > 0
    assert warehouse.sql("SELECT count(*) FROM chainlist.chains").item() > 0


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_every_source_has_a_command_line(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    """``python -m flows <source>`` is the same command for every source, derived from its flow's parameters."""
    from flows.__main__ import main

    source = SOURCES[name]
    with pytest.raises(SystemExit) as exit_:
        main([name, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "--replay" in out and source.qualified(source.tables[0].name) in out
    flow_parameters = inspect.signature(source.load_flow()).parameters
    assert all(f"--{p.replace('_', '-')}" in out for p in flow_parameters), out
