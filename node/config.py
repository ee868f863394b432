"""Settings from the environment, validated once at start.

Every variable is documented in the README's configuration table. A bad value
stops the node with a one-line message that names the variable, so whoever
deploys it knows what to fix.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from node.i18n import LANGUAGES

USERNAME_RE = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_.-]{0,62}[A-Za-z0-9_])?$")
TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


DATABASE_FILE = "tocsin.db"  # in the data directory, when TOCSIN_DATABASE_URL is unset


class ConfigError(Exception):
    """A setting is wrong; the message names the variable."""


class NoNodeError(ConfigError):
    """There is no node where the settings point: nothing to manage."""


@dataclass(frozen=True)
class SmtpSettings:
    """Where alert e-mails go out: ``smtps`` is TLS from the first byte; ``smtp``
    upgrades with STARTTLS when the server offers it."""

    host: str
    port: int
    username: str = ""
    password: str = ""
    implicit_tls: bool = False


@dataclass(frozen=True)
class Settings:
    base_url: str
    listen_host: str
    listen_port: int
    data_dir: Path
    database_url: str
    node_name: str
    secret_key: str
    allow_private_addresses: bool
    timezone: str = "UTC"
    trusted_proxies: str = ""  # uvicorn forwarded_allow_ips; empty: ignore X-Forwarded-For
    retention_days: int = 7  # processed received activities are purged after this
    smtp: SmtpSettings | None = None  # None: alerts by push only
    mail_from: str = ""
    language: str = "en"  # the node's default language: pages, alerts, what federates
    web_workers: int = 1  # processes serving HTTP (`tocsin web`, `tocsin run`), one socket

    @property
    def host(self) -> str:
        """The authority part of the base URL, port kept (``127.0.0.1:8000``)."""
        return urlsplit(self.base_url).netloc.lower()

    @property
    def https(self) -> bool:
        return self.base_url.startswith("https://")


def _base_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigError(
            f"TOCSIN_BASE_URL must be an absolute http(s) origin such as "
            f"https://network.example, not {value!r}"
        )
    if parts.path not in {"", "/"} or parts.query or parts.fragment:
        raise ConfigError(
            f"TOCSIN_BASE_URL must be an origin with no path, query or fragment, not {value!r}"
        )
    if parts.username or parts.password:
        raise ConfigError("TOCSIN_BASE_URL must not contain credentials")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise ConfigError(f"TOCSIN_BASE_URL has an invalid port: {value!r}") from exc
    return f"{parts.scheme}://{parts.netloc.lower()}"


def _listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"TOCSIN_LISTEN must be host:port such as 127.0.0.1:8000, not {value!r}")
    return host.strip("[]"), int(port)


def _bool(name: str, value: str) -> bool:
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConfigError(f"{name} must be true or false, not {value!r}")


def _timezone(value: str) -> str:

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"TOCSIN_TIMEZONE must be an IANA time zone such as Europe/London, not {value!r}"
        ) from exc
    return value


def _proxies(value: str) -> str:

    value = value.strip()
    if value in {"", "*"}:
        return value
    for part in value.split(","):
        try:
            ipaddress.ip_network(part.strip(), strict=False)
        except ValueError as exc:
            raise ConfigError(
                f"TOCSIN_TRUSTED_PROXIES must be '*' or comma-separated addresses, not {value!r}"
            ) from exc
    return value


MAX_RETENTION_DAYS = 3650
MAX_WEB_WORKERS = 32


def _retention_days(value: str) -> int:
    value = value.strip()
    if not (value.isascii() and value.isdigit() and len(value) <= 5) or not (
        1 <= int(value) <= MAX_RETENTION_DAYS
    ):
        raise ConfigError(
            f"TOCSIN_RETENTION_DAYS must be a whole number of days from 1 to "
            f"{MAX_RETENTION_DAYS}, such as 7, not {value!r}"
        )
    return int(value)


def _web_workers(value: str, database_url: str) -> int:
    value = value.strip() or "1"
    if not (value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_WEB_WORKERS):
        raise ConfigError(
            f"TOCSIN_WEB_WORKERS must be a number of processes from 1 to {MAX_WEB_WORKERS}, "
            f"such as 2 (one per CPU core), not {value!r}"
        )
    if int(value) > 1 and database_url.startswith("sqlite"):
        raise ConfigError(
            "TOCSIN_WEB_WORKERS above 1 needs PostgreSQL (TOCSIN_DATABASE_URL): SQLite takes "
            "one writer at a time, so more web processes would only wait for each other"
        )
    return int(value)


def _smtp(value: str) -> SmtpSettings | None:
    value = value.strip()
    if not value:
        return None
    problem = "TOCSIN_SMTP_URL must look like smtp://user:pass@host:port or smtps://…"
    parts = urlsplit(value)
    if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
        raise ConfigError(f"{problem}, not a URL with scheme {parts.scheme!r}")
    if parts.path not in {"", "/"} or parts.query or parts.fragment:
        raise ConfigError(f"{problem} (no path, query or fragment)")
    try:
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"{problem}: the port is not a number from 1 to 65535") from exc
    implicit = parts.scheme == "smtps"
    return SmtpSettings(
        host=parts.hostname,
        port=port or (465 if implicit else 587),
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        implicit_tls=implicit,
    )


def _mail_from(value: str, smtp: SmtpSettings | None, node_name: str, base_url: str) -> str:
    value = value.strip()
    if not value:
        return f"{node_name}@{urlsplit(base_url).hostname}" if smtp else ""
    local, _, domain = value.rpartition("@")
    if not local or "." not in domain or any(c.isspace() or c in '<>,;"' for c in value):
        raise ConfigError(f"TOCSIN_MAIL_FROM must be an e-mail address, not {value!r}")
    return value


def _language(value: str) -> str:
    tag = value.strip()
    if tag.lower() in LANGUAGES:
        return tag.lower()
    spoken = ", ".join(f"{code} ({name})" for code, name in LANGUAGES.items())
    raise ConfigError(f"TOCSIN_LANGUAGE must be one of {spoken}, not {value!r}")


def _database_url(value: str, data_dir: Path) -> str:
    if not value:
        return f"sqlite+aiosqlite:///{data_dir.resolve() / DATABASE_FILE}"
    if value.startswith(("postgresql://", "postgres://")):
        value = "postgresql+asyncpg://" + value.split("://", 1)[1]
    if not value.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
        raise ConfigError(
            "TOCSIN_DATABASE_URL must start with postgresql+asyncpg:// or sqlite+aiosqlite://"
        )
    return value


def _secret_key(value: str, data_dir: Path) -> str:
    if value:
        if len(value) < 32:
            raise ConfigError("TOCSIN_SECRET_KEY must be at least 32 characters long")
        return value
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


def _require_node(env: Mapping[str, str], data_dir: Path) -> None:
    """Raise ``NoNodeError`` unless a node lives where the settings point."""
    if env.get("TOCSIN_DATABASE_URL") or (data_dir / DATABASE_FILE).is_file():
        return
    raise NoNodeError(
        f"no Tocsin node in {data_dir.resolve()} (no {DATABASE_FILE} there): run this from "
        "the node's folder, or set TOCSIN_DATA_DIR to its data directory"
    )


def load_settings(env: Mapping[str, str] | None = None, *, need_node: bool = False) -> Settings:
    """Read and validate settings; creates the data dir and secret key file if needed.

    ``need_node``: for commands that manage an existing node. Where there is
    none (no database file in the data dir, no ``TOCSIN_DATABASE_URL``), they
    raise ``NoNodeError`` and create nothing.
    """
    env = os.environ if env is None else env
    base_url = _base_url(env.get("TOCSIN_BASE_URL", "http://127.0.0.1:8000"))
    listen_host, listen_port = _listen(env.get("TOCSIN_LISTEN", "127.0.0.1:8000"))
    node_name = env.get("TOCSIN_NODE_NAME", "network")
    if not USERNAME_RE.match(node_name):
        raise ConfigError(
            f"TOCSIN_NODE_NAME must be 1-64 letters, digits, '_', '-' or '.', "
            f"starting and ending with a letter, digit or '_', not {node_name!r}"
        )
    smtp = _smtp(env.get("TOCSIN_SMTP_URL", ""))
    data_dir = Path(env.get("TOCSIN_DATA_DIR", "./data"))
    if need_node:
        _require_node(env, data_dir)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"TOCSIN_DATA_DIR {str(data_dir)!r} cannot be created: {exc}") from exc
    database_url = _database_url(env.get("TOCSIN_DATABASE_URL", ""), data_dir)
    return Settings(
        base_url=base_url,
        listen_host=listen_host,
        listen_port=listen_port,
        data_dir=data_dir,
        database_url=database_url,
        node_name=node_name,
        secret_key=_secret_key(env.get("TOCSIN_SECRET_KEY", ""), data_dir),
        allow_private_addresses=_bool(
            "TOCSIN_ALLOW_PRIVATE_ADDRESSES", env.get("TOCSIN_ALLOW_PRIVATE_ADDRESSES", "")
        ),
        timezone=_timezone(env.get("TOCSIN_TIMEZONE", "UTC") or "UTC"),
        trusted_proxies=_proxies(env.get("TOCSIN_TRUSTED_PROXIES", "")),
        retention_days=_retention_days(env.get("TOCSIN_RETENTION_DAYS", "7") or "7"),
        smtp=smtp,
        mail_from=_mail_from(env.get("TOCSIN_MAIL_FROM", ""), smtp, node_name, base_url),
        language=_language(env.get("TOCSIN_LANGUAGE", "en") or "en"),
        web_workers=_web_workers(env.get("TOCSIN_WEB_WORKERS", ""), database_url),
    )
