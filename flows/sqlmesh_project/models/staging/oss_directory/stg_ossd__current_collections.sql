-- The current oss-directory collections, one row per collection, with the names of the projects it groups.
MODEL (
  name oso.stg_ossd__current_collections,
  kind FULL,
  tags ("entity_category=collection"),
  grain collection_name,
  audits (
    has_at_least_n_rows(threshold := 1),
    not_null(columns := (collection_name)),
    unique_values(columns := (collection_name))
  )
);

SELECT
  LOWER(collections.name) AS collection_name,
  collections.display_name,
  collections.description,
  TRANSFORM(collections.projects, project -> LOWER(project)) AS project_names,
  collections.sha,
  collections.committed_time
FROM @oso_source('bigquery.ossd.collections') AS collections
