"""chainlist: described in ``source.yaml`` (no code)."""

from oso_core import described

SPEC, SOURCE, chainlist_flow = described(__file__)
