"""The bench's plumbing: child processes, the Procfile's gunicorn line, wrk runs, py-spy.

What is measured is in ``bench_http.py``, how it is reported in ``report.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.postgres import PostgresCluster
from tests.support.procfile import ROOT, web_command

WRK_SCRIPT = Path(__file__).with_name("wrk") / "replay.lua"
BIN = Path(sys.executable).parent


# --- processes -------------------------------------------------------------------------------


class Processes:
    """Child processes in their own process groups, all stopped (TERM, then KILL) at the end."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps it open
        proc = subprocess.Popen(
            argv, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.running[name] = proc
        return proc

    def stop(self, name: str) -> None:
        proc = self.running.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)

    def stop_all(self) -> None:
        for name in reversed(list(self.running)):
            self.stop(name)

    def tail(self, name: str, lines: int = 20) -> str:
        path = self.logs / f"{name}.log"
        return (
            "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            if path.exists()
            else ""
        )


def gunicorn_argv(app_spec: str | None) -> list[str]:
    """The Procfile's web command, run by a shell as a platform would (PORT, WEB_CONCURRENCY)."""
    command = web_command()
    if app_spec is not None:
        real = "'authencode:create_app()'"
        if real not in command:
            raise SystemExit(f"Procfile's web line no longer serves {real}: update the bench")
        command = command.replace(real, shlex.quote(app_spec))
    return ["/bin/sh", "-c", f"exec {command}"]


def wait_http(
    url: str, proc: subprocess.Popen[bytes], what: str, procs: Processes, timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited ({proc.returncode}):\n{procs.tail(what)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - localhost
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"{what} did not answer {url} within {timeout:.0f} s:\n{procs.tail(what)}")


class DurablePostgres(PostgresCluster):
    """The test cluster, but with PostgreSQL's default durability (fsync, synchronous commit)."""

    SETTINGS = "-c max_connections=200"

    def postmaster_pid(self) -> int:
        return int((self.datadir / "postmaster.pid").read_text().split("\n", 1)[0])


# --- measuring -------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    statuses: dict[str, int]
    socket_errors: int
    wraps: int
    consumed: int
    handover: dict[str, float] | None = None
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds by part (CpuMeter)
    notes: list[str] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def non_2xx(self) -> int:
        return sum(n for status, n in self.statuses.items() if not status.startswith("2"))


def run_wrk(
    name: str, url: str, args: argparse.Namespace, seconds: int, script_args: list[str]
) -> Result:
    argv = [
        "wrk",
        f"-t{args.wrk_threads}",
        f"-c{args.connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(WRK_SCRIPT),
        url,
        "--",
        *script_args,
    ]
    out = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=ROOT)
    line = next((x for x in out.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if out.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    return Result(
        name=name,
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        statuses={str(k): v for k, v in data["statuses"].items()},
        socket_errors=data["connect_errors"]
        + data["read_errors"]
        + data["write_errors"]
        + data["timeouts"],
        wraps=data["wraps"],
        consumed=data["consumed"],
    )


@contextmanager
def profiled(
    args: argparse.Namespace, procs: Processes, name: str, seconds: int, pids: dict[str, int]
) -> Iterator[None]:
    """py-spy record of the given processes (and their children) while the block runs."""
    spies = []
    if args.profile:
        py_spy = shutil.which("py-spy") or str(BIN / "py-spy")
        args.profile.mkdir(parents=True, exist_ok=True)
        for label, pid in pids.items():
            out = args.profile / f"{name}-{label}.txt"
            spies.append(
                subprocess.Popen(
                    [
                        py_spy,
                        "record",
                        "--subprocesses",
                        "--pid",
                        str(pid),
                        "--rate",
                        "200",
                        "--duration",
                        str(seconds),
                        "--format",
                        "raw",
                        "--output",
                        str(out),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
    try:
        yield
    finally:
        for spy in spies:
            try:
                spy.wait(30)
            except subprocess.TimeoutExpired:
                spy.kill()
                spy.wait()


# --- where the CPU goes ----------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _proc_stats() -> Iterator[tuple[int, int, int, float]]:
    """(pid, ppid, process group, CPU seconds) of every process still running."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(entry.path, "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        fields = raw[raw.rindex(")") + 2 :].split()  # after "pid (command) "
        yield (
            int(entry.name),
            int(fields[1]),
            int(fields[2]),
            (int(fields[11]) + int(fields[12])) / _TICK,
        )


def _busy_seconds() -> float:
    """CPU time spent by the whole machine, all cores (idle and I/O wait left out)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / _TICK


class CpuMeter:
    """CPU seconds by part of the system between two snapshots, read from /proc.

    ``groups`` maps a label to a process group id (the children started with their own
    session: gunicorn with its workers, the outbox worker); PostgreSQL is the postmaster and
    its children; this process (the fake LINE API, the JWKS server) and wrk (the children
    this process waited for) are named too;
    what no label covers (the machine's own services, processes that exited) is "other".
    """

    def __init__(self, groups: dict[str, int], postmaster: int | None) -> None:
        self.groups = groups
        self.postmaster = postmaster

    def _label(self, pid: int, ppid: int, pgrp: int) -> str | None:
        for label, group in self.groups.items():
            if pgrp == group:
                return label
        if self.postmaster is not None and self.postmaster in (pid, ppid):
            return "postgres"
        if pid == os.getpid():
            return "bench (fake LINE, JWKS)"
        return None

    def snapshot(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for pid, ppid, pgrp, seconds in _proc_stats():
            label = self._label(pid, ppid, pgrp)
            if label is not None:
                totals[label] = totals.get(label, 0.0) + seconds
        # wrk has exited by the second snapshot: its time is among this process's children's.
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        totals["wrk"] = children.ru_utime + children.ru_stime
        totals["(machine)"] = _busy_seconds()
        return totals

    @staticmethod
    def spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        """CPU seconds each part used between the snapshots; "other" is the remainder."""
        used = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after if k != "(machine)"}
        machine = after["(machine)"] - before["(machine)"]
        used["other"] = max(0.0, machine - sum(used.values()))
        return used
