"""OSO's column contract: each lake table OSO's downstream reads, with its columns and their types as DuckDB reads them.

Written here from OSO's seed schemas (``warehouse/metrics_tools/seed/schemas/<dataset>/<table>.py``: the columns
and types OSO's local sqlmesh tests load) and the columns its staging models select
(``warehouse/oso_sqlmesh/models/staging/``). Each source's test runs its flow against its replay fixtures and
compares the tables it wrote with this, so a renamed, dropped or retyped column fails that test until this file
and the README's "Where a table differs from OSO's" agree with it.

Types are DuckDB's names of the lake's Iceberg types (``DESCRIBE``). Where a seed names a narrower type, the lake
keeps the wider one OSO's BigQuery had: BigQuery's INTEGER is INT64 (``BIGINT`` here), its FLOAT is FLOAT64
(``DOUBLE``), its TIMESTAMP is UTC (``TIMESTAMP WITH TIME ZONE``); OSO's models cast them (``::INTEGER``) anyway.
``JSON`` in a seed is JSON text here (``VARCHAR``). A column OSO did not have is marked in ``EXTRA``; a table OSO's
downstream does not read is in ``NOT_OSO`` with why; dlt's ``_dlt_load_id``/``_dlt_id`` are never written (README).
"""

from __future__ import annotations

from typing import Any

# fmt: off
TS = "TIMESTAMP WITH TIME ZONE"  # BigQuery's TIMESTAMP (UTC)
_EVENTS = {
    "time": TS, "slug": "VARCHAR", "protocol": "VARCHAR", "parent_protocol": "VARCHAR",
    "chain": "VARCHAR", "token": "VARCHAR", "event_type": "VARCHAR", "amount": "DOUBLE",
}
CONTRACT: dict[str, dict[str, str]] = {
    "defillama.tvl_events": {
        "time": TS, "slug": "VARCHAR", "protocol": "VARCHAR", "parent_protocol": "VARCHAR",
        "category": "VARCHAR", "chain": "VARCHAR", "token": "VARCHAR", "tvl": "DOUBLE", "event_type": "VARCHAR",
    },
    "defillama.trading_volume_events": _EVENTS,
    "defillama.lp_fee_events": _EVENTS,
    "defillama.protocol_metadata": {
        "id": "VARCHAR", "slug": "VARCHAR", "name": "VARCHAR", "address": "VARCHAR", "symbol": "VARCHAR",
        "url": "VARCHAR", "description": "VARCHAR", "logo": "VARCHAR", "chain": "VARCHAR", "category": "VARCHAR",
        "twitter": "VARCHAR", "parent_protocol": "VARCHAR",
    },
    "defillama.historical_chain_tvl": {"time": TS, "chain": "VARCHAR", "tvl": "DOUBLE"},
    "defillama.chains": {
        "gecko_id": "VARCHAR", "tvl": "DOUBLE", "token_symbol": "VARCHAR", "cmc_id": "VARCHAR", "name": "VARCHAR",
        "chain_id": "BIGINT",
    },
    # chains, lead_investors, other_investors: JSON text of lists, as the seed's JSON columns
    "defillama.raises": {
        "date": TS, "name": "VARCHAR", "round": "VARCHAR", "amount": "DOUBLE",
        "chains": "VARCHAR", "sector": "VARCHAR", "category": "VARCHAR", "category_group": "VARCHAR",
        "source": "VARCHAR", "lead_investors": "VARCHAR", "other_investors": "VARCHAR", "valuation": "DOUBLE",
        "defillama_id": "VARCHAR",
    },
    "ethereum_attestation_service_optimism.attestations": {
        "id": "VARCHAR", "data": "VARCHAR", "decoded_data_json": "VARCHAR", "recipient": "VARCHAR",
        "attester": "VARCHAR", "time": "BIGINT", "time_created": "BIGINT", "expiration_time": "BIGINT",
        "revocation_time": "BIGINT", "ref_uid": "VARCHAR", "revocable": "BOOLEAN", "revoked": "BOOLEAN",
        "txid": "VARCHAR", "schema_id": "VARCHAR", "ipfs_hash": "VARCHAR", "is_offchain": "BOOLEAN",
    },
    # opendevdata: each file's own columns and types (fixtures shaped as OSO's seeds); naive timestamps land as UTC
    "opendevdata.ecosystems": {
        "id": "BIGINT", "launch_date": "DATE", "earliest_first_party_commit_date": "DATE",
        "earliest_first_party_repo_id": "BIGINT", "earliest_repo_commit_date": "DATE", "earliest_repo_id": "BIGINT",
        "derived_launch_date": "DATE", "name": "VARCHAR", "is_crypto": "BIGINT", "is_category": "BIGINT",
        "is_virtual": "BIGINT", "is_chain": "BIGINT", "is_multichain": "BIGINT",
    },
    "opendevdata.ecosystems_repos": {
        "id": "BIGINT", "created_at": TS, "ecosystem_id": "BIGINT", "repo_id": "BIGINT",
        "connected_at": TS,
    },
    "opendevdata.repos": {
        "id": "BIGINT", "created_at": TS, "repo_created_at": TS, "name": "VARCHAR",
        "github_graphql_id": "VARCHAR", "link": "VARCHAR", "organization_id": "BIGINT", "num_stars": "BIGINT",
        "num_forks": "BIGINT", "num_issues": "BIGINT", "is_blacklist": "BIGINT",
    },
    # GraphQL's field names, as OSO's stg_ens__domains selects them ("expiryDate", "subdomainCount")
    "ens.domains": {
        "id": "VARCHAR", "name": "VARCHAR", "subdomainCount": "BIGINT", "expiryDate": "VARCHAR",
        "resolver": "VARCHAR", "owner": "VARCHAR", "registrant": "VARCHAR", "registration": "VARCHAR",
        "subdomains": "VARCHAR",
    },
    # dlt's snake_case, as OSO's stg_ens__text_changeds selects them (block_number, transaction_id)
    "ens.text_changeds": {
        "id": "VARCHAR", "resolver": "VARCHAR", "block_number": "BIGINT", "transaction_id": "VARCHAR",
        "key": "VARCHAR", "value": "VARCHAR",
    },
}

# columns the lake has that OSO's table did not (each table's entry above lists them too)
EXTRA: dict[str, set[str]] = {
    "defillama.tvl_events": {"category"},
    "ethereum_attestation_service_optimism.attestations": {"revocable", "revoked", "txid"},  # selected, not in seed
}

NOT_OSO: dict[str, str] = {}
# fmt: on


def lake_columns(warehouse: Any, table: str) -> dict[str, str]:
    """``{column: DuckDB type}`` of ``table`` as DuckDB reads the lake (the reader OSO's local models use)."""
    described = warehouse.sql(f"DESCRIBE SELECT * FROM {table}")
    return dict(zip(described["column_name"].to_list(), described["column_type"].to_list(), strict=True))


def assert_matches_contract(warehouse: Any, *tables: str) -> None:
    """Each table's columns and types are exactly the contract's (order aside)."""
    for table in tables:
        assert table in CONTRACT, f"{table} is not in tests/support/oso_contract.py"
        got, want = lake_columns(warehouse, table), CONTRACT[table]
        assert got == want, (
            f"{table} drifted from OSO's contract: missing {sorted(want.keys() - got.keys())}, "
            f"extra {sorted(got.keys() - want.keys())}, "
            f"retyped {sorted((c, want[c], got[c]) for c in want.keys() & got.keys() if want[c] != got[c])}"
        )
