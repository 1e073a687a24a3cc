"""l2beat: described in ``source.yaml``; the chart payloads are reshaped by ``payload.chart_points``."""

from oso_core import described

SPEC, SOURCE, l2beat_flow = described(__file__)
