-- EAS attestations on Optimism, one row per attestation uid; the unix-second times as timestamps (an expiration or
-- revocation time of 0 means none, so NULL), the addresses and uids in lower case.
MODEL (
  name oso.stg_eas__optimism_attestations,
  kind FULL,
  tags ("entity_category=attestation"),
  grain id,
  audits (
    not_null(columns := (id, attester, time, time_created)),
    unique_values(columns := (id))
  )
);

WITH ranked AS (
  SELECT
    attestations.*,
    ROW_NUMBER() OVER (PARTITION BY attestations.id ORDER BY attestations.time DESC) AS newest
  FROM @oso_source('bigquery.ethereum_attestation_service_optimism.attestations') AS attestations
)
SELECT
  ranked.id,
  ranked.data,
  ranked.decoded_data_json,
  LOWER(ranked.recipient) AS recipient,
  LOWER(ranked.attester) AS attester,
  CAST(FROM_UNIXTIME(ranked.time) AS TIMESTAMP) AS time,
  CAST(FROM_UNIXTIME(ranked.time_created) AS TIMESTAMP) AS time_created,
  CASE
    WHEN ranked.expiration_time > 0 THEN CAST(FROM_UNIXTIME(ranked.expiration_time) AS TIMESTAMP)
  END AS expiration_time,
  CASE
    WHEN ranked.revocation_time > 0 THEN CAST(FROM_UNIXTIME(ranked.revocation_time) AS TIMESTAMP)
  END AS revocation_time,
  LOWER(ranked.ref_uid) AS ref_uid,
  LOWER(ranked.schema_id) AS schema_id,
  ranked.ipfs_hash,
  CAST(ranked.is_offchain AS BOOLEAN) AS is_offchain
FROM ranked
WHERE ranked.newest = 1
