-- Total value locked per protocol, chain and token over time (defillama.tvl_events, one row per observation).
MODEL (
  name oso.stg_defillama__tvl_events,
  kind FULL,
  tags ("entity_category=defi"),
  grain (slug, chain, token, time),
  audits (
    not_null(columns := (time, slug, chain)),
    unique_combination_of_columns(columns := (slug, chain, token, time))
  )
);

SELECT
  CAST(events.time AS TIMESTAMP) AS time,
  LOWER(events.slug) AS slug,
  events.protocol,
  events.parent_protocol,
  events.category,
  LOWER(events.chain) AS chain,
  events.token,
  CAST(events.tvl AS DOUBLE) AS tvl
FROM @oso_source('bigquery.defillama.tvl_events') AS events
