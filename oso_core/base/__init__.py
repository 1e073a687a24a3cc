"""Foundations every layer may use: masking secrets in texts, lake naming, cadences, the Prefect run this code
runs in, and the extension hook. They import nothing of the library but ``oso_core.errors``.
"""
