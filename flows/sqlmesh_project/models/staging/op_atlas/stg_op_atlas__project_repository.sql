-- The code repositories OP Atlas projects claim, one row per (project, repository), with owner and name parsed
-- from the GitHub URL.
MODEL (
  name oso.stg_op_atlas__project_repository,
  kind FULL,
  tags ("entity_category=project"),
  grain (project_id, repository_url),
  audits (
    not_null(columns := (project_id, repository_url)),
    unique_combination_of_columns(columns := (project_id, repository_url))
  )
);

SELECT DISTINCT
  repositories.project_id,
  RTRIM(LOWER(repositories.url), '/') AS repository_url,
  SPLIT_PART(REGEXP_REPLACE(LOWER(repositories.url), '^https?://github\.com/', ''), '/', 1) AS repository_owner,
  SPLIT_PART(REGEXP_REPLACE(LOWER(repositories.url), '^https?://github\.com/', ''), '/', 2) AS repository_name,
  repositories.type AS repository_type,
  repositories.verified AS is_verified,
  CAST(repositories.updated_at AS TIMESTAMP) AS updated_at
FROM @oso_source('bigquery.op_atlas.project_repository') AS repositories
