"""The agent's config file, its command line, and what it may import."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from pcsc_stack import require

from reader_agent.config import DEFAULT_PORT, AgentConfig, ConfigError, load_config

GOOD = """
[server]
url = "https://authen.example.org/"
api_token = "tok-123"

[agent]
default_reader = "ACS ACR39U ICC Reader 00 00"
allowed_origins = ["https://clinic.example.org", "http://localhost:5000"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_complete_config(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, GOOD)) == AgentConfig(
        server_url="https://authen.example.org",
        api_token="tok-123",
        port=DEFAULT_PORT,
        default_reader="ACS ACR39U ICC Reader 00 00",
        allowed_origins=("https://clinic.example.org", "http://localhost:5000"),
    )


def test_a_kiosk_config(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD + "kiosk = true\n"))
    assert config.kiosk is True and load_config(write(tmp_path, GOOD)).kiosk is False


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ('[server]\napi_token = "t"\n', "server.url"),
        ('[server]\nurl = "ftp://x"\napi_token = "t"\n', "server.url"),
        ('[server]\nurl = "https://x"\n', "server.api_token"),
        ('[server]\nurl = "https://x"\napi_token = "t"\n[agent]\nport = 70000\n', "agent.port"),
        (
            '[server]\nurl = "https://x"\napi_token = "t"\n[agent]\nallowed_origins = ["*"]\n',
            "agent.allowed_origins",
        ),
        ('[server]\nurl = "https://x"\napi_token = "t"\n[agent]\nkiosk = "yes"\n', "agent.kiosk"),
        ("[server\n", "not valid TOML"),
    ],
)
def test_bad_settings_are_named(tmp_path: Path, text: str, names: str) -> None:
    with pytest.raises(ConfigError, match=names):
        load_config(write(tmp_path, text))


def test_cli_stops_with_one_clear_line_on_a_bad_config(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "reader_agent", "--config", str(tmp_path / "missing.toml")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "cannot read config file" in result.stderr


def test_agent_imports_nothing_of_the_server() -> None:
    require(importlib.util.find_spec("smartcard") is not None, "pyscard is not installed")
    # Installed alone on a clinic PC, the agent must not need the server's packages.
    code = (
        "import sys, pkgutil, importlib, reader_agent\n"
        "for m in pkgutil.iter_modules(reader_agent.__path__):\n"
        "    if m.name != '__main__': importlib.import_module('reader_agent.' + m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in "
        "{'authencode', 'linebot_app', 'liff_web', 'clinic_qr', 'flask', 'sqlalchemy'})\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    )
    assert result.stdout.strip() == ""
