-- EVM chains from chainlist, one row per chain id, with the native currency.
MODEL (
  name oso.stg_chainlist__chains,
  kind FULL,
  tags ("entity_category=chain"),
  grain chain_id,
  audits (
    not_null(columns := (chain_id, chain_name)),
    unique_values(columns := (chain_id))
  )
);

SELECT
  CAST(chains.chain_id AS BIGINT) AS chain_id,
  CAST(chains.network_id AS BIGINT) AS network_id,
  chains.name AS chain_name,
  chains.chain,
  chains.short_name,
  chains.chain_slug,
  chains.native_currency_name,
  chains.native_currency_symbol,
  CAST(chains.native_currency_decimals AS INTEGER) AS native_currency_decimals,
  chains.info_url
FROM @oso_source('bigquery.chainlist.chains') AS chains
