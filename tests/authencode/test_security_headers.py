"""Security headers on each front end, the session cookie's flags, and the CSP in Chromium."""

from __future__ import annotations

from typing import Any

import pytest

from authencode.settings import Settings


def _csp(response: Any) -> dict[str, str]:
    """The Content-Security-Policy header as {directive: sources}."""
    directives = [part.strip() for part in response.headers["Content-Security-Policy"].split(";")]
    return {name: rest.strip() for name, _, rest in (d.partition(" ") for d in directives if d)}


def _app(settings: Settings, **changes: Any) -> Any:
    from authencode.app import create_app

    app = create_app(settings.with_overrides(**changes))
    app.config["TESTING"] = True
    return app


@pytest.mark.parametrize(
    "path",
    ["/", "/clinic/login", "/healthz", "/liff/api/me", "/agent/api/card-reads", "/no-such-page"],
)
def test_every_response_forbids_framing_and_foreign_scripts(client: Any, path: str) -> None:
    response = client.get(path)
    csp = _csp(response)
    assert csp["frame-ancestors"] == "'none'" and response.headers["X-Frame-Options"] == "DENY"
    assert csp["script-src"] == "'self'" and csp["default-src"] == "'self'"
    assert csp["object-src"] == "'none'" and csp["base-uri"] == "'none'"
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_the_liff_pages_may_load_and_call_line_and_nothing_else(client: Any) -> None:
    response = client.get("/liff/request")
    assert response.status_code == 200
    csp = _csp(response)
    assert csp["frame-ancestors"] == "'none'" and response.headers["X-Frame-Options"] == "DENY"
    assert csp["script-src"] == "'self' https://static.line-scdn.net"  # LINE's SDK
    for host in ("https://api.line.me", "https://access.line.me", "https://liffsdk.line-scdn.net"):
        assert host in csp["connect-src"].split()
    assert "https://profile.line-scdn.net" in csp["img-src"].split()
    assert "<script>" not in response.get_data(as_text=True)  # no inline script to allow


def test_the_dev_line_simulator_has_its_own_policy(settings: Settings) -> None:
    app = _app(settings, line_simulator=True)
    response = app.test_client().get("/dev/line/")
    assert response.status_code == 200
    csp = _csp(response)
    assert csp["frame-ancestors"] == "'none'" and csp["script-src"] == "'self'"
    assert "https:" in csp["img-src"].split()
    app.extensions["authencode"].db.dispose()


def _session_cookie(app: Any) -> str:
    response = app.test_client().get("/clinic/login")  # the form's CSRF token starts a session
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    return cookie


def test_session_cookie_flags_follow_the_public_address(settings: Settings) -> None:
    plain = _app(settings)  # http://127.0.0.1:5000
    cookie = _session_cookie(plain)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    plain.extensions["authencode"].db.dispose()

    secure = _app(settings, public_base_url="https://authen.example.org")
    cookie = _session_cookie(secure)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    # Behind the TLS-ending proxy, browsers are told to keep to https.
    response = secure.test_client().get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert response.status_code == 200  # plain http from the proxy is served, not redirected
    secure.extensions["authencode"].db.dispose()


# --- in Chromium: the pages work under their CSP, and the CSP is enforced -----------------


@pytest.fixture
def live_settings(live_settings: Settings) -> Settings:
    return live_settings.with_overrides(line_simulator=True)


def test_pages_run_under_their_csp_and_an_injected_script_is_blocked(
    live_server: str, page: Any, mobile_page: Any
) -> None:
    # The page fixtures fail a test on any CSP violation; these pages load and run their
    # scripts without one.
    for path in ("/", "/clinic/login", "/dev/line/"):
        page.goto(live_server + path)
    page.wait_for_selector("#user-id:not(:empty)")  # simulator.js ran
    mobile_page.goto(live_server + "/liff/request")
    # LINE's SDK (the development bundle) and liff.js ran: without a LIFF channel set up
    # here, the page says so.
    mobile_page.wait_for_selector("#page-error:not([hidden])")
    assert page.csp_violations == [] and mobile_page.csp_violations == []

    # An injected inline script (what an XSS would add) does not run, and says why.
    page.goto(live_server + "/clinic/login")
    with page.expect_console_message(lambda m: "Content Security Policy" in m.text) as message:
        page.evaluate("""() => { const s = document.createElement('script');
                                 s.textContent = 'window.injected = true';
                                 document.head.append(s); }""")
    assert "script-src" in message.value.text
    assert page.evaluate("window.injected === undefined")
    page.csp_violations.clear()  # provoked on purpose
