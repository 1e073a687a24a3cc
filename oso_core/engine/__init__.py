"""The engine: ``@source_flow`` (``flow``) turns a source's load function into its Prefect flow, with its toolbox,
summary, command line, windowed loads, shared API limits and the static reading of declarations for ``--help``.
"""
