"""The agent's configuration file (TOML): tables ``[server]`` (``url``, ``api_token``,
``timeout``) and ``[agent]`` (``port``, ``default_reader``, ``allowed_origins``, ``kiosk``).
An annotated example is in ``reader_agent/README.md``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEFAULT_PORT = 8189


class ConfigError(Exception):
    """The configuration file is missing, unreadable or has a bad value (one clear line)."""


@dataclass(frozen=True)
class AgentConfig:
    """Settings of one agent installation."""

    server_url: str
    api_token: str
    port: int = DEFAULT_PORT
    default_reader: str | None = None
    allowed_origins: tuple[str, ...] = ()
    server_timeout: float = 10.0
    # A kiosk's agent (its token of scope "kiosk"): confirm-save needs no staff unlock (the
    # server issues kiosk codes only), unlock is refused, expired cards are refused.
    kiosk: bool = False


def load_config(path: Path) -> AgentConfig:
    """Read and check the TOML file at ``path``; raises ConfigError naming the bad setting."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"cannot read config file {path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"config file {path} is not valid TOML: {error}") from None
    return config_from_dict(data)


def config_from_dict(data: dict[str, Any]) -> AgentConfig:
    """Build an AgentConfig from parsed TOML; raises ConfigError naming the bad setting."""
    server = _table(data, "server")
    agent = _table(data, "agent")

    url = server.get("url")
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
        raise ConfigError("server.url must be an http:// or https:// URL")
    token = server.get("api_token")
    if not isinstance(token, str) or not token.strip():
        raise ConfigError("server.api_token is required (the facility's API token)")
    timeout = server.get("timeout", 10.0)
    if not isinstance(timeout, int | float) or timeout <= 0:
        raise ConfigError("server.timeout must be a positive number of seconds")

    port = agent.get("port", DEFAULT_PORT)
    if not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigError("agent.port must be a port number")
    reader = agent.get("default_reader")
    if reader is not None and not isinstance(reader, str):
        raise ConfigError("agent.default_reader must be a reader name")
    origins = agent.get("allowed_origins", [])
    if not isinstance(origins, list) or not all(isinstance(o, str) for o in origins):
        raise ConfigError("agent.allowed_origins must be a list of origins")
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
            raise ConfigError(
                f"agent.allowed_origins: {origin!r} is not an origin like https://host"
            )

    kiosk = agent.get("kiosk", False)
    if not isinstance(kiosk, bool):
        raise ConfigError("agent.kiosk must be true or false")

    return AgentConfig(
        server_url=url.rstrip("/"),
        api_token=token.strip(),
        port=port,
        default_reader=reader or None,
        allowed_origins=tuple(origins),
        server_timeout=float(timeout),
        kiosk=kiosk,
    )


def _table(data: dict[str, Any], name: str) -> dict[str, Any]:
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise ConfigError(f"[{name}] must be a table")
    return table
