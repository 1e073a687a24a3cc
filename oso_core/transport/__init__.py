"""Extraction and transport: HTTP, GraphQL, JSON-RPC, pagination, downloads and archives, git checkouts, the
records they become (validated frames), GitHub's client and fan-out. Nothing here knows what a source is.
"""
