-- Electric Capital's crypto ecosystems taxonomy: which ecosystem (and branch) each repository belongs to.
MODEL (
  name oso.stg_crypto_ecosystems__taxonomy,
  kind FULL,
  tags ("entity_category=ecosystem"),
  audits (
    not_null(columns := (ecosystem_name, repository_url))
  )
);

SELECT
  taxonomy.eco_name AS ecosystem_name,
  taxonomy.branch,
  RTRIM(LOWER(taxonomy.repo_url), '/') AS repository_url,
  taxonomy.tags
FROM @oso_source('bigquery.crypto_ecosystems.taxonomy') AS taxonomy
