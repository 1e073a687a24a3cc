"""Test-only sources for ``secrets check`` and the canary test.

Discovered with ``discover_sources("tests.support.secret_sources")``.
"""
