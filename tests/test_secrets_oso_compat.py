"""OSO's secrets code runs against our resolvers after only its import line changes.

Each snippet below is written the way ``oso_dagster`` uses its ``utils/secrets.py`` (asset factories resolving a
function's ``secret_ref_arg`` defaults, ``load_definitions`` picking the local or GCP resolver, resources calling
``resolve_as_str``/``resolve_as_hidden_var``, custom resolvers raising ``SecretInaccessibleError(message,
wrapped_error=...)``). ``port`` rewrites the one ``from oso_dagster... import`` line, checks nothing else changed,
and runs the result. The GCP client is a stand-in with the call shape OSO uses (the live API is unreachable here).
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import re
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from oso_core.config.secrets import (
    ChainSecretResolver,
    GcpSecretResolver,
    SecretInaccessibleError,
    SecretReference,
    backend_names,
    default_resolver,
)

OSO_IMPORT = re.compile(r"^from (?:oso_dagster\.utils(?:\.secrets)?|\.secrets|\.utils) import", re.MULTILINE)


def port(snippet: str) -> dict[str, Any]:
    """Run OSO's ``snippet`` with its import line pointed at ``oso_core.config.secrets``, and only that line changed."""
    original = textwrap.dedent(snippet)
    ported, count = OSO_IMPORT.subn("from oso_core.config.secrets import", original)
    assert count == 1, "an OSO snippet has exactly one secrets import line"
    changed = [a for a, b in zip(original.splitlines(), ported.splitlines(), strict=True) if a != b]
    assert len(changed) == 1
    namespace: dict[str, Any] = {}
    exec(compile(ported, "<oso snippet>", "exec"), namespace)
    return namespace


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No secret, no secrets setting (ours or OSO's) in the environment; an empty ``.env``."""
    for name in list(os.environ):
        if name.startswith(("DAGSTER__", "OSO_SECRET", "OSO_GCP", "DAGSTER_GCP", "DAGSTER_USE_LOCAL")):
            monkeypatch.delenv(name)
    monkeypatch.delenv("GOOGLE_PROJECT_ID", raising=False)
    path = tmp_path / ".env"
    path.write_text("")
    monkeypatch.setenv("OSO_ENV_FILE", str(path))
    return path


class OsoShapedSecretManager:
    """``access_secret_version(request={"name": ...})`` answering ``.payload.data``, as OSO's resolver calls
    google-cloud-secret-manager; unknown names raise as the real client's NotFound would."""

    def __init__(self, secrets: dict[str, bytes]):
        self.secrets = secrets
        self.requested: list[str] = []

    def access_secret_version(self, request: dict[str, str]) -> Any:
        self.requested.append(request["name"])
        if request["name"] not in self.secrets:
            raise LookupError(f"{request['name']} not found")
        return SimpleNamespace(payload=SimpleNamespace(data=self.secrets[request["name"]]))


# --- the snippets, as OSO writes them --------------------------------------------------------------------------

ASSET_FACTORY = """
    from oso_dagster.utils.secrets import SimpleSecretResolver, resolve_secrets_for_func, secret_ref_arg


    def open_collective_transactions(
        personal_token: str = secret_ref_arg(group_name="open_collective", key="personal_token"),
        page_size: int = 1000,
    ):
        return personal_token, page_size


    def build(secrets):
        resolved_secrets = resolve_secrets_for_func(secrets, open_collective_transactions)
        return resolved_secrets, open_collective_transactions(**resolved_secrets)


    def in_memory(value: str):
        return SimpleSecretResolver({"open_collective__personal_token": bytes(value, "utf-8")})
"""

DEFINITIONS = """
    from oso_dagster.utils import GCPSecretResolver, LocalSecretResolver, SecretReference


    def secrets_factory(use_local_secrets: bool, project_id: str, gcp_secrets_prefix: str):
        secret_resolver = LocalSecretResolver(prefix="DAGSTER")
        if not use_local_secrets:
            secret_resolver = GCPSecretResolver.connect_with_default_creds(project_id, gcp_secrets_prefix)
        return secret_resolver


    def clickhouse_config(secrets):
        return {
            "host": secrets.resolve_as_str(SecretReference(group_name="clickhouse", key="host")),
            "password": secrets.resolve_as_hidden_var(SecretReference(group_name="clickhouse", key="password")),
        }
"""

GCP = """
    from oso_dagster.utils.secrets import GCPSecretResolver, SecretInaccessibleError, SecretReference


    def github_token(project_id, prefix, client):
        resolver = GCPSecretResolver(project_id, prefix, client)
        token = resolver.resolve(SecretReference(group_name="github", key="token"))
        try:
            resolver.resolve_as_str(SecretReference(group_name="github", key="app_key"))
        except SecretInaccessibleError as e:
            return token, e
        raise AssertionError("app_key should be missing")
"""

CUSTOM_RESOLVER = """
    from oso_dagster.utils.secrets import SecretInaccessibleError, SecretReference, SecretResolver


    class VaultSecretResolver(SecretResolver):
        def __init__(self, vault: dict):
            self._vault = vault

        def resolve(self, ref: SecretReference):
            try:
                return self._vault[(ref.group_name, ref.key)]
            except KeyError as e:
                raise SecretInaccessibleError("Cannot access secret in vault", wrapped_error=e)
"""


# --- tests ----------------------------------------------------------------------------------------------------


def test_asset_factory_resolves_secret_ref_arg_defaults(clean_env: Path) -> None:
    oso = port(ASSET_FACTORY)
    resolved, called = oso["build"](oso["in_memory"]("oc-token-1"))
    assert resolved == {"personal_token": "oc-token-1"}
    assert called == ("oc-token-1", 1000)
    # an explicit argument still wins over the reference default
    assert oso["open_collective_transactions"](personal_token="direct") == ("direct", 1000)


def test_asset_factory_runs_against_our_env_resolver(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same factory, given the resolver our flows use, reads ``DAGSTER__OPEN_COLLECTIVE__PERSONAL_TOKEN``."""
    oso = port(ASSET_FACTORY)
    monkeypatch.setenv("DAGSTER__OPEN_COLLECTIVE__PERSONAL_TOKEN", "from-env")
    assert oso["build"](default_resolver())[1] == ("from-env", 1000)


def test_local_resolver_reads_environment_then_dotenv(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    oso = port(DEFINITIONS)
    clean_env.write_text("DAGSTER__CLICKHOUSE__PASSWORD=pw-from-dotenv\nDAGSTER__CLICKHOUSE__HOST=ignored\n")
    monkeypatch.setenv("DAGSTER__CLICKHOUSE__HOST", "clickhouse.local")
    secrets = oso["secrets_factory"](True, "oso-production", "")
    config = oso["clickhouse_config"](secrets)
    assert config["host"] == "clickhouse.local", "the environment wins over .env"
    hidden = config["password"]
    assert "pw-from-dotenv" not in str(hidden) and "pw-from-dotenv" not in repr(hidden)
    assert str(hidden) == "SecretReference(group_name='clickhouse', key='password')"
    assert hidden.get_value() == "pw-from-dotenv"
    assert "DAGSTER__CLICKHOUSE__PASSWORD" not in os.environ, ".env is read without exporting it"


def test_hidden_var_raises_when_the_secret_is_missing(clean_env: Path) -> None:
    oso = port(DEFINITIONS)
    secrets = oso["secrets_factory"](True, "oso-production", "")
    hidden = secrets.resolve_as_hidden_var(oso["SecretReference"](group_name="clickhouse", key="password"))
    with pytest.raises(SecretInaccessibleError, match="DAGSTER__CLICKHOUSE__PASSWORD"):
        hidden.get_value(default="unused")


def test_connect_with_default_creds_names_oso_secret_ids(clean_env: Path) -> None:
    """No credentials exist here, so the client is swapped for the stand-in once OSO's code has built the resolver."""
    oso = port(DEFINITIONS)
    secrets = oso["secrets_factory"](False, "oso-production", "")
    assert isinstance(secrets, GcpSecretResolver)
    client = OsoShapedSecretManager(
        {
            "projects/oso-production/secrets/__clickhouse__host/versions/latest": b"ch.internal",
            "projects/oso-production/secrets/__clickhouse__password/versions/latest": b"gcp-pw",
        }
    )
    secrets.client = client
    config = oso["clickhouse_config"](secrets)
    assert (config["host"], config["password"].get_value()) == ("ch.internal", "gcp-pw")
    assert client.requested[0] == "projects/oso-production/secrets/__clickhouse__host/versions/latest"


def test_gcp_resolver_with_oso_client_call_shape(clean_env: Path) -> None:
    oso = port(GCP)
    client = OsoShapedSecretManager({"projects/oso-production/secrets/dagster__github__token/versions/latest": b"ghp"})
    token, error = oso["github_token"]("oso-production", "dagster", client)
    assert token == b"ghp"
    assert client.requested == [
        "projects/oso-production/secrets/dagster__github__token/versions/latest",
        "projects/oso-production/secrets/dagster__github__app_key/versions/latest",
    ]
    assert isinstance(error.wrapped_error, LookupError), "OSO's wrapped_error keeps the client's exception"
    assert str(error) == (
        "secret github.app_key not found; tried: GCP secret dagster__github__app_key in project oso-production "
        "(error: LookupError)"
    ), "the message names the secret id only, not the client's text"


def test_gcp_prefix_follows_oso_variables_where_set(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ref = SecretReference(group_name="clickhouse", key="password")
    assert backend_names() == ["env"]

    monkeypatch.setenv("DAGSTER_USE_LOCAL_SECRETS", "false")
    monkeypatch.setenv("GOOGLE_PROJECT_ID", "oso-production")
    monkeypatch.setenv("DAGSTER_GCP_SECRETS_PREFIX", "")
    assert backend_names() == ["gcp"]
    resolver = default_resolver()
    assert isinstance(resolver, GcpSecretResolver)
    assert resolver.describe(ref) == "GCP secret __clickhouse__password in project oso-production"
    resolver.client = OsoShapedSecretManager(
        {"projects/oso-production/secrets/__clickhouse__password/versions/latest": b"empty-prefix-pw"}
    )
    assert resolver.resolve_as_str(ref) == "empty-prefix-pw"

    monkeypatch.setenv("DAGSTER_GCP_SECRETS_PREFIX", "dagster")
    monkeypatch.setenv("OSO_SECRETS", "env,gcp")  # ours, when set, chooses the backends; OSO's prefix still applies
    chain = default_resolver()
    assert isinstance(chain, ChainSecretResolver)
    assert chain.describe(ref).endswith("GCP secret dagster__clickhouse__password in project oso-production")

    monkeypatch.delenv("DAGSTER_GCP_SECRETS_PREFIX")
    monkeypatch.setenv("OSO_SECRET_PREFIX", "oso_prod")
    expected = "GCP secret oso_prod__clickhouse__password in project oso-production"
    assert default_resolver().describe(ref).endswith(expected), "unset, our prefix applies again"


def test_custom_oso_resolver_joins_our_chain(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A resolver written against OSO's base class works alone and as a link of our chain."""
    oso = port(CUSTOM_RESOLVER)
    vault = oso["VaultSecretResolver"]({("github", "token"): b"vault-token"})
    github = SecretReference(group_name="github", key="token")
    assert vault.resolve_as_str(github) == "vault-token"

    monkeypatch.setenv("DAGSTER__CLICKHOUSE__PASSWORD", "env-pw")
    chain = ChainSecretResolver([vault, default_resolver()])
    clickhouse = SecretReference(group_name="clickhouse", key="password")
    assert chain.resolve_as_str(clickhouse) == "env-pw"
    missing = SecretReference(group_name="ens", key="api_key")
    with pytest.raises(SecretInaccessibleError) as caught:
        chain.resolve(missing)
    assert caught.value.tried == ["Cannot access secret in vault", f"env var DAGSTER__ENS__API_KEY (or {clean_env})"]


def test_oso_shapes_of_reference_and_error() -> None:
    keyword = SecretReference(group_name="Open_Collective", key="personal_token")
    assert keyword == SecretReference("open_collective", "personal_token")
    with pytest.raises(dataclasses.FrozenInstanceError):
        keyword.key = "other"  # type: ignore[misc]

    wrapped = ValueError("transport")
    for error in (SecretInaccessibleError("gone", wrapped_error=wrapped), SecretInaccessibleError("gone", wrapped)):
        assert (str(error), error.wrapped_error, error.ref, error.tried) == ("gone", wrapped, None, ["gone"])
        copy = pickle.loads(pickle.dumps(error))
        assert (str(copy), copy.tried, copy.ref) == ("gone", ["gone"], None)
