-- Transactions and user operations per L2BEAT project and day.
MODEL (
  name oso.stg_l2beat__activity,
  kind FULL,
  tags ("entity_category=chain"),
  grain (l2beat_slug, measured_at),
  audits (
    not_null(columns := (l2beat_slug, measured_at)),
    unique_combination_of_columns(columns := (l2beat_slug, measured_at))
  )
);

SELECT
  LOWER(activity.project_slug) AS l2beat_slug,
  CAST(FROM_UNIXTIME(activity.timestamp) AS TIMESTAMP) AS measured_at,
  CAST(activity.count AS BIGINT) AS transaction_count,
  CAST(activity.uops_count AS BIGINT) AS user_operation_count
FROM @oso_source('bigquery.l2beat.activity') AS activity
