-- ENS domains, one row per domain (ens.domains is replaced on every load). The subgraph's camelCase fields get
-- snake_case names; resolver, owner, registrant, registration and subdomains stay JSON text as the lake holds them,
-- with the ids a join needs taken out of them.
MODEL (
  name oso.stg_ens__domains,
  kind FULL,
  tags ("entity_category=address"),
  grain id,
  audits (
    not_null(columns := (id)),
    unique_values(columns := (id))
  )
);

SELECT
  domains.id,
  domains.name,
  domains.resolver,
  domains.owner,
  domains.registrant,
  domains."expiryDate" AS expiry_date,
  domains.registration,
  domains.subdomains,
  CAST(domains."subdomainCount" AS BIGINT) AS subdomain_count,
  JSON_EXTRACT_SCALAR(domains.resolver, '$.id') AS resolver_id,
  LOWER(JSON_EXTRACT_SCALAR(domains.resolver, '$.address')) AS resolver_address,
  LOWER(JSON_EXTRACT_SCALAR(domains.owner, '$.id')) AS owner_address,
  LOWER(JSON_EXTRACT_SCALAR(domains.registrant, '$.id')) AS registrant_address
FROM @oso_source('bigquery.ens.domains') AS domains
