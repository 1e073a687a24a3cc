"""Every table a source declares is in OSO's column contract, so a new or renamed table cannot skip the check."""

from __future__ import annotations

from oso_core.model.sources import discover_sources
from tests.support.oso_contract import CONTRACT, EXTRA, NOT_OSO


def test_every_declared_table_is_in_the_contract() -> None:
    declared = {s.qualified(t.name) for s in discover_sources().values() for t in s.tables}
    missing = sorted(declared - CONTRACT.keys())
    assert not missing, f"add these tables to tests/support/oso_contract.py: {missing}"
    assert not sorted(CONTRACT.keys() - declared), "the contract names tables no source declares"
    assert NOT_OSO.keys() <= CONTRACT.keys()
    for table, columns in EXTRA.items():
        assert columns <= CONTRACT[table].keys(), table
