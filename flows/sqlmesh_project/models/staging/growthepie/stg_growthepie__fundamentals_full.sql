-- growthepie's daily chain fundamentals (active addresses, fees, ...), one row per metric, chain and day.
MODEL (
  name oso.stg_growthepie__fundamentals_full,
  kind FULL,
  tags ("entity_category=chain"),
  grain (metric_key, origin_key, date),
  audits (
    not_null(columns := (metric_key, origin_key, date)),
    unique_combination_of_columns(columns := (metric_key, origin_key, date))
  )
);

SELECT
  fundamentals.metric_key,
  LOWER(fundamentals.origin_key) AS origin_key,
  CAST(fundamentals.date AS DATE) AS date,
  CAST(fundamentals.value AS DOUBLE) AS value
FROM @oso_source('bigquery.growthepie.fundamentals_full') AS fundamentals
