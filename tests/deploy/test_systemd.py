"""deploy/systemd: the units run the Procfile's lines, load cleanly and are locked down.

`systemd-analyze verify` needs no running systemd: it loads the units in a test manager of
its own, reports unknown or malformed settings and fails when an ExecStart program is not
there. The units name /opt/authencode/venv; the test renders them with this test's venv.
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest

from tests.deploy.tools import DEPLOY, ROOT, replace_exactly, run, tool

UNITS = DEPLOY / "systemd"
VENV = "/opt/authencode/venv"
# the Procfile's processes and the units that run them (an instance each, for the templates)
PROCESSES = {
    "release": "authencode-release.service",
    "web": "authencode-web@.service",
    "worker": "authencode-worker@.service",
}
INSTANCES = {"authencode-web@.service": "8001", "authencode-worker@.service": "1"}


def procfile(text: str) -> dict[str, str]:
    lines = (line.partition(":") for line in text.splitlines() if line.strip())
    return {name.strip(): command.strip() for name, _, command in lines}


def exec_start(unit: str) -> str:
    (line,) = re.findall(r"^ExecStart=(.+)$", unit, re.MULTILINE)
    return line


def mismatches(name: str, procfile_line: str, unit: str) -> list[str]:
    """How the unit's ExecStart differs from the Procfile's line, beyond what a unit must
    say otherwise: the venv's programs, loopback on the instance's port for $PORT, and the
    default of WEB_CONCURRENCY set with Environment= (systemd has no ${VAR:-default})."""
    ours = shlex.split(exec_start(unit))
    program = Path(ours[0])
    problems = [] if program.parent == Path(VENV, "bin") else [f"{program} is not in {VENV}/bin"]
    ours[0] = program.name
    theirs = shlex.split(procfile_line)
    for index, word in enumerate(ours):
        if word.endswith(":%i") and name == "web":
            ours[index] = "0.0.0.0:$PORT"
            if word != "127.0.0.1:%i":
                problems.append(f"binds {word}, not loopback")
        defaults = re.findall(r"^Environment=(\w+)=(\S+)$", unit, re.MULTILINE)
        for variable, default in defaults:
            if word == "${%s}" % variable:  # noqa: UP031 - the braces are systemd's
                ours[index] = "${%s:-%s}" % (variable, default)  # noqa: UP031
    if ours != theirs:
        problems.append(f"{name}: the unit runs {ours}, the Procfile {theirs}")
    return problems


def test_every_procfile_process_has_its_unit() -> None:
    assert procfile((ROOT / "Procfile").read_text()).keys() == PROCESSES.keys()
    assert sorted(path.name for path in UNITS.glob("*.service")) == sorted(PROCESSES.values())


@pytest.mark.parametrize("name", PROCESSES)
def test_units_run_the_procfile_lines(name: str) -> None:
    lines = procfile((ROOT / "Procfile").read_text())
    assert mismatches(name, lines[name], (UNITS / PROCESSES[name]).read_text()) == []


def test_a_change_to_one_side_only_is_caught() -> None:
    lines = procfile((ROOT / "Procfile").read_text())
    web = (UNITS / PROCESSES["web"]).read_text()
    assert mismatches("web", lines["web"].replace("--threads 4", "--threads 8"), web)
    assert mismatches("web", lines["web"], web.replace("--threads 4", "--threads 8"))
    assert mismatches("web", lines["web"], web.replace("127.0.0.1:%i", "0.0.0.0:%i"))
    assert mismatches("web", lines["web"], web.replace("WEB_CONCURRENCY=2", "WEB_CONCURRENCY=3"))
    worker = (UNITS / PROCESSES["worker"]).read_text()
    assert mismatches("worker", "python -m linebot_app.worker --once", worker)
    assert mismatches("worker", lines["worker"], worker.replace(VENV, "/usr"))


def _render(directory: Path, text_of: dict[str, str] | None = None) -> list[Path]:
    """The units with this test's venv for /opt/authencode/venv, templates as an instance."""
    venv = str(Path(sys.executable).parent.parent)
    paths = []
    for unit in PROCESSES.values():
        text = (text_of or {}).get(unit) or (UNITS / unit).read_text()
        path = directory / unit.replace("@", "@" + INSTANCES.get(unit, ""))
        path.write_text(replace_exactly(text, VENV + "/bin/", venv + "/bin/"))
        paths.append(path)
    return paths


def test_units_verify(tmp_path: Path) -> None:
    result = run(tool("systemd-analyze", "systemd"), "verify", *_render(tmp_path))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_verify_catches_a_broken_unit(tmp_path: Path) -> None:
    """The check above can fail here, without systemd running: a misspelt setting, a bad
    value, a program that is not there."""
    worker = (UNITS / PROCESSES["worker"]).read_text()
    broken = replace_exactly(worker, "ProtectSystem=strict", "ProtectSytem=strict")
    broken = replace_exactly(broken, "RestartSec=2s", "RestartSec=soon")
    result = run(
        tool("systemd-analyze", "systemd"),
        "verify",
        *_render(tmp_path, {PROCESSES["worker"]: broken}),
    )
    assert "Unknown key 'ProtectSytem'" in result.stderr
    assert "Failed to parse sec value" in result.stderr
    missing = tmp_path / "missing"
    missing.mkdir()
    (unit,) = [path for path in _render(missing) if "release" in path.name]
    unit.write_text(unit.read_text().replace(str(Path(sys.executable).parent), "/nowhere/bin"))
    result = run(tool("systemd-analyze", "systemd"), "verify", unit)
    assert result.returncode != 0
    assert "/nowhere/bin/authencode is not executable" in result.stderr


def test_units_are_locked_down(tmp_path: Path) -> None:
    """systemd's own exposure score stays at or below 2.0 ("OK") for each unit."""
    for unit in _render(tmp_path):
        result = run(
            tool("systemd-analyze", "systemd"), "security", "--offline=yes", "--threshold=20", unit
        )
        assert result.returncode == 0, result.stdout + result.stderr
        overall = re.search(r"Overall exposure level for \S+: (\d+\.\d)", result.stdout)
        assert overall is not None and float(overall.group(1)) <= 2.0
        text = unit.read_text()
        for setting in ("User=authencode", "NoNewPrivileges=yes", "ProtectSystem=strict"):
            assert f"\n{setting}\n" in text


def test_every_unit_reads_the_settings_file_and_restarts() -> None:
    for unit in PROCESSES.values():
        text = (UNITS / unit).read_text()
        assert "\nEnvironmentFile=/etc/authencode/authencode.env\n" in text
        if "release" not in unit:
            assert "\nRestart=always\n" in text
            assert "\nRequires=authencode-release.service\n" in text
            assert re.search(r"^After=authencode-release.service", text, re.MULTILINE)
