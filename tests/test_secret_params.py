"""No flow parameter can carry a secret to the Prefect server.

A canary (a DSN with a password, a key in a URL query, a bearer token, the source's own secret value, a key in
the URL path the source's template reserves for one) goes into every parameter of every declared source: each
call is refused before a flow run exists, with a message naming the parameter and the source but not the value.
Then the session's real server is searched, through its API and in its database file, for the canary.
"""

from __future__ import annotations

import inspect
import os
import uuid
from pathlib import Path

import httpx
import pytest
import yaml

from blocks import deployments
from oso_core.config import settings
from oso_core.engine.cli import run_source_cli
from oso_core.engine.flow_guard import SourceFlow, guarded_flow
from oso_core.model.secret_params import SecretParameterError, check_parameters, findings, url_templates
from oso_core.model.sources import Source, discover_sources
from tests.support.prefect_server import PrefectServer

SOURCES = discover_sources()


@pytest.fixture
def marker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """A unique canary; every source's declared secrets resolve to values containing it (env backend only)."""
    value = f"cnry{uuid.uuid4().hex[:16]}"
    monkeypatch.setenv("OSO_SECRETS", "env")
    monkeypatch.setenv("OSO_ENV_FILE", str(tmp_path / "no.env"))
    for source in SOURCES.values():
        for ref in source.secrets:
            name = f"{settings.secret_prefix()}__{ref.group_name}__{ref.key}".upper()
            monkeypatch.setenv(name, secret_of(value, ref))
    return value


def secret_of(marker: str, ref) -> str:
    return f"{marker}x{ref.group_name}x{ref.key}".replace("_", "")


def canaries(source: Source, marker: str) -> dict[str, str]:
    """Secret-carrying values for ``source``: the generic shapes, plus its own secrets and its key slot."""
    forms = {
        "dsn with password": f"postgresql://oso:{marker}@db.example:5432/atlas",
        "sqlalchemy dsn": f"postgresql+psycopg2://oso:{marker}@db.example/atlas?sslmode=require",
        "api_key in query": f"https://api.example/v1/items?api_key={marker}",
        "token in query": f"https://api.example/v1/items?page=2&token={marker}",
        "key in query": f"https://api.example/v1/items?key={marker}",
        "access_token in query": f"https://api.example/v1/items?x=1&access_token={marker}",
        "token as url user": f"https://{marker}@github.com/opensource-observer/oss-directory",
        "bearer token": f"Bearer {marker}",
        "libpq dsn": f"host=db.example dbname=atlas password={marker}",
    }
    for ref in source.secrets:
        forms[f"secret {ref} itself"] = secret_of(marker, ref)
        forms[f"secret {ref} in a url"] = f"https://api.example/{secret_of(marker, ref)}/items"
    if url_templates(source):
        forms["key in the template's path slot"] = source.base_url.replace("{api_key}", marker)  # type: ignore[union-attr]
    return forms


def server_runs_text(server: PrefectServer) -> str:
    """Every flow run the server holds, as the API returns it (parameters included)."""
    pages, offset = [], 0
    while True:
        response = httpx.post(f"{server.api_url}/flow_runs/filter", json={"limit": 200, "offset": offset}, timeout=30)
        response.raise_for_status()
        runs = response.json()
        pages.append(response.text)
        if len(runs) < 200:
            return "\n".join(pages)
        offset += 200


def server_db_bytes(server: PrefectServer) -> bytes:
    """The server's SQLite database, its write-ahead log included (recent rows may not be checkpointed yet)."""
    files = sorted(server.home.glob("prefect.db*"))
    assert any(f.name == "prefect.db" for f in files), f"no prefect.db in {server.home}"
    return b"".join(f.read_bytes() for f in files if f.is_file())


def assert_not_on_server(server: PrefectServer, marker: str) -> None:
    assert marker not in server_runs_text(server), "a canary reached the server's flow runs (API)"
    assert marker.encode() not in server_db_bytes(server), "a canary reached the server's database file"


@guarded_flow("probe-visible")
def probe_flow(note: str) -> str:
    return note


def test_the_server_search_finds_parameters_that_do_reach_the_server(prefect_server: PrefectServer) -> None:
    """Control: the same API query and file grep see an ordinary parameter, so their silence below means something."""
    visible = f"seen{uuid.uuid4().hex[:16]}"
    assert probe_flow(note=visible) == visible
    assert visible in server_runs_text(prefect_server)
    assert visible.encode() in server_db_bytes(prefect_server)


def test_every_source_flow_is_guarded() -> None:
    assert SOURCES
    unguarded = [name for name, source in SOURCES.items() if not isinstance(source.load_flow(), SourceFlow)]
    assert unguarded == [], f"declare these flows with @source_flow(SOURCE): {unguarded}"


def test_a_canary_in_any_parameter_of_any_source_never_reaches_the_server(
    prefect_server: PrefectServer, marker: str
) -> None:
    refused = 0
    for source in SOURCES.values():
        flow_fn = source.load_flow()
        parameters = list(inspect.signature(flow_fn.fn).parameters)
        assert parameters, f"{source.name}: a flow without parameters proves nothing here"
        for parameter in parameters:
            for form, value in canaries(source, marker).items():
                for given in (value, [value], {"nested": [value]}):
                    with pytest.raises(SecretParameterError) as info:
                        flow_fn(**{parameter: given})
                    message = str(info.value)
                    assert marker not in message, f"{source.name}.{parameter} ({form}): the message quotes the value"
                    assert info.value.parameter == parameter and info.value.owner == source.name
                    assert f"{source.name}: parameter {parameter!r}" in message
                    refused += 1
            # positionally, through with_options (the weekly pipeline's way) and asking for the state
            renamed = flow_fn.with_options(flow_run_name=f"weekly-{source.name}")
            with pytest.raises(SecretParameterError):
                renamed(return_state=True, **{parameter: f"Bearer {marker}"})
            if parameters[0] == parameter:
                with pytest.raises(SecretParameterError):
                    flow_fn(f"postgresql://u:{marker}@h/db")
    assert refused > 500
    assert_not_on_server(prefect_server, marker)


def test_op_atlas_and_gitcoin_passwords_are_refused_before_the_run_exists(
    prefect_server: PrefectServer, marker: str
) -> None:
    """The reported case: the flow body refused the password, but the server had already stored it."""
    for name in ("op_atlas", "gitcoin"):
        with pytest.raises(SecretParameterError, match=rf"{name}: parameter 'database_url'.*a URL with a password"):
            SOURCES[name].load_flow()(database_url=f"postgresql://u:{marker}@db.example:5432/{name}")
    assert_not_on_server(prefect_server, marker)


def test_the_cli_refuses_a_secret_before_calling_the_flow(
    prefect_server: PrefectServer, marker: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source = SOURCES["chainlist"]
    code = run_source_cli(source, source.load_flow(), ["--base-url", f"https://u:{marker}@chainlist.example"])
    err = capsys.readouterr().err
    assert code == 2
    assert "chainlist: parameter 'base_url'" in err and marker not in err
    ens = SOURCES["ens"]
    code = run_source_cli(ens, ens.load_flow(), ["--base-url", ens.base_url.replace("{api_key}", marker)])
    assert code == 2 and marker not in capsys.readouterr().err
    assert_not_on_server(prefect_server, marker)


def test_deployment_parameters_with_a_secret_are_refused(
    prefect_server: PrefectServer, marker: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = yaml.safe_load(deployments.render())
    for deployment in config["deployments"]:
        if deployment["name"] == "op_atlas":
            deployment["parameters"] = {"database_url": f"postgresql://atlas:{marker}@db.example/atlas"}
    edited = tmp_path / "prefect.yaml"
    edited.write_text(yaml.safe_dump(config, sort_keys=False))
    assert deployments.main(["--check", str(edited)]) == 1
    err = capsys.readouterr().err
    assert "op_atlas: parameter 'database_url'" in err and marker not in err
    with pytest.raises(SecretParameterError, match="deployment 'weekly'"):
        deployments.check_deployment_parameters(
            {"deployments": [{"name": "weekly", "entrypoint": "flows/weekly.py:weekly_flow", "parameters": {
                "only": [f"https://hooks.slack.com/services/T0/B0/{marker}"]}}]},
            SOURCES,
        )  # fmt: skip
    flow_fn = SOURCES["ossd_github"].load_flow()
    with pytest.raises(SecretParameterError):
        flow_fn.to_deployment(name="leak", parameters={"base_url": f"https://api.github.com/?access_token={marker}"})
    assert_not_on_server(prefect_server, marker)


def test_a_secret_default_is_refused_at_declaration() -> None:
    with pytest.raises(SecretParameterError, match="probe: parameter 'url'"):

        @guarded_flow("probe")
        def leaky(url: str = "https://user:hunter2hunter2@db.example/x") -> None: ...


def test_the_weekly_flow_is_guarded_too(prefect_server: PrefectServer, marker: str) -> None:
    from flows.weekly import weekly_flow

    with pytest.raises(SecretParameterError, match="oso-weekly: parameter 'only'"):
        weekly_flow(only=[f"https://{marker}@github.com/x/y"])
    assert_not_on_server(prefect_server, marker)


@pytest.mark.parametrize(
    "value",
    [
        "postgresql://u:pw@host/db",
        "mysql://root:hunter2@10.0.0.1/app",
        "https://api.example/x?api_key=abc123",
        "https://api.example/x?X-Api-Key=abc123",
        "https://api.example/x#access_token=abc123",
        "https://api.example/x?client_secret=abc123&a=1",
        "https://ghp_abc@github.com/a/b",
        "Authorization: Bearer abcdefgh12345",
        "token=abcdefgh",
        "ghp_" + "a" * 36,
        "github_pat_" + "A1" * 20,
        "xoxb-123456789012-abcdefABCDEF",
        "AKIAABCDEFGHIJKLMNOP",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlLXBhcnQ",
        "-----BEGIN OPENSSH PRIVATE KEY-----",
        "https://discord.com/api/webhooks/123456/abcDEF-ghi",
    ],
)
def test_findings_flag_secret_shapes(value: str) -> None:
    reasons = findings(value)
    assert reasons, value
    assert all(value not in reason for reason in reasons)


@pytest.mark.parametrize(
    "value",
    [
        "https://chainlist.org",
        "http://127.0.0.1:41234",
        "postgresql://postgres@127.0.0.1:5432/op_atlas",
        "https://github.com/opensource-observer/oss-directory",
        "http://127.0.0.1:3000/api/{api_key}/subgraphs/id/5XqPmWe6gjyrJtFn9cLy237i4cWw2j9HcUJEXsP5qGtH",
        "https://api.example/x?page=2&per_page=100&key=",
        "https://api.example/x?api_key={api_key}",
        "ProjectContract",
        "2024-05-01",
        "tokens are names here",
        "../oss-directory",
    ],
)
def test_findings_leave_ordinary_values_alone(value: str) -> None:
    assert findings(value, url_templates(SOURCES["ens"])) == []


def test_a_resolved_secret_is_recognised_in_any_form(marker: str) -> None:
    source = SOURCES["open_collective"]
    token = secret_of(marker, source.secrets[0])
    for value in (token, f"prefix-{token}", f"https://x.example/{token}/items"):
        with pytest.raises(SecretParameterError):
            check_parameters(source, {"note": value})
    check_parameters(source, {"note": "ordinary"})
    assert os.environ["OSO_SECRETS"] == "env"
