-- The current oss-directory projects, one row per project (ossd.projects is replaced on every load).
MODEL (
  name oso.stg_ossd__current_projects,
  kind FULL,
  tags ("entity_category=project"),
  grain project_name,
  audits (
    has_at_least_n_rows(threshold := 1),
    not_null(columns := (project_name)),
    unique_values(columns := (project_name))
  )
);

SELECT
  LOWER(projects.name) AS project_name,
  projects.display_name,
  projects.description,
  projects.websites,
  projects.social,
  projects.github,
  projects.npm,
  projects.pypi,
  projects.crates,
  projects.go,
  projects.blockchain,
  projects.defillama,
  projects.open_collective,
  projects.sha,
  projects.committed_time
FROM @oso_source('bigquery.ossd.projects') AS projects
