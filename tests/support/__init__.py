"""Real services for the tests: a Prefect server, a PostgreSQL server, local HTTP stand-ins."""
