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
downstream does not read is in ``NOT_OSO`` with why (its columns are pinned all the same); dlt's ``_dlt_load_id``/
``_dlt_id`` are never written (README). Every declared table is here (``tests/test_oso_contract.py`` checks).
"""

from __future__ import annotations

from typing import Any

# fmt: off
TS = "TIMESTAMP WITH TIME ZONE"  # BigQuery's TIMESTAMP (UTC)
_EVENTS = {
    "time": TS, "slug": "VARCHAR", "protocol": "VARCHAR", "parent_protocol": "VARCHAR",
    "chain": "VARCHAR", "token": "VARCHAR", "event_type": "VARCHAR", "amount": "DOUBLE",
}
# open_collective deposits and expenses: the same GraphQL Transaction shape
_TRANSACTIONS = {
    "id": "VARCHAR", "legacy_id": "BIGINT", "group": "VARCHAR", "type": "VARCHAR", "kind": "VARCHAR",
    "description": "VARCHAR", "amount": "VARCHAR", "amount_in_host_currency": "VARCHAR",
    "host_currency_fx_rate": "DOUBLE", "net_amount": "VARCHAR", "net_amount_in_host_currency": "VARCHAR",
    "tax_amount": "VARCHAR", "tax_info": "VARCHAR", "platform_fee": "VARCHAR", "host_fee": "VARCHAR",
    "payment_processor_fee": "VARCHAR", "account": "VARCHAR", "from_account": "VARCHAR",
    "to_account": "VARCHAR", "expense": "VARCHAR", "order": "VARCHAR", "created_at": TS, "updated_at": TS,
    "is_refunded": "BOOLEAN", "is_refund": "BOOLEAN", "is_disputed": "BOOLEAN", "is_in_review": "BOOLEAN",
    "payment_method": "VARCHAR", "payout_method": "VARCHAR", "is_order_rejected": "BOOLEAN",
    "merchant_id": "VARCHAR", "invoice_template": "VARCHAR", "host": "VARCHAR",
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
    # opendevdata: OSO's staging models' columns and the seeds' types (BigQuery's ROW(list ARRAY(ROW(element)))
    # is the parquet list itself); the files' naive timestamps land as UTC
    "opendevdata.canonical_developer_locations": {
        "canonical_developer_id": "BIGINT", "created_at": TS, "input": "VARCHAR", "country": "VARCHAR",
        "admin_level_1": "VARCHAR", "admin_level_2": "VARCHAR", "locality": "VARCHAR", "sublocality": "VARCHAR",
        "formatted_address": "VARCHAR", "lat": "DOUBLE", "lng": "DOUBLE", "raw": "VARCHAR",
    },
    "opendevdata.canonical_developers": {
        "id": "BIGINT", "primary_developer_email_identity_id": "BIGINT", "primary_github_user_id": "VARCHAR",
    },
    "opendevdata.commits": {
        "id": "BIGINT", "repo_id": "BIGINT", "sha1": "VARCHAR", "created_at": TS, "additions": "BIGINT",
        "deletions": "BIGINT", "authored_at": TS, "authored_at_offset": "BIGINT", "committed_at": TS,
        "committed_at_offset": "BIGINT", "commit_author_name": "VARCHAR", "commit_author_email": "VARCHAR",
        "canonical_developer_id": "BIGINT", "is_bot": "BIGINT",
    },
    "opendevdata.developer_activities": {
        "repo_id": "BIGINT", "day": "DATE", "canonical_developer_id": "BIGINT", "num_commits": "BIGINT",
    },
    "opendevdata.eco_developer_28d_activities": {
        "ecosystem_id": "BIGINT", "canonical_developer_id": "BIGINT", "day": "DATE", "repo_ids": "BIGINT[]",
        "num_commits": "BIGINT", "original_day": "DATE", "is_exclusive_28d": "BOOLEAN", "l28_days": "BIGINT",
    },
    "opendevdata.eco_developer_activities": {
        "ecosystem_id": "BIGINT", "day": "DATE", "canonical_developer_id": "BIGINT", "repo_ids": "BIGINT[]",
        "num_commits": "BIGINT", "is_exclusive": "BOOLEAN",
    },
    "opendevdata.eco_developer_contribution_ranks": {
        "ecosystem_id": "BIGINT", "canonical_developer_id": "BIGINT", "day": "DATE", "points": "BIGINT",
        "points_28d": "BIGINT", "points_56d": "BIGINT", "contribution_rank": "VARCHAR",
    },
    "opendevdata.eco_developer_tenures": {
        "ecosystem_id": "BIGINT", "canonical_developer_id": "BIGINT", "day": "DATE", "tenure_days": "BIGINT",
        "category": "BIGINT",
    },
    "opendevdata.eco_mads": {
        "ecosystem_id": "BIGINT", "day": "DATE", "all_devs": "BIGINT", "exclusive_devs": "BIGINT",
        "multichain_devs": "BIGINT", "num_commits": "BIGINT", "devs_0_1y": "BIGINT", "devs_1_2y": "BIGINT",
        "devs_2y_plus": "BIGINT", "one_time_devs": "BIGINT", "part_time_devs": "BIGINT", "full_time_devs": "BIGINT",
    },
    "opendevdata.ecosystems": {
        "id": "BIGINT", "launch_date": "DATE", "earliest_first_party_commit_date": "DATE",
        "earliest_first_party_repo_id": "BIGINT", "earliest_repo_commit_date": "DATE", "earliest_repo_id": "BIGINT",
        "derived_launch_date": "DATE", "name": "VARCHAR", "is_crypto": "BIGINT", "is_category": "BIGINT",
        "is_virtual": "BIGINT", "is_chain": "BIGINT", "is_multichain": "BIGINT",
    },
    "opendevdata.ecosystems_child_ecosystems": {
        "id": "BIGINT", "created_at": TS, "parent_id": "BIGINT", "child_id": "BIGINT", "connected_at": TS,
    },
    "opendevdata.ecosystems_child_ecosystems_recursive": {
        "parent_id": "BIGINT", "child_id": "BIGINT", "created_at": TS, "ecosystem_ecosystem_paths": "BIGINT[]",
        "ecosystem_chain_ecosystem_paths": "BIGINT[]", "connection_dates": "DATE[]", "connected_at": "DATE",
    },
    "opendevdata.ecosystems_organizations": {
        "id": "BIGINT", "created_at": TS, "ecosystem_id": "BIGINT", "organization_id": "BIGINT",
        "is_first_party": "BIGINT",
    },
    "opendevdata.ecosystems_repos": {
        "id": "BIGINT", "created_at": TS, "ecosystem_id": "BIGINT", "repo_id": "BIGINT", "connected_at": TS,
    },
    "opendevdata.ecosystems_repos_recursive": {
        "ecosystem_id": "BIGINT", "repo_id": "BIGINT", "created_at": TS, "connected_at": "DATE", "path": "BIGINT[]",
        "distance": "BIGINT", "is_explicit": "BOOLEAN", "is_direct_exclusive": "BOOLEAN",
        "is_indirect_exclusive": "BOOLEAN", "exclusive_at_connection": "BOOLEAN", "exclusive_till": "DATE",
    },
    "opendevdata.organizations": {
        "id": "BIGINT", "created_at": TS, "name": "VARCHAR", "link": "VARCHAR", "github_created_at": TS,
    },
    "opendevdata.repo_developer_28d_activities": {
        "repo_id": "BIGINT", "canonical_developer_id": "BIGINT", "day": "DATE", "num_commits": "BIGINT",
        "original_day": "DATE", "l28_days": "BIGINT",
    },
    "opendevdata.repo_developer_activities": {
        "ecosystem_id": "BIGINT", "repo_id": "BIGINT", "day": "DATE", "canonical_developer_id": "BIGINT",
        "num_commits": "BIGINT", "is_explicit": "BOOLEAN", "is_chain": "BIGINT", "is_direct_exclusive": "BOOLEAN",
        "is_indirect_exclusive": "BOOLEAN", "exclusive_at_connection": "BOOLEAN", "exclusive_till": "DATE",
    },
    "opendevdata.repos": {
        "id": "BIGINT", "created_at": TS, "repo_created_at": TS, "name": "VARCHAR", "github_graphql_id": "VARCHAR",
        "link": "VARCHAR", "organization_id": "BIGINT", "num_stars": "BIGINT", "num_forks": "BIGINT",
        "num_issues": "BIGINT", "is_blacklist": "BIGINT",
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
    "chainlist.chains": {
        "name": "VARCHAR", "chain": "VARCHAR", "chain_id": "BIGINT", "network_id": "BIGINT",
        "short_name": "VARCHAR", "chain_slug": "VARCHAR", "native_currency_name": "VARCHAR",
        "native_currency_symbol": "VARCHAR", "native_currency_decimals": "BIGINT", "info_url": "VARCHAR",
    },
    "crates.categories": {
        "category": "VARCHAR", "crates_cnt": "VARCHAR", "created_at": "VARCHAR", "description": "VARCHAR",
        "id": "VARCHAR", "path": "VARCHAR", "slug": "VARCHAR",
    },
    "crates.crate_downloads": {
        "crate_id": "VARCHAR", "downloads": "VARCHAR",
    },
    "crates.crate_owners": {
        "crate_id": "VARCHAR", "created_at": "VARCHAR", "created_by": "VARCHAR", "owner_id": "VARCHAR",
        "owner_kind": "VARCHAR",
    },
    "crates.crates": {
        "created_at": "VARCHAR", "description": "VARCHAR", "documentation": "VARCHAR", "homepage": "VARCHAR",
        "id": "BIGINT", "max_features": "VARCHAR", "max_upload_size": "VARCHAR", "name": "VARCHAR",
        "readme": "VARCHAR", "repository": "VARCHAR", "updated_at": "VARCHAR",
    },
    "crates.crates_categories": {
        "category_id": "VARCHAR", "crate_id": "VARCHAR",
    },
    "crates.crates_keywords": {
        "crate_id": "VARCHAR", "keyword_id": "VARCHAR",
    },
    "crates.default_versions": {
        "crate_id": "VARCHAR", "version_id": "VARCHAR",
    },
    "crates.dependencies": {
        "crate_id": "VARCHAR", "default_features": "VARCHAR", "explicit_name": "VARCHAR", "features": "VARCHAR",
        "id": "VARCHAR", "kind": "VARCHAR", "optional": "VARCHAR", "req": "VARCHAR", "target": "VARCHAR",
        "version_id": "VARCHAR",
    },
    "crates.keywords": {
        "crates_cnt": "VARCHAR", "created_at": "VARCHAR", "id": "VARCHAR", "keyword": "VARCHAR",
    },
    "crates.metadata": {
        "total_downloads": "VARCHAR",
    },
    "crates.reserved_crate_names": {
        "name": "VARCHAR",
    },
    "crates.teams": {
        "avatar": "VARCHAR", "github_id": "VARCHAR", "id": "VARCHAR", "login": "VARCHAR", "name": "VARCHAR",
        "org_id": "VARCHAR",
    },
    "crates.users": {
        "gh_avatar": "VARCHAR", "gh_id": "VARCHAR", "gh_login": "VARCHAR", "id": "VARCHAR", "name": "VARCHAR",
    },
    "crates.version_downloads": {
        "date": "VARCHAR", "downloads": "VARCHAR", "version_id": "VARCHAR",
    },
    "crates.versions": {
        "bin_names": "VARCHAR", "checksum": "VARCHAR", "crate_id": "VARCHAR", "crate_size": "VARCHAR",
        "created_at": "VARCHAR", "downloads": "VARCHAR", "features": "VARCHAR", "has_lib": "VARCHAR",
        "id": "VARCHAR", "license": "VARCHAR", "links": "VARCHAR", "num": "VARCHAR", "num_no_build": "VARCHAR",
        "published_by": "VARCHAR", "rust_version": "VARCHAR", "updated_at": "VARCHAR", "yanked": "VARCHAR",
    },
    "crypto_ecosystems.taxonomy": {
        "eco_name": "VARCHAR", "branch": "VARCHAR[]", "repo_url": "VARCHAR", "tags": "VARCHAR[]",
    },
    "ethereum.blocks": {
        "block_number": "BIGINT", "block_hash": "VARCHAR", "parent_hash": "VARCHAR", "author": "VARCHAR",
        "state_root": "VARCHAR", "transactions_root": "VARCHAR", "receipts_root": "VARCHAR", "gas_used": "BIGINT",
        "gas_limit": "BIGINT", "extra_data": "VARCHAR", "base_fee_per_gas": "BIGINT", "size": "BIGINT",
        "transaction_count": "BIGINT", "timestamp": "BIGINT", "chain_id": "BIGINT", "block_timestamp": TS,
    },
    "ethereum.logs": {
        "block_number": "BIGINT", "block_hash": "VARCHAR", "transaction_index": "BIGINT", "log_index": "BIGINT",
        "transaction_hash": "VARCHAR", "address": "VARCHAR", "topic0": "VARCHAR", "topic1": "VARCHAR",
        "topic2": "VARCHAR", "topic3": "VARCHAR", "data": "VARCHAR", "chain_id": "BIGINT", "block_timestamp": TS,
    },
    "ethereum.transactions": {
        "block_number": "BIGINT", "transaction_index": "BIGINT", "transaction_hash": "VARCHAR", "nonce": "BIGINT",
        "from_address": "VARCHAR", "to_address": "VARCHAR", "value": "DECIMAL(38,0)", "input": "VARCHAR",
        "gas_limit": "BIGINT", "gas_price": "BIGINT", "max_fee_per_gas": "BIGINT",
        "max_priority_fee_per_gas": "BIGINT", "transaction_type": "BIGINT", "block_hash": "VARCHAR",
        "chain_id": "BIGINT", "block_timestamp": TS,
    },
    "gitcoin.all_donations": {
        "timestamp": TS, "round_id": "VARCHAR", "round_num": "INTEGER", "round_name": "VARCHAR",
        "chain_id": "INTEGER", "project_id": "VARCHAR", "project_name": "VARCHAR", "recipient_address": "VARCHAR",
        "donor_address": "VARCHAR", "transaction_hash": "VARCHAR", "donation_id": "VARCHAR",
        "amount_in_usd": "DOUBLE", "source": "VARCHAR",
    },
    "gitcoin.all_matching": {
        "timestamp": TS, "round_id": "VARCHAR", "round_num": "INTEGER", "chain_id": "INTEGER",
        "project_id": "VARCHAR", "title": "VARCHAR", "recipient_address": "VARCHAR",
        "match_amount_in_usd": "DOUBLE",
    },
    "gitcoin.project_groups_summary": {
        "latest_created_application": TS, "group_id": "VARCHAR", "latest_created_project_id": "VARCHAR",
        "total_amount_donated": "DOUBLE", "application_count": "BIGINT", "latest_source": "VARCHAR",
        "title": "VARCHAR", "latest_payout_address": "VARCHAR", "latest_website": "VARCHAR",
        "latest_project_twitter": "VARCHAR", "latest_project_github": "VARCHAR",
    },
    "gitcoin.project_lookup": {
        "group_id": "VARCHAR", "project_id": "VARCHAR", "source": "VARCHAR",
    },
    "giveth.qf_rounds": {
        "id": "VARCHAR", "title": "VARCHAR", "slug": "VARCHAR", "description": "VARCHAR", "creation_date": TS,
        "updated_at": TS, "verified": "BOOLEAN", "listed": "BOOLEAN", "review_status": "VARCHAR",
        "total_donations": "DOUBLE", "total_reactions": "BIGINT", "quality_score": "DOUBLE",
        "count_unique_donors": "BIGINT", "sum_donation_value_usd_for_active_qf_round": "DOUBLE",
        "admin_user_id": "BIGINT", "addresses": "VARCHAR", "organization": "VARCHAR", "status": "VARCHAR",
        "source_qf_round_id": "BIGINT",
    },
    "growthepie.fundamentals_full": {
        "metric_key": "VARCHAR", "origin_key": "VARCHAR", "date": "DATE", "value": "DOUBLE", "metric": "VARCHAR",
    },
    "l2beat.activity": {
        "project_slug": "VARCHAR", "timestamp": "BIGINT", "count": "BIGINT", "uops_count": "BIGINT",
    },
    "l2beat.projects": {
        "id": "VARCHAR", "name": "VARCHAR", "slug": "VARCHAR", "type": "VARCHAR", "host_chain": "VARCHAR",
        "category": "VARCHAR", "is_archived": "BOOLEAN", "is_upcoming": "BOOLEAN", "is_under_review": "BOOLEAN",
        "stage": "VARCHAR", "short_name": "VARCHAR", "purposes": "VARCHAR", "badges": "VARCHAR",
        "providers": "VARCHAR", "activity": "VARCHAR", "risks": "VARCHAR", "tvs": "VARCHAR",
    },
    "l2beat.tvs": {
        "project_slug": "VARCHAR", "timestamp": "BIGINT", "native": "DOUBLE", "canonical": "DOUBLE",
        "external": "DOUBLE", "eth_price": "DOUBLE",
    },
    "npm.downloads": {
        "date": "DATE", "artifact_name": "VARCHAR", "downloads": "BIGINT",
    },
    "npm.manifests": {
        "name": "VARCHAR", "version": "VARCHAR", "description": "VARCHAR", "homepage": "VARCHAR", "main": "VARCHAR",
        "keywords": "VARCHAR", "bugs": "VARCHAR", "license": "VARCHAR", "author": "VARCHAR",
        "contributors": "VARCHAR", "funding": "VARCHAR", "files": "VARCHAR", "exports": "VARCHAR",
        "browser": "VARCHAR", "bin": "VARCHAR", "man": "VARCHAR", "directories": "VARCHAR", "repository": "VARCHAR",
        "scripts": "VARCHAR", "config": "VARCHAR", "dependencies": "VARCHAR", "dev_dependencies": "VARCHAR",
        "peer_dependencies": "VARCHAR", "peer_dependencies_meta": "VARCHAR", "bundle_dependencies": "VARCHAR",
        "optional_dependencies": "VARCHAR", "overrides": "VARCHAR", "engines": "VARCHAR", "os": "VARCHAR",
        "cpu": "VARCHAR", "dev_engines": "VARCHAR", "publish_config": "VARCHAR", "workspaces": "VARCHAR",
        "private": "BOOLEAN",
    },
    "op_atlas.application": {
        "id": "VARCHAR", "status": "VARCHAR", "attestation_id": "VARCHAR",
        "project_description_options": "VARCHAR[]", "created_at": TS, "updated_at": TS, "round_id": "VARCHAR",
        "project_id": "VARCHAR", "category_id": "VARCHAR",
    },
    "op_atlas.badgeholder": {
        "address": "VARCHAR", "round_id": "VARCHAR",
    },
    "op_atlas.category": {
        "id": "VARCHAR", "name": "VARCHAR", "description": "VARCHAR", "image_url": "VARCHAR", "question": "VARCHAR",
        "options": "VARCHAR[]", "round_id": "VARCHAR", "is_multiple_choice": "BOOLEAN",
    },
    "op_atlas.funding_reward": {
        "id": "VARCHAR", "round_id": "VARCHAR", "project_id": "VARCHAR", "amount": "DECIMAL(38,10)",
        "created_at": TS, "updated_at": TS,
    },
    "op_atlas.funding_round": {
        "id": "VARCHAR", "name": "VARCHAR", "image_url": "VARCHAR", "description": "VARCHAR", "rewards": "VARCHAR",
        "start_date": TS, "end_date": TS,
    },
    "op_atlas.github_proximity": {
        "peer": "VARCHAR", "percentile": "DOUBLE",
    },
    "op_atlas.impact_statement": {
        "id": "VARCHAR", "category_id": "VARCHAR", "question": "VARCHAR", "subtext": "VARCHAR",
        "is_required": "BOOLEAN", "is_markdown_supported": "BOOLEAN", "round_id": "VARCHAR",
        "limit_to_category_options": "INTEGER[]", "selection_options": "VARCHAR[]",
    },
    "op_atlas.impact_statement_answer": {
        "id": "VARCHAR", "application_id": "VARCHAR", "impact_statement_id": "VARCHAR", "answer": "VARCHAR",
    },
    "op_atlas.organization": {
        "id": "VARCHAR", "name": "VARCHAR", "description": "VARCHAR", "avatar_url": "VARCHAR",
        "cover_url": "VARCHAR", "website": "VARCHAR[]", "farcaster": "VARCHAR[]", "twitter": "VARCHAR",
        "mirror": "VARCHAR", "created_at": TS, "updated_at": TS, "deleted_at": TS,
    },
    "op_atlas.organization_snapshot": {
        "id": "VARCHAR", "ipfs_hash": "VARCHAR", "attestation_id": "VARCHAR", "created_at": TS,
        "organization_id": "VARCHAR",
    },
    "op_atlas.project": {
        "id": "VARCHAR", "name": "VARCHAR", "description": "VARCHAR", "category": "VARCHAR",
        "thumbnail_url": "VARCHAR", "banner_url": "VARCHAR", "website": "VARCHAR[]", "farcaster": "VARCHAR[]",
        "twitter": "VARCHAR", "mirror": "VARCHAR", "pricing_model": "VARCHAR", "pricing_model_details": "VARCHAR",
        "open_source_observer_slug": "VARCHAR", "is_submitted_to_oso": "BOOLEAN", "defi_llama_slug": "VARCHAR[]",
        "added_team_members": "BOOLEAN", "added_funding": "BOOLEAN", "has_code_repositories": "BOOLEAN",
        "is_on_chain_contract": "BOOLEAN", "last_metadata_update": TS, "created_at": TS, "updated_at": TS,
        "deleted_at": TS,
    },
    "op_atlas.project_contract": {
        "id": "VARCHAR", "contract_address": "VARCHAR", "deployer_address": "VARCHAR", "deployment_hash": "VARCHAR",
        "verification_proof": "VARCHAR", "chain_id": "INTEGER", "verification_chain_id": "INTEGER",
        "name": "VARCHAR", "description": "VARCHAR", "created_at": TS, "updated_at": TS, "project_id": "VARCHAR",
    },
    "op_atlas.project_funding": {
        "id": "VARCHAR", "type": "VARCHAR", "grant": "VARCHAR", "grant_url": "VARCHAR", "amount": "VARCHAR",
        "received_at": "VARCHAR", "details": "VARCHAR", "funding_round": "VARCHAR", "created_at": TS,
        "updated_at": TS, "project_id": "VARCHAR",
    },
    "op_atlas.project_links": {
        "id": "VARCHAR", "url": "VARCHAR", "name": "VARCHAR", "description": "VARCHAR", "created_at": TS,
        "updated_at": TS, "project_id": "VARCHAR",
    },
    "op_atlas.project_organization": {
        "id": "VARCHAR", "created_at": TS, "updated_at": TS, "deleted_at": TS, "project_id": "VARCHAR",
        "organization_id": "VARCHAR",
    },
    "op_atlas.project_repository": {
        "id": "VARCHAR", "type": "VARCHAR", "url": "VARCHAR", "name": "VARCHAR", "description": "VARCHAR",
        "verified": "BOOLEAN", "open_source": "BOOLEAN", "contains_contracts": "BOOLEAN", "npm_package": "BOOLEAN",
        "crate": "BOOLEAN", "created_at": TS, "updated_at": TS, "project_id": "VARCHAR",
    },
    "op_atlas.project_snapshot": {
        "id": "VARCHAR", "ipfs_hash": "VARCHAR", "attestation_id": "VARCHAR", "created_at": TS,
        "project_id": "VARCHAR",
    },
    "op_atlas.published_contract": {
        "id": "VARCHAR", "contract": "VARCHAR", "chain_id": "INTEGER", "deployer": "VARCHAR",
        "deployment_tx": "VARCHAR", "signature": "VARCHAR", "verification_chain_id": "INTEGER",
        "project_id": "VARCHAR", "created_at": TS, "revoked_at": TS,
    },
    "op_atlas.reward_claim": {
        "reward_id": "VARCHAR", "status": "VARCHAR", "address": "VARCHAR", "address_set_at": TS,
        "address_set_by_id": "VARCHAR", "kyc_status": "VARCHAR", "kyc_status_updated_at": TS,
        "grant_eligibility_updated_at": TS, "token_stream_status": "VARCHAR", "token_stream_claimable_at": TS,
        "created_at": TS, "updated_at": TS,
    },
    "op_atlas.user_organization": {
        "id": "VARCHAR", "role": "VARCHAR", "created_at": TS, "updated_at": TS, "deleted_at": TS,
        "user_id": "VARCHAR", "organization_id": "VARCHAR",
    },
    "op_atlas.user_projects": {
        "id": "VARCHAR", "role": "VARCHAR", "created_at": TS, "updated_at": TS, "deleted_at": TS,
        "user_id": "VARCHAR", "project_id": "VARCHAR",
    },
    "open_collective.accounts": {
        "id": "VARCHAR", "legacy_id": "BIGINT", "slug": "VARCHAR", "type": "VARCHAR", "name": "VARCHAR",
        "legal_name": "VARCHAR", "description": "VARCHAR", "long_description": "VARCHAR", "tags": "VARCHAR",
        "social_links": "VARCHAR", "expense_policy": "VARCHAR", "is_incognito": "BOOLEAN", "image_url": "VARCHAR",
        "background_image_url": "VARCHAR", "created_at": TS, "updated_at": TS, "is_archived": "BOOLEAN",
        "is_frozen": "BOOLEAN", "is_host": "BOOLEAN", "is_admin": "BOOLEAN", "location": "VARCHAR",
    },
    "open_collective.deposits": _TRANSACTIONS,
    "open_collective.expenses": _TRANSACTIONS,
    "openlabelsinitiative.labels_decoded": {
        "id": "VARCHAR", "chain_id": "VARCHAR", "address": "VARCHAR", "tag_id": "VARCHAR", "tag_value": "VARCHAR",
        "attester": "VARCHAR", "time_created": "BIGINT", "revocation_time": "BIGINT", "revoked": "BOOLEAN",
        "is_offchain": "BOOLEAN",
    },
    "ossd.collections": {
        "version": "BIGINT", "name": "VARCHAR", "display_name": "VARCHAR", "description": "VARCHAR",
        "projects": "VARCHAR[]", "comments": "VARCHAR[]", "sha": "BLOB", "committed_time": TS,
    },
    "ossd.funding": {
        "to_project_name": "VARCHAR", "amount": "DOUBLE", "funding_date": "VARCHAR", "from_funder_name": "VARCHAR",
        "grant_pool_name": "VARCHAR", "metadata": "VARCHAR", "file_path": "VARCHAR",
    },
    "ossd.project_repositories": {
        "project_name": "VARCHAR", "url": "VARCHAR", "owner": "VARCHAR", "repo_name": "VARCHAR", "sha": "BLOB",
        "committed_time": TS,
    },
    "ossd.projects": {
        "version": "BIGINT", "name": "VARCHAR", "display_name": "VARCHAR", "description": "VARCHAR",
        "websites": "STRUCT(url VARCHAR)[]",
        "social": (
            "STRUCT(farcaster STRUCT(url VARCHAR)[], medium STRUCT(url VARCHAR)[], mirror STRUCT(url VARCHAR)[], "
            "telegram STRUCT(url VARCHAR)[], twitter STRUCT(url VARCHAR)[])"
        ),
        "github": "STRUCT(url VARCHAR)[]", "npm": "STRUCT(url VARCHAR)[]", "crates": "STRUCT(url VARCHAR)[]",
        "pypi": "STRUCT(url VARCHAR)[]", "go": "STRUCT(url VARCHAR)[]", "open_collective": "STRUCT(url VARCHAR)[]",
        "defillama": "STRUCT(url VARCHAR)[]",
        "blockchain": 'STRUCT(address VARCHAR, tags VARCHAR[], networks VARCHAR[], "name" VARCHAR)[]',
        "comments": "VARCHAR[]", "sha": "BLOB", "committed_time": TS,
    },
    "ossd.repositories": {
        "ingestion_time": TS, "id": "BIGINT", "node_id": "VARCHAR", "owner": "VARCHAR",
        "name_with_owner": "VARCHAR", "url": "VARCHAR", "name": "VARCHAR", "is_fork": "BOOLEAN",
        "branch": "VARCHAR", "fork_count": "BIGINT", "star_count": "BIGINT", "watcher_count": "BIGINT",
        "license_spdx_id": "VARCHAR", "license_name": "VARCHAR", "language": "VARCHAR", "created_at": TS,
        "updated_at": TS,
    },
    "ossd.sbom": {
        "artifact_namespace": "VARCHAR", "artifact_name": "VARCHAR", "artifact_source": "VARCHAR",
        "package": "VARCHAR", "package_source": "VARCHAR", "package_version": "VARCHAR", "snapshot_at": TS,
    },
}

# columns the lake has that OSO's table did not (each table's entry above lists them too)
EXTRA: dict[str, set[str]] = {
    "growthepie.fundamentals_full": {"metric"},  # the export's metric name, kept beside metric_key
    "ossd.projects": {"comments"},  # oss-directory's YAML field (the seed predates it)
    "ossd.collections": {"comments"},
    "l2beat.projects": {"purposes", "badges", "activity", "risks", "tvs"},  # the summary's other fields, JSON text
    "gitcoin.all_donations": {"donation_id"},  # in the seed, not selected by the staging model
    "defillama.tvl_events": {"category"},
    "ethereum_attestation_service_optimism.attestations": {"revocable", "revoked", "txid"},  # selected, not in seed
}

NOT_OSO: dict[str, str] = {
    "ossd.project_repositories": "the project × GitHub URL list ossd_github reads (OSO kept it in memory)",
    "ethereum.blocks": "this lake's own JSON-RPC extract (cryo's columns); OSO read blocks from its superchain data",
    "ethereum.transactions": "as ethereum.blocks",
    "ethereum.logs": "as ethereum.blocks",
}
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
