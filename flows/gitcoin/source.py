"""gitcoin: a replicated PostgreSQL database described in ``source.yaml`` (no code)."""

from oso_core import replicated

SPEC, SOURCE, gitcoin_flow = replicated(__file__)
