"""Contributor tools: ``new-source`` (``scaffold`` and its ``templates/``) and ``secrets check|push``."""
