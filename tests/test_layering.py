"""The core imports no front end and no Flask; the reader agent imports nothing of the server;
the LIFF pages and the clinic app use nothing of the bot but linebot_app.notify; the bot's
modules import one another without a cycle."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 4 kept, 0 broken" in result.stdout


def test_the_core_imports_no_front_end_without_exemptions() -> None:
    """create_app finds the front ends through entry points: no contract exempts an import of
    a front end by the core (only Flask, in authencode.app and authencode.web)."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    front_ends = ("linebot_app", "liff_web", "clinic_qr", "reader_agent")
    exempted = [
        ignored
        for contract in config["tool"]["importlinter"]["contracts"]
        for ignored in contract.get("ignore_imports", [])
        if ignored.startswith("authencode")
        and ignored.split("->")[1].strip().startswith(front_ends)
    ]
    assert not exempted, exempted


def test_the_web_toolkit_names_no_front_end(tmp_path: Path) -> None:
    """authencode/web names none of the blueprints, endpoints or path prefixes the front ends
    register: they declare what they need themselves."""
    import os

    from authencode.app import create_app
    from authencode.settings import Settings

    settings = Settings(
        environment="test",
        secret_key="x" * 32,
        data_key=os.urandom(32),
        database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        instance_path=tmp_path,
    )
    app = create_app(settings)
    own = {"core", "openapi"}
    names = {name for name in app.blueprints if name not in own}
    endpoints = {
        rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint.split(".")[0] in names
    }
    prefixes = {
        bp.url_prefix for name, bp in app.blueprints.items() if name not in own and bp.url_prefix
    }
    assert {"liff_api", "clinic.login", "/line/webhook"} <= names | endpoints | {
        str(rule) for rule in app.url_map.iter_rules()
    }
    sources = {path.name: path.read_text() for path in (ROOT / "authencode" / "web").glob("*.py")}
    named = {
        (file, name)
        for file, text in sources.items()
        for name in names | endpoints | prefixes | {"/line/webhook"}
        if f'"{name}' in text or f"'{name}" in text
    }
    assert not named, named


def test_no_test_module_imports_a_conftest() -> None:
    """Shared constants and helpers live in tests/support; a conftest is pytest's alone (a
    suite's own ``from conftest import`` of the same directory excepted)."""
    import ast

    offenders = []
    for path in (ROOT / "tests").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            offenders += [
                f"{path.relative_to(ROOT)}: {name}"
                for name in names
                if name.startswith("tests.") and name.split(".")[-1] == "conftest"
            ]
    assert offenders == []
