"""Source kinds described as data: REST sources (``rest_model`` + ``rest_source``) and SQL replications
(``sql_replication`` + ``sql_source``), each a ``source.yaml`` read into a flow of the engine.
"""
