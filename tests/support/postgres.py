"""A throw-away PostgreSQL cluster for the tests (Debian's ``postgresql``, installed by ``.ci/run``).

The cluster logic lives in ``oso_dev.pgtemp`` because ``--replay`` of the database sources (op_atlas, gitcoin)
starts the same kind of cluster; this module keeps the tests' import path.
"""

from __future__ import annotations

from oso_dev.pgtemp import PostgresServer, postgres_available, start_postgres

__all__ = ["PostgresServer", "postgres_available", "start_postgres"]
