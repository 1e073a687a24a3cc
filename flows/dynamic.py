"""Dynamic sources: one REST source per YAML file of the directory ``OSO_DYNAMIC_SOURCES_DIR`` (unset: none).

Each file is a source description as in ``flows/<source>/source.yaml`` (see ``oso_core.kinds.rest_model``), validated
when the sources are discovered, before anything runs. Discovery reads ``SOURCES`` here, and each source's flow is
``flows/dynamic.py:<name>_flow`` (its ``prefect.yaml`` entrypoint), both looked up by name when asked (PEP 562),
so a worker given the same directory loads the same flows.
"""

from __future__ import annotations

from typing import Any

from oso_core import dynamic_attribute


def __getattr__(name: str) -> Any:
    return dynamic_attribute("flows.dynamic", name)
