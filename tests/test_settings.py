"""Typed settings (``oso_core.config.settings``): parsed and validated per group, read once, per source, from
``.env``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from oso_core.config import settings
from oso_core.config.secrets import SimpleSecretResolver
from oso_core.config.settings import SettingsError, SourceSettings
from oso_core.model.sources import Source, TableSpec
from oso_core.warehouse.catalog import CatalogConfig


@pytest.fixture
def env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "settings.env"
    monkeypatch.setenv("OSO_ENV_FILE", str(path))
    for name in [n for n in os.environ if n.startswith(("DAGSTER__", "OSO_PROD__"))]:
        monkeypatch.delenv(name)
    return path


def test_values_are_parsed_into_their_types(env_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings.weekly().model_dump() == {
        "concurrency": 4, "task_runner": "threads", "dask_address": None, "ray_address": None, "timezone": "UTC",
        "crash_resubmits": 2, "api_concurrency": 1, "source_timeout": 21600,
    }  # fmt: skip
    monkeypatch.setenv("DAGSTER__WEEKLY__CONCURRENCY", "8")
    monkeypatch.setenv("DAGSTER__WEEKLY__TASK_RUNNER", " Dask ")
    monkeypatch.setenv("DAGSTER__WEEKLY__TIMEZONE", "Europe/Paris")
    weekly = settings.weekly()
    assert (weekly.concurrency, weekly.task_runner, weekly.timezone) == (8, "dask", "Europe/Paris")

    monkeypatch.setenv("OSO_SECRETS", " env, Prefect ,gcp")
    monkeypatch.setenv("OSO_SOURCE_PACKAGES", "flows, more_flows")
    monkeypatch.setenv("OSO_HOME", "relative/lake")
    assert settings.secret_backends() == ["env", "prefect", "gcp"]
    assert settings.source_packages() == ["flows", "more_flows"]
    assert settings.oso_home() == (Path.cwd() / "relative/lake").resolve()
    monkeypatch.setenv("OSO_HOME", "")  # empty counts as unset
    assert settings.oso_home() == (Path.cwd() / ".oso").resolve()


@pytest.mark.parametrize(
    ("name", "value", "read", "message"),
    [
        ("DAGSTER__NPM__MIN_INTERVAL", "abc", lambda: settings.source("npm"),
         "setting npm.min_interval (DAGSTER__NPM__MIN_INTERVAL) must be a number (float)"),
        ("DAGSTER__NPM__MIN_INTERVAL", "-1", lambda: settings.source("npm"),
         "setting npm.min_interval (DAGSTER__NPM__MIN_INTERVAL) must be a number (float): "
         "Input should be greater than or equal to 0"),
        ("DAGSTER__GIVETH__RETRY_ATTEMPTS", "2.5", lambda: settings.source("giveth"),
         "setting giveth.retry_attempts (DAGSTER__GIVETH__RETRY_ATTEMPTS) must be a whole number (int)"),
        ("DAGSTER__WEEKLY__TASK_RUNNER", "spark", settings.weekly,
         "setting weekly.task_runner (DAGSTER__WEEKLY__TASK_RUNNER) must be one of 'threads', 'dask', 'ray'"),
        ("DAGSTER__WEEKLY__TIMEZONE", "Mars/Olympus", settings.weekly,
         "setting weekly.timezone (DAGSTER__WEEKLY__TIMEZONE) must be text (str): Value error, not an IANA time zone"),
    ],
)  # fmt: skip
def test_a_bad_value_names_the_variable_and_the_type_never_the_value(
    env_file: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str, read, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        read()
    assert str(caught.value).startswith(message)
    assert value not in str(caught.value).replace(message, "")
    assert isinstance(caught.value, ValueError) and caught.value.__cause__ is None


def test_a_secret_typed_into_a_setting_is_not_echoed(env_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGSTER__WEEKLY__CONCURRENCY", "ghp_s3cr3tT0ken")
    with pytest.raises(SettingsError) as caught:
        settings.weekly()
    assert "ghp_s3cr3tT0ken" not in str(caught.value) and "DAGSTER__WEEKLY__CONCURRENCY" in str(caught.value)


def test_settings_are_read_once_until_reloaded(env_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGSTER__WEEKLY__CONCURRENCY", "2")
    first = settings.weekly()
    assert first.concurrency == 2
    os.environ["DAGSTER__WEEKLY__CONCURRENCY"] = "3"  # behind the cache's back, as another thread could
    env_file.write_text("DAGSTER__WEEKLY__TIMEZONE=Asia/Tokyo\n")
    try:
        assert settings.weekly() is first and settings.weekly().concurrency == 2, "read again without a reload"
        settings.reload()
        assert (settings.weekly().concurrency, settings.weekly().timezone) == (3, "Asia/Tokyo")
    finally:
        os.environ["DAGSTER__WEEKLY__CONCURRENCY"] = "2"  # monkeypatch restores the original afterwards


def test_per_source_settings_one_model_one_instance_per_source(env_file: Path, monkeypatch) -> None:
    monkeypatch.setenv("DAGSTER__DEMO_A__MIN_INTERVAL", "0.5")
    monkeypatch.setenv("DAGSTER__DEMO_A__BASE_URL", "http://127.0.0.1:1/a/")
    monkeypatch.setenv("DAGSTER__DEMO_B__RETRY_ATTEMPTS", "3")
    a, b = settings.source("demo_a"), settings.source("DEMO_B")
    assert (a.min_interval, a.retry_attempts, b.min_interval, b.retry_attempts) == (0.5, None, None, 3)
    assert settings.source("demo_a") is a and settings.source("demo_b") is b

    declared = Source("demo_a", (TableSpec("t"),), "flow", base_url="https://example.org/api")
    assert declared.settings is a
    assert declared.resolve_base_url() == "http://127.0.0.1:1/a"
    assert declared.resolve_base_url("http://override/") == "http://override"
    assert Source("demo_b", (TableSpec("t"),), "flow", base_url="https://b.example/").resolve_base_url() == (
        "https://b.example"
    )
    with pytest.raises(ValueError, match=r"demo_c has no base URL; set demo_c.base_url \(DAGSTER__DEMO_C__BASE_URL\)"):
        Source("demo_c", (TableSpec("t"),), "flow").resolve_base_url()


def test_a_source_with_its_own_settings_model(env_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.npm.source import SOURCE, NpmSettings

    assert SOURCE.settings_model is NpmSettings and SOURCE.settings.registry_url is None
    monkeypatch.setenv("DAGSTER__NPM__REGISTRY_URL", "http://127.0.0.1:9/registry")
    monkeypatch.setenv("DAGSTER__NPM__MIN_INTERVAL", "1.5")
    assert (SOURCE.settings.registry_url, SOURCE.settings.min_interval) == ("http://127.0.0.1:9/registry", 1.5)
    assert isinstance(settings.source("npm"), SourceSettings) and not hasattr(settings.source("npm"), "registry_url")


def test_dotenv_values_the_environment_wins_empty_falls_through(env_file: Path, monkeypatch) -> None:
    env_file.write_text(
        "DAGSTER__WEEKLY__CONCURRENCY=6\nDAGSTER__WEEKLY__TIMEZONE=Asia/Tokyo\nDAGSTER__WEEKLY__DASK_ADDRESS=\n"
        "DAGSTER__WEEKLY__SOME_SECRET=not-a-field\nDAGSTER__NPM__MIN_INTERVAL=0.25\nOSO_HOME=/from/dotenv\n"
    )
    monkeypatch.setenv("DAGSTER__WEEKLY__TIMEZONE", "America/Chicago")
    monkeypatch.setenv("DAGSTER__WEEKLY__CONCURRENCY", "")  # empty in the environment: the file's value applies
    weekly = settings.weekly()
    assert (weekly.concurrency, weekly.timezone, weekly.dask_address) == (6, "America/Chicago", None)
    assert not hasattr(weekly, "some_secret"), "unknown names (a group's secrets) are not read into the model"
    assert settings.source("npm").min_interval == 0.25
    assert settings.oso_home() != Path("/from/dotenv"), "process settings come from the environment only"


def test_prefix_change_renames_every_setting(env_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGSTER__WEEKLY__CONCURRENCY", "2")
    env_file.write_text("OSO_PROD__NPM__MIN_INTERVAL=4\n")
    monkeypatch.setenv("OSO_PROD__WEEKLY__CONCURRENCY", "7")
    assert settings.weekly().concurrency == 2 and settings.source("npm").min_interval is None
    monkeypatch.setenv("OSO_SECRET_PREFIX", "oso_prod")
    assert settings.group_prefix("weekly") == "OSO_PROD__WEEKLY__"
    assert settings.weekly().concurrency == 7 and settings.source("npm").min_interval == 4.0
    monkeypatch.setenv("OSO_PROD__WEEKLY__CONCURRENCY", "zero")
    with pytest.raises(SettingsError, match=r"\(OSO_PROD__WEEKLY__CONCURRENCY\)"):
        settings.weekly()


def test_catalog_reads_typed_settings_and_resolves_its_secrets(env_file: Path, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("OSO_HOME", str(tmp_path / "oso"))
    embedded = CatalogConfig.from_settings()
    assert embedded == CatalogConfig.embedded() and embedded.extra == {}
    monkeypatch.setenv("DAGSTER__ICEBERG__WAREHOUSE", "gs://bucket/lake")
    monkeypatch.setenv("DAGSTER__ICEBERG__SCOPE", "catalog")
    monkeypatch.setenv("DAGSTER__ICEBERG__CATALOG_TYPE", "rest")
    secrets = SimpleSecretResolver({"iceberg__catalog_uri": "https://u:pw@catalog", "iceberg__token": "t0k"})
    config = CatalogConfig.from_settings(secrets)
    assert (config.type, config.name, config.uri, config.warehouse) == ("rest", "oso", "https://u:pw@catalog",
                                                                        "gs://bucket/lake")  # fmt: skip
    assert config.extra == {"token": "t0k", "scope": "catalog"}
