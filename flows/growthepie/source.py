"""growthepie: described in ``source.yaml`` (no code)."""

from oso_core import described

SPEC, SOURCE, growthepie_flow = described(__file__)
