-- Open Labels Initiative address labels (tag and value per address and chain) that are not revoked.
MODEL (
  name oso.stg_openlabelsinitiative__labels_decoded,
  kind FULL,
  tags ("entity_category=address"),
  audits (
    not_null(columns := (attestation_id, address, tag_id))
  )
);

SELECT
  labels.id AS attestation_id,
  labels.chain_id,
  LOWER(labels.address) AS address,
  labels.tag_id,
  labels.tag_value,
  LOWER(labels.attester) AS attester,
  CAST(FROM_UNIXTIME(labels.time_created) AS TIMESTAMP) AS created_at,
  labels.is_offchain
FROM @oso_source('bigquery.openlabelsinitiative.labels_decoded') AS labels
WHERE NOT labels.revoked
