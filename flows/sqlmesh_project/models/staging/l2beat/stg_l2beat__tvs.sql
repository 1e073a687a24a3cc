-- Total value secured per L2BEAT project and day, split by how the value is bridged.
MODEL (
  name oso.stg_l2beat__tvs,
  kind FULL,
  tags ("entity_category=chain"),
  grain (l2beat_slug, measured_at),
  audits (
    not_null(columns := (l2beat_slug, measured_at)),
    unique_combination_of_columns(columns := (l2beat_slug, measured_at))
  )
);

SELECT
  LOWER(tvs.project_slug) AS l2beat_slug,
  CAST(FROM_UNIXTIME(tvs.timestamp) AS TIMESTAMP) AS measured_at,
  CAST(tvs.native AS DOUBLE) AS native_value,
  CAST(tvs.canonical AS DOUBLE) AS canonical_value,
  CAST(tvs.external AS DOUBLE) AS external_value,
  CAST(tvs.native AS DOUBLE) + CAST(tvs.canonical AS DOUBLE) + CAST(tvs.external AS DOUBLE) AS total_value,
  CAST(tvs.eth_price AS DOUBLE) AS eth_price
FROM @oso_source('bigquery.l2beat.tvs') AS tvs
