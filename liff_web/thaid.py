"""Verifying a link through ThaID: the LIFF API's start, and the page ThaID sends back to.

The pending authorization is kept server-side (table thaid_authorizations) rather than in a
cookie: it must be usable exactly once, also when two callbacks race, and a cookie cannot be
taken back. The browser gets only a binding cookie (HttpOnly, SameSite=Lax, its hash in the
row), so an authorization URL sent to someone else's phone cannot finish there.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request, url_for

from authencode.errors import DomainError
from authencode.models import LineAccount
from authencode.oidc import OpenIdClient
from authencode.services import thaid
from authencode.web.context import db_session, services
from liff_web.state import liff_state
from linebot_app import notify

BROWSER_COOKIE = "thaid_browser"

thaid_pages = Blueprint(
    "liff_thaid", __name__, url_prefix="/liff/thaid", template_folder="templates"
)


def _client() -> OpenIdClient:
    client = liff_state().thaid
    if client is None:
        raise DomainError(thaid.THAID_NOT_CONFIGURED)
    return client


def start(account: LineAccount, member_id: str) -> Response:
    """POST /liff/api/members/<id>/thaid: the authorization URL, and the binding cookie."""
    svc = services()
    started = thaid.start(db_session(), svc.protector, _client(), account, member_id)
    response = jsonify(
        authorization_url=started.url, expires_at=started.expires_at.isoformat(timespec="seconds")
    )
    response.set_cookie(
        BROWSER_COOKIE,
        started.browser_secret,
        max_age=int(thaid.PENDING_TTL.total_seconds()),
        path="/liff/thaid",
        httponly=True,
        samesite="Lax",
        secure=svc.settings.public_base_url.startswith("https://"),
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _page(status: int, *, error: DomainError | None = None, **values: Any) -> Response:
    title = "ยืนยันตัวตนด้วย ThaID ไม่สำเร็จ" if error else "ยืนยันตัวตนด้วย ThaID สำเร็จ"
    body = render_template(
        "liff/thaid_result.html",
        error=error,
        title_th=title,
        outcome="refused" if error else "verified",
        back_url=url_for("liff_pages.family"),
        **values,
    )
    response = Response(body, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.delete_cookie(BROWSER_COOKIE, path="/liff/thaid")
    return response


@thaid_pages.get("/callback")
def callback() -> Response:
    """Where ThaID sends the browser back: a Thai page saying verified, or why not."""
    svc = services()
    try:
        if liff_state().thaid is None:
            raise DomainError(thaid.THAID_NOT_CONFIGURED)
        # Used up in its own transaction first: whatever follows, this state is spent.
        with svc.db.transaction() as session:
            pending = thaid.take_pending(
                session,
                svc.protector,
                request.args.get("state"),
                request.cookies.get(BROWSER_COOKIE),
            )
        claims = thaid.claims_for(
            _client(), pending, code=request.args.get("code"), error=request.args.get("error")
        )
        session = db_session()
        result = thaid.verify(
            session, svc.protector, pending, claims, cid_claim=svc.settings.thaid_cid_claim
        )
        link = result.link
        notify.link_verified(session, link, method="thaid", displaced=result.displaced_account_ids)
    except DomainError as error:
        return _page(error.http_status, error=error)
    return _page(200, name=link.person.full_name_th, reclaimed=bool(result.displaced_account_ids))
