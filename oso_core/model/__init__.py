"""The source model: ``Source``/``TableSpec`` declarations and their discovery, lake migrations as declarations,
and the refusal of secret values in flow parameters.
"""
