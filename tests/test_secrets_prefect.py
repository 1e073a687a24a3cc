"""Secrets against the real Prefect server of the test session: Secret blocks, ``push``, the command line, and the
canary, a failing flow whose secret values must appear nowhere Prefect keeps anything about the run.

Every test uses its own random prefix, so its blocks never collide with other tests on the shared server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import traceback
import uuid
from pathlib import Path

import pytest
from prefect.blocks.system import Secret
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.logging.handlers import APILogWorker
from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, temporary_settings

from oso_core.config.secrets import (
    ChainSecretResolver,
    EnvSecretResolver,
    PrefectSecretResolver,
    SecretInaccessibleError,
    SecretReference,
)
from oso_core.config.secrets.prefect_blocks import push_secret
from oso_core.tools.secrets_cli import main as secrets_cli
from tests.support.ports import free_port
from tests.support.secret_sources import canary

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "tests.support.secret_sources"
PASSWORD = SecretReference("clickhouse", "password")


@pytest.fixture
def prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh secret prefix for this test, an empty ``.env``, and no secrets inherited from the environment."""
    for name in list(os.environ):
        if name.startswith(("DAGSTER__", "OSO_SECRET", "OSO_GCP")):
            monkeypatch.delenv(name)
    value = f"t{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("OSO_SECRET_PREFIX", value)
    monkeypatch.setenv("OSO_ENV_FILE", str(tmp_path / ".env"))
    (tmp_path / ".env").write_text("")
    return value


def _env_var(prefix: str, ref: SecretReference) -> str:
    return f"{prefix}__{ref.group_name}__{ref.key}".upper()


# --- Prefect Secret blocks --------------------------------------------------------------------------------


def test_prefect_block_resolves_the_stored_string(prefix: str):
    resolver = PrefectSecretResolver()
    name = f"{prefix}--clickhouse--password"
    with pytest.raises(SecretInaccessibleError) as caught:
        resolver.resolve(PASSWORD)
    assert caught.value.tried == [f"Prefect Secret block {name}"]

    # "123" would come back as the int 123 from Secret.get(); the resolver returns the stored string.
    Secret(value="123").save(name, _sync=True)
    found = resolver.lookup(PASSWORD)
    assert (found.value, found.origin) == (b"123", f"Prefect Secret block {name}")
    assert Secret.load(name, _sync=True).get() == 123


def test_prefect_backend_unavailable_is_inaccessible_not_a_crash(prefix: str):
    closed = f"http://127.0.0.1:{free_port()}/api"
    unreachable = temporary_settings({PREFECT_API_URL: closed, PREFECT_CLIENT_MAX_RETRIES: 0})
    with unreachable, pytest.raises(SecretInaccessibleError) as caught:
        PrefectSecretResolver().resolve(PASSWORD)
    assert caught.value.tried == [f"Prefect Secret block {prefix}--clickhouse--password (unreadable: ConnectError)"]

    unset = temporary_settings(restore_defaults={PREFECT_API_URL})
    with unset, pytest.raises(SecretInaccessibleError, match=r"\(PREFECT_API_URL is not set\)"):
        PrefectSecretResolver().resolve(PASSWORD)


def test_chain_env_then_prefect(prefix: str, monkeypatch: pytest.MonkeyPatch):
    chain = ChainSecretResolver([EnvSecretResolver(), PrefectSecretResolver()])
    push_secret(PASSWORD, "from-block", prefix)
    assert chain.lookup(PASSWORD).origin == f"Prefect Secret block {prefix}--clickhouse--password"
    assert chain.resolve_as_str(PASSWORD) == "from-block"

    monkeypatch.setenv(_env_var(prefix, PASSWORD), "from-env")
    assert chain.resolve_as_str(PASSWORD) == "from-env"

    missing = SecretReference("clickhouse", "host")
    with pytest.raises(SecretInaccessibleError) as caught:
        chain.resolve(missing)
    assert caught.value.tried == [
        f"env var {_env_var(prefix, missing)} (or {os.environ['OSO_ENV_FILE']})",
        f"Prefect Secret block {prefix}--clickhouse--host",
    ]


def test_push_secret_is_idempotent_and_dry_run_writes_nothing(prefix: str):
    name = f"{prefix}--clickhouse--password"
    assert push_secret(PASSWORD, "v1", prefix, dry_run=True).action == "created"
    with pytest.raises(ValueError, match="Unable to find block document"):
        Secret.load(name, _sync=True)

    assert [push_secret(PASSWORD, "v1", prefix).action for _ in range(2)] == ["created", "unchanged"]
    assert push_secret(PASSWORD, "v2", prefix, dry_run=True).action == "updated"
    assert Secret.load(name, _sync=True).get() == "v1"
    assert push_secret(PASSWORD, "v2", prefix).action == "updated"
    assert PrefectSecretResolver().resolve_as_str(PASSWORD) == "v2"


# --- command line -----------------------------------------------------------------------------------------


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m oso_core secrets`` in a child process with the test's environment (plus ``env``)."""
    return subprocess.run(
        [sys.executable, "-m", "oso_core", "secrets", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_check_says_where_each_secret_resolves_and_never_prints_it(prefix: str):
    token, block_value = f"tok-{uuid.uuid4().hex}", f"blk-{uuid.uuid4().hex}"
    env = {"OSO_SECRETS": "env,prefect", _env_var(prefix, canary.TOKEN): token}

    missing = _cli("check", "canary", "--package", PACKAGE, env=env)
    assert missing.returncode == 1, missing.stdout + missing.stderr
    assert f"ok       canary.token      from env var {_env_var(prefix, canary.TOKEN)}" in missing.stdout
    assert (
        f"MISSING  canary.block_key  tried: env var {_env_var(prefix, canary.BLOCK_KEY)} "
        f"(or {os.environ['OSO_ENV_FILE']}); Prefect Secret block {prefix}--canary--block-key"
    ) in missing.stdout
    assert "0 of 1 source(s) ready" in missing.stdout

    push_secret(canary.BLOCK_KEY, block_value, prefix)
    ready = _cli("check", "canary", "--package", PACKAGE, env=env)
    assert ready.returncode == 0, ready.stdout + ready.stderr
    assert f"ok       canary.block_key  from Prefect Secret block {prefix}--canary--block-key" in ready.stdout
    assert "1 of 1 source(s) ready" in ready.stdout
    for run in (missing, ready):
        assert token not in run.stdout + run.stderr and block_value not in run.stdout + run.stderr


def test_cli_check_refuses_flows_that_take_secret_values_and_unknown_sources(
    prefix: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv(_env_var(prefix, SecretReference("leaky", "api_token")), "leaky-value")
    assert secrets_cli(["check", "leaky", "--package", PACKAGE]) == 1
    out = capsys.readouterr().out
    assert "ok       leaky.api_token  from env var" in out
    assert "PARAM    flow parameter 'api_token' of leaky_flow would store a secret value" in out
    assert "leaky-value" not in out

    assert secrets_cli(["check", "nope", "--package", PACKAGE]) == 2
    assert "no source named nope in tests.support.secret_sources; known: canary, leaky" in capsys.readouterr().out

    monkeypatch.setenv("OSO_SECRETS", "env,vault")
    assert secrets_cli(["check", "--package", PACKAGE]) == 2
    assert "unknown backend(s) 'vault'" in capsys.readouterr().out


def test_cli_push_copies_prefixed_variables_into_blocks_idempotently(
    prefix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    values = {"token": f"tok-{uuid.uuid4().hex}", "pw": f"pw-{uuid.uuid4().hex}"}
    env_file = tmp_path / "push.env"
    env_file.write_text(
        f"{prefix.upper()}__OPEN_COLLECTIVE__PERSONAL_TOKEN={values['token']}\n"
        f"{prefix.upper()}__CLICKHOUSE__PASSWORD={values['pw']}\n"
        f"{prefix.upper()}__CLICKHOUSE__EMPTY=\n"
        "UNRELATED_SETTING=1\n"
    )
    first = _cli("push", "--env-file", str(env_file))
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"created    {prefix}--open-collective--personal-token <- {prefix.upper()}__OPEN_COLLECTIVE" in first.stdout
    assert f"SKIPPED    {prefix.upper()}__CLICKHOUSE__EMPTY: empty" in first.stdout
    assert "UNRELATED_SETTING" not in first.stdout
    assert first.stdout.strip().endswith("2 created, 0 updated, 0 unchanged")
    assert PrefectSecretResolver().resolve_as_str(PASSWORD) == values["pw"]

    env_file.write_text(env_file.read_text().replace(values["pw"], "pw-rotated") + f"{prefix.upper()}__BAD=1\n")
    dry = _cli("push", "--env-file", str(env_file), "--dry-run")
    assert dry.returncode == 1, "a prefixed variable that is not PREFIX__GROUP__KEY is refused"
    assert f"SKIPPED    {prefix.upper()}__BAD: {prefix.upper()}__BAD is not {prefix.upper()}__GROUP__KEY" in dry.stdout
    assert dry.stdout.strip().endswith("0 would be created, 1 would be updated, 1 would be unchanged")
    assert PrefectSecretResolver().resolve_as_str(PASSWORD) == values["pw"]

    # The same entry point in-process (a third child process would only re-pay Prefect's import time).
    assert secrets_cli(["push", "--env-file", str(env_file), "--prefix", prefix]) == 1
    again = capsys.readouterr().out
    assert again.strip().endswith("0 created, 1 updated, 1 unchanged")
    assert PrefectSecretResolver().resolve_as_str(PASSWORD) == "pw-rotated"
    for output in (first.stdout + first.stderr, dry.stdout + dry.stderr, again):
        assert not any(v in output for v in (*values.values(), "pw-rotated"))


# --- the canary -------------------------------------------------------------------------------------------


def _wait_for_logs(client, flow_run_id: uuid.UUID, needle: str, timeout: float = 20.0) -> list[str]:
    """The run's log messages once ``needle`` has arrived (logs reach the server in background batches)."""
    log_filter = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))
    deadline = time.monotonic() + timeout
    while True:
        APILogWorker.drain_all(timeout=5)
        messages = [log.message for log in client.read_logs(log_filter=log_filter)]
        if any(needle in m for m in messages) or time.monotonic() > deadline:
            return messages
        time.sleep(0.2)


def test_canary_values_never_reach_logs_artifacts_parameters_or_errors(prefix: str, monkeypatch: pytest.MonkeyPatch):
    token_canary, block_canary = f"canary-env-{uuid.uuid4().hex}", f"canary-block-{uuid.uuid4().hex}"
    monkeypatch.setenv("OSO_SECRETS", "env,prefect")
    monkeypatch.setenv(_env_var(prefix, canary.TOKEN), token_canary)
    push_secret(canary.BLOCK_KEY, block_canary, prefix)
    canaries = (token_canary, block_canary)
    canary.SEEN.clear()

    state = canary.canary_flow(return_state=True)

    assert state.is_failed()
    held = list(canary.SEEN)
    assert held == [token_canary, block_canary], "the flow really held both values"
    exc = state.result(raise_on_failure=False)
    assert isinstance(exc, SecretInaccessibleError) and exc.ref == canary.MISSING
    error_text = str(exc) + "".join(traceback.format_exception(exc)) + (state.message or "")
    assert f"Prefect Secret block {prefix}--canary--missing" in error_text

    with get_client(sync_client=True) as client:
        run = client.read_flow_run(state.state_details.flow_run_id)
        logs = _wait_for_logs(client, run.id, "secret canary.missing not found")
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id]))
        )
    stored_parameters = json.dumps(run.parameters)
    artifact_text = json.dumps([a.model_dump(mode="json") for a in artifacts])

    # Each place holds what it should (so the search below is not vacuous) ...
    assert run.parameters["token"] == {"group_name": "canary", "key": "token", "description": ""}  # a name, no value
    assert any("resolved ResolvedSecrets(canary.token: '***' from env var" in m for m in logs), logs
    assert any("secret canary.missing not found; tried:" in m for m in logs), logs
    assert any(f"token canary.token came from env var {_env_var(prefix, canary.TOKEN)}" in m for m in logs), logs
    assert "canary.block_key: '***' from Prefect Secret block" in artifact_text
    # ... and no value anywhere.
    for where, text in {
        "logs": "\n".join(logs),
        "artifacts": artifact_text,
        "parameters": stored_parameters,
        "state message": run.state.message or "",
        "exception": error_text,
    }.items():
        for value in canaries:
            assert value not in text, f"a canary value leaked into {where}"
