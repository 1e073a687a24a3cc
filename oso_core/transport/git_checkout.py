"""Check out a git repository (URL or local path) at a ref, and say which commit the files come from."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from oso_core.errors import OsoError


@dataclass(frozen=True)
class Revision:
    """The commit the files come from (``None`` for a plain directory that is not a git checkout)."""

    sha: str | None
    committed_time: datetime | None


class CheckoutError(OsoError):
    """git could not provide the files; the message says which repository and ref."""


def _git(*args: str, cwd: Path | None = None) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise CheckoutError(f"git {' '.join(args[:2])} failed: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout.strip()


def revision_of(path: Path) -> Revision:
    sha = _git("rev-parse", "HEAD", cwd=path)
    committed = _git("show", "-s", "--format=%cI", "HEAD", cwd=path)
    return Revision(sha=sha, committed_time=datetime.fromisoformat(committed))


def _is_git_checkout(path: Path) -> bool:
    return (path / ".git").exists()


@contextmanager
def checkout(source: str, ref: str | None = None) -> Iterator[tuple[Path, Revision]]:
    """Yield a directory with the files of ``source`` at ``ref`` and the commit they come from.

    A local checkout without ``ref`` is read in place; a plain local directory has no commit
    (``Revision(None, None)``); anything else is cloned into a temporary directory that is removed after.
    """
    local = Path(source).expanduser()
    if local.is_dir() and ref is None:
        if _is_git_checkout(local):
            yield local.resolve(), revision_of(local)
        else:
            yield local.resolve(), Revision(sha=None, committed_time=None)
        return
    if local.is_dir() and not _is_git_checkout(local):
        raise CheckoutError(f"{source} is a plain directory, not a git checkout: --ref {ref} cannot be applied")
    if not local.is_dir() and "://" not in source and not source.startswith("git@"):
        raise CheckoutError(f"{source} is neither a local directory nor a git URL")
    with tempfile.TemporaryDirectory(prefix="oso-ossd-") as tmp:
        target = Path(tmp) / "repo"
        url = str(local.resolve()) if local.is_dir() else source
        try:
            args = ["clone", "--quiet", "--depth", "1", *(["--branch", ref] if ref else []), url, str(target)]
            _git(*args)
        except CheckoutError:
            # a commit sha is not a branch: clone everything, then check it out
            _git("clone", "--quiet", "--no-checkout", url, str(target))
            try:
                _git("checkout", "--quiet", ref or "HEAD", cwd=target)
            except CheckoutError as exc:
                raise CheckoutError(f"{source} has no ref {ref!r}: {exc}") from None
        yield target, revision_of(target)
