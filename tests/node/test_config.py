from __future__ import annotations

from pathlib import Path

import pytest

from node.config import ConfigError, load_settings


def env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"TOCSIN_DATA_DIR": str(tmp_path / "data"), **extra}


def test_defaults_give_a_local_sqlite_node(tmp_path: Path) -> None:
    settings = load_settings(env(tmp_path))
    assert settings.base_url == "http://127.0.0.1:8000"
    assert (settings.listen_host, settings.listen_port) == ("127.0.0.1", 8000)
    assert settings.node_name == "network"
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert settings.database_url.endswith("/data/tocsin.db")
    assert settings.allow_private_addresses is False


def test_port_in_base_url_is_kept_in_the_host(tmp_path: Path) -> None:
    settings = load_settings(env(tmp_path, TOCSIN_BASE_URL="http://127.0.0.1:8001/"))
    assert settings.base_url == "http://127.0.0.1:8001"
    assert settings.host == "127.0.0.1:8001"


def test_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = load_settings(env(tmp_path)).secret_key
    assert len(first) >= 32
    assert (tmp_path / "data" / "secret_key").stat().st_mode & 0o777 == 0o600
    assert load_settings(env(tmp_path)).secret_key == first


def test_postgres_url_is_normalised_to_asyncpg(tmp_path: Path) -> None:
    settings = load_settings(env(tmp_path, TOCSIN_DATABASE_URL="postgresql://u@db/tocsin"))
    assert settings.database_url == "postgresql+asyncpg://u@db/tocsin"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TOCSIN_BASE_URL", "ftp://example.org"),
        ("TOCSIN_BASE_URL", "https://example.org/sub/path"),
        ("TOCSIN_BASE_URL", "example.org"),
        ("TOCSIN_BASE_URL", "https://example.org:99999"),
        ("TOCSIN_LISTEN", "8000"),
        ("TOCSIN_LISTEN", "127.0.0.1:http"),
        ("TOCSIN_DATABASE_URL", "mysql://db/tocsin"),
        ("TOCSIN_NODE_NAME", "has space"),
        ("TOCSIN_NODE_NAME", "-dash"),
        ("TOCSIN_SECRET_KEY", "short"),
        ("TOCSIN_ALLOW_PRIVATE_ADDRESSES", "maybe"),
        ("TOCSIN_TIMEZONE", "Mars/Olympus"),
        ("TOCSIN_TRUSTED_PROXIES", "the proxy"),
    ],
)
def test_bad_setting_is_refused_naming_the_variable(
    tmp_path: Path, variable: str, value: str
) -> None:
    with pytest.raises(ConfigError, match=variable):
        load_settings(env(tmp_path, **{variable: value}))


def test_unwritable_data_dir_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="TOCSIN_DATA_DIR"):
        load_settings({"TOCSIN_DATA_DIR": str(blocker / "data")})
