-- Gitcoin Grants donations across every round, one row per donation.
MODEL (
  name oso.stg_gitcoin__all_donations,
  kind FULL,
  tags ("entity_category=funding"),
  audits (
    not_null(columns := (donation_timestamp, project_id))
  )
);

SELECT
  donations.source AS donation_source,
  CAST(donations.timestamp AS TIMESTAMP) AS donation_timestamp,
  donations.round_id,
  CAST(donations.round_num AS INTEGER) AS round_number,
  donations.round_name,
  CAST(donations.chain_id AS INTEGER) AS chain_id,
  donations.project_id AS gitcoin_project_id,
  donations.project_id,
  donations.project_name,
  LOWER(donations.recipient_address) AS project_recipient_address,
  LOWER(donations.donor_address) AS donor_address,
  LOWER(donations.transaction_hash) AS transaction_hash,
  CAST(donations.amount_in_usd AS DOUBLE) AS amount_in_usd
FROM @oso_source('bigquery.gitcoin.all_donations') AS donations
