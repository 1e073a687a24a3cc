"""oso_dev: the development machinery of oso-prefect, kept out of the library and of every deployed flow.

Replay servers (``replay``), stand-in secrets for replays (``replay_secrets``), the throw-away PostgreSQL
(``pgtemp``), recording live APIs into fixtures (``record``), the README's generated source table (``docs``)
and the ``--replay`` / ``--record`` options of the command line (``cli``). Deployed flows never import it; the
command lines (``python -m flows <source>``, ``flows/weekly.py``) do, only when one of those options is given.
"""
