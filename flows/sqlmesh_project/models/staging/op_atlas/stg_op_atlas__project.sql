-- Projects registered in OP Atlas (Optimism's retro funding), one row per project that is not deleted.
MODEL (
  name oso.stg_op_atlas__project,
  kind FULL,
  tags ("entity_category=project"),
  grain project_id,
  audits (
    not_null(columns := (project_id)),
    unique_values(columns := (project_id))
  )
);

SELECT
  projects.id AS project_id,
  projects.name AS display_name,
  projects.description,
  projects.category,
  projects.thumbnail_url,
  projects.banner_url,
  projects.twitter,
  projects.mirror,
  LOWER(projects.open_source_observer_slug) AS open_source_observer_slug,
  CAST(projects.created_at AS TIMESTAMP) AS created_at,
  CAST(projects.updated_at AS TIMESTAMP) AS updated_at
FROM @oso_source('bigquery.op_atlas.project') AS projects
WHERE projects.deleted_at IS NULL
