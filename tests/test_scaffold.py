"""``python -m oso_core new-source``: every kind gives a runnable source whose own tests pass at once.

The sources are scaffolded into a temporary source package (``OSO_SOURCE_PACKAGES`` lets discovery find it),
never into ``flows/``; their generated tests then run in a separate pytest process, and ``python -m flows <name>
--replay`` loads each of them here.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from oso_core.__main__ import main as oso_core_main
from oso_core.config.settings import PROJECT_ROOT
from oso_core.tools.scaffold import KINDS, regenerate_files, validate_name

PACKAGE = "flows_scaffolded"  # sorts before oso_core, as flows does, so imports are ordered the same way
NAMES = {kind: f"new_{kind}_source" for kind in KINDS}
TABLES = {"rest": "items", "graphql": "items", "sql": "items", "archive": "items"}


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A temporary source package with one scaffolded source of each kind (made through the command line)."""
    root = tmp_path_factory.mktemp("sources")
    (root / PACKAGE).mkdir()
    (root / PACKAGE / "__init__.py").write_text("")
    sys.path.insert(0, str(root))
    try:
        yield root / PACKAGE
    finally:
        sys.path.remove(str(root))
        for module in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[module]


@pytest.fixture(scope="module")
def scaffolded(package: Path) -> dict[str, str]:
    outputs = {}
    for kind, name in NAMES.items():
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert oso_core_main(["new-source", name, "--kind", kind, "--package", PACKAGE]) == 0
        outputs[kind] = out.getvalue()
    return outputs


def test_each_kind_creates_its_folder_and_says_what_next(scaffolded: dict[str, str], package: Path) -> None:
    expected = {
        "rest": {"source.py", "payload.py", "fixtures/routes.json", "fixtures/items.json"},
        "graphql": {"source.py", "payload.py", "replay.py", "fixtures/routes.json", "fixtures/items.json"},
        "sql": {"source.py", "source.yaml", "replay.py", "fixtures/seed.sql"},
        "archive": {"source.py", "fixtures/routes.json", "fixtures/export.tar.gz"},
    }
    for kind, name in NAMES.items():
        folder = package / name
        files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
        assert {"__init__.py", f"test_{name}.py", *expected[kind]} <= files, kind
        assert "replay.py" not in files or kind in ("graphql", "sql")
        output = scaffolded[kind]
        assert f"created source {name} ({kind})" in output
        assert f"python -m flows {name} --replay" in output
        assert ("--record" in output) == (kind != "sql")
        assert "python -m blocks.deployments --write prefect.yaml" in output
        assert f"{name}.{TABLES[kind]}" in (folder / "source.py").read_text() or kind == "sql"


def test_the_scaffolded_files_are_ruff_clean(scaffolded, package: Path) -> None:
    first_party = f"lint.isort.known-first-party=['{PACKAGE}', 'flows', 'oso_core', 'oso_dev', 'blocks']"
    command = [sys.executable, "-m", "ruff", "check", "--no-cache", "--config", str(PROJECT_ROOT / "pyproject.toml")]
    result = subprocess.run(
        [*command, "--config", first_party, str(package)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _clean_env(package: Path) -> dict[str, str]:
    """The environment for a separate pytest: its own Prefect server, the package importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "OSO_TEST_", "OSO_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(package.parent), str(PROJECT_ROOT)])
    return env


@pytest.mark.slow
def test_the_generated_tests_pass_in_their_own_pytest(scaffolded, package: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.xml"
    command = [sys.executable, "-m", "pytest", "-c", str(PROJECT_ROOT / "pyproject.toml"), "--rootdir",
               str(PROJECT_ROOT), "-p", "no:cacheprovider", "-q", f"--junitxml={report}", str(package)]  # fmt: skip
    result = subprocess.run(
        command, cwd=PROJECT_ROOT, env=_clean_env(package), capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    cases = ET.parse(report).getroot().iter("testcase")
    outcomes: dict[str, list[str]] = {}
    for case in cases:
        file = case.get("classname", "").rsplit(".", 1)[-1]
        failed = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        outcomes.setdefault(file, []).append(failed[0] if failed else "passed")
    for name in NAMES.values():
        runs = outcomes.get(f"test_{name}")
        assert runs and set(runs) == {"passed"}, (name, runs, result.stdout[-2000:])


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "sql"] + [pytest.param("sql", marks=pytest.mark.postgres)])
def test_python_m_flows_replay_loads_the_scaffolded_source(
    kind: str, scaffolded, warehouse, postgres_if_sql, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.__main__ import main as flows_main

    monkeypatch.setenv("OSO_SOURCE_PACKAGES", PACKAGE)
    monkeypatch.delenv("OSO_REPLAY_DIR", raising=False)
    name = NAMES[kind]
    assert flows_main([name, "--replay"]) == 0
    assert warehouse.sql(f"SELECT count(*) AS n FROM {name}.{TABLES[kind]}")["n"].item() == 3


@pytest.fixture
def postgres_if_sql(request: pytest.FixtureRequest) -> None:
    """The sql kind's replay starts its own temporary PostgreSQL: skip it where the server is not installed."""
    if request.node.callspec.params.get("kind") == "sql":
        from oso_dev.pgtemp import postgres_available

        if not postgres_available():
            pytest.skip("PostgreSQL is not installed")


def test_regeneration_lists_the_new_source_in_readme_prefect_yaml_and_env_example(
    scaffolded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("README.md", "prefect.yaml", ".env.example"):
        shutil.copy(PROJECT_ROOT / name, tmp_path / name)
    monkeypatch.setenv("OSO_SOURCE_PACKAGES", f"flows,{PACKAGE}")
    done = regenerate_files(NAMES["rest"], PACKAGE, tmp_path)
    assert done == [
        "README.md (source table)",
        "prefect.yaml (deployments)",
        ".env.example (+DAGSTER__NEW_REST_SOURCE__BASE_URL)",
    ]
    assert f"| `{NAMES['rest']}` |" in (tmp_path / "README.md").read_text()
    assert f"name: {NAMES['rest']}" in (tmp_path / "prefect.yaml").read_text()
    assert "flows_scaffolded/new_rest_source/source.py:new_rest_source_flow" in (tmp_path / "prefect.yaml").read_text()
    assert re.search(r"^DAGSTER__NEW_REST_SOURCE__BASE_URL=$", (tmp_path / ".env.example").read_text(), re.M)
    sql = regenerate_files(NAMES["sql"], PACKAGE, tmp_path)
    assert ".env.example (+DAGSTER__NEW_SQL_SOURCE__DATABASE)" in sql
    assert regenerate_files(NAMES["sql"], PACKAGE, tmp_path) == []  # nothing left to refresh


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("MyApi", "source name 'MyApi' is not snake_case: use lower-case letters, digits and single underscores, "
                  "starting with a letter (e.g. 'my_api')"),
        ("my-api", "is not snake_case"),
        ("_private", "is not snake_case"),
        ("two__underscores", "is not snake_case"),
        ("x" * 33, "is 33 characters long; at most 32"),
        ("class", "source name 'class' is a Python keyword"),
        ("match", "is a Python keyword"),
        ("json", "would shadow another module: it is the name of a Python standard-library module"),
        ("polars", "would shadow another module: it is the name of an installed or importable module"),
        ("chainlist", "source 'chainlist' already exists in flows/ (flows/chainlist)"),
        ("weekly", "source name 'weekly' is reserved"),
    ],
)  # fmt: skip
def test_bad_names_are_refused_with_a_clear_error(name: str, message: str, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        oso_core_main(["new-source", name, "--kind", "rest"])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err
    assert not (PROJECT_ROOT / "flows" / name).exists() or name in ("chainlist",)


def test_unknown_kind_and_help(capsys) -> None:
    with pytest.raises(SystemExit):
        oso_core_main(["new-source", "fine_name", "--kind", "soap"])
    assert "invalid choice: 'soap'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        oso_core_main(["new-source", "--help"])
    assert exited.value.code == 0
    assert "--kind {rest,graphql,sql,archive}" in capsys.readouterr().out
    assert oso_core_main([]) == 0 and "new-source NAME" in capsys.readouterr().out
    assert oso_core_main(["nope"]) == 2
    validate_name("fine_new_name")  # a good name passes
