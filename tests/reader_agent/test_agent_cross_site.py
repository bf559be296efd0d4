"""Pages of other sites, in headless Chromium, cannot make the agent read the card.

A page on another loopback address (another site to the browser) or on another port of
127.0.0.1 (the same site, another origin) embeds the card-read URL as an <img> and calls it
with fetch(); the browser marks those requests with Sec-Fetch-Site, and an <img> carries no
Origin. The agent must refuse them before touching the card, while a configured origin and
software that sends no browser headers keep working.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pcsc_stack import require
from virtual_card import VirtualThaiIdCard

require(importlib.util.find_spec("smartcard") is not None, "pyscard is not installed")

READ_PATH = "/api/smartcard/read?readImageFlag=true"

# Embeds the URL as an image, then fetches it in cors and no-cors mode; says what happened.
ATTACK_JS = """async (url) => {
  const img = await new Promise(resolve => {
    const image = new Image();
    image.onload = () => resolve("load");
    image.onerror = () => resolve("error");
    image.src = url;
    document.body.append(image);
  });
  const outcome = async (mode) => {
    try {
      const response = await fetch(url, {mode});
      return mode === "cors" ? {status: response.status, body: await response.json()}
                             : {type: response.type};
    } catch (error) {
      return {failed: String(error)};
    }
  };
  return {img, cors: await outcome("cors"), noCors: await outcome("no-cors")};
}"""


class _PageHandler(BaseHTTPRequestHandler):
    server: _PageServer

    def do_GET(self) -> None:
        self.server.sec_fetch_sites.append(self.headers.get("Sec-Fetch-Site"))
        payload = b"<!doctype html><title>another site</title><body></body>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _PageServer(ThreadingHTTPServer):
    """An empty page on one loopback address; it records the Sec-Fetch-Site it is sent."""

    daemon_threads = True

    def __init__(self, host: str) -> None:
        super().__init__((host, 0), _PageHandler)
        self.sec_fetch_sites: list[str | None] = []
        self.origin = f"http://{host}:{self.server_address[1]}"


@pytest.fixture
def page_server() -> Iterator[Any]:
    """page_server(host) serves an empty page on that loopback address, any free port."""
    servers: list[_PageServer] = []

    def start(host: str) -> _PageServer:
        server = _PageServer(host)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _card_reads(fake_server: Any) -> list[str]:
    return [path for _m, path, _h, _b in fake_server.state.requests if path.endswith("card-reads")]


@pytest.mark.parametrize(
    ("page_host", "site"), [("127.0.0.2", "cross-site"), ("127.0.0.1", "same-site")]
)
def test_another_sites_page_cannot_make_the_agent_read_the_card(
    agent_factory, pcscd, insert_card, fake_server, page, page_server, caplog, page_host, site
) -> None:
    agent = agent_factory()  # allows only the clinic's https origin
    card = insert_card(VirtualThaiIdCard())
    attacker = page_server(page_host)
    # The probe: an address of the agent's own site answers with the page server, to show
    # how the browser marks a request from the attacker's page to 127.0.0.1.
    probe = page_server("127.0.0.1")
    page.goto(attacker.origin + "/")
    page.evaluate("url => fetch(url, {mode: 'no-cors'})", probe.origin + "/probe")
    assert probe.sec_fetch_sites == [site]

    with caplog.at_level(logging.INFO, logger="reader_agent.http_api"):
        result = page.evaluate(ATTACK_JS, agent.url + READ_PATH)

    assert result["img"] == "error"
    assert "failed" in result["cors"]  # refused, so no CORS header for the page either
    assert result["noCors"] == {"type": "opaque"}
    assert card.apdus == []  # the card was never touched
    assert _card_reads(fake_server) == []  # nor anything reported to the server
    refused = [r.getMessage() for r in caplog.records if "/api/smartcard/read" in r.getMessage()]
    assert len(refused) == 3 and all('" 403 ' in line for line in refused), refused


def test_an_allowed_origin_and_plain_software_still_read_the_card(
    agent_factory, pcscd, insert_card, fake_server, page, page_server
) -> None:
    clinic = page_server("127.0.0.2")
    agent = agent_factory(allowed_origins=(clinic.origin,))
    card = insert_card(VirtualThaiIdCard())
    page.goto(clinic.origin + "/")

    result = page.evaluate(ATTACK_JS, agent.url + READ_PATH)

    assert result["cors"]["status"] == 200
    assert result["cors"]["body"]["pid"] == "1101700207030"
    assert card.apdus  # the allowed page's fetch read the card
    # Only the cors fetch carried the Origin; the <img> and the no-cors fetch were refused.
    assert len(_card_reads(fake_server)) == 1

    # Kiosk software: no Origin, no Sec-Fetch-* headers, as before.
    with urllib.request.urlopen(agent.url + READ_PATH, timeout=10) as response:  # noqa: S310
        assert response.status == 200
    assert len(_card_reads(fake_server)) == 2
