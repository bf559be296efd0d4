from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from authencode import __version__
from authencode.settings import Settings
from tests.support.postgres import free_port
from tests.support.procfile import procfile_command


def test_health_ready_and_index(client) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json()["status"] == "ready"
    index = client.get("/")
    assert index.status_code == 200
    page = index.get_data(as_text=True)
    assert "Authen Code" in page
    # Nothing for an attacker to map: no routes but the staff's way in, no version, no
    # environment, no development tools outside development.
    assert "/healthz" not in page and "/liff" not in page and "/dev/" not in page
    assert 'href="/clinic/login"' in page and "/clinic/facilities" not in page
    assert __version__ not in page and "production" not in page and "test" not in page


def test_unknown_api_path_answers_the_json_error_format(client) -> None:
    response = client.get("/liff/api/nothing-here")
    assert response.status_code == 404
    error = response.get_json()["error"]
    assert error["code"] == "NOT_FOUND" and error["message"] and error["message_th"]


def test_readyz_is_503_when_the_database_is_unreachable(tmp_path: Path) -> None:
    from authencode.app import create_app

    port = free_port()  # nothing listens there
    settings = Settings(
        environment="test",
        secret_key="x" * 32,
        data_key=os.urandom(32),
        database_url=f"postgresql+psycopg://u@127.0.0.1:{port}/none",
        instance_path=tmp_path,
    )
    client = create_app(settings).test_client()
    assert client.get("/healthz").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "DATABASE_UNAVAILABLE"


def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in {timeout}s")


def test_procfile_release_then_web_serve_the_app(db_url: str, tmp_path: Path) -> None:
    port = free_port()
    bindir = Path(sys.executable).parent
    env = {
        **os.environ,
        "PORT": str(port),
        "DATABASE_URL": db_url,
        "SECRET_KEY": "procfile-test-secret-0123456789-abcdefgh",
        "DATA_KEY": "q7gYt8Hc3qQ2C2xjvY2mX8qk6y1J8n0pWcV3bL5rT9E=",
        "AUTHENCODE_ENV": "production",
        "AUTHENCODE_INSTANCE_PATH": str(tmp_path),
        "PATH": f"{bindir}:{os.environ['PATH']}",
        "WEB_CONCURRENCY": "1",
    }
    release = subprocess.run(  # noqa: S602 - the Procfile's own line, as platforms run it
        procfile_command("release"),
        shell=True,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert release.returncode == 0, release.stderr
    web = subprocess.Popen(  # noqa: S602 - the Procfile's own line, as platforms run it
        procfile_command("web"),
        shell=True,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert _wait_http(f"http://127.0.0.1:{port}/readyz", web) == 200
        # Every front end was found through its entry point, not only the core's pages.
        for path in ("/clinic/login", "/liff/", "/openapi.json"):
            assert _wait_http(f"http://127.0.0.1:{port}{path}", web) == 200, path
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        web.wait(timeout=30)


STRONG_KEY = "9f2c4e7a1b8d3f60c5e29a7b4d1f8e3c"
GOOD_DATA_KEY = "q7gYt8Hc3qQ2C2xjvY2mX8qk6y1J8n0pWcV3bL5rT9E="


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, "SECRET_KEY"),
        ({"SECRET_KEY": STRONG_KEY}, "DATA_KEY"),
        ({"SECRET_KEY": STRONG_KEY, "DATA_KEY": "not base64!"}, "DATA_KEY"),
        ({"SECRET_KEY": STRONG_KEY, "DATA_KEY": "c2hvcnQ="}, "DATA_KEY"),
        (
            {"SECRET_KEY": STRONG_KEY, "DATA_KEY": GOOD_DATA_KEY, "DATABASE_URL": "mysql://x"},
            "DATABASE_URL",
        ),
        # Weak production keys and a plain-http public address.
        ({"SECRET_KEY": "a1b2c3d4e5f6g7h8", "DATA_KEY": GOOD_DATA_KEY}, "SECRET_KEY"),
        ({"SECRET_KEY": "x" * 32, "DATA_KEY": GOOD_DATA_KEY}, "SECRET_KEY"),
        ({"SECRET_KEY": "0123456789abcdef" * 2, "DATA_KEY": GOOD_DATA_KEY}, "SECRET_KEY"),
        ({"SECRET_KEY": "secret-" + "k" * 40, "DATA_KEY": GOOD_DATA_KEY}, "SECRET_KEY"),
        ({"SECRET_KEY": STRONG_KEY, "DATA_KEY": "A" * 43 + "="}, "DATA_KEY"),  # all zero
        (
            {"SECRET_KEY": STRONG_KEY, "DATA_KEY": base64.b64encode(bytes(range(8)) * 4).decode()},
            "DATA_KEY",
        ),
        (
            {
                "SECRET_KEY": STRONG_KEY,
                "DATA_KEY": GOOD_DATA_KEY,
                "PUBLIC_BASE_URL": "http://authen.example.org",
            },
            "PUBLIC_BASE_URL",
        ),
        (
            {
                "SECRET_KEY": STRONG_KEY,
                "DATA_KEY": GOOD_DATA_KEY,
                "PUBLIC_BASE_URL": "http://10.0.0.5:5000",
            },
            "PUBLIC_BASE_URL",
        ),
    ],
)
def test_a_bad_setting_stops_start_up_with_one_line_naming_it(
    env: dict[str, str], named: str, tmp_path: Path
) -> None:
    full_env = {"PATH": os.environ["PATH"], "AUTHENCODE_INSTANCE_PATH": str(tmp_path), **env}
    result = subprocess.run(
        [sys.executable, "-c", "import authencode; authencode.create_app()"],
        env=full_env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0], result.stderr


def test_the_front_ends_are_registered_in_their_order(app) -> None:
    """create_app finds the front ends through the entry point group authencode.frontends
    and registers them in the order of authencode.app.FRONT_ENDS, as before."""
    assert list(app.blueprints)[:12] == [
        "core",
        "openapi",
        "agent_api",
        "clinic",
        "kiosk_api",
        "kiosk",
        "his_api",
        "liff_pages",
        "liff_api",
        "liff_qr",
        "liff_thaid",
        "line_webhook",
    ]


def test_a_front_end_missing_from_the_install_stops_start_up_naming_it(tmp_path: Path) -> None:
    """A stale install whose metadata lacks a front end's entry point (its distribution found
    first on the path) is one clear line at start-up, not an app without its pages."""
    stale = tmp_path / "stale" / "authencode-0.1.0.dist-info"
    stale.mkdir(parents=True)
    (stale / "METADATA").write_text("Metadata-Version: 2.1\nName: authencode\nVersion: 0.1.0\n")
    (stale / "entry_points.txt").write_text(
        "[authencode.frontends]\nclinic = clinic_qr:register\nline = linebot_app:register\n"
    )
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(stale.parent),
        "AUTHENCODE_ENV": "development",
        "AUTHENCODE_INSTANCE_PATH": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    script = "import authencode; authencode.create_app()"
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,  # not the checkout, whose own authencode.egg-info would be found first
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "liff" in lines[0] and "authencode.frontends" in lines[0], lines
    assert "clinic" not in lines[0].split("installation error:")[1].split("not registered")[0]
    # The same install with every front end starts.
    (stale / "entry_points.txt").write_text(
        "[authencode.frontends]\nclinic = clinic_qr:register\nliff = liff_web:register\n"
        "line = linebot_app:register\n"
    )
    started = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, check=False
    )
    assert started.returncode == 0, started.stderr


def test_openapi_describes_the_json_apis(client) -> None:
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in (
        "/readyz",
        "/agent/api/card-reads",
        "/agent/api/confirm-save",
        "/agent/api/latest-authen-code/{pid}",
        "/agent/api/staff-unlock",
    ):
        assert path in spec["paths"], path
    assert "Error" in spec["components"]["schemas"]
