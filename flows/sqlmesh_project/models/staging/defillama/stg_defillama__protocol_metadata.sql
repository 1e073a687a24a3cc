-- DefiLlama's description of each protocol (name, chain, category, parent), one row per slug.
MODEL (
  name oso.stg_defillama__protocol_metadata,
  kind FULL,
  tags ("entity_category=defi"),
  grain slug,
  audits (
    not_null(columns := (slug)),
    unique_values(columns := (slug))
  )
);

SELECT
  metadata.id AS defillama_id,
  LOWER(metadata.slug) AS slug,
  metadata.name,
  metadata.address,
  metadata.symbol,
  metadata.url,
  metadata.description,
  metadata.logo,
  LOWER(metadata.chain) AS chain,
  metadata.category,
  metadata.twitter,
  metadata.parent_protocol
FROM @oso_source('bigquery.defillama.protocol_metadata') AS metadata
