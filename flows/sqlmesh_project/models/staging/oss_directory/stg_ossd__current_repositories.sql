-- GitHub repositories of oss-directory projects, one row per repository (the latest ingestion of each node id).
MODEL (
  name oso.stg_ossd__current_repositories,
  kind FULL,
  tags ("entity_category=project"),
  grain node_id,
  audits (
    not_null(columns := (node_id, url)),
    unique_values(columns := (node_id))
  )
);

WITH ranked AS (
  SELECT
    repositories.*,
    ROW_NUMBER() OVER (PARTITION BY repositories.node_id ORDER BY repositories.ingestion_time DESC) AS recency
  FROM @oso_source('bigquery.ossd.repositories') AS repositories
)
SELECT
  ranked.node_id,
  ranked.id,
  LOWER(ranked.url) AS url,
  ranked.name,
  ranked.name_with_owner,
  LOWER(ranked.owner) AS owner,
  ranked.branch,
  CAST(ranked.star_count AS BIGINT) AS star_count,
  CAST(ranked.watcher_count AS BIGINT) AS watcher_count,
  CAST(ranked.fork_count AS BIGINT) AS fork_count,
  ranked.is_fork,
  ranked.license_name,
  ranked.license_spdx_id,
  ranked.language,
  ranked.created_at,
  ranked.updated_at,
  ranked.ingestion_time
FROM ranked
WHERE ranked.recency = 1
