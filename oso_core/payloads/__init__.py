"""How each source's API payloads become validated frames: the source-specific shaping, kept out of flows/ so each
flow file reads as a recipe, like helpers.py in dlt's verified sources.

One module per source (``oso_core.payloads.defillama`` for ``flows/defillama.py``): its schemas, query strings and
the functions that turn that source's responses into frames. Nothing here imports ``flows``: a helper that needs
the source's name takes it as an argument (or from the ``HttpClient`` it is given).
"""
