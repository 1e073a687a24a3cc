-- Layer-2 projects L2BEAT tracks, one row per project; providers stay the JSON text the port loads.
MODEL (
  name oso.stg_l2beat__projects,
  kind FULL,
  tags ("entity_category=chain"),
  grain l2beat_slug,
  audits (
    not_null(columns := (l2beat_slug)),
    unique_values(columns := (l2beat_slug))
  )
);

SELECT
  projects.id AS l2beat_id,
  LOWER(projects.slug) AS l2beat_slug,
  projects.name AS display_name,
  projects.short_name,
  projects.type AS project_type,
  projects.host_chain,
  projects.category,
  projects.providers,
  projects.stage,
  projects.is_archived,
  projects.is_upcoming,
  projects.is_under_review
FROM @oso_source('bigquery.l2beat.projects') AS projects
