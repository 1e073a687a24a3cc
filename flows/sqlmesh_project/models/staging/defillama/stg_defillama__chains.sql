-- The chains DefiLlama tracks and their current TVL, one row per chain name.
MODEL (
  name oso.stg_defillama__chains,
  kind FULL,
  tags ("entity_category=defi"),
  grain chain,
  audits (
    not_null(columns := (chain)),
    unique_values(columns := (chain))
  )
);

SELECT
  LOWER(chains.name) AS chain,
  chains.name AS display_name,
  chains.gecko_id,
  chains.token_symbol,
  chains.cmc_id,
  chains.chain_id,
  CAST(chains.tvl AS DOUBLE) AS tvl
FROM @oso_source('bigquery.defillama.chains') AS chains
