"""Extensions: what packages above the library add to its commands, found by name, never imported statically.

``oso_core`` is what the deployed flows, ``oso_dev`` and ``blocks`` build on; it imports none of them
(``tests/test_structure.py`` checks it). Two library commands offer more in a development checkout: every
source's command line gets ``--replay``/``--record`` (``oso_dev.cli``) and ``new-source`` refreshes the README
table and ``prefect.yaml`` (``oso_dev.regenerate``). Those modules are named by the setting ``OSO_EXTENSIONS``
(comma-separated; by default the two above) and imported when a command runs, if installed: an installed library
without the development package simply runs without them, as source discovery names ``flows`` by setting.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

DEFAULT_EXTENSIONS = "oso_dev.cli,oso_dev.regenerate"


def extension_modules(*hooks: str) -> list[ModuleType]:
    """The installed extension modules (``OSO_EXTENSIONS``) that define every one of ``hooks``, in setting order."""
    names = [n.strip() for n in os.environ.get("OSO_EXTENSIONS", DEFAULT_EXTENSIONS).split(",") if n.strip()]
    found = []
    for name in names:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not name.startswith(exc.name):
                raise  # the extension exists but something it imports is missing: say so
            continue
        if all(hasattr(module, hook) for hook in hooks):
            found.append(module)
    return found
