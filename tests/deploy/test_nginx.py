"""deploy/nginx/authencode.conf: valid for `nginx -t`, and run in front of two gunicorns.

The example is rendered with a throwaway self-signed certificate, test ports and a prefix of
the test's own (pid, logs, temporary files), so it needs no root-owned file.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import http.client
import json
import os
import pwd
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from authencode.app import MAX_BODY_BYTES
from authencode.errors import CATALOGUE
from linebot_app.webhook import WEBHOOK_MAX_BYTES
from tests.deploy.tools import DEPLOY, replace_exactly, run, tool
from tests.support.live_server import free_port
from tests.support.procfile import procfile_web
from tests.support.shared import CHANNEL_SECRET

SITE = DEPLOY / "nginx" / "authencode.conf"
UPSTREAMS = "    server 127.0.0.1:8001 max_fails=0;\n    server 127.0.0.1:8002 max_fails=0;\n"


@dataclass
class Proxy:
    config: Path
    prefix: Path
    https_port: int
    http_port: int
    certificate: Path


def _certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "fullchain.pem", directory / "privkey.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def render(directory: Path, upstream_ports: tuple[int, ...] = (8001, 8002)) -> Proxy:
    """The example on free loopback ports, its certificate and the upstreams replaced."""
    cert, key = _certificate(directory)
    https_port, http_port = free_port(), free_port()
    site = SITE.read_text()
    site = replace_exactly(
        site, "listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"
    )
    site = replace_exactly(site, "    listen [::]:443 ssl http2;\n", "")
    site = replace_exactly(site, "listen 80;", f"listen 127.0.0.1:{http_port};")
    site = replace_exactly(site, "    listen [::]:80;\n", "")
    live = "/etc/letsencrypt/live/authencode.example.org/"
    site = replace_exactly(site, live + "fullchain.pem", str(cert))
    site = replace_exactly(site, live + "privkey.pem", str(key))
    servers = "".join(f"    server 127.0.0.1:{port} max_fails=0;\n" for port in upstream_ports)
    site = replace_exactly(site, UPSTREAMS, servers)
    (directory / "authencode.conf").write_text(site)
    # as root, nginx's workers would otherwise run as nobody, shut out of the test's folder
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
    temporary = "".join(
        f"    {kind}_temp_path {directory / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    config = directory / "nginx.conf"
    config.write_text(
        f"{user}\npid {directory / 'nginx.pid'};\nerror_log {directory / 'error.log'};\n"
        "worker_processes 1;\nevents { worker_connections 64; }\n"
        f"http {{\n    access_log {directory / 'access.log'};\n{temporary}"
        f"    include {directory / 'authencode.conf'};\n}}\n"
    )
    return Proxy(config, directory, https_port, http_port, cert)


def _nginx_command(proxy: Proxy) -> list[str]:
    nginx = tool("nginx", "nginx")
    return [nginx, "-p", str(proxy.prefix), "-e", str(proxy.prefix / "error.log")]


def test_the_example_passes_nginx_t(tmp_path: Path) -> None:
    proxy = render(tmp_path)
    result = run(*_nginx_command(proxy), "-t", "-c", proxy.config)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr and "test is successful" in result.stderr


def test_nginx_t_fails_on_a_broken_example(tmp_path: Path) -> None:
    proxy = render(tmp_path)
    site = tmp_path / "authencode.conf"
    site.write_text(
        site.read_text().replace("proxy_request_buffering off;", "proxy_request_buffering of;")
    )
    result = run(*_nginx_command(proxy), "-t", "-c", proxy.config)
    assert result.returncode != 0
    assert "proxy_request_buffering" in result.stderr


def test_body_limits_leave_the_answer_to_the_app() -> None:
    """nginx lets through a little more than the app takes, so the app answers in its own
    words; and its own answer to anything larger is the app's error."""
    site = SITE.read_text()
    server_limit = _mebibytes(site, "client_max_body_size", 0)
    webhook_limit = _mebibytes(site, "client_max_body_size", 1)
    assert MAX_BODY_BYTES < server_limit <= 2 * MAX_BODY_BYTES
    assert WEBHOOK_MAX_BYTES < webhook_limit <= 2 * MAX_BODY_BYTES
    _kind, message, message_th = CATALOGUE["BODY_TOO_LARGE"]
    answer = site.split("return 413 '", 1)[1].split("';", 1)[0]
    assert json.loads(answer) == {
        "error": {"code": "BODY_TOO_LARGE", "message": message, "message_th": message_th}
    }


def _mebibytes(site: str, directive: str, index: int) -> int:
    values = [line.split()[1].rstrip(";") for line in site.splitlines() if directive in line]
    assert values[index].endswith("m")
    return int(values[index][:-1]) * 1024 * 1024


@contextmanager
def _running(proxy: Proxy) -> Iterator[None]:
    process = subprocess.Popen(
        [*_nginx_command(proxy), "-c", str(proxy.config), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            try:
                socket.create_connection(("127.0.0.1", proxy.https_port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "nginx did not start listening"
                time.sleep(0.05)
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)


def _request(
    proxy: Proxy,
    method: str,
    path: str,
    *,
    client: str = "127.0.0.1",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    context = ssl.create_default_context(cafile=str(proxy.certificate))
    conn = http.client.HTTPSConnection(
        "localhost", proxy.https_port, context=context, timeout=60, source_address=(client, 0)
    )
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def _from_app(headers: dict[str, str]) -> bool:
    return headers.get("X-Frame-Options") == "DENY"  # set by the app on every answer


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_proxy_in_front_of_two_web_instances(
    db_url: str, redis_server: Any, tmp_path: Path
) -> None:
    env = {
        "TRUSTED_PROXIES": "1",
        "RATE_LIMITS": "ip=3",
        "REDIS_URL": redis_server.url,
        "LINE_CHANNEL_SECRET": CHANNEL_SECRET,
    }
    with ExitStack() as stack:
        first = stack.enter_context(procfile_web(db_url, tmp_path / "a", env=env))
        second = stack.enter_context(procfile_web(db_url, tmp_path / "b", env=env))
        ports = tuple(int(web.base_url.rsplit(":", 1)[1]) for web in (first, second))
        (tmp_path / "nginx").mkdir()
        proxy = render(tmp_path / "nginx", ports)
        stack.enter_context(_running(proxy))

        status, headers, body = _request(proxy, "GET", "/healthz")
        assert (status, json.loads(body)) == (200, {"status": "ok"})
        plain = http.client.HTTPConnection("127.0.0.1", proxy.http_port, timeout=10)
        plain.request("GET", "/liff?x=1", headers={"Host": "authencode.example.org"})
        redirect = plain.getresponse()
        assert redirect.status == 301
        assert redirect.getheader("Location") == "https://authencode.example.org/liff?x=1"
        plain.close()

        # Rate limits count the client nginx saw, whatever X-Forwarded-For it sends: three
        # requests a minute per address (RATE_LIMITS=ip=3), shared by both instances.
        spoofed = [
            _request(
                proxy,
                "GET",
                "/liff/api/me",
                client="127.0.0.2",
                headers={"X-Forwarded-For": f"203.0.113.{n}"},
            )[0]
            for n in range(4)
        ]
        assert 429 not in spoofed[:3] and spoofed[3] == 429
        # ... and another client is not held back by the first (they do not share nginx's
        # address): a wrong TRUSTED_PROXIES fails one of these two.
        assert _request(proxy, "GET", "/liff/api/me", client="127.0.0.3")[0] != 429

        # Bodies: just over the app's limit the app answers; far over it nginx answers the
        # same error without passing the body on.
        too_large = CATALOGUE["BODY_TOO_LARGE"]
        status, headers, body = _request(
            proxy,
            "POST",
            "/liff/api/register",
            client="127.0.0.4",
            body=b"x" * (MAX_BODY_BYTES + 1),
            headers={"Content-Type": "application/json"},
        )
        assert (status, _from_app(headers)) == (413, True)
        assert json.loads(body)["error"]["code"] == "BODY_TOO_LARGE"
        status, headers, body = _request(
            proxy,
            "POST",
            "/liff/api/register",
            client="127.0.0.4",
            body=b"x" * (4 * MAX_BODY_BYTES),
            headers={"Content-Type": "application/json"},
        )
        assert (status, _from_app(headers)) == (413, False)
        assert json.loads(body)["error"] == {
            "code": "BODY_TOO_LARGE",
            "message": too_large[1],
            "message_th": too_large[2],
        }
        status, headers, _ = _request(
            proxy,
            "POST",
            "/line/webhook",
            body=b"x" * (WEBHOOK_MAX_BYTES + 1),
            headers={"Content-Type": "application/json", "X-Line-Signature": "x"},
        )
        assert (status, _from_app(headers)) == (413, True)
        status, headers, _ = _request(
            proxy,
            "POST",
            "/line/webhook",
            body=b"x" * (2 * 1024 * 1024),
            headers={"Content-Type": "application/json", "X-Line-Signature": "x"},
        )
        assert (status, _from_app(headers)) == (413, False)

        # A signed delivery arrives byte for byte (the app checks the signature over them).
        delivery = json.dumps({"destination": "U" + "0" * 32, "events": []}).encode()
        signature = hmac.new(CHANNEL_SECRET.encode(), delivery, hashlib.sha256).digest()
        status, headers, _ = _request(
            proxy,
            "POST",
            "/line/webhook",
            body=delivery,
            headers={
                "Content-Type": "application/json",
                "X-Line-Signature": base64.b64encode(signature).decode(),
            },
        )
        assert (status, _from_app(headers)) == (200, True)

        # A rolling restart: with one instance stopped, every request is still answered.
        first.proc.send_signal(signal.SIGTERM)
        first.proc.wait(timeout=60)
        answers = [_request(proxy, "GET", "/healthz")[0] for _ in range(6)]
        assert answers == [200] * 6
