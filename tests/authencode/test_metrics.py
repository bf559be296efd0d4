"""GET /metrics: Prometheus text, no personal data, not answered to the public."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from authencode.services import issuance
from authencode.settings import Settings
from linebot_app import messages
from linebot_app.outbox import enqueue_push
from tests.support.factories import make_facility, make_person, new_cid
from tests.support.procfile import WebProcess, procfile_web
from tests.support.shared import TEST_DATA_KEY

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def samples(body: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(body: str, name: str, **labels: str) -> float:
    return samples(body).get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_codes_and_outbox_are_measured(client: Any, app: Any, protector: Any) -> None:
    db = app.extensions["authencode"].db
    cid = new_cid()
    assert client.get("/healthz").status_code == 200
    assert (
        client.get(f"/authencodestatus/api/check-authen-status?personalId={cid}").status_code == 401
    )
    with db.transaction() as session:
        facility = make_facility(session, "10675", "รพ.สต.ทดสอบ", services=("PG0060001",))
        person = make_person(session, protector, cid)
        issuance.issue_code(
            session,
            person,
            hcode=facility.hcode,
            service_code="PG0060001",
            channel="kiosk",
            phones="0812345678",
        )
        enqueue_push(session, "U" + "a" * 32, [messages.text("สวัสดี")])
    with pytest.raises(RuntimeError), db.transaction() as session:  # rolled back: not counted
        issuance.issue_code(
            session,
            person,
            hcode=facility.hcode,
            service_code="PG0060001",
            channel="smartcard",
            phones="0812345678",
            now=dt.datetime.now(dt.UTC) + dt.timedelta(days=1),
        )
        raise RuntimeError("rolled back")

    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    body = response.get_data(as_text=True)
    assert (
        value(
            body,
            "authencode_http_requests_total",
            endpoint="core.healthz",
            method="GET",
            status="200",
        )
        == 1
    )
    assert (
        value(
            body,
            "authencode_http_requests_total",
            endpoint="his_api.check_authen_status",
            method="GET",
            status="401",
        )
        == 1
    )
    assert (
        value(
            body,
            "authencode_http_request_duration_seconds_count",
            endpoint="core.healthz",
            method="GET",
        )
        == 1
    )
    assert value(body, "authencode_codes_issued_total", channel="kiosk") == 1
    assert value(body, "authencode_codes_issued_total", channel="smartcard") == 0
    assert value(body, "authencode_outbox_messages", kind="push", status="pending") == 1
    assert value(body, "authencode_outbox_messages", kind="reply", status="failed") == 0
    assert value(body, "authencode_database_up") == 1
    assert cid not in body and cid[:6] not in body  # paths are never labels


@sqlite_only
def test_metrics_are_not_public(client: Any, app: Any, settings: Settings) -> None:
    assert client.get("/metrics").status_code == 200  # loopback, no proxy
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 404
    public = app.test_client()
    public.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    assert public.get("/metrics").status_code == 404

    from authencode.app import create_app

    token = "metrics-token-0123456789"
    with_token = create_app(settings.with_overrides(metrics_token=token)).test_client()
    with_token.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    assert with_token.get("/metrics").status_code == 404
    assert with_token.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
    assert (
        with_token.get("/metrics", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    )


@sqlite_only
def test_rate_limited_requests_are_counted(client: Any, app: Any) -> None:
    app.extensions["ratelimit"].limits["ip"] = 1
    client.get("/q/x")
    client.get("/q/x")
    body = client.get("/metrics").get_data(as_text=True)
    assert value(body, "authencode_rate_limited_total", rule="ip") == 1
    assert (
        value(
            body,
            "authencode_http_requests_total",
            endpoint="liff_qr.qr_link",
            method="GET",
            status="429",
        )
        == 1
    )


_WORKER = """
import sys
from authencode.app import create_app
from authencode.settings import Settings
from pathlib import Path
settings = Settings(environment="test", database_url=sys.argv[1], secret_key="x" * 32,
                    data_key=bytes.fromhex(sys.argv[2]), instance_path=Path(sys.argv[3]))
client = create_app(settings).test_client()
for _ in range(int(sys.argv[4])):
    assert client.get("/healthz").status_code == 200
if sys.argv[5] == "scrape":
    sys.stdout.write(client.get("/metrics").get_data(as_text=True))
"""


@sqlite_only
def test_several_worker_processes_add_up(db_url: str, tmp_path: Path) -> None:
    """Gunicorn's workers are processes: with PROMETHEUS_MULTIPROC_DIR their counts add up."""
    shared = tmp_path / "metrics"
    shared.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(shared)}

    def worker(requests: int, scrape: bool) -> str:
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                _WORKER,
                db_url,
                TEST_DATA_KEY.hex(),
                str(tmp_path / "instance"),
                str(requests),
                "scrape" if scrape else "-",
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        return done.stdout

    worker(3, scrape=False)
    worker(4, scrape=False)
    body = worker(0, scrape=True)
    assert (
        value(
            body,
            "authencode_http_requests_total",
            endpoint="core.healthz",
            method="GET",
            status="200",
        )
        == 7
    )


def test_the_procfile_web_line_adds_up_its_workers(sqlite_template: Path, tmp_path: Path) -> None:
    """No PROMETHEUS_MULTIPROC_DIR given: the gunicorn config makes one for its workers."""

    def healthz_count(web: WebProcess) -> float:
        with urllib.request.urlopen(web.base_url + "/metrics", timeout=10) as answer:  # noqa: S310
            return value(
                answer.read().decode(),
                "authencode_http_requests_total",
                endpoint="core.healthz",
                method="GET",
                status="200",
            )

    with procfile_web(f"sqlite:///{sqlite_template}", tmp_path, workers=2) as web:
        before = healthz_count(web)

        def healthz(_: int) -> int:
            with urllib.request.urlopen(web.base_url + "/healthz", timeout=10) as answer:  # noqa: S310
                return int(answer.status)

        with ThreadPoolExecutor(16) as pool:  # at once, so both workers answer some
            assert set(pool.map(healthz, range(80))) == {200}
        # Whichever worker answers a scrape, it counts every worker's requests.
        assert [healthz_count(web) - before for _ in range(6)] == [80] * 6
