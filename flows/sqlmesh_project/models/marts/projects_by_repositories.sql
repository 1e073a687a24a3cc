-- Per oss-directory project: how many of its GitHub repositories the lake knows, and their stars and forks.
-- A project's github entries are repository URLs or whole owners (https://github.com/<owner>).
MODEL (
  name oso.projects_by_repositories,
  kind FULL,
  tags ("entity_category=project"),
  grain project_name,
  audits (
    not_null(columns := (project_name, repository_count)),
    unique_values(columns := (project_name))
  )
);

WITH github_urls AS (
  SELECT
    projects.project_name,
    RTRIM(LOWER(entry.url), '/') AS github_url
  FROM oso.stg_ossd__current_projects AS projects
  CROSS JOIN UNNEST(TRANSFORM(projects.github, github -> github.url)) AS entry(url)
), matched AS (
  -- two equi-joins (a repository's own URL, its owner's URL), not one join on an OR: that would compare every
  -- URL with every repository
  SELECT
    github_urls.project_name,
    repositories.node_id,
    repositories.star_count,
    repositories.fork_count
  FROM github_urls
  INNER JOIN oso.stg_ossd__current_repositories AS repositories
    ON repositories.url = github_urls.github_url
  UNION
  SELECT
    github_urls.project_name,
    repositories.node_id,
    repositories.star_count,
    repositories.fork_count
  FROM github_urls
  INNER JOIN oso.stg_ossd__current_repositories AS repositories
    ON 'https://github.com/' || repositories.owner = github_urls.github_url
)
SELECT
  projects.project_name,
  projects.display_name,
  COUNT(matched.node_id) AS repository_count,
  CAST(COALESCE(SUM(matched.star_count), 0) AS BIGINT) AS star_count,
  CAST(COALESCE(SUM(matched.fork_count), 0) AS BIGINT) AS fork_count
FROM oso.stg_ossd__current_projects AS projects
LEFT JOIN matched
  ON matched.project_name = projects.project_name
GROUP BY
  projects.project_name,
  projects.display_name
