"""``python -m oso_core new-source NAME --kind rest|graphql|sql|archive``: a new, runnable source folder.

The folder ``flows/<name>/`` gets everything a source has (see the README's "Adding a source"): ``source.py``
(declaration + flow through the engine), ``payload.py`` where the kind shapes payloads, ``replay.py`` where the
kind's replay is not the default one, ``fixtures/`` with a small recorded-shaped answer (``seed.sql`` for SQL) and
``test_<name>.py``, whose tests pass at once: they replay the fixture and read the table back with DuckDB. Each
kind is modelled on a source already in ``flows/``: rest on chainlist, graphql on giveth, sql on gitcoin
(``oso_core.kinds.sql_source``: a ``source.yaml``, no code), archive on crates and openlabelsinitiative. The templates
are the files of ``oso_core/tools/templates/<kind>/`` (``{{name}}``, ``{{NAME}}`` and ``{{package}}`` are filled in).

Then the generated files that list sources are refreshed here, so adding a source touches its folder and nothing
else by hand: the README's source table and ``prefect.yaml`` (by the development extension
``oso_dev.regenerate``, see ``oso_core.base.extensions``) and ``.env.example`` (the new base URL and secret settings,
without values).
"""

from __future__ import annotations

import argparse
import gzip
import importlib
import importlib.util
import io
import keyword
import re
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from oso_core.base.extensions import extension_modules
from oso_core.config.settings import PROJECT_ROOT
from oso_core.errors import OsoError

KINDS = ("rest", "graphql", "sql", "archive")
TEMPLATES = Path(__file__).parent / "templates"
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
MAX_NAME = 32  # the templates keep their lines within ruff's 120 columns up to this length
# file names a source folder uses itself, so a source cannot be called that either
RESERVED = {"source", "payload", "replay", "fixtures", "test", "tests", "flows", "weekly"}
ARCHIVE_CSV = b"""id,name,homepage
1,first,https://first.example
2,second,
3,"third, with a comma",https://third.example
"""


class ScaffoldError(OsoError, ValueError):
    """A source cannot be created (bad name, existing source, unknown kind); the message says why and what to do."""


@dataclass
class Scaffolded:
    name: str
    kind: str
    package: str
    folder: Path
    files: list[Path] = field(default_factory=list)
    regenerated: list[str] = field(default_factory=list)


def package_dir(package: str) -> Path:
    """The folder of the (importable) source package ``package``."""
    try:
        module = importlib.import_module(package)
    except ImportError as exc:
        raise ScaffoldError(f"source package {package!r} cannot be imported ({exc}); is it on PYTHONPATH?") from None
    paths = list(getattr(module, "__path__", []))
    if not paths:
        raise ScaffoldError(f"{package!r} is a module, not a package that can hold source folders")
    return Path(paths[0])


def _shadows(name: str) -> str | None:
    """Why ``name`` would shadow an existing module (``flows/`` may be on ``sys.path``), else None."""
    if name in sys.stdlib_module_names or name in sys.builtin_module_names:
        return "it is the name of a Python standard-library module"
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        spec = None
    if spec is not None:
        where = spec.origin or (list(spec.submodule_search_locations or []) or ["?"])[0]
        return f"it is the name of an installed or importable module ({where})"
    return None


def validate_name(name: str, package: str = "flows") -> None:
    """Raise :class:`ScaffoldError` unless ``name`` can be a new source of ``package``."""
    if not NAME_PATTERN.match(name):
        hint = re.sub(r"[^a-z0-9]+", "_", re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()).strip("_")
        suggestion = f" (e.g. {hint!r})" if hint and NAME_PATTERN.match(hint) else ""
        raise ScaffoldError(
            f"source name {name!r} is not snake_case: use lower-case letters, digits and single underscores, "
            f"starting with a letter{suggestion}; it names the folder, the Iceberg namespace and the flow"
        )
    if len(name) > MAX_NAME:
        raise ScaffoldError(f"source name {name!r} is {len(name)} characters long; at most {MAX_NAME}, please")
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise ScaffoldError(f"source name {name!r} is a Python keyword; pick another name")
    if name in RESERVED:
        raise ScaffoldError(f"source name {name!r} is reserved (a file or folder name of the source layout)")
    try:
        existing = importlib.util.find_spec(f"{package}.{name}")
    except (ImportError, ValueError):
        existing = None
    if existing is not None or (package_dir(package) / name).exists():
        raise ScaffoldError(f"source {name!r} already exists in {package}/ ({package}/{name}); pick another name")
    from oso_core.model.sources import discover_sources

    if name in discover_sources():
        raise ScaffoldError(f"a source named {name!r} is already declared ({discover_sources()[name].module})")
    why = _shadows(name)
    if why:
        raise ScaffoldError(
            f"source name {name!r} would shadow another module: {why}; a source folder named like it would be "
            f"imported instead when {package}/ is on sys.path (python flows/...). Pick another name, e.g. "
            f"'{name}_source' or the API's name"
        )


def _render(text: str, name: str, package: str) -> str:
    return text.replace("{{name}}", name).replace("{{NAME}}", name.upper()).replace("{{package}}", package)


def _target(relative: Path, name: str) -> Path:
    """Template path → file path: ``x.py.tmpl`` → ``x.py``, ``test.py.tmpl`` → ``test_<name>.py``."""
    out = relative.with_name(relative.name.removesuffix(".tmpl"))
    return out.with_name(f"test_{name}.py") if out.name == "test.py" else out


def _archive_fixture() -> bytes:
    """``export.tar.gz`` with ``export/items.csv``, byte-for-byte the same each time (fixed times)."""
    raw = io.BytesIO()
    with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz, tarfile.open(fileobj=gz, mode="w") as archive:
        info = tarfile.TarInfo("export/items.csv")
        info.size, info.mtime, info.mode = len(ARCHIVE_CSV), 0, 0o644
        archive.addfile(info, io.BytesIO(ARCHIVE_CSV))
    return raw.getvalue()


def scaffold(
    name: str, kind: str, *, package: str = "flows", regenerate: bool | None = None, project_root: Path | None = None
) -> Scaffolded:
    """Create ``<package>/<name>/`` for ``kind``; refresh the generated files (default: for the project's
    ``flows`` package only)."""
    if kind not in KINDS:
        raise ScaffoldError(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")
    validate_name(name, package)
    folder = package_dir(package) / name
    result = Scaffolded(name, kind, package, folder)
    folder.mkdir()
    init = folder / "__init__.py"
    init.write_text("")
    result.files.append(init)
    for template in sorted((TEMPLATES / kind).rglob("*.tmpl")):
        path = folder / _target(template.relative_to(TEMPLATES / kind), name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_render(template.read_text(), name, package))
        result.files.append(path)
    if kind == "archive":
        path = folder / "fixtures" / "export.tar.gz"
        path.write_bytes(_archive_fixture())
        result.files.append(path)
    importlib.invalidate_caches()
    if regenerate if regenerate is not None else package == "flows":
        result.regenerated = regenerate_files(name, package, project_root or PROJECT_ROOT)
    return result


def regenerate_files(name: str, package: str, root: Path) -> list[str]:
    """Refresh what lists the sources: README table, ``prefect.yaml``, ``.env.example``; returns what changed."""
    from oso_core.model.sources import discover_sources

    discover_sources([package])[name]  # the new source must be discoverable (KeyError otherwise)
    done = []
    for extension in extension_modules("regenerate"):  # oso_dev.regenerate in a checkout: README, prefect.yaml,
        done += extension.regenerate(root, package, name)  # .env.example
    return done


def next_steps(result: Scaffolded) -> list[str]:
    rel = f"{result.package}/{result.name}"
    edit = {
        "rest": "source.py and payload.py: the API's URL, path, fields and tables",
        "graphql": "source.py and payload.py: the endpoint, query, node fields and tables",
        "sql": "source.yaml: the database secret and its tables (cursor columns for incremental copies)",
        "archive": "source.py: the archive's URL, the file(s) inside it and column types",
    }[result.kind]
    steps = [f"edit {rel}/{edit} (search for TODO)"]
    if result.kind == "sql":
        steps.append(f"put the real tables' schema and a few rows in {rel}/fixtures/seed.sql")
        steps.append(f"python -m flows {result.name} --replay   # the seed in a temporary PostgreSQL")
    else:
        steps.append(f"python -m flows {result.name} --record   # live answers into {rel}/fixtures (masked, cut)")
        steps.append(f"python -m flows {result.name} --replay   # the same load, offline")
    steps.append(f"pytest {rel}   # then make its assertions match the recorded data")
    steps.append("after changing the declaration: python -m oso_dev.docs && python -m blocks.deployments --write "
                 "prefect.yaml")  # fmt: skip
    steps.append("deploy: prefect deploy --all (prefect.yaml lists the new source's deployment)")
    return steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m oso_core new-source",
        description="Create a runnable source folder flows/<NAME>/ with a passing test, modelled on an existing "
        "source of the same kind, and refresh the README table, prefect.yaml and .env.example.",
        epilog="kinds: rest (a JSON API, like chainlist), graphql (paged GraphQL, like giveth), sql (PostgreSQL "
        "replication, like gitcoin), archive (a downloaded tar.gz/zip of CSVs, like crates)",
    )
    parser.add_argument("name", metavar="NAME", help="snake_case source name: folder, lake namespace and flow name")
    parser.add_argument("--kind", required=True, choices=KINDS, help="what the source reads")
    parser.add_argument("--package", default="flows", help="source package to create it in (default flows)")
    parser.add_argument(
        "--no-regenerate",
        dest="regenerate",
        action="store_false",
        default=None,
        help="do not refresh README.md, prefect.yaml and .env.example",
    )
    args = parser.parse_args(argv)
    try:
        result = scaffold(args.name, args.kind, package=args.package, regenerate=args.regenerate)
    except ScaffoldError as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    base = result.folder.parent.parent
    print(f"created source {result.name} ({result.kind}) in {result.folder}:")
    for path in result.files:
        print(f"  {path.relative_to(base) if path.is_relative_to(base) else path}")
    if result.regenerated:
        print("refreshed: " + "; ".join(result.regenerated))
    elif result.package != "flows" or args.regenerate is False:
        print("not refreshed (run them when the source is ready): python -m oso_dev.docs; "
              "python -m blocks.deployments --write prefect.yaml; "
              "python -m blocks.env_example --write .env.example")  # fmt: skip
    print("next:")
    for i, step in enumerate(next_steps(result), 1):
        print(f"  {i}. {step}")
    return 0
