"""The LIFF pages (HTML shells filled by liff.js through /liff/api) and the clinic QR link."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from authencode.errors import DomainError
from authencode.reference import page_reference
from authencode.services.qr_tokens import QR_MALFORMED, extract_token
from authencode.web.context import services
from liff_web.state import liff_state

LINE_SDK_URL = "https://static.line-scdn.net/liff/edge/2/sdk.js"
DEV_BUNDLE = "vendor/liff-dev.js"
MOCK_LIFF_ID = "0000000000-mockliff"  # liff-mock needs some id; nothing is sent to LINE
# The pages run top-level in LINE's in-app browser (or any browser, after LINE Login); what
# LINE's SDK (@line/liff 2.x, its URLs read from the package) loads and calls besides us:
# its script and extensions from static.line-scdn.net, the LIFF and login APIs, its
# translation manifest, usage statistics, and the sub-window frame (share target picker,
# QR scanner outside LINE). Profile pictures come from LINE's image hosts. Styles stay 'self'
# with 'unsafe-inline' for the alert dialogs LINE's UI script may draw; scripts stay strict.
LIFF_CSP = {
    "script-src": "'self' https://static.line-scdn.net",
    "connect-src": "'self' https://api.line.me https://access.line.me https://liff.line.me "
    "https://liffsdk.line-scdn.net https://uts-front.line-apps.com",
    "img-src": "'self' data: https://profile.line-scdn.net https://obs.line-scdn.net",
    "style-src": "'self' 'unsafe-inline'",
    "frame-src": "https://liff-subwindow.line.me https://access.line.me",
}

liff_pages = Blueprint(
    "liff_pages",
    __name__,
    url_prefix="/liff",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
qr_links = Blueprint("liff_qr", __name__)

PAGES = {
    "request": "liff/request.html",
    "consent": "liff/consent.html",
    "register": "liff/register.html",
    "family": "liff/family.html",
    "history": "liff/history.html",
    "rights": "liff/rights.html",
    "linked_by": "liff/linked_by.html",
    "mydata": "liff/mydata.html",
}


def _config(page: str) -> dict[str, Any]:
    settings = services().settings
    mock = not settings.is_production
    dev_signer = liff_state().dev_signer
    return {
        "page": page,
        "mode": "mock" if mock else "line",
        "liffId": settings.liff_id or (MOCK_LIFF_ID if mock else None),
        "apiBase": url_for("liff_api.me").rsplit("/", 1)[0],
        "urls": {name: url_for(f"liff_pages.{name}") for name in PAGES},
        "devTokenUrl": url_for("dev_liff.token") if dev_signer is not None else None,
        # Development only: the mock's scanner offers the demo clinic's QRs (no camera).
        "devQrUrl": url_for("dev_liff.demo_qrs") if dev_signer is not None else None,
        "reference": page_reference(),
    }


def _render(page: str) -> str:
    config = _config(page)
    sdk_url = (
        url_for("liff_pages.static", filename=DEV_BUNDLE)
        if config["mode"] == "mock"
        else LINE_SDK_URL
    )
    return render_template(PAGES[page], page=page, config=config, sdk_url=sdk_url)


@liff_pages.get("/")
@liff_pages.get("/request")
def request() -> str:
    """Choose the person, scan the clinic's QR, see the code; today's requests below."""
    return _render("request")


@liff_pages.get("/consent")
def consent() -> str:
    return _render("consent")


@liff_pages.get("/register")
def register() -> str:
    return _render("register")


@liff_pages.get("/family")
def family() -> str:
    return _render("family")


@liff_pages.get("/history")
def history() -> str:
    return _render("history")


@liff_pages.get("/rights")
def rights() -> str:
    return _render("rights")


@liff_pages.get("/linked-by")
def linked_by() -> str:
    """Who has linked the holder, and codes asked for in their name (verified own only)."""
    return _render("linked_by")


@liff_pages.get("/my-data")
def mydata() -> str:
    """Everything held about the holder: shown, downloadable (JSON, print), erasable."""
    return _render("mydata")


@qr_links.get("/q/<path:token>")
def qr_link(token: str) -> ResponseReturnValue:
    """A clinic QR opened with a phone's camera: into the LIFF app, carrying the token."""
    try:
        token = extract_token(token)
    except DomainError:
        error = DomainError(QR_MALFORMED)
        return render_template("liff/qr_error.html", error=error), 400
    liff_id = services().settings.liff_id
    if liff_id:
        target = f"https://liff.line.me/{liff_id}/request?qr={token}"
    else:
        target = url_for("liff_pages.request", qr=token)
    response = redirect(target, code=302)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
