"""--replay for ossd: how its recorded fixtures stand in for the live API (development only)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SAMPLE_DIR = Path(__file__).parent / "fixtures" / "sample"


@contextmanager
def replay_parameters() -> Iterator[dict[str, str]]:
    """Offline, ossd loads the sample directory shipped in the repository instead of cloning GitHub."""
    yield {"repo_url": str(SAMPLE_DIR)}
