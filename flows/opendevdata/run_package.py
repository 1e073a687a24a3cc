"""The open-dev-data command line with its manifest URL replaced; run as a child process by ``source.py``.

``python run_package.py MANIFEST_URL download -o DIR [--retry N] [--workers N]``

* The package reads its manifest from the module constant ``open_dev_data.download.MANIFEST_URL`` (no option or
  environment variable); it is set here, before the package's own ``main()`` runs.
* Dependency bug worked around: open-dev-data 1.4 passes ``socket_options=`` (TCP keepalive) to
  ``aiohttp.TCPConnector``, a keyword no aiohttp release accepts (checked 3.13.2 to 3.14.5), so its ``download``
  fails with ``TypeError`` before fetching any file. When the installed aiohttp lacks the keyword, the same
  options are applied through aiohttp's ``socket_factory`` (aiohttp >= 3.12) instead.
"""

from __future__ import annotations

import inspect
import socket
import sys
from typing import Any

import aiohttp


def _tolerate_socket_options() -> None:
    if "socket_options" in inspect.signature(aiohttp.TCPConnector.__init__).parameters:
        return
    original = aiohttp.TCPConnector

    class TCPConnector(original):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, socket_options: list[tuple[int, int, int]] | None = None, **kwargs: Any):
            if socket_options and "socket_factory" not in kwargs:

                def factory(addr_info: Any) -> socket.socket:
                    family, type_, proto, _, _ = addr_info
                    sock = socket.socket(family=family, type=type_, proto=proto)
                    for option in socket_options:
                        sock.setsockopt(*option)
                    return sock

                kwargs["socket_factory"] = factory
            super().__init__(*args, **kwargs)

    aiohttp.TCPConnector = TCPConnector  # type: ignore[misc]


def main(argv: list[str]) -> None:
    manifest_url, *cli = argv
    _tolerate_socket_options()
    import open_dev_data.download as download

    download.MANIFEST_URL = manifest_url
    from open_dev_data.commands import main as package_main

    sys.argv = ["open-dev-data", *cli]
    package_main()


if __name__ == "__main__":
    main(sys.argv[1:])
