"""op_atlas: a replicated PostgreSQL database described in ``source.yaml`` (no code)."""

from oso_core import replicated

SPEC, SOURCE, op_atlas_flow = replicated(__file__)
