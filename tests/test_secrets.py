"""Secret references and the resolvers that need no server: env + ``.env``, chain, naming, GCP (stand-in client).

The Prefect-block resolver, ``push``, the command line and the canary run against the real Prefect server in
``test_secrets_prefect.py``.
"""

from __future__ import annotations

import os
import pickle
import random
import re
from pathlib import Path

import pytest
from google.api_core import exceptions as google_exceptions
from google.cloud import secretmanager

from oso_core.config.secrets import (
    ChainSecretResolver,
    EnvSecretResolver,
    GcpSecretResolver,
    PrefectSecretResolver,
    SecretDecodeError,
    SecretInaccessibleError,
    SecretReference,
    SimpleSecretResolver,
    block_name,
    default_resolver,
    parse_block_name,
    resolve_setting,
    resolve_source_secrets,
)
from oso_core.config.secrets.env import env_name, parse_env_name
from oso_core.config.secrets.runtime import secret_like_parameters
from oso_core.model.sources import Source, TableSpec, discover_sources

PASSWORD = SecretReference("clickhouse", "password")


@pytest.fixture
def env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty ``.env`` the resolvers read, and an environment without any secret or secrets setting."""
    for name in list(os.environ):
        if name.startswith(("DAGSTER__", "OSO_SECRET", "OSO_GCP")):
            monkeypatch.delenv(name)
    path = tmp_path / ".env"
    path.write_text("")
    monkeypatch.setenv("OSO_ENV_FILE", str(path))
    return path


# --- references -------------------------------------------------------------------------------------------


def test_reference_is_frozen_hashable_and_case_insensitive():
    ref = SecretReference("Open_Collective", "PERSONAL_TOKEN")
    assert ref == SecretReference("open_collective", "personal_token")
    assert {ref: 1}[SecretReference("open_collective", "personal_token")] == 1
    assert str(ref) == "open_collective.personal_token"
    with pytest.raises(AttributeError):
        ref.key = "other"  # type: ignore[misc]


@pytest.mark.parametrize("bad", ["open-collective", "a__b", "_a", "a_", "", "a.b", "a b"])
def test_reference_rejects_names_no_backend_can_round_trip(bad: str):
    with pytest.raises(ValueError, match="snake_case"):
        SecretReference(bad, "key")
    with pytest.raises(ValueError, match="secret key"):
        SecretReference("group", bad)


# --- env and .env -----------------------------------------------------------------------------------------


def test_env_var_wins_over_dotenv(env_file: Path, monkeypatch: pytest.MonkeyPatch):
    env_file.write_text("DAGSTER__CLICKHOUSE__PASSWORD=from-dotenv\n")
    resolver = EnvSecretResolver()
    assert resolver.resolve_as_str(PASSWORD) == "from-dotenv"
    assert resolver.lookup(PASSWORD).origin == f"{env_file} (DAGSTER__CLICKHOUSE__PASSWORD)"

    monkeypatch.setenv("DAGSTER__CLICKHOUSE__PASSWORD", "from-env")
    assert resolver.resolve(PASSWORD) == b"from-env"
    assert resolver.lookup(PASSWORD).origin == "env var DAGSTER__CLICKHOUSE__PASSWORD"
    assert "DAGSTER__CLICKHOUSE__PASSWORD" not in {k for k in os.environ if os.environ[k] == "from-dotenv"}


def test_empty_values_count_as_missing(env_file: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DAGSTER__CLICKHOUSE__PASSWORD", "")
    env_file.write_text("DAGSTER__CLICKHOUSE__PASSWORD=from-dotenv\n")
    assert EnvSecretResolver().resolve_as_str(PASSWORD) == "from-dotenv", "an empty env var falls through"

    env_file.write_text("DAGSTER__CLICKHOUSE__PASSWORD=\n")
    with pytest.raises(SecretInaccessibleError) as caught:
        EnvSecretResolver().resolve(PASSWORD)
    assert caught.value.tried == [f"env var DAGSTER__CLICKHOUSE__PASSWORD (or {env_file})"]


def test_dotenv_is_not_loaded_into_the_process_environment(env_file: Path):
    env_file.write_text("DAGSTER__CLICKHOUSE__PASSWORD=from-dotenv\n")
    EnvSecretResolver().resolve(PASSWORD)
    assert "DAGSTER__CLICKHOUSE__PASSWORD" not in os.environ


def test_prefix_change_renames_every_backend(env_file: Path, monkeypatch: pytest.MonkeyPatch):
    env_file.write_text("DAGSTER__CLICKHOUSE__PASSWORD=old-prefix\nOSO_PROD__CLICKHOUSE__PASSWORD=new-prefix\n")
    assert resolve_setting("clickhouse", "password") == "old-prefix"

    monkeypatch.setenv("OSO_SECRET_PREFIX", "oso_prod")
    assert resolve_setting("clickhouse", "password") == "new-prefix"
    assert EnvSecretResolver().env_name(PASSWORD) == "OSO_PROD__CLICKHOUSE__PASSWORD"
    assert PrefectSecretResolver().block_name(PASSWORD) == "oso-prod--clickhouse--password"
    assert GcpSecretResolver().secret_id(PASSWORD) == "oso_prod__clickhouse__password"


def test_parse_env_name():
    assert parse_env_name("DAGSTER__OPEN_COLLECTIVE__PERSONAL_TOKEN", "dagster") == SecretReference(
        "open_collective", "personal_token"
    )
    assert parse_env_name("DAGSTER_HOME", "dagster") is None
    assert parse_env_name("OTHER__A__B", "dagster") is None
    with pytest.raises(ValueError, match="DAGSTER__GROUP__KEY"):
        parse_env_name("DAGSTER__ONLY_GROUP", "dagster")
    with pytest.raises(ValueError, match="snake_case"):
        parse_env_name("DAGSTER__A-B__KEY", "dagster")


# --- chain and default resolver ---------------------------------------------------------------------------


def test_chain_first_resolver_that_has_it_wins_and_a_miss_lists_every_place():
    first = SimpleSecretResolver({"clickhouse__password": "first"})
    second = SimpleSecretResolver({"clickhouse__password": "second", "clickhouse__user": "second-user"})
    chain = ChainSecretResolver([first, second])
    assert chain.resolve_as_str(PASSWORD) == "first"
    assert ChainSecretResolver([second, first]).resolve_as_str(PASSWORD) == "second"
    assert chain.resolve_as_str(SecretReference("clickhouse", "user")) == "second-user"

    with pytest.raises(SecretInaccessibleError) as caught:
        chain.resolve(SecretReference("clickhouse", "host"))
    assert caught.value.tried == ["in-memory key clickhouse__host", "in-memory key clickhouse__host"]
    assert str(caught.value).startswith("secret clickhouse.host not found; tried: ")


def test_default_chain_follows_settings_in_order(env_file: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OSO_SECRETS", "env, Prefect ,gcp")
    monkeypatch.setenv("OSO_GCP_PROJECT", "oso-prod")
    chain = default_resolver()
    assert isinstance(chain, ChainSecretResolver)
    assert [type(r) for r in chain.resolvers] == [EnvSecretResolver, PrefectSecretResolver, GcpSecretResolver]
    assert chain.describe(PASSWORD) == (
        f"env var DAGSTER__CLICKHOUSE__PASSWORD (or {env_file}); "
        "Prefect Secret block dagster--clickhouse--password; "
        "GCP secret dagster__clickhouse__password in project oso-prod"
    )
    monkeypatch.setenv("OSO_SECRETS", "env")
    assert isinstance(default_resolver(), EnvSecretResolver)


@pytest.mark.parametrize("value", ["env,vault", "keychain", " , "])
def test_unknown_backend_is_a_clear_error(value: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OSO_SECRETS", value)
    with pytest.raises(ValueError, match="OSO_SECRETS names unknown backend.*known: env, prefect, gcp"):
        default_resolver()


def test_resolve_setting_falls_back_to_its_default(env_file: Path):
    assert resolve_setting("iceberg", "catalog_uri", "sqlite:///x.db") == "sqlite:///x.db"
    env_file.write_text("DAGSTER__ICEBERG__CATALOG_URI=postgresql://lake\n")
    assert resolve_setting("iceberg", "catalog_uri", "sqlite:///x.db") == "postgresql://lake"


def test_non_utf8_secret_error_quotes_no_bytes():
    resolver = SimpleSecretResolver({"clickhouse__password": b"\xffs3cr3t"})
    with pytest.raises(SecretDecodeError) as caught:
        resolver.resolve_as_str(PASSWORD)
    assert str(caught.value) == "secret clickhouse.password from in-memory key clickhouse__password is not valid UTF-8"
    assert caught.value.__suppress_context__


# --- Prefect block names ----------------------------------------------------------------------------------


def test_block_name_mapping_fits_prefect_rules_and_round_trips():
    ref = SecretReference("open_collective", "personal_token")
    assert block_name(ref, "dagster") == "dagster--open-collective--personal-token"
    assert parse_block_name("dagster--open-collective--personal-token") == ("dagster", ref)

    rng = random.Random(4)
    words = ["a", "b1", "gh", "token", "x9", "open", "api"]
    for _ in range(300):
        prefix, group, key = ("_".join(rng.choices(words, k=rng.randint(1, 3))) for _ in range(3))
        name = block_name(SecretReference(group, key), prefix)
        assert all(ch.islower() or ch.isdigit() or ch == "-" for ch in name), name
        assert parse_block_name(name) == (prefix, SecretReference(group, key))


@pytest.mark.parametrize(
    "name", ["dagster-clickhouse-password", "a--b", "a--b--c--d", "a---b--c", "a--b--c-", "dagster--Click--pw", ""]
)
def test_parse_block_name_rejects_names_it_did_not_make(name: str):
    with pytest.raises(ValueError, match="prefix--group--key"):
        parse_block_name(name)


def test_resolver_parse_block_name_checks_its_prefix():
    resolver = PrefectSecretResolver(prefix="dagster")
    assert resolver.parse_block_name("dagster--clickhouse--password") == PASSWORD
    with pytest.raises(ValueError, match="prefix 'oso', not 'dagster'"):
        resolver.parse_block_name("oso--clickhouse--password")


# --- GCP Secret Manager (stand-in client) ------------------------------------------------------------------


class StandInSecretManager:
    """Answers ``access_secret_version`` as google-cloud-secret-manager's client does: a real
    ``AccessSecretVersionResponse``, or the ``google.api_core`` exception the live API raises."""

    def __init__(self, secrets: dict[str, bytes] | None = None, errors: dict[str, Exception] | None = None):
        self.secrets = secrets or {}
        self.errors = errors or {}
        self.requested: list[str] = []

    def access_secret_version(self, request: dict) -> secretmanager.AccessSecretVersionResponse:
        name = request["name"]
        self.requested.append(name)
        if name in self.errors:
            raise self.errors[name]
        if name not in self.secrets:
            raise google_exceptions.NotFound(f"Secret [{name}] not found or has no versions.")
        payload = secretmanager.SecretPayload(data=self.secrets[name])
        return secretmanager.AccessSecretVersionResponse(name=name, payload=payload)


class StandInCredentials:
    """Duck-types ``GcpCredentials``: a project and the one client factory the resolver calls."""

    def __init__(self, project: str, client: StandInSecretManager):
        self.project = project
        self.client = client

    def get_secret_manager_client(self) -> StandInSecretManager:
        return self.client


LATEST = "projects/oso-prod/secrets/dagster__clickhouse__password/versions/latest"


def test_gcp_names_the_latest_version_of_prefix_group_key():
    """The live Secret Manager API is unreachable here: a stand-in client checks the request we build."""
    client = StandInSecretManager({LATEST: b"gcp-value"})
    resolver = GcpSecretResolver(prefix="dagster", project="oso-prod", client=client)
    found = resolver.lookup(PASSWORD)
    assert (found.value, found.origin) == (b"gcp-value", f"GCP secret {LATEST}")
    assert client.requested == [LATEST]


def test_gcp_project_comes_from_the_credentials_when_not_set(monkeypatch: pytest.MonkeyPatch):
    """Stand-in credentials (the live API is unreachable here) provide the project and the client."""
    monkeypatch.delenv("OSO_GCP_PROJECT", raising=False)
    client = StandInSecretManager({LATEST: b"gcp-value"})
    resolver = GcpSecretResolver(prefix="dagster", credentials=StandInCredentials("oso-prod", client))  # type: ignore[arg-type]
    assert resolver.resolve_as_str(PASSWORD) == "gcp-value"


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (google_exceptions.NotFound("Secret [LEAKY-DETAIL] not found"), "not found"),
        (google_exceptions.PermissionDenied("Permission denied on LEAKY-DETAIL"), "permission denied"),
        (google_exceptions.ServiceUnavailable("LEAKY-DETAIL unavailable"), "error: ServiceUnavailable"),
        (RuntimeError("LEAKY-DETAIL"), "error: RuntimeError"),
    ],
)
def test_gcp_failures_name_the_secret_id_only(error: Exception, reason: str):
    """The stand-in raises the live API's exception types (the live API is unreachable here)."""
    client = StandInSecretManager(errors={LATEST: error})
    resolver = GcpSecretResolver(prefix="dagster", project="oso-prod", client=client)
    with pytest.raises(SecretInaccessibleError) as caught:
        resolver.resolve(PASSWORD)
    assert caught.value.tried == [f"GCP secret dagster__clickhouse__password in project oso-prod ({reason})"]
    assert "LEAKY-DETAIL" not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_gcp_without_project_or_credentials_is_inaccessible(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """No stand-in here: real prefect-gcp ``GcpCredentials`` finds no Application Default Credentials."""
    monkeypatch.delenv("OSO_GCP_PROJECT", raising=False)
    with pytest.raises(SecretInaccessibleError, match=r"\(no project: set OSO_GCP_PROJECT\)"):
        GcpSecretResolver(client=StandInSecretManager()).resolve(PASSWORD)

    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.delenv("OSO_GCP_CREDENTIALS_BLOCK", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.setenv("GCE_METADATA_HOST", "127.0.0.1:9")  # no metadata server: fail fast, never leave the host
    monkeypatch.setenv("GCE_METADATA_IP", "127.0.0.1:9")
    with pytest.raises(SecretInaccessibleError) as caught:
        GcpSecretResolver(project="oso-prod").resolve(PASSWORD)
    assert caught.value.tried == [
        "GCP secret dagster__clickhouse__password in project oso-prod (no client: DefaultCredentialsError)"
    ]


# --- sources declare, flows resolve -----------------------------------------------------------------------


def _source(*secrets: SecretReference) -> Source:
    return Source(name="demo", tables=(TableSpec("rows"),), flow="demo_flow", secrets=secrets)


def test_resolve_source_secrets_by_reference_or_key_and_repr_hides_values():
    token = SecretReference("demo", "token")
    secrets = resolve_source_secrets(
        _source(PASSWORD, token),
        SimpleSecretResolver({"clickhouse__password": "pw-value", "demo__token": "tok-value"}),
    )
    assert dict(secrets) == {PASSWORD: "pw-value", token: "tok-value"}
    assert secrets["token"] == secrets["demo.token"] == "tok-value"
    assert secrets.origin(PASSWORD) == "in-memory key clickhouse__password"
    shown = repr(secrets) + str(secrets) + repr(list(secrets)) + repr(secrets._resolved)
    assert "pw-value" not in shown and "tok-value" not in shown
    assert "clickhouse.password: '***'" in repr(secrets)


def test_resolve_source_secrets_raises_for_the_missing_reference():
    with pytest.raises(SecretInaccessibleError, match="secret demo.token not found"):
        resolve_source_secrets(_source(SecretReference("demo", "token")), SimpleSecretResolver({}))


def test_secret_like_parameters_flags_values_not_references():
    def good(base_url: str | None = None, days: int = 7, token: SecretReference | None = None) -> None: ...

    def bad(api_token: str, personal_token=None, use_token: bool = True) -> None: ...

    source = _source(SecretReference("demo", "personal_token"))
    assert secret_like_parameters(good, source) == []
    assert secret_like_parameters(bad, source) == ["api_token", "personal_token"]


# --- .env.example -----------------------------------------------------------------------------------------


def test_env_example_lists_every_declared_secret_once_without_a_value():
    lines = (Path(__file__).resolve().parent.parent / ".env.example").read_text().splitlines()
    entries = [line.lstrip("# ").split("=", 1) for line in lines if re.fullmatch(r"(# )?[A-Z][A-Z0-9_]*=.*", line)]
    names = [name for name, _ in entries]
    assert len(names) == len(set(names)), f"listed twice: {sorted({n for n in names if names.count(n) > 1})}"

    declared = {
        env_name(ref, "dagster"): source.name for source in discover_sources("flows").values() for ref in source.secrets
    }
    missing = sorted(f"{name} ({source})" for name, source in declared.items() if name not in names)
    assert not missing, f".env.example lacks declared secrets: {missing}"
    valued = [name for name, value in entries if name in declared and value.strip()]
    assert not valued, f".env.example must not hold secret values: {valued}"


def test_errors_survive_pickling_as_prefect_stores_failed_states():
    error = SecretInaccessibleError(PASSWORD, ["env var DAGSTER__CLICKHOUSE__PASSWORD", "Prefect Secret block x"])
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.ref, copy.tried, str(copy)) == (error.ref, error.tried, str(error))
    decode = pickle.loads(pickle.dumps(SecretDecodeError(PASSWORD, "env var X")))
    assert str(decode) == "secret clickhouse.password from env var X is not valid UTF-8"
