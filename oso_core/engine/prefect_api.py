"""Which Prefect API a command line talks to: a configured one, else the project's local server, else a temporary one.

Without ``PREFECT_API_URL`` Prefect starts a temporary ("ephemeral") server in every process, ~10 s (more on a busy
machine) before the first line of work. ``./dev server`` keeps one running instead: the project's own server, with
its own ``PREFECT_HOME`` (``$OSO_HOME/prefect``) on a fixed local port (``OSO_PREFECT_PORT``, default 4210, away
from a personal server's 4200). :func:`use_local_server` picks, in this order:

1. ``PREFECT_API_URL`` wherever Prefect would read it (environment, ``.env``, ``prefect.toml``, ``pyproject.toml``,
   the active profile): a configured API always wins;
2. the project's local server, when ``GET <url>/health`` answers within a short timeout;
3. nothing: Prefect then starts its temporary server (given 90 s to answer rather than 20, unless set), and one
   line on stderr says how to avoid the wait.

Whichever it picks, Prefect's analytics are switched off (:func:`quiet_telemetry`, unless the environment chose):
a temporary server started with them on logs ``ERROR | prefect.server.services.telemetry - Failed to send
telemetry`` in every run of a machine that cannot reach Prefect's collector, an error that is not one.

Prefect reads its settings once, when ``prefect`` is first imported; setting ``PREFECT_API_URL`` after that has no
effect. So only the command-line entry points call this (``python -m flows``, ``flows/weekly.py``,
``flows/maintenance.py``, ``flows/freshness.py``, ``python -m blocks.setup``: every one that talks to a Prefect API),
first thing, before they import a flow. Library imports and deployed flows never do: a deployment runs where its worker
points it.
"""

from __future__ import annotations

import os
import sys
import tomllib
import urllib.request
from collections.abc import MutableMapping
from pathlib import Path

from oso_core.config import settings

DEFAULT_PORT = 4210
# Prefect gives its temporary server 20 s to answer; a busy two-core machine needs longer (it then fails the run
# with "Timed out while attempting to connect to ephemeral Prefect API server"). A user's own value wins.
EPHEMERAL_STARTUP_TIMEOUT_S = "90"
HEALTH_TIMEOUT_S = 1.0  # a refused connection answers at once; this bounds a listening but stuck process
# Prefect's analytics opt-outs. PREFECT_SERVER_ANALYTICS_ENABLED is the server's setting (Prefect 3.9:
# ServerSettings.analytics_enabled; a temporary server is a subprocess that inherits this process's environment and
# its telemetry service POSTs to sens-o-matic.prefect.io at start); DO_NOT_TRACK is the client SDK's opt-out,
# checked when each event is sent.
TELEMETRY_DEFAULTS = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
HINT = (
    "oso: no Prefect server at {url}; Prefect starts a temporary one (~10 s). "
    "Run `./dev server` once to keep one running (or set PREFECT_API_URL)."
)
_hinted = False


def local_port() -> int:
    """The project's local server port (``OSO_PREFECT_PORT``, default 4210)."""
    return int(os.environ.get("OSO_PREFECT_PORT") or DEFAULT_PORT)


def local_api_url() -> str:
    return f"http://127.0.0.1:{local_port()}/api"


def local_prefect_home() -> Path:
    """The project's server's ``PREFECT_HOME`` (its SQLite database, logs): ``$OSO_HOME/prefect``."""
    return settings.oso_home() / "prefect"


def answers(api_url: str, timeout: float = HEALTH_TIMEOUT_S) -> bool:
    """Whether a Prefect API answers ``GET <api_url>/health`` with ``true`` within ``timeout`` seconds."""
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=timeout) as response:  # noqa: S310
            return response.status == 200 and response.read(16).strip() == b"true"
    except (OSError, ValueError):
        return False


def configured_api_url(environ: MutableMapping[str, str] = os.environ, cwd: Path | None = None) -> str | None:
    """``PREFECT_API_URL`` as Prefect will see it, from each place Prefect 3 reads settings: the environment, a
    ``.env`` file, ``prefect.toml`` (``[api] url``) or ``pyproject.toml`` (``[tool.prefect.api] url``) in the
    working directory, else the active profile. Read from the files directly, not through Prefect's settings,
    which would import Prefect before the choice is made (and freeze it)."""
    if environ.get("PREFECT_API_URL"):
        return environ["PREFECT_API_URL"]
    cwd = cwd or Path.cwd()
    from dotenv import dotenv_values

    if value := dotenv_values(cwd / ".env").get("PREFECT_API_URL"):
        return value
    for name, keys in (("prefect.toml", ("api", "url")), ("pyproject.toml", ("tool", "prefect", "api", "url"))):
        if value := _toml_value(cwd / name, keys):
            return value
    home = Path(environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()
    path = Path(environ.get("PREFECT_PROFILES_PATH") or home / "profiles.toml").expanduser()
    active = environ.get("PREFECT_PROFILE") or _toml_value(path, ("active",)) or "ephemeral"
    return _toml_value(path, ("profiles", active, "PREFECT_API_URL"))


def _toml_value(path: Path, keys: tuple[str, ...]) -> str | None:
    try:
        value: object = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return None
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return str(value) if value else None


def quiet_telemetry(environ: MutableMapping[str, str] = os.environ) -> None:
    """Set Prefect's analytics opt-outs where the environment has not chosen (``setdefault``: a user's value wins).

    Before Prefect's settings are read, so the process's own settings agree with what its temporary server (if it
    starts one) inherits."""
    for name, value in TELEMETRY_DEFAULTS.items():
        environ.setdefault(name, value)


def use_local_server_as_command(argv: list[str] | None = None) -> None:
    """:func:`use_local_server` unless the command line only asks for ``--help``: the one body of every script's
    ``if __name__ == "__main__":`` guard at its top, before it imports ``prefect`` (``flows/weekly.py``,
    ``flows/maintenance.py``, ``flows/freshness.py``, ``blocks/setup.py``). Never on an import or in a
    deployment, which runs where its worker points it."""
    if not {"-h", "--help"} & set(sys.argv[1:] if argv is None else argv):
        use_local_server()


def use_local_server(environ: MutableMapping[str, str] = os.environ) -> str | None:
    """Point this process's Prefect at the API to use (see the module docstring), with analytics off; returns its
    URL, or None when Prefect will start its temporary server. Call before anything imports ``prefect``."""
    global _hinted
    quiet_telemetry(environ)
    configured = configured_api_url(environ)
    if configured:
        return configured
    url = local_api_url()
    if answers(url):
        environ["PREFECT_API_URL"] = url
        return url
    environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", EPHEMERAL_STARTUP_TIMEOUT_S)
    if not _hinted:
        _hinted = True
        print(HINT.format(url=url), file=sys.stderr)
    return None
